#include "blobfs/dir_tree.h"

#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "blob/crc32c.h"
#include "blob/format/endian.h"

namespace blobfs {
namespace {

// Block layout (FORMAT.md, "Directory index").
constexpr uint32_t kMagic = 0x52494442;  // "BDIR"
constexpr size_t kMagicOffset = 0;
constexpr size_t kKindOffset = 4;
constexpr size_t kLevelOffset = 5;
constexpr size_t kCountOffset = 6;
constexpr size_t kCrcOffset = 8;
constexpr size_t kBodyOffset = 16;
// Header block fields.
constexpr size_t kRootOffset = 16;
constexpr size_t kDepthOffset = 24;
constexpr size_t kFreeCountOffset = 28;
constexpr size_t kEntriesOffset = 32;
constexpr size_t kNextBlockOffset = 40;
constexpr size_t kFreeArrayOffset = 48;
// Leaf entry: cookie, ino, type, name length, name.
constexpr size_t kEntryFixedSize = 18;

constexpr int kHeaderKind = 1;
constexpr int kLeafKind = 2;
constexpr int kInnerKind = 3;
constexpr uint32_t kMaxDepth = 32;
constexpr uint64_t kHeaderBlock = 0;
constexpr uint64_t kFirstRoot = 1;
constexpr uint64_t kMaxBlocks = uint64_t{1} << 40;

const char* KindName(int kind) {
  switch (kind) {
    case kHeaderKind:
      return "header";
    case kLeafKind:
      return "leaf";
    default:
      return "inner node";
  }
}

size_t EntrySize(const DirEntry& entry) { return kEntryFixedSize + entry.name.size(); }

Status CheckEntryName(std::string_view name) {
  if (name.empty()) return MakeError(EINVAL, "empty name");
  if (name.size() > 255) return MakeError(ENAMETOOLONG, "name of %d bytes", name.size());
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return MakeError(EINVAL, "name with '/' or NUL");
  }
  return Status();
}

void SealBlock(std::span<std::byte> block, int kind, uint32_t level, uint32_t count) {
  StoreLe32(block, kMagicOffset, kMagic);
  block[kKindOffset] = static_cast<std::byte>(kind);
  block[kLevelOffset] = static_cast<std::byte>(level);
  StoreLe16(block, kCountOffset, static_cast<uint16_t>(count));
  StoreLe32(block, kCrcOffset, 0);
  StoreLe32(block, kCrcOffset, Crc32c(block));
}

size_t MaxFreeBlocks(uint32_t block_size) { return (block_size - kFreeArrayOffset) / 8; }
size_t MaxChildren(uint32_t block_size) { return (block_size - kBodyOffset - 8) / 16 + 1; }

}  // namespace

struct DirTree::Node {
  int kind = kLeafKind;
  uint32_t level = 0;
  std::vector<DirEntry> entries;   // Leaves, ascending by cookie.
  std::vector<uint64_t> keys;      // Inner nodes: keys[i] <= every cookie below children[i]
  std::vector<uint64_t> children;  // (keys[0] is unused and 0).

  size_t LeafBytes() const {
    size_t bytes = kBodyOffset;
    for (const DirEntry& entry : entries) bytes += EntrySize(entry);
    return bytes;
  }
};

uint64_t DirTree::DefaultHash(std::string_view name, uint64_t seed) {
  return XXH3_64bits_withSeed(name.data(), name.size(), seed) >> 9;
}

DirTree::DirTree(DirStorage& storage, uint64_t hash_seed, size_t cache_blocks, NameHash hash)
    : storage_(storage),
      hash_seed_(hash_seed),
      hash_(hash ? std::move(hash) : NameHash(&DefaultHash)),
      block_size_(storage.block_size()),
      cache_capacity_(std::max<size_t>(cache_blocks, 8)) {}

uint64_t DirTree::BaseCookie(std::string_view name) const {
  uint64_t hash = hash_(name, hash_seed_) & ((uint64_t{1} << 55) - 1);
  return std::max<uint64_t>(hash, 1) << 8;
}

uint64_t DirTree::blocks_in_use() const {
  return header_.next_block - header_.free_blocks.size();
}

Task<Status> DirTree::Format(DirStorage& storage, uint64_t hash_seed) {
  DirTree tree(storage, hash_seed, 8, {});
  tree.header_ = Header{.root = kFirstRoot, .depth = 0, .entries = 0, .next_block = 2,
                        .free_blocks = {}};
  Node root;
  CO_RETURN_IF_ERROR(co_await tree.WriteNode(kFirstRoot, root));
  co_return co_await tree.WriteHeader();
}

Task<Result<std::unique_ptr<DirTree>>> DirTree::Open(DirStorage& storage, uint64_t hash_seed,
                                                     size_t cache_blocks, NameHash hash) {
  if (storage.block_size() < 1024 || (storage.block_size() & (storage.block_size() - 1)) != 0) {
    co_return MakeError(EINVAL, "directory block size %d", storage.block_size());
  }
  std::unique_ptr<DirTree> tree(new DirTree(storage, hash_seed, cache_blocks, std::move(hash)));
  CO_RETURN_IF_ERROR(co_await tree->Reload());
  co_return tree;
}

Task<Status> DirTree::Reload() {
  lru_.clear();
  cache_.clear();
  std::vector<std::byte> block(block_size_);
  CO_RETURN_IF_ERROR(co_await storage_.ReadBlock(kHeaderBlock, block));
  ++blocks_read_;
  std::span<std::byte> bytes(block);
  uint32_t crc = LoadLe32(bytes, kCrcOffset);
  StoreLe32(bytes, kCrcOffset, 0);
  if (LoadLe32(bytes, kMagicOffset) != kMagic ||
      std::to_integer<int>(bytes[kKindOffset]) != kHeaderKind) {
    co_return MakeError(EUCLEAN, "directory index: block 0 is no index header");
  }
  if (Crc32c(bytes) != crc) co_return MakeError(EUCLEAN, "directory index: header CRC mismatch");
  Header header;
  header.root = LoadLe64(bytes, kRootOffset);
  header.depth = LoadLe32(bytes, kDepthOffset);
  uint32_t free_count = LoadLe32(bytes, kFreeCountOffset);
  header.entries = LoadLe64(bytes, kEntriesOffset);
  header.next_block = LoadLe64(bytes, kNextBlockOffset);
  if (header.next_block < 2 || header.next_block > kMaxBlocks || header.root == kHeaderBlock ||
      header.root >= header.next_block || header.depth > kMaxDepth ||
      free_count > MaxFreeBlocks(block_size_)) {
    co_return MakeError(EUCLEAN,
                        "directory index: header has root %d, depth %d, next_block %d, "
                        "%d free blocks",
                        header.root, header.depth, header.next_block, free_count);
  }
  for (uint32_t i = 0; i < free_count; ++i) {
    uint64_t free_block = LoadLe64(bytes, kFreeArrayOffset + 8 * i);
    if (free_block == kHeaderBlock || free_block >= header.next_block ||
        free_block == header.root) {
      co_return MakeError(EUCLEAN, "directory index: free block %d out of range", free_block);
    }
    header.free_blocks.push_back(free_block);
  }
  header_ = std::move(header);
  stale_ = false;
  co_return Status();
}

Task<Status> DirTree::WriteHeader() {
  std::vector<std::byte> block(block_size_);
  std::span<std::byte> bytes(block);
  StoreLe64(bytes, kRootOffset, header_.root);
  StoreLe32(bytes, kDepthOffset, header_.depth);
  StoreLe32(bytes, kFreeCountOffset, static_cast<uint32_t>(header_.free_blocks.size()));
  StoreLe64(bytes, kEntriesOffset, header_.entries);
  StoreLe64(bytes, kNextBlockOffset, header_.next_block);
  for (size_t i = 0; i < header_.free_blocks.size(); ++i) {
    StoreLe64(bytes, kFreeArrayOffset + 8 * i, header_.free_blocks[i]);
  }
  SealBlock(bytes, kHeaderKind, 0, 0);
  co_return co_await storage_.WriteBlock(kHeaderBlock, bytes);
}

Task<Result<DirTree::Node>> DirTree::ReadNode(uint64_t block, int expected_kind,
                                              uint32_t expected_level) {
  if (block == kHeaderBlock || block >= header_.next_block) {
    co_return MakeError(EUCLEAN, "directory index: reference to block %d (of %d)", block,
                        header_.next_block);
  }
  std::vector<std::byte> raw;
  if (auto it = cache_.find(block); it != cache_.end()) {
    lru_.splice(lru_.begin(), lru_, it->second);
    raw = it->second->second;
  } else {
    raw.resize(block_size_);
    CO_RETURN_IF_ERROR(co_await storage_.ReadBlock(block, raw));
    ++blocks_read_;
    lru_.emplace_front(block, raw);
    cache_[block] = lru_.begin();
    if (lru_.size() > cache_capacity_) {
      cache_.erase(lru_.back().first);
      lru_.pop_back();
    }
  }
  std::span<std::byte> bytes(raw);
  uint32_t crc = LoadLe32(bytes, kCrcOffset);
  StoreLe32(bytes, kCrcOffset, 0);
  int kind = std::to_integer<int>(bytes[kKindOffset]);
  uint32_t level = std::to_integer<uint32_t>(bytes[kLevelOffset]);
  uint32_t count = LoadLe16(bytes, kCountOffset);
  if (LoadLe32(bytes, kMagicOffset) != kMagic || Crc32c(bytes) != crc) {
    co_return MakeError(EUCLEAN, "directory index: block %d has a bad magic or CRC", block);
  }
  if (kind != expected_kind || level != expected_level) {
    co_return MakeError(EUCLEAN, "directory index: block %d is a %s of level %d, expected a %s "
                        "of level %d", block, KindName(kind), level, KindName(expected_kind),
                        expected_level);
  }
  Node node;
  node.kind = kind;
  node.level = level;
  size_t at = kBodyOffset;
  if (kind == kLeafKind) {
    node.entries.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      if (at + kEntryFixedSize > raw.size()) {
        co_return MakeError(EUCLEAN, "directory index: leaf %d: entry %d past the block", block, i);
      }
      DirEntry entry;
      entry.cookie = LoadLe64(bytes, at);
      entry.ino = LoadLe64(bytes, at + 8);
      entry.type = std::to_integer<uint8_t>(bytes[at + 16]);
      size_t length = std::to_integer<size_t>(bytes[at + 17]);
      if (length == 0 || at + kEntryFixedSize + length > raw.size()) {
        co_return MakeError(EUCLEAN, "directory index: leaf %d: entry %d has a bad name length %d",
                            block, i, length);
      }
      entry.name.assign(reinterpret_cast<const char*>(raw.data() + at + kEntryFixedSize), length);
      if (!node.entries.empty() && entry.cookie <= node.entries.back().cookie) {
        co_return MakeError(EUCLEAN, "directory index: leaf %d: cookies out of order at entry %d",
                            block, i);
      }
      at += kEntryFixedSize + length;
      node.entries.push_back(std::move(entry));
    }
  } else {
    if (count == 0 || count > MaxChildren(block_size_)) {
      co_return MakeError(EUCLEAN, "directory index: inner node %d has %d children", block, count);
    }
    node.keys.reserve(count);
    node.children.reserve(count);
    for (uint32_t i = 0; i < count; ++i) {
      uint64_t key = i == 0 ? 0 : LoadLe64(bytes, at);
      if (i > 0) at += 8;
      uint64_t child = LoadLe64(bytes, at);
      at += 8;
      if (child == kHeaderBlock || child >= header_.next_block || child == block ||
          (i > 0 && key <= node.keys.back())) {
        co_return MakeError(EUCLEAN, "directory index: inner node %d: slot %d (key %d, child %d) "
                            "is out of order or range", block, i, key, child);
      }
      node.keys.push_back(key);
      node.children.push_back(child);
    }
  }
  co_return node;
}

Task<Status> DirTree::WriteNode(uint64_t block, const Node& node) {
  std::vector<std::byte> raw(block_size_);
  std::span<std::byte> bytes(raw);
  size_t at = kBodyOffset;
  uint32_t count;
  if (node.kind == kLeafKind) {
    CHECK_LE(node.LeafBytes(), block_size_);
    for (const DirEntry& entry : node.entries) {
      StoreLe64(bytes, at, entry.cookie);
      StoreLe64(bytes, at + 8, entry.ino);
      bytes[at + 16] = static_cast<std::byte>(entry.type);
      bytes[at + 17] = static_cast<std::byte>(entry.name.size());
      std::memcpy(raw.data() + at + kEntryFixedSize, entry.name.data(), entry.name.size());
      at += EntrySize(entry);
    }
    count = static_cast<uint32_t>(node.entries.size());
  } else {
    CHECK_LE(node.children.size(), MaxChildren(block_size_));
    for (size_t i = 0; i < node.children.size(); ++i) {
      if (i > 0) {
        StoreLe64(bytes, at, node.keys[i]);
        at += 8;
      }
      StoreLe64(bytes, at, node.children[i]);
      at += 8;
    }
    count = static_cast<uint32_t>(node.children.size());
  }
  SealBlock(bytes, node.kind, node.level, count);
  CO_RETURN_IF_ERROR(co_await storage_.WriteBlock(block, bytes));
  if (auto it = cache_.find(block); it != cache_.end()) {
    it->second->second = std::move(raw);
    lru_.splice(lru_.begin(), lru_, it->second);
  }
  co_return Status();
}

Task<Result<uint64_t>> DirTree::AllocateBlock() {
  if (!header_.free_blocks.empty()) {
    uint64_t block = header_.free_blocks.back();
    header_.free_blocks.pop_back();
    co_return block;
  }
  if (header_.next_block >= kMaxBlocks) co_return MakeError(ENOSPC, "directory index is full");
  co_return header_.next_block++;
}

Task<Status> DirTree::FreeBlock(uint64_t block) {
  if (auto it = cache_.find(block); it != cache_.end()) {
    lru_.erase(it->second);
    cache_.erase(it);
  }
  CO_RETURN_IF_ERROR(co_await storage_.ReleaseBlock(block));
  if (block + 1 == header_.next_block) {
    --header_.next_block;
  } else if (header_.free_blocks.size() < MaxFreeBlocks(block_size_)) {
    header_.free_blocks.push_back(block);
  }
  // Otherwise the number stays unused until the directory empties (its space is released).
  co_return Status();
}

Task<Result<uint64_t>> DirTree::FindLeaf(uint64_t cookie, std::vector<PathStep>* path,
                                         std::optional<uint64_t>* next_leaf_key) {
  uint64_t block = header_.root;
  if (next_leaf_key != nullptr) next_leaf_key->reset();
  for (uint32_t level = header_.depth; level > 0; --level) {
    CO_ASSIGN_OR_RETURN(Node node, co_await ReadNode(block, kInnerKind, level));
    auto after = std::upper_bound(node.keys.begin() + 1, node.keys.end(), cookie);
    size_t slot = static_cast<size_t>(after - node.keys.begin()) - 1;
    if (path != nullptr) path->push_back({block, slot});
    // The deepest right neighbour's key bounds the leaf from above.
    if (next_leaf_key != nullptr && slot + 1 < node.keys.size()) {
      *next_leaf_key = node.keys[slot + 1];
    }
    block = node.children[slot];
  }
  co_return block;
}

Task<Result<std::vector<DirEntry>>> DirTree::EntriesWithHash(uint64_t base) {
  std::vector<DirEntry> found;
  const uint64_t last = base | 0xff;
  // A named std::function: GCC 12 mishandles temporaries inside a co_await expression.
  std::function<bool(const DirEntry&)> collect = [&](const DirEntry& entry) {
    if (entry.cookie > last) return false;
    found.push_back(entry);
    return true;
  };
  CO_RETURN_IF_ERROR(co_await ForEachFrom(base, collect));
  co_return found;
}

Task<Status> DirTree::ForEachFrom(uint64_t from, const std::function<bool(const DirEntry&)>& visit) {
  // Names sharing a hash may straddle a leaf boundary, and a listing spans leaves: go leaf by
  // leaf, each found by descending for the key that bounds the previous one.
  while (true) {
    std::optional<uint64_t> next_leaf_key;
    CO_ASSIGN_OR_RETURN(uint64_t block, co_await FindLeaf(from, nullptr, &next_leaf_key));
    CO_ASSIGN_OR_RETURN(Node leaf, co_await ReadNode(block, kLeafKind, 0));
    for (const DirEntry& entry : leaf.entries) {
      if (entry.cookie >= from && !visit(entry)) co_return Status();
    }
    if (!next_leaf_key.has_value() || *next_leaf_key <= from) co_return Status();
    from = *next_leaf_key;
  }
}

Task<Result<std::optional<DirEntry>>> DirTree::Find(std::string_view name) {
  CO_RETURN_IF_ERROR(CheckEntryName(name));
  if (stale_) CO_RETURN_IF_ERROR(co_await Reload());
  CO_ASSIGN_OR_RETURN(std::vector<DirEntry> candidates, co_await EntriesWithHash(BaseCookie(name)));
  for (DirEntry& entry : candidates) {
    if (entry.name == name) co_return std::optional<DirEntry>(std::move(entry));
  }
  co_return std::optional<DirEntry>();
}

Task<Result<std::optional<DirEntry>>> DirTree::Lookup(std::string_view name) {
  Result<std::optional<DirEntry>> found = co_await Find(name);
  if (!found.ok()) stale_ = true;
  co_return found;
}

Task<Status> DirTree::InsertIntoParent(std::vector<PathStep> path, uint64_t key, uint64_t child) {
  while (true) {
    if (path.empty()) {
      // The root split: a new root above the two halves.
      CO_ASSIGN_OR_RETURN(uint64_t new_root, co_await AllocateBlock());
      Node root;
      root.kind = kInnerKind;
      root.level = header_.depth + 1;
      root.keys = {0, key};
      root.children = {header_.root, child};
      CO_RETURN_IF_ERROR(co_await WriteNode(new_root, root));
      header_.root = new_root;
      ++header_.depth;
      co_return Status();
    }
    PathStep step = path.back();
    path.pop_back();
    uint32_t level = header_.depth - static_cast<uint32_t>(path.size());
    CO_ASSIGN_OR_RETURN(Node node, co_await ReadNode(step.block, kInnerKind, level));
    node.keys.insert(node.keys.begin() + step.slot + 1, key);
    node.children.insert(node.children.begin() + step.slot + 1, child);
    if (node.children.size() <= MaxChildren(block_size_)) {
      co_return co_await WriteNode(step.block, node);
    }
    size_t middle = node.children.size() / 2;
    Node right;
    right.kind = kInnerKind;
    right.level = level;
    right.keys.assign(node.keys.begin() + middle, node.keys.end());
    right.children.assign(node.children.begin() + middle, node.children.end());
    key = right.keys[0];
    right.keys[0] = 0;
    node.keys.resize(middle);
    node.children.resize(middle);
    CO_ASSIGN_OR_RETURN(child, co_await AllocateBlock());
    CO_RETURN_IF_ERROR(co_await WriteNode(step.block, node));
    CO_RETURN_IF_ERROR(co_await WriteNode(child, right));
  }
}

Task<Result<uint64_t>> DirTree::Insert(std::string_view name, uint64_t ino, uint8_t type) {
  CO_RETURN_IF_ERROR(CheckEntryName(name));
  if (stale_) CO_RETURN_IF_ERROR(co_await Reload());
  Result<uint64_t> result = co_await [&]() -> Task<Result<uint64_t>> {
    uint64_t base = BaseCookie(name);
    CO_ASSIGN_OR_RETURN(std::vector<DirEntry> same_hash, co_await EntriesWithHash(base));
    std::vector<bool> used(256, false);
    for (const DirEntry& entry : same_hash) {
      if (entry.name == name) co_return MakeError(EEXIST, "\"%s\" exists", std::string(name));
      used[entry.cookie & 0xff] = true;
    }
    auto free_slot = std::find(used.begin(), used.end(), false);
    if (free_slot == used.end()) {
      co_return MakeError(ENOSPC, "256 names of this directory share the hash of \"%s\"",
                          std::string(name));
    }
    DirEntry entry{.cookie = base | static_cast<uint64_t>(free_slot - used.begin()),
                   .ino = ino,
                   .type = type,
                   .name = std::string(name)};
    std::vector<PathStep> path;
    CO_ASSIGN_OR_RETURN(uint64_t leaf_block, co_await FindLeaf(entry.cookie, &path, nullptr));
    CO_ASSIGN_OR_RETURN(Node leaf, co_await ReadNode(leaf_block, kLeafKind, 0));
    auto position = std::lower_bound(
        leaf.entries.begin(), leaf.entries.end(), entry.cookie,
        [](const DirEntry& existing, uint64_t cookie) { return existing.cookie < cookie; });
    uint64_t cookie = entry.cookie;
    leaf.entries.insert(position, std::move(entry));
    ++header_.entries;
    if (leaf.LeafBytes() <= block_size_) {
      CO_RETURN_IF_ERROR(co_await WriteNode(leaf_block, leaf));
    } else {
      // Split by bytes: the left half keeps at least half the payload.
      size_t half = (leaf.LeafBytes() - kBodyOffset) / 2;
      size_t bytes = 0;
      size_t split = 0;
      while (split + 1 < leaf.entries.size() && bytes < half) {
        bytes += EntrySize(leaf.entries[split]);
        ++split;
      }
      if (split == 0) split = 1;
      Node right;
      right.entries.assign(std::make_move_iterator(leaf.entries.begin() + split),
                           std::make_move_iterator(leaf.entries.end()));
      leaf.entries.resize(split);
      CO_ASSIGN_OR_RETURN(uint64_t right_block, co_await AllocateBlock());
      CO_RETURN_IF_ERROR(co_await WriteNode(leaf_block, leaf));
      CO_RETURN_IF_ERROR(co_await WriteNode(right_block, right));
      CO_RETURN_IF_ERROR(
          co_await InsertIntoParent(std::move(path), right.entries[0].cookie, right_block));
    }
    CO_RETURN_IF_ERROR(co_await WriteHeader());
    co_return cookie;
  }();
  if (!result.ok() && result.error().code() != EEXIST) stale_ = true;
  co_return result;
}

Task<Status> DirTree::RemoveFromParent(std::vector<PathStep> path) {
  // Blocks are freed only once nothing refers to them (freeing the last one lowers next_block,
  // past which a reference is corruption).
  std::vector<uint64_t> emptied;
  while (!path.empty()) {
    PathStep step = path.back();
    path.pop_back();
    uint32_t level = header_.depth - static_cast<uint32_t>(path.size());
    CO_ASSIGN_OR_RETURN(Node node, co_await ReadNode(step.block, kInnerKind, level));
    node.keys.erase(node.keys.begin() + step.slot);
    node.children.erase(node.children.begin() + step.slot);
    if (!node.keys.empty()) node.keys[0] = 0;
    if (!node.children.empty()) {
      CO_RETURN_IF_ERROR(co_await WriteNode(step.block, node));
      break;
    }
    emptied.push_back(step.block);
    if (path.empty()) {
      // The whole tree emptied from the top: a fresh root leaf.
      for (uint64_t block : emptied) CO_RETURN_IF_ERROR(co_await FreeBlock(block));
      emptied.clear();
      CO_ASSIGN_OR_RETURN(header_.root, co_await AllocateBlock());
      header_.depth = 0;
      Node empty;
      co_return co_await WriteNode(header_.root, empty);
    }
  }
  for (uint64_t block : emptied) CO_RETURN_IF_ERROR(co_await FreeBlock(block));
  // An inner root with one child steps down.
  while (header_.depth > 0) {
    CO_ASSIGN_OR_RETURN(Node root, co_await ReadNode(header_.root, kInnerKind, header_.depth));
    if (root.children.size() != 1) break;
    uint64_t old_root = header_.root;
    header_.root = root.children[0];
    --header_.depth;
    CO_RETURN_IF_ERROR(co_await FreeBlock(old_root));
  }
  co_return Status();
}

Task<Status> DirTree::DoRemove(const DirEntry& entry) {
  std::vector<PathStep> path;
  CO_ASSIGN_OR_RETURN(uint64_t leaf_block, co_await FindLeaf(entry.cookie, &path, nullptr));
  CO_ASSIGN_OR_RETURN(Node leaf, co_await ReadNode(leaf_block, kLeafKind, 0));
  auto it = std::find_if(leaf.entries.begin(), leaf.entries.end(),
                         [&](const DirEntry& e) { return e.cookie == entry.cookie; });
  if (it == leaf.entries.end()) {
    co_return MakeError(EUCLEAN, "directory index: leaf %d lacks cookie %d found by lookup",
                        leaf_block, entry.cookie);
  }
  leaf.entries.erase(it);
  if (header_.entries > 0) --header_.entries;
  if (header_.entries == 0) {
    // Empty: back to a header and one leaf, whatever the tree grew to.
    for (uint64_t block = kFirstRoot; block < header_.next_block; ++block) {
      CO_RETURN_IF_ERROR(co_await storage_.ReleaseBlock(block));
    }
    lru_.clear();
    cache_.clear();
    header_ = Header{.root = kFirstRoot, .depth = 0, .entries = 0, .next_block = 2,
                     .free_blocks = {}};
    Node empty;
    CO_RETURN_IF_ERROR(co_await WriteNode(kFirstRoot, empty));
  } else if (leaf.entries.empty() && header_.depth > 0) {
    CO_RETURN_IF_ERROR(co_await RemoveFromParent(std::move(path)));
    CO_RETURN_IF_ERROR(co_await FreeBlock(leaf_block));
  } else {
    CO_RETURN_IF_ERROR(co_await WriteNode(leaf_block, leaf));
  }
  co_return co_await WriteHeader();
}

Task<Result<DirEntry>> DirTree::Remove(std::string_view name) {
  Result<std::optional<DirEntry>> found = co_await Find(name);
  if (!found.ok()) {
    stale_ = true;
    co_return found.error();
  }
  if (!found->has_value()) co_return MakeError(ENOENT, "no entry \"%s\"", std::string(name));
  DirEntry entry = std::move(**found);
  Status removed = co_await DoRemove(entry);
  if (!removed.ok()) {
    stale_ = true;
    co_return removed.error();
  }
  co_return entry;
}

Task<Status> DirTree::Replace(std::string_view name, uint64_t ino, uint8_t type) {
  Status status = co_await [&]() -> Task<Status> {
    CO_ASSIGN_OR_RETURN(std::optional<DirEntry> found, co_await Find(name));
    if (!found.has_value()) co_return MakeError(ENOENT, "no entry \"%s\"", std::string(name));
    CO_ASSIGN_OR_RETURN(uint64_t leaf_block, co_await FindLeaf(found->cookie, nullptr, nullptr));
    CO_ASSIGN_OR_RETURN(Node leaf, co_await ReadNode(leaf_block, kLeafKind, 0));
    for (DirEntry& entry : leaf.entries) {
      if (entry.cookie == found->cookie) {
        entry.ino = ino;
        entry.type = type;
        co_return co_await WriteNode(leaf_block, leaf);
      }
    }
    co_return MakeError(EUCLEAN, "directory index: leaf %d lacks cookie %d", leaf_block,
                        found->cookie);
  }();
  if (!status.ok() && status.error().code() != ENOENT) stale_ = true;
  co_return status;
}

Task<Status> DirTree::List(uint64_t after, std::function<bool(const DirEntry&)> emit) {
  if (stale_) CO_RETURN_IF_ERROR(co_await Reload());
  if (after >= (uint64_t{1} << 63)) co_return Status();
  Status status = co_await ForEachFrom(after + 1, emit);
  if (!status.ok()) stale_ = true;
  co_return status;
}

}  // namespace blobfs
