// DirTree: the entries of one directory as a B+tree in 4 KiB-class blocks of a DirStorage
// (FORMAT.md, "Directory index").
//
// Contract:
//  - Entries map a name (1 to 255 bytes, no '/' or NUL: EINVAL / ENAMETOOLONG otherwise) to an
//    inode number and a DT_* type. Each entry has a cookie: a keyed 55-bit hash of its name
//    shifted left 8, plus a sequence byte that tells apart names whose hashes collide. Cookies
//    are unique in the directory, stable while the entry lives, in [256, 2^63), and the tree is
//    ordered by them, so List resumes by key: an entry present for a whole listing is returned
//    exactly once whatever is inserted or removed between List calls.
//  - Lookup, Insert, Remove and Replace read O(depth) blocks (plus the rare leaf neighbour when
//    colliding names straddle a leaf boundary); nothing loads the whole directory.
//  - Emptied leaves and inner nodes are unlinked and released; a directory emptied completely
//    shrinks back to its header and one leaf. Leaves are not merged otherwise.
//  - Every block carries a magic, its kind and level, and a CRC32C. A block that fails a check is
//    EUCLEAN, naming the block; the tree never trusts a child number, count or length it did not
//    check, so corruption cannot crash it or make it loop.
//  - A failed storage call leaves the tree to reload everything from storage on its next call.
//  - One caller at a time (the filesystem serializes namespace calls).
#ifndef BLOBFS_BLOBFS_DIR_TREE_H_
#define BLOBFS_BLOBFS_DIR_TREE_H_

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "blobfs/dir_storage.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

struct DirEntry {
  uint64_t cookie = 0;
  uint64_t ino = 0;
  uint8_t type = 0;
  std::string name{};
};

class DirTree {
 public:
  // The 55-bit name hash; tests may replace it to force collisions.
  using NameHash = std::function<uint64_t(std::string_view name, uint64_t seed)>;
  static uint64_t DefaultHash(std::string_view name, uint64_t seed);

  // Writes an empty index (header block 0 and an empty root leaf in block 1).
  static Task<Status> Format(DirStorage& storage, uint64_t hash_seed);
  // Reads and checks the header. `cache_blocks`: blocks kept in memory.
  static Task<Result<std::unique_ptr<DirTree>>> Open(DirStorage& storage, uint64_t hash_seed,
                                                     size_t cache_blocks, NameHash hash = {});

  Task<Result<std::optional<DirEntry>>> Lookup(std::string_view name);
  // EEXIST when present; the new entry's cookie otherwise.
  Task<Result<uint64_t>> Insert(std::string_view name, uint64_t ino, uint8_t type);
  // The removed entry; ENOENT when absent.
  Task<Result<DirEntry>> Remove(std::string_view name);
  // Points an existing name at another inode, keeping its cookie. ENOENT when absent.
  Task<Status> Replace(std::string_view name, uint64_t ino, uint8_t type);
  // Calls `emit` for the entries with cookie > `after` in cookie order until it returns false.
  Task<Status> List(uint64_t after, std::function<bool(const DirEntry&)> emit);

  uint64_t size() const { return header_.entries; }
  // Blocks in use, the header included.
  uint64_t blocks_in_use() const;
  // Blocks read from storage so far (cache misses).
  uint64_t blocks_read() const { return blocks_read_; }

  struct Header {
    uint64_t root = 0;
    uint32_t depth = 0;  // Levels above the leaves: 0 when the root is a leaf.
    uint64_t entries = 0;
    uint64_t next_block = 0;  // Blocks at or past this are unused.
    std::vector<uint64_t> free_blocks;  // Released blocks below next_block, for reuse.
  };
  struct Node;

 private:
  DirTree(DirStorage& storage, uint64_t hash_seed, size_t cache_blocks, NameHash hash);

  // One step of a descent: the inner node's block and the child slot taken.
  struct PathStep {
    uint64_t block;
    size_t slot;
  };

  Task<Status> Reload();
  Task<Status> WithReloadOnError(Status status);
  Task<Result<Node>> ReadNode(uint64_t block, int expected_kind, uint32_t expected_level);
  Task<Status> WriteNode(uint64_t block, const Node& node);
  Task<Status> WriteHeader();
  Task<Result<uint64_t>> AllocateBlock();
  Task<Status> FreeBlock(uint64_t block);
  // Descends to the leaf that holds `cookie`, filling `path` with the inner steps and
  // `next_leaf_key` with the first key of the following leaf (none for the last leaf).
  Task<Result<uint64_t>> FindLeaf(uint64_t cookie, std::vector<PathStep>* path,
                                  std::optional<uint64_t>* next_leaf_key);
  // Visits the entries with cookie >= `from` in order until `visit` returns false.
  Task<Status> ForEachFrom(uint64_t from, const std::function<bool(const DirEntry&)>& visit);
  // The entries whose cookie is in [base, base + 255], i.e. the names with hash `base`.
  Task<Result<std::vector<DirEntry>>> EntriesWithHash(uint64_t base);
  Task<Result<std::optional<DirEntry>>> Find(std::string_view name);
  // Puts `key` -> `child` right after `path.back()`'s slot, splitting upward as needed.
  Task<Status> InsertIntoParent(std::vector<PathStep> path, uint64_t key, uint64_t child);
  // Removes `path.back()`'s slot from its node, freeing nodes that empty, and collapses the root.
  Task<Status> RemoveFromParent(std::vector<PathStep> path);
  Task<Status> DoRemove(const DirEntry& entry);
  uint64_t BaseCookie(std::string_view name) const;

  DirStorage& storage_;
  const uint64_t hash_seed_;
  const NameHash hash_;
  const uint32_t block_size_;
  Header header_;
  bool stale_ = false;

  // Raw blocks, most recently used first.
  const size_t cache_capacity_;
  std::list<std::pair<uint64_t, std::vector<std::byte>>> lru_;
  std::unordered_map<uint64_t, decltype(lru_)::iterator> cache_;
  uint64_t blocks_read_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_DIR_TREE_H_
