// DirTree: the entries of one directory as a B+tree in the blocks of a DirStorage
// (FORMAT.md, "Directory index").
//
// Contract:
//  - Entries map a name (1 to 255 bytes, no '/' or NUL: EINVAL / ENAMETOOLONG otherwise) to an
//    inode number and a DT_* type (below 16, EINVAL otherwise). Each entry has a cookie: a keyed
//    55-bit hash of its name shifted left 8, plus a sequence byte that tells apart names whose
//    hashes collide (ENOSPC for a 257th name of one hash). Cookies are unique in the directory,
//    stable while the entry lives, in [256, 2^63), and the tree is ordered by them, so List
//    resumes by key: an entry present for a whole listing is returned exactly once whatever is
//    inserted or removed between List calls.
//  - Lookup, Insert, Remove and Replace read O(depth) blocks (a leaf neighbour more when names of
//    one hash straddle a leaf boundary, a sibling more when a thin node merges); nothing loads the
//    whole directory. Verify does, on purpose.
//  - Emptied nodes are unlinked and thin ones merged with a sibling; released blocks are freed in
//    storage at once and their numbers reused. A directory emptied completely shrinks back to its
//    header and one leaf, whatever it grew to.
//  - Every block carries a magic, its kind and level, and a CRC32C. A block that fails a check is
//    EUCLEAN naming the block; the tree never follows a child number, count or length it did not
//    check, and levels fall strictly on every descent, so corruption cannot crash it or make it
//    loop. Verify finds what single operations cannot (a block referenced twice, lost blocks, a
//    wrong entry count).
//  - An operation does every read it needs before its first write, so a failed read (or a name
//    that is absent, present, or bad) leaves storage untouched. A failed write may leave that one
//    operation half written in storage (blobfs's DirBlobStorage never fails a write); the tree
//    then drops its cache and reloads from storage on its next call, so it never disagrees with
//    storage.
//  - Writes go to storage at once; decoded nodes are kept for reads in a DirNodeCache, which may
//    serve many trees and must outlive this one.
//  - One call at a time (the filesystem serializes namespace calls; a second concurrent call is a
//    CHECK failure).
#ifndef BLOBFS_BLOBFS_DIR_TREE_H_
#define BLOBFS_BLOBFS_DIR_TREE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include "blobfs/dir_node_cache.h"
#include "blobfs/dir_storage.h"
#include "blobfs/format/dir_block.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

class DirTree {
 public:
  // The name hash, of which the low 55 bits count; tests may replace it to force collisions.
  using NameHash = std::function<uint64_t(std::string_view name, uint64_t seed)>;
  static uint64_t DefaultHash(std::string_view name, uint64_t seed);

  // Writes an empty index: the header (block 0) and an empty root leaf (block 1).
  static Task<Status> Format(DirStorage& storage, uint64_t hash_seed);
  // Reads and checks the header: EUCLEAN if it is no index or was built with another seed or
  // block size. Decoded nodes are kept in `cache`.
  static Task<Result<std::unique_ptr<DirTree>>> Open(DirStorage& storage, uint64_t hash_seed,
                                                     DirNodeCache& cache, NameHash hash = {});

  Task<Result<std::optional<DirEntry>>> Lookup(std::string_view name);
  // The new entry's cookie; EEXIST when the name is present.
  Task<Result<uint64_t>> Insert(std::string_view name, uint64_t ino, uint8_t type);
  // The removed entry; ENOENT when absent.
  Task<Result<DirEntry>> Remove(std::string_view name);
  // Points an existing name at another inode, keeping its cookie. ENOENT when absent.
  Task<Status> Replace(std::string_view name, uint64_t ino, uint8_t type);
  // Calls `emit` for the entries with cookie > `after` in cookie order until it returns false.
  // `emit` runs synchronously and must not call the tree.
  Task<Status> List(uint64_t after, std::function<bool(const DirEntry&)> emit);
  // Reads every block and checks the whole index: each block referenced once, keys within their
  // parents' ranges, the entry count, and every block number below next_block either in the tree,
  // free, or holding the free list. For fsck and tests.
  Task<Status> Verify();

  uint64_t size() const { return header_.entries; }
  // Blocks in use, the header included.
  uint64_t blocks_in_use() const { return header_.next_block - header_.free_blocks; }
  // Inner levels above the leaves: an Insert adds at most depth() + 2 blocks (a split at every
  // level and a new root).
  uint32_t depth() const { return header_.depth; }
  // Blocks read from storage so far (cache misses).
  uint64_t blocks_read() const { return blocks_read_; }

 private:
  using NodePtr = DirNodeCache::NodePtr;
  // One node of a descent: its block, the node, the range of cookies it may hold, and for an
  // inner node the child slot taken.
  struct Step {
    uint64_t block = 0;
    NodePtr node;
    uint64_t low = 0;
    uint64_t high = kDirCookieEnd;
    size_t slot = 0;
  };
  using Path = std::vector<Step>;
  // What a name's hash finds: the entry (with the path to its leaf) if the name is present, and
  // the sequence numbers that names sharing its hash use.
  struct NameSearch {
    std::optional<DirEntry> entry;
    Path path;
    std::vector<bool> sequence_used = std::vector<bool>(256);
  };
  class Changes;
  class CallGuard;

  DirTree(DirStorage& storage, uint64_t hash_seed, DirNodeCache& cache, NameHash hash);

  Task<Status> Reload();
  Task<Status> ReloadIfStale();
  // The node at `block`, from the cache or storage, checked to be at `level` and to hold only
  // cookies in [low, high).
  Task<Result<NodePtr>> ReadNode(uint64_t block, uint32_t level, uint64_t low, uint64_t high);
  Task<Result<NodePtr>> PlannedOrRead(const Changes& changes, uint64_t block, uint32_t level);
  Task<Result<DirFreeList>> ReadFreeList(uint64_t block, uint64_t next_block);
  Task<Result<Path>> Descend(uint64_t cookie);
  Task<Result<NameSearch>> Search(std::string_view name);
  Task<Status> ForEachFrom(uint64_t from, const std::function<bool(const DirEntry&)>& visit);

  // Planning: changes to a copy of the header and a set of block writes, with reads only.
  Task<Result<uint64_t>> Allocate(DirHeader& header, Changes& changes);
  void Free(DirHeader& header, Changes& changes, uint64_t block) const;
  Task<Status> PlanGrowth(const Path& path, DirNode leaf, DirHeader& header, Changes& changes);
  Task<Status> PlanShrink(const Path& path, DirNode leaf, DirHeader& header, Changes& changes);
  Task<Status> PlanCollapse(DirHeader& header, Changes& changes, DirNode root);
  Task<Status> PlanEmpty(const Path& path, DirHeader& header, Changes& changes);
  // Writes the planned blocks, then the header, and adopts the header.
  Task<Status> Apply(const Changes& changes, const DirHeader& header);

  Task<Result<uint64_t>> DoInsert(std::string_view name, uint64_t ino, uint8_t type);
  Task<Result<DirEntry>> DoRemove(std::string_view name);
  Task<Status> DoReplace(std::string_view name, uint64_t ino, uint8_t type);
  Task<Status> DoVerify();

  uint64_t BaseCookie(std::string_view name) const;
  Status CheckLeafHashes(const DirNode& leaf, uint64_t block) const;
  void CacheNode(uint64_t block, NodePtr node) { cache_.Put(cache_owner_, block, std::move(node)); }
  void ForgetNode(uint64_t block) { cache_.Erase(cache_owner_, block); }
  // The leaf at the end of `path`, for an operation to change: moved out of the cache (and out
  // of `path`, whose last node is then null) when nothing else holds it, else copied.
  DirNode TakeLeaf(Path& path);
  // Nothing cached so far is found again.
  void DropCache() { cache_owner_ = cache_.NewOwner(); }

  DirStorage& storage_;
  const uint64_t hash_seed_;
  const NameHash hash_;
  const uint32_t block_size_;
  DirHeader header_;
  bool stale_ = false;  // A write failed: reload before the next call.
  bool busy_ = false;

  DirNodeCache& cache_;
  uint64_t cache_owner_;
  uint64_t blocks_read_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_DIR_TREE_H_
