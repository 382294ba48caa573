// The blocks of a directory index (DirTree) as bytes: header, leaf, inner node and free-list
// blocks (FORMAT.md, "Directory index").
//
// Contract:
//  - Encode* fills a whole block of the index's block size and seals it with its CRC. What it
//    encodes must fit (DirNodeFits; at most DirFreeCapacity free numbers): anything else is a
//    programming error.
//  - Decode* trusts nothing. It accepts a block only when the magic, kind, level, CRC and every
//    count, length, block number, name and ordering it can check on its own are right, and
//    otherwise returns EUCLEAN with a message naming the block and the field. A decoded block
//    needs no further bounds checks to be walked or re-encoded. What one block cannot show (that
//    a leaf's cookies lie in its parent's range, that a block is referenced once) is DirTree's.
//  - Block sizes are powers of two in [kDirMinBlockSize, kDirMaxBlockSize].
#ifndef BLOBFS_BLOBFS_FORMAT_DIR_BLOCK_H_
#define BLOBFS_BLOBFS_FORMAT_DIR_BLOCK_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace blobfs {

inline constexpr uint32_t kDirMinBlockSize = 1024;
inline constexpr uint32_t kDirMaxBlockSize = 65536;
inline constexpr uint32_t kDirFormatVersion = 1;
inline constexpr size_t kDirMaxNameLength = 255;
// Inner levels above the leaves; far more than 2^40 blocks need.
inline constexpr uint32_t kDirMaxDepth = 32;
inline constexpr uint64_t kDirMaxBlocks = uint64_t{1} << 40;
// Every cookie lies in [kDirFirstCookie, kDirCookieEnd): hash 1 (the least) with sequence 0, up
// to the largest 55-bit hash with sequence 255.
inline constexpr uint64_t kDirFirstCookie = 256;
inline constexpr uint64_t kDirCookieEnd = uint64_t{1} << 63;
inline constexpr uint64_t kDirHeaderBlock = 0;

// One name of a directory.
struct DirEntry {
  uint64_t cookie = 0;
  uint64_t ino = 0;
  uint8_t type = 0;  // A DT_* value (below 16).
  std::string name{};

  friend bool operator==(const DirEntry&, const DirEntry&) = default;
};

// A leaf (level 0) or an inner node (level >= 1) of the tree.
struct DirNode {
  uint32_t level = 0;
  std::vector<DirEntry> entries{};  // Leaf: strictly ascending by cookie.
  // Inner node: children[i] holds the cookies in [keys[i], keys[i + 1]); keys[0] is unused (0),
  // the range's low end being the parent's.
  std::vector<uint64_t> keys{};
  std::vector<uint64_t> children{};

  bool is_leaf() const { return level == 0; }
};

// Block 0.
struct DirHeader {
  uint32_t block_size = 0;
  uint32_t depth = 0;  // Inner levels above the leaves: 0 when the root is a leaf.
  uint64_t root = 0;
  uint64_t entries = 0;
  uint64_t next_block = 0;  // Blocks at or past this are unused.
  uint64_t free_list = 0;   // First free-list block; 0 when there is none.
  uint64_t free_blocks = 0;  // Free block numbers, here and in the free-list blocks.
  uint64_t seed_check = 0;   // DirSeedCheck of the name-hash seed the index was built with.
  std::vector<uint64_t> free{};  // Free block numbers below next_block, for reuse.

  friend bool operator==(const DirHeader&, const DirHeader&) = default;
};

// A block of the chain that keeps free block numbers when the header has no room for more.
struct DirFreeList {
  uint64_t next = 0;  // The following free-list block; 0 ends the chain.
  std::vector<uint64_t> blocks{};
};

bool IsValidDirBlockSize(uint32_t block_size);
// EINVAL or ENAMETOOLONG unless `name` is 1 to 255 bytes without '/' and NUL.
Status CheckDirEntryName(std::string_view name);
// A fingerprint of the hash seed, so that an index opened with another seed is refused rather
// than silently unable to find its names.
uint64_t DirSeedCheck(uint64_t hash_seed);

// Bytes an entry takes in a leaf, and the bytes a leaf has for entries.
size_t DirEntryBytes(const DirEntry& entry);
size_t DirLeafCapacity(uint32_t block_size);
size_t DirLeafBytes(const DirNode& leaf);
// Children an inner node can hold.
size_t DirInnerCapacity(uint32_t block_size);
// Free block numbers the header, and each free-list block, can hold.
size_t DirFreeCapacity(uint32_t block_size);
bool DirNodeFits(const DirNode& node, uint32_t block_size);

void EncodeDirHeader(const DirHeader& header, std::span<std::byte> block);
void EncodeDirNode(const DirNode& node, std::span<std::byte> block);
void EncodeDirFreeList(const DirFreeList& list, std::span<std::byte> block);

// Block numbers are checked against the header's next_block (that of the decoded header itself).
Result<DirHeader> DecodeDirHeader(std::span<const std::byte> block);
// `index` names the block in errors and may not be its own child; `level` is the level its parent
// expects.
Result<DirNode> DecodeDirNode(std::span<const std::byte> block, uint64_t index, uint32_t level,
                              uint64_t next_block);
Result<DirFreeList> DecodeDirFreeList(std::span<const std::byte> block, uint64_t index,
                                      uint64_t next_block);

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_FORMAT_DIR_BLOCK_H_
