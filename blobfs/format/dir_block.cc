#include "blobfs/format/dir_block.h"

#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "blob/crc32c.h"
#include "blob/format/endian.h"
#include "glog/logging.h"

namespace blobfs {
namespace {

// Every block: magic, kind, level and count up front; the CRC32C of all bytes before it in the
// last four.
constexpr uint32_t kMagic = 0x52494442;  // "BDIR" in little-endian order.
constexpr size_t kMagicOffset = 0;
constexpr size_t kKindOffset = 4;
constexpr size_t kLevelOffset = 5;
constexpr size_t kCountOffset = 6;
constexpr size_t kBodyOffset = 8;
constexpr size_t kCrcSize = 4;

enum Kind : uint8_t { kHeaderKind = 1, kLeafKind = 2, kInnerKind = 3, kFreeListKind = 4 };

// Header block.
constexpr size_t kVersionOffset = 8;
constexpr size_t kBlockSizeOffset = 12;
constexpr size_t kDepthOffset = 16;
constexpr size_t kHeaderReservedOffset = 20;
constexpr size_t kRootOffset = 24;
constexpr size_t kEntriesOffset = 32;
constexpr size_t kNextBlockOffset = 40;
constexpr size_t kFreeListOffset = 48;
constexpr size_t kFreeBlocksOffset = 56;
constexpr size_t kSeedCheckOffset = 64;
constexpr size_t kFreeArrayOffset = 72;
// Free-list block.
constexpr size_t kNextListOffset = 8;
constexpr size_t kListArrayOffset = 16;
// Leaf entry: cookie, ino, type, name length, then the name.
constexpr size_t kEntryFixedBytes = 18;

const char* KindName(uint8_t kind) {
  switch (kind) {
    case kHeaderKind:
      return "a header";
    case kLeafKind:
      return "a leaf";
    case kInnerKind:
      return "an inner node";
    case kFreeListKind:
      return "a free-list block";
    default:
      return "of no known kind";
  }
}

size_t CrcOffset(std::span<const std::byte> block) { return block.size() - kCrcSize; }

void Seal(std::span<std::byte> block, uint8_t kind, uint32_t level, size_t count) {
  CHECK_LE(count, 0xffffu);
  StoreLe32(block, kMagicOffset, kMagic);
  block[kKindOffset] = static_cast<std::byte>(kind);
  block[kLevelOffset] = static_cast<std::byte>(level);
  StoreLe16(block, kCountOffset, static_cast<uint16_t>(count));
  StoreLe32(block, CrcOffset(block), Crc32c(block.first(CrcOffset(block))));
}

// Checks what every block has; `name` says which block it is in messages.
Status CheckFrame(std::span<const std::byte> block, uint8_t kind, uint32_t level,
                  const std::string& name) {
  if (!IsValidDirBlockSize(static_cast<uint32_t>(block.size()))) {
    return MakeError(EUCLEAN, "%s: %d bytes is no directory block size", name, block.size());
  }
  if (LoadLe32(block, kMagicOffset) != kMagic) {
    return MakeError(EUCLEAN, "%s: bad magic 0x%08x", name, LoadLe32(block, kMagicOffset));
  }
  uint8_t found_kind = std::to_integer<uint8_t>(block[kKindOffset]);
  if (found_kind != kind) {
    return MakeError(EUCLEAN, "%s is %s (kind %d), expected %s", name, KindName(found_kind),
                     found_kind, KindName(kind));
  }
  uint32_t found_level = std::to_integer<uint32_t>(block[kLevelOffset]);
  if (found_level != level) {
    return MakeError(EUCLEAN, "%s has level %d, expected %d", name, found_level, level);
  }
  uint32_t crc = Crc32c(block.first(CrcOffset(block)));
  if (LoadLe32(block, CrcOffset(block)) != crc) {
    return MakeError(EUCLEAN, "%s: CRC 0x%08x does not match its bytes (0x%08x)", name,
                     LoadLe32(block, CrcOffset(block)), crc);
  }
  return OkStatus();
}

// The bytes between the used part of a block and its CRC are zero in every block we write.
Status CheckZeroTail(std::span<const std::byte> block, size_t used, const std::string& name) {
  auto tail = block.subspan(used, CrcOffset(block) - used);
  if (std::any_of(tail.begin(), tail.end(), [](std::byte b) { return b != std::byte{0}; })) {
    return MakeError(EUCLEAN, "%s: bytes past offset %d are not zero", name, used);
  }
  return OkStatus();
}

std::string BlockName(uint64_t index) { return absl::StrFormat("directory block %d", index); }

}  // namespace

bool IsValidDirBlockSize(uint32_t block_size) {
  return block_size >= kDirMinBlockSize && block_size <= kDirMaxBlockSize &&
         (block_size & (block_size - 1)) == 0;
}

Status CheckDirEntryName(std::string_view name) {
  if (name.empty()) return MakeError(EINVAL, "empty name");
  if (name.size() > kDirMaxNameLength) {
    return MakeError(ENAMETOOLONG, "name of %d bytes (at most %d)", name.size(),
                     kDirMaxNameLength);
  }
  if (name.find('/') != std::string_view::npos) return MakeError(EINVAL, "name with '/'");
  if (name.find('\0') != std::string_view::npos) return MakeError(EINVAL, "name with NUL");
  return OkStatus();
}

uint64_t DirSeedCheck(uint64_t hash_seed) {
  constexpr std::string_view kLabel = "blobfs directory index";
  return XXH3_64bits_withSeed(kLabel.data(), kLabel.size(), hash_seed);
}

size_t DirEntryBytes(const DirEntry& entry) { return kEntryFixedBytes + entry.name.size(); }
size_t DirLeafCapacity(uint32_t block_size) { return block_size - kBodyOffset - kCrcSize; }
size_t DirLeafBytes(const DirNode& leaf) {
  size_t bytes = 0;
  for (const DirEntry& entry : leaf.entries) bytes += DirEntryBytes(entry);
  return bytes;
}
size_t DirInnerCapacity(uint32_t block_size) {
  return (block_size - kBodyOffset - kCrcSize - 8) / 16 + 1;
}
size_t DirFreeCapacity(uint32_t block_size) {
  return (block_size - kFreeArrayOffset - kCrcSize) / 8;
}
bool DirNodeFits(const DirNode& node, uint32_t block_size) {
  return node.is_leaf() ? DirLeafBytes(node) <= DirLeafCapacity(block_size)
                        : node.children.size() <= DirInnerCapacity(block_size);
}

void EncodeDirHeader(const DirHeader& header, std::span<std::byte> block) {
  CHECK_LE(header.free.size(), DirFreeCapacity(static_cast<uint32_t>(block.size())));
  std::memset(block.data(), 0, block.size());
  StoreLe32(block, kVersionOffset, kDirFormatVersion);
  StoreLe32(block, kBlockSizeOffset, header.block_size);
  StoreLe32(block, kDepthOffset, header.depth);
  StoreLe64(block, kRootOffset, header.root);
  StoreLe64(block, kEntriesOffset, header.entries);
  StoreLe64(block, kNextBlockOffset, header.next_block);
  StoreLe64(block, kFreeListOffset, header.free_list);
  StoreLe64(block, kFreeBlocksOffset, header.free_blocks);
  StoreLe64(block, kSeedCheckOffset, header.seed_check);
  for (size_t i = 0; i < header.free.size(); ++i) {
    StoreLe64(block, kFreeArrayOffset + 8 * i, header.free[i]);
  }
  Seal(block, kHeaderKind, 0, header.free.size());
}

void EncodeDirNode(const DirNode& node, std::span<std::byte> block) {
  CHECK(DirNodeFits(node, static_cast<uint32_t>(block.size())));
  std::memset(block.data(), 0, block.size());
  size_t at = kBodyOffset;
  if (node.is_leaf()) {
    for (const DirEntry& entry : node.entries) {
      StoreLe64(block, at, entry.cookie);
      StoreLe64(block, at + 8, entry.ino);
      block[at + 16] = static_cast<std::byte>(entry.type);
      block[at + 17] = static_cast<std::byte>(entry.name.size());
      std::memcpy(block.data() + at + kEntryFixedBytes, entry.name.data(), entry.name.size());
      at += DirEntryBytes(entry);
    }
    Seal(block, kLeafKind, 0, node.entries.size());
    return;
  }
  CHECK_EQ(node.keys.size(), node.children.size());
  for (size_t i = 0; i < node.children.size(); ++i) {
    if (i > 0) {
      StoreLe64(block, at, node.keys[i]);
      at += 8;
    }
    StoreLe64(block, at, node.children[i]);
    at += 8;
  }
  Seal(block, kInnerKind, node.level, node.children.size());
}

void EncodeDirFreeList(const DirFreeList& list, std::span<std::byte> block) {
  CHECK_LE(list.blocks.size(), DirFreeCapacity(static_cast<uint32_t>(block.size())));
  std::memset(block.data(), 0, block.size());
  StoreLe64(block, kNextListOffset, list.next);
  for (size_t i = 0; i < list.blocks.size(); ++i) {
    StoreLe64(block, kListArrayOffset + 8 * i, list.blocks[i]);
  }
  Seal(block, kFreeListKind, 0, list.blocks.size());
}

Result<DirHeader> DecodeDirHeader(std::span<const std::byte> block) {
  const std::string name = "directory header (block 0)";
  // The block size first: opened with another size, the CRC would cover the wrong bytes.
  if (block.size() >= kFreeArrayOffset && LoadLe32(block, kMagicOffset) == kMagic &&
      LoadLe32(block, kBlockSizeOffset) != block.size()) {
    return MakeError(EUCLEAN, "%s: written with %d-byte blocks, read with %d", name,
                     LoadLe32(block, kBlockSizeOffset), block.size());
  }
  RETURN_IF_ERROR(CheckFrame(block, kHeaderKind, 0, name));
  uint32_t version = LoadLe32(block, kVersionOffset);
  if (version > kDirFormatVersion) {
    return MakeError(EOPNOTSUPP, "%s: version %d is newer than this program's %d", name, version,
                     kDirFormatVersion);
  }
  if (version == 0) return MakeError(EUCLEAN, "%s: version 0", name);
  if (LoadLe32(block, kHeaderReservedOffset) != 0) {
    return MakeError(EUCLEAN, "%s: reserved field is not zero", name);
  }
  DirHeader header;
  header.block_size = LoadLe32(block, kBlockSizeOffset);
  header.depth = LoadLe32(block, kDepthOffset);
  header.root = LoadLe64(block, kRootOffset);
  header.entries = LoadLe64(block, kEntriesOffset);
  header.next_block = LoadLe64(block, kNextBlockOffset);
  header.free_list = LoadLe64(block, kFreeListOffset);
  header.free_blocks = LoadLe64(block, kFreeBlocksOffset);
  header.seed_check = LoadLe64(block, kSeedCheckOffset);
  size_t count = LoadLe16(block, kCountOffset);
  if (header.next_block < 2 || header.next_block > kDirMaxBlocks) {
    return MakeError(EUCLEAN, "%s: next_block %d is out of range", name, header.next_block);
  }
  if (header.depth > kDirMaxDepth) {
    return MakeError(EUCLEAN, "%s: depth %d exceeds %d", name, header.depth, kDirMaxDepth);
  }
  if (header.root == kDirHeaderBlock || header.root >= header.next_block) {
    return MakeError(EUCLEAN, "%s: root %d is out of range (next_block %d)", name, header.root,
                     header.next_block);
  }
  if (header.free_list == header.root || header.free_list >= header.next_block) {
    return MakeError(EUCLEAN, "%s: free list %d is out of range or the root", name,
                     header.free_list);
  }
  if (count > DirFreeCapacity(header.block_size)) {
    return MakeError(EUCLEAN, "%s: %d free numbers (at most %d)", name, count,
                     DirFreeCapacity(header.block_size));
  }
  // Every free number is a block below next_block other than the header and the root.
  if (header.free_blocks < count || header.free_blocks > header.next_block - 2 ||
      (header.free_list == 0 && header.free_blocks != count)) {
    return MakeError(EUCLEAN, "%s: free_blocks %d disagrees with %d free numbers here", name,
                     header.free_blocks, count);
  }
  std::unordered_set<uint64_t> seen;
  for (size_t i = 0; i < count; ++i) {
    uint64_t free_block = LoadLe64(block, kFreeArrayOffset + 8 * i);
    if (free_block == kDirHeaderBlock || free_block >= header.next_block ||
        free_block == header.root || (free_block == header.free_list) ||
        !seen.insert(free_block).second) {
      return MakeError(EUCLEAN, "%s: free number %d is out of range, in use or repeated", name,
                       free_block);
    }
    header.free.push_back(free_block);
  }
  RETURN_IF_ERROR(CheckZeroTail(block, kFreeArrayOffset + 8 * count, name));
  return header;
}

Result<DirNode> DecodeDirNode(std::span<const std::byte> block, uint64_t index, uint32_t level,
                              uint64_t next_block) {
  const std::string name = BlockName(index);
  if (level > kDirMaxDepth) return MakeError(EUCLEAN, "%s: level %d is too deep", name, level);
  RETURN_IF_ERROR(CheckFrame(block, level == 0 ? kLeafKind : kInnerKind, level, name));
  size_t count = LoadLe16(block, kCountOffset);
  DirNode node;
  node.level = level;
  size_t at = kBodyOffset;
  const size_t end = CrcOffset(block);
  if (level == 0) {
    node.entries.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (end - at < kEntryFixedBytes + 1) {
        return MakeError(EUCLEAN, "%s: entry %d of %d runs past the block", name, i, count);
      }
      DirEntry entry;
      entry.cookie = LoadLe64(block, at);
      entry.ino = LoadLe64(block, at + 8);
      entry.type = std::to_integer<uint8_t>(block[at + 16]);
      size_t length = std::to_integer<size_t>(block[at + 17]);
      if (length == 0 || length > end - at - kEntryFixedBytes) {
        return MakeError(EUCLEAN, "%s: entry %d has a name of %d bytes", name, i, length);
      }
      entry.name.assign(reinterpret_cast<const char*>(block.data()) + at + kEntryFixedBytes,
                        length);
      if (!CheckDirEntryName(entry.name).ok()) {
        return MakeError(EUCLEAN, "%s: entry %d has a name with '/' or NUL", name, i);
      }
      if (entry.type >= 16) {
        return MakeError(EUCLEAN, "%s: entry %d has type %d", name, i, entry.type);
      }
      if (entry.cookie < kDirFirstCookie || entry.cookie >= kDirCookieEnd ||
          (!node.entries.empty() && entry.cookie <= node.entries.back().cookie)) {
        return MakeError(EUCLEAN, "%s: entry %d has cookie 0x%x, out of range or order", name, i,
                         entry.cookie);
      }
      at += DirEntryBytes(entry);
      node.entries.push_back(std::move(entry));
    }
    RETURN_IF_ERROR(CheckZeroTail(block, at, name));
    return node;
  }
  if (count == 0 || count > DirInnerCapacity(static_cast<uint32_t>(block.size()))) {
    return MakeError(EUCLEAN, "%s: inner node with %d children", name, count);
  }
  node.keys.reserve(count);
  node.children.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    uint64_t key = 0;
    if (i > 0) {
      key = LoadLe64(block, at);
      at += 8;
    }
    uint64_t child = LoadLe64(block, at);
    at += 8;
    if (child == kDirHeaderBlock || child >= next_block || child == index) {
      return MakeError(EUCLEAN, "%s: child %d is block %d, out of range (next_block %d)", name,
                       i, child, next_block);
    }
    if (i > 0 && (key < kDirFirstCookie || key >= kDirCookieEnd || key <= node.keys.back())) {
      return MakeError(EUCLEAN, "%s: key %d (0x%x) is out of range or order", name, i, key);
    }
    node.keys.push_back(key);
    node.children.push_back(child);
  }
  RETURN_IF_ERROR(CheckZeroTail(block, at, name));
  return node;
}

Result<DirFreeList> DecodeDirFreeList(std::span<const std::byte> block, uint64_t index,
                                      uint64_t next_block) {
  const std::string name = BlockName(index);
  RETURN_IF_ERROR(CheckFrame(block, kFreeListKind, 0, name));
  size_t count = LoadLe16(block, kCountOffset);
  if (count > DirFreeCapacity(static_cast<uint32_t>(block.size()))) {
    return MakeError(EUCLEAN, "%s: free list of %d numbers", name, count);
  }
  DirFreeList list;
  list.next = LoadLe64(block, kNextListOffset);
  if (list.next >= next_block || list.next == index) {
    return MakeError(EUCLEAN, "%s: next free-list block %d is out of range", name, list.next);
  }
  std::unordered_set<uint64_t> seen;
  for (size_t i = 0; i < count; ++i) {
    uint64_t free_block = LoadLe64(block, kListArrayOffset + 8 * i);
    if (free_block == kDirHeaderBlock || free_block >= next_block || free_block == index ||
        free_block == list.next || !seen.insert(free_block).second) {
      return MakeError(EUCLEAN, "%s: free number %d is out of range or repeated", name,
                       free_block);
    }
    list.blocks.push_back(free_block);
  }
  RETURN_IF_ERROR(CheckZeroTail(block, kListArrayOffset + 8 * count, name));
  return list;
}

}  // namespace blobfs
