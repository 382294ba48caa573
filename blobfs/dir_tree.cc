#include "blobfs/dir_tree.h"

#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>
#include <string>
#include <unordered_set>

namespace blobfs {
namespace {

// The root leaf of an empty index.
constexpr uint64_t kFirstLeaf = 1;

DirHeader EmptyHeader(uint32_t block_size, uint64_t seed_check) {
  return DirHeader{.block_size = block_size,
                   .depth = 0,
                   .root = kFirstLeaf,
                   .entries = 0,
                   .next_block = kFirstLeaf + 1,
                   .free_list = 0,
                   .free_blocks = 0,
                   .seed_check = seed_check,
                   .free = {}};
}

bool CookieBelow(const DirEntry& entry, uint64_t cookie) { return entry.cookie < cookie; }

std::vector<DirEntry>::const_iterator FirstAtOrAfter(const std::vector<DirEntry>& entries,
                                                     uint64_t cookie) {
  return std::lower_bound(entries.begin(), entries.end(), cookie, CookieBelow);
}

bool IsEmpty(const DirNode& node) {
  return node.is_leaf() ? node.entries.empty() : node.children.empty();
}

// A node below a quarter full is merged with a sibling when the two fill at most three quarters
// of a block, so that a merged node does not split again at the next insert.
bool IsThin(const DirNode& node, uint32_t block_size) {
  return node.is_leaf() ? DirLeafBytes(node) < DirLeafCapacity(block_size) / 4
                        : node.children.size() < DirInnerCapacity(block_size) / 4;
}

bool CanMerge(const DirNode& a, const DirNode& b, uint32_t block_size) {
  return a.is_leaf() ? DirLeafBytes(a) + DirLeafBytes(b) <= DirLeafCapacity(block_size) * 3 / 4
                     : a.children.size() + b.children.size() <=
                           DirInnerCapacity(block_size) * 3 / 4;
}

// `left` and its right sibling as one node; `separator` is the parent's key of `right`.
DirNode Merge(DirNode left, const DirNode& right, uint64_t separator) {
  if (left.is_leaf()) {
    left.entries.insert(left.entries.end(), right.entries.begin(), right.entries.end());
    return left;
  }
  left.keys.push_back(separator);
  left.keys.insert(left.keys.end(), right.keys.begin() + 1, right.keys.end());
  left.children.insert(left.children.end(), right.children.begin(), right.children.end());
  return left;
}

struct SplitNode {
  DirNode right;
  uint64_t separator = 0;  // The least cookie of `right`.
};

// Moves the upper half of an overfull `node` (by bytes for leaves) into a new right sibling.
SplitNode Split(DirNode& node) {
  SplitNode split;
  split.right.level = node.level;
  if (node.is_leaf()) {
    const size_t half = DirLeafBytes(node) / 2;
    size_t bytes = 0;
    size_t middle = 0;
    while (middle + 1 < node.entries.size() && bytes < half) {
      bytes += DirEntryBytes(node.entries[middle]);
      ++middle;
    }
    middle = std::max<size_t>(middle, 1);
    split.right.entries.assign(std::make_move_iterator(node.entries.begin() + middle),
                               std::make_move_iterator(node.entries.end()));
    node.entries.resize(middle);
    split.separator = split.right.entries.front().cookie;
    return split;
  }
  const size_t middle = node.children.size() / 2;
  split.right.keys.assign(node.keys.begin() + middle, node.keys.end());
  split.right.children.assign(node.children.begin() + middle, node.children.end());
  split.separator = split.right.keys[0];
  split.right.keys[0] = 0;
  node.keys.resize(middle);
  node.children.resize(middle);
  return split;
}

void EraseChild(DirNode& node, size_t slot) {
  node.keys.erase(node.keys.begin() + slot);
  node.children.erase(node.children.begin() + slot);
  if (!node.keys.empty()) node.keys[0] = 0;
}

}  // namespace

// The blocks one operation writes and releases, planned (with reads only) before any is written.
// Each block ends up with one fate, the last one planned.
class DirTree::Changes {
 public:
  void WriteNode(uint64_t block, DirNode node) {
    Forget(block);
    nodes_[block] = std::make_shared<DirNode>(std::move(node));  // Non-const: see TakeLeaf.
  }
  void WriteFreeList(uint64_t block, DirFreeList list) {
    Forget(block);
    free_lists_[block] = std::move(list);
  }
  void Release(uint64_t block) {
    Forget(block);
    releases_.insert(block);
  }
  NodePtr PlannedNode(uint64_t block) const {
    auto it = nodes_.find(block);
    return it == nodes_.end() ? nullptr : it->second;
  }
  const DirFreeList* PlannedFreeList(uint64_t block) const {
    auto it = free_lists_.find(block);
    return it == free_lists_.end() ? nullptr : &it->second;
  }

  const std::map<uint64_t, NodePtr>& nodes() const { return nodes_; }
  const std::map<uint64_t, DirFreeList>& free_lists() const { return free_lists_; }
  const std::set<uint64_t>& releases() const { return releases_; }

 private:
  void Forget(uint64_t block) {
    nodes_.erase(block);
    free_lists_.erase(block);
    releases_.erase(block);
  }

  std::map<uint64_t, NodePtr> nodes_;
  std::map<uint64_t, DirFreeList> free_lists_;
  std::set<uint64_t> releases_;
};

class DirTree::CallGuard {
 public:
  explicit CallGuard(DirTree& tree) : tree_(tree) {
    CHECK(!tree_.busy_) << "DirTree: a call while another is in progress";
    tree_.busy_ = true;
  }
  ~CallGuard() { tree_.busy_ = false; }
  CallGuard(const CallGuard&) = delete;
  CallGuard& operator=(const CallGuard&) = delete;

 private:
  DirTree& tree_;
};

uint64_t DirTree::DefaultHash(std::string_view name, uint64_t seed) {
  return XXH3_64bits_withSeed(name.data(), name.size(), seed) >> 9;
}

DirTree::DirTree(DirStorage& storage, uint64_t hash_seed, DirNodeCache& cache, NameHash hash)
    : storage_(storage),
      hash_seed_(hash_seed),
      hash_(hash ? std::move(hash) : NameHash(&DefaultHash)),
      block_size_(storage.block_size()),
      cache_(cache),
      cache_owner_(cache.NewOwner()) {}

uint64_t DirTree::BaseCookie(std::string_view name) const {
  uint64_t hash = hash_(name, hash_seed_) & ((uint64_t{1} << 55) - 1);
  return std::max<uint64_t>(hash, 1) << 8;
}

Task<Status> DirTree::Format(DirStorage& storage, uint64_t hash_seed) {
  const uint32_t block_size = storage.block_size();
  if (!IsValidDirBlockSize(block_size)) {
    co_return MakeError(EINVAL, "directory block size %d", block_size);
  }
  std::vector<std::byte> raw(block_size);
  EncodeDirNode(DirNode{}, raw);
  CO_RETURN_IF_ERROR(co_await storage.WriteBlock(kFirstLeaf, raw));
  EncodeDirHeader(EmptyHeader(block_size, DirSeedCheck(hash_seed)), raw);
  co_return co_await storage.WriteBlock(kDirHeaderBlock, raw);
}

Task<Result<std::unique_ptr<DirTree>>> DirTree::Open(DirStorage& storage, uint64_t hash_seed,
                                                     DirNodeCache& cache, NameHash hash) {
  if (!IsValidDirBlockSize(storage.block_size())) {
    co_return MakeError(EINVAL, "directory block size %d", storage.block_size());
  }
  std::unique_ptr<DirTree> tree(new DirTree(storage, hash_seed, cache, std::move(hash)));
  CO_RETURN_IF_ERROR(co_await tree->Reload());
  co_return tree;
}

Task<Status> DirTree::Reload() {
  DropCache();
  std::vector<std::byte> raw(block_size_);
  CO_RETURN_IF_ERROR(co_await storage_.ReadBlock(kDirHeaderBlock, raw));
  ++blocks_read_;
  CO_ASSIGN_OR_RETURN(DirHeader header, DecodeDirHeader(raw));
  if (header.seed_check != DirSeedCheck(hash_seed_)) {
    co_return MakeError(EUCLEAN, "directory index was built with another name-hash seed");
  }
  header_ = std::move(header);
  stale_ = false;
  co_return OkStatus();
}

Task<Status> DirTree::ReloadIfStale() {
  if (!stale_) co_return OkStatus();
  co_return co_await Reload();
}

DirNode DirTree::TakeLeaf(Path& path) {
  Step& leaf = path.back();
  // Out of the cache first: whatever happens next, the cache never holds a node that storage
  // does not (Apply caches what it writes; after a failure the node is read again).
  ForgetNode(leaf.block);
  NodePtr node = std::move(leaf.node);
  if (node.use_count() > 1) return *node;
  // Nothing else holds it, and nodes are created non-const (ReadNode, Changes::WriteNode).
  return std::move(*const_cast<DirNode*>(node.get()));
}

Status DirTree::CheckLeafHashes(const DirNode& leaf, uint64_t block) const {
  for (const DirEntry& entry : leaf.entries) {
    if (entry.cookie >> 8 != BaseCookie(entry.name) >> 8) {
      return MakeError(EUCLEAN, "directory block %d: cookie 0x%x of \"%s\" is not its name's hash",
                       block, entry.cookie, entry.name);
    }
  }
  return OkStatus();
}

Task<Result<DirTree::NodePtr>> DirTree::ReadNode(uint64_t block, uint32_t level, uint64_t low,
                                                 uint64_t high) {
  if (block == kDirHeaderBlock || block >= header_.next_block) {
    co_return MakeError(EUCLEAN, "directory index refers to block %d (next_block %d)", block,
                        header_.next_block);
  }
  NodePtr node = cache_.Find(cache_owner_, block);
  if (node == nullptr) {
    std::vector<std::byte> raw(block_size_);
    CO_RETURN_IF_ERROR(co_await storage_.ReadBlock(block, raw));
    ++blocks_read_;
    CO_ASSIGN_OR_RETURN(DirNode decoded, DecodeDirNode(raw, block, level, header_.next_block));
    if (decoded.is_leaf()) CO_RETURN_IF_ERROR(CheckLeafHashes(decoded, block));
    node = std::make_shared<DirNode>(std::move(decoded));  // Non-const: see TakeLeaf.
    CacheNode(block, node);
  }
  if (node->level != level) {
    co_return MakeError(EUCLEAN, "directory block %d is at level %d, expected %d", block,
                        node->level, level);
  }
  // Keys and cookies are sorted, so the ends show whether all lie in the parent's range.
  bool in_range = node->is_leaf()
                      ? node->entries.empty() || (node->entries.front().cookie >= low &&
                                                  node->entries.back().cookie < high)
                      : node->keys.size() < 2 || (node->keys[1] > low && node->keys.back() < high);
  if (!in_range) {
    co_return MakeError(EUCLEAN,
                        "directory block %d holds cookies outside its parent's range "
                        "[0x%x, 0x%x)",
                        block, low, high);
  }
  co_return node;
}

Task<Result<DirTree::NodePtr>> DirTree::PlannedOrRead(const Changes& changes, uint64_t block,
                                                      uint32_t level) {
  if (NodePtr planned = changes.PlannedNode(block)) {
    CHECK_EQ(planned->level, level);
    co_return planned;
  }
  co_return co_await ReadNode(block, level, 0, kDirCookieEnd);
}

Task<Result<DirFreeList>> DirTree::ReadFreeList(uint64_t block, uint64_t next_block) {
  std::vector<std::byte> raw(block_size_);
  CO_RETURN_IF_ERROR(co_await storage_.ReadBlock(block, raw));
  ++blocks_read_;
  co_return DecodeDirFreeList(raw, block, next_block);
}

Task<Result<DirTree::Path>> DirTree::Descend(uint64_t cookie) {
  Path path;
  path.reserve(header_.depth + 1);
  uint64_t block = header_.root;
  uint64_t low = 0;
  uint64_t high = kDirCookieEnd;
  // Levels fall by one per step and every node is checked to be at its level: no cycles.
  for (uint32_t level = header_.depth;; --level) {
    CO_ASSIGN_OR_RETURN(NodePtr node, co_await ReadNode(block, level, low, high));
    Step step{.block = block, .node = node, .low = low, .high = high, .slot = 0};
    if (level == 0) {
      path.push_back(std::move(step));
      co_return std::move(path);
    }
    auto after = std::upper_bound(node->keys.begin() + 1, node->keys.end(), cookie);
    step.slot = static_cast<size_t>(after - node->keys.begin()) - 1;
    if (step.slot > 0) low = node->keys[step.slot];
    if (step.slot + 1 < node->keys.size()) high = node->keys[step.slot + 1];
    block = node->children[step.slot];
    path.push_back(std::move(step));
  }
}

Task<Result<DirTree::NameSearch>> DirTree::Search(std::string_view name) {
  NameSearch search;
  const uint64_t base = BaseCookie(name);
  const uint64_t last = base | 0xff;
  // Names of one hash are consecutive cookies, usually in one leaf; a run may straddle leaves.
  uint64_t from = base;
  while (true) {
    CO_ASSIGN_OR_RETURN(Path path, co_await Descend(from));
    const Step& leaf = path.back();
    const std::vector<DirEntry>& entries = leaf.node->entries;
    auto it = FirstAtOrAfter(entries, from);
    for (; it != entries.end() && it->cookie <= last; ++it) {
      if (it->name == name) {
        search.entry = *it;
        search.path = std::move(path);
        co_return std::move(search);
      }
      search.sequence_used[it->cookie & 0xff] = true;
    }
    if (it != entries.end() || leaf.high > last) co_return std::move(search);
    from = leaf.high;  // Above `from`: every pass moves right.
  }
}

Task<Status> DirTree::ForEachFrom(uint64_t from,
                                  const std::function<bool(const DirEntry&)>& visit) {
  // Leaf by leaf, each found by descending for the key that bounds the previous one: a resumed
  // listing continues by key, whatever split or merged meanwhile.
  while (true) {
    CO_ASSIGN_OR_RETURN(Path path, co_await Descend(from));
    const Step& leaf = path.back();
    const std::vector<DirEntry>& entries = leaf.node->entries;
    for (auto it = FirstAtOrAfter(entries, from); it != entries.end(); ++it) {
      if (!visit(*it)) co_return OkStatus();
    }
    if (leaf.high == kDirCookieEnd) co_return OkStatus();
    from = leaf.high;
  }
}

Task<Result<uint64_t>> DirTree::Allocate(DirHeader& header, Changes& changes) {
  if (!header.free.empty()) {
    uint64_t block = header.free.back();
    header.free.pop_back();
    --header.free_blocks;  // Never below the header's numbers (DecodeDirHeader, below).
    co_return block;
  }
  if (header.free_list != 0) {
    // The free-list block itself is the block handed out; its numbers move to the header.
    const uint64_t block = header.free_list;
    DirFreeList list;
    if (const DirFreeList* planned = changes.PlannedFreeList(block)) {
      list = *planned;
    } else {
      CO_ASSIGN_OR_RETURN(list, co_await ReadFreeList(block, header.next_block));
    }
    if (list.blocks.size() > header.free_blocks ||
        (list.next == 0 && list.blocks.size() != header.free_blocks)) {
      co_return MakeError(EUCLEAN,
                          "directory block %d: a free list of %d numbers, the header counts %d",
                          block, list.blocks.size(), header.free_blocks);
    }
    header.free = std::move(list.blocks);
    header.free_list = list.next;
    co_return block;
  }
  if (header.next_block >= kDirMaxBlocks) {
    co_return MakeError(ENOSPC, "directory index has %d blocks", header.next_block);
  }
  co_return header.next_block++;
}

void DirTree::Free(DirHeader& header, Changes& changes, uint64_t block) const {
  if (block + 1 == header.next_block) {
    --header.next_block;
    changes.Release(block);
  } else if (header.free.size() < DirFreeCapacity(block_size_)) {
    header.free.push_back(block);
    ++header.free_blocks;
    changes.Release(block);
  } else {
    // The header has no room: the block keeps the header's numbers and heads the free list.
    changes.WriteFreeList(block, DirFreeList{.next = header.free_list, .blocks = header.free});
    header.free.clear();
    header.free_list = block;
  }
}

Task<Status> DirTree::PlanGrowth(const Path& path, DirNode node, DirHeader& header,
                                 Changes& changes) {
  // `node` is path[i]'s new content; split upward while it does not fit.
  for (size_t i = path.size() - 1;; --i) {
    if (DirNodeFits(node, block_size_)) {
      changes.WriteNode(path[i].block, std::move(node));
      co_return OkStatus();
    }
    if (i == 0 && header.depth >= kDirMaxDepth) {
      co_return MakeError(ENOSPC, "directory index is %d levels deep", header.depth);
    }
    SplitNode split = Split(node);
    CO_ASSIGN_OR_RETURN(uint64_t right_block, co_await Allocate(header, changes));
    changes.WriteNode(path[i].block, std::move(node));
    changes.WriteNode(right_block, std::move(split.right));
    if (i == 0) {
      CO_ASSIGN_OR_RETURN(uint64_t root_block, co_await Allocate(header, changes));
      DirNode root;
      root.level = header.depth + 1;
      root.keys = {0, split.separator};
      root.children = {path[0].block, right_block};
      changes.WriteNode(root_block, std::move(root));
      header.root = root_block;
      ++header.depth;
      co_return OkStatus();
    }
    node = *path[i - 1].node;
    const size_t slot = path[i - 1].slot + 1;
    node.keys.insert(node.keys.begin() + slot, split.separator);
    node.children.insert(node.children.begin() + slot, right_block);
  }
}

Task<Status> DirTree::PlanShrink(const Path& path, DirNode node, DirHeader& header,
                                 Changes& changes) {
  // `node` is path[i]'s new content: unlink it when empty, merge it into a sibling when thin,
  // and carry the change to the parent; stop at the first node that is just rewritten.
  for (size_t i = path.size() - 1; i > 0; --i) {
    const Step& parent_step = path[i - 1];
    DirNode parent = *parent_step.node;
    const size_t slot = parent_step.slot;
    if (IsEmpty(node)) {
      Free(header, changes, path[i].block);
      EraseChild(parent, slot);
      node = std::move(parent);
      continue;
    }
    if (IsThin(node, block_size_) && parent.children.size() > 1) {
      const size_t sibling = slot + 1 < parent.children.size() ? slot + 1 : slot - 1;
      const uint64_t sibling_low = sibling == 0 ? parent_step.low : parent.keys[sibling];
      const uint64_t sibling_high =
          sibling + 1 < parent.keys.size() ? parent.keys[sibling + 1] : parent_step.high;
      CO_ASSIGN_OR_RETURN(NodePtr other, co_await ReadNode(parent.children[sibling], node.level,
                                                           sibling_low, sibling_high));
      if (CanMerge(node, *other, block_size_)) {
        const size_t left = std::min(slot, sibling);
        const size_t right = left + 1;
        DirNode merged = left == slot ? Merge(std::move(node), *other, parent.keys[right])
                                      : Merge(*other, node, parent.keys[right]);
        changes.WriteNode(parent.children[left], std::move(merged));
        Free(header, changes, parent.children[right]);
        EraseChild(parent, right);
        node = std::move(parent);
        continue;
      }
    }
    changes.WriteNode(path[i].block, std::move(node));
    co_return OkStatus();
  }
  co_return co_await PlanCollapse(header, changes, std::move(node));
}

Task<Status> DirTree::PlanCollapse(DirHeader& header, Changes& changes, DirNode root) {
  // The caller empties the whole tree through PlanEmpty, so the root keeps a child or an entry.
  CHECK(!IsEmpty(root) || root.is_leaf());
  if (root.is_leaf() || root.children.size() > 1) {
    changes.WriteNode(header.root, std::move(root));
    co_return OkStatus();
  }
  // An inner root with one child steps down, and so on while the new root has one child.
  uint64_t child = root.children[0];
  Free(header, changes, header.root);
  header.root = child;
  header.depth = root.level - 1;
  while (header.depth > 0) {
    CO_ASSIGN_OR_RETURN(NodePtr next, co_await PlannedOrRead(changes, header.root, header.depth));
    if (next->children.size() != 1) break;
    Free(header, changes, header.root);
    header.root = next->children[0];
    --header.depth;
  }
  co_return OkStatus();
}

Task<Status> DirTree::PlanEmpty(const Path& path, DirHeader& header, Changes& changes) {
  // The last entry goes. Every block but the header, the nodes of `path` and the free-list
  // blocks is released already, so the index returns to its first two blocks.
  std::unordered_set<uint64_t> in_use;
  for (const Step& step : path) in_use.insert(step.block);
  for (uint64_t list = header_.free_list; list != 0;) {
    if (!in_use.insert(list).second) {
      co_return MakeError(EUCLEAN, "directory block %d: the free list loops or is in use", list);
    }
    CO_ASSIGN_OR_RETURN(DirFreeList decoded, co_await ReadFreeList(list, header_.next_block));
    list = decoded.next;
  }
  for (uint64_t block : in_use) {
    if (block != kFirstLeaf) changes.Release(block);
  }
  changes.WriteNode(kFirstLeaf, DirNode{});
  header = EmptyHeader(block_size_, header.seed_check);
  co_return OkStatus();
}

Task<Status> DirTree::Apply(const Changes& changes, const DirHeader& header) {
  // Any failure: storage may hold part of this operation; reload everything next time.
  auto failed = [this](Status status) {
    stale_ = true;
    DropCache();
    return status;
  };
  std::vector<std::byte> raw(block_size_);
  for (const auto& planned : changes.nodes()) {
    EncodeDirNode(*planned.second, raw);
    Status written = co_await storage_.WriteBlock(planned.first, raw);
    if (!written.ok()) co_return failed(std::move(written));
    CacheNode(planned.first, planned.second);
  }
  for (const auto& planned : changes.free_lists()) {
    EncodeDirFreeList(planned.second, raw);
    ForgetNode(planned.first);
    Status written = co_await storage_.WriteBlock(planned.first, raw);
    if (!written.ok()) co_return failed(std::move(written));
  }
  for (uint64_t block : changes.releases()) {
    ForgetNode(block);
    Status released = co_await storage_.ReleaseBlock(block);
    if (!released.ok()) co_return failed(std::move(released));
  }
  if (header != header_) {
    EncodeDirHeader(header, raw);
    Status written = co_await storage_.WriteBlock(kDirHeaderBlock, raw);
    if (!written.ok()) co_return failed(std::move(written));
    header_ = header;
  }
  co_return OkStatus();
}

Task<Result<std::optional<DirEntry>>> DirTree::Lookup(std::string_view name) {
  CO_RETURN_IF_ERROR(CheckDirEntryName(name));
  CallGuard guard(*this);
  CO_RETURN_IF_ERROR(co_await ReloadIfStale());
  CO_ASSIGN_OR_RETURN(NameSearch search, co_await Search(name));
  co_return std::move(search.entry);
}

Task<Result<uint64_t>> DirTree::Insert(std::string_view name, uint64_t ino, uint8_t type) {
  CO_RETURN_IF_ERROR(CheckDirEntryName(name));
  if (type >= 16) co_return MakeError(EINVAL, "directory entry type %d", type);
  CallGuard guard(*this);
  CO_RETURN_IF_ERROR(co_await ReloadIfStale());
  co_return co_await DoInsert(name, ino, type);
}

Task<Result<uint64_t>> DirTree::DoInsert(std::string_view name, uint64_t ino, uint8_t type) {
  CO_ASSIGN_OR_RETURN(NameSearch search, co_await Search(name));
  if (search.entry.has_value()) co_return MakeError(EEXIST, "\"%s\" exists", std::string(name));
  auto unused = std::find(search.sequence_used.begin(), search.sequence_used.end(), false);
  if (unused == search.sequence_used.end()) {
    co_return MakeError(ENOSPC, "256 names of this directory share the hash of \"%s\"",
                        std::string(name));
  }
  const uint64_t cookie =
      BaseCookie(name) | static_cast<uint64_t>(unused - search.sequence_used.begin());
  CO_ASSIGN_OR_RETURN(Path path, co_await Descend(cookie));
  DirNode leaf = TakeLeaf(path);
  auto at = std::lower_bound(leaf.entries.begin(), leaf.entries.end(), cookie, CookieBelow);
  leaf.entries.insert(at, DirEntry{.cookie = cookie, .ino = ino, .type = type,
                                   .name = std::string(name)});
  DirHeader header = header_;
  ++header.entries;
  Changes changes;
  CO_RETURN_IF_ERROR(co_await PlanGrowth(path, std::move(leaf), header, changes));
  CO_RETURN_IF_ERROR(co_await Apply(changes, header));
  co_return cookie;
}

Task<Result<DirEntry>> DirTree::Remove(std::string_view name) {
  CO_RETURN_IF_ERROR(CheckDirEntryName(name));
  CallGuard guard(*this);
  CO_RETURN_IF_ERROR(co_await ReloadIfStale());
  co_return co_await DoRemove(name);
}

Task<Result<DirEntry>> DirTree::DoRemove(std::string_view name) {
  CO_ASSIGN_OR_RETURN(NameSearch search, co_await Search(name));
  if (!search.entry.has_value()) {
    co_return MakeError(ENOENT, "no entry \"%s\"", std::string(name));
  }
  Path& path = search.path;
  DirNode leaf = TakeLeaf(path);
  auto at = std::lower_bound(leaf.entries.begin(), leaf.entries.end(), search.entry->cookie,
                             CookieBelow);
  CHECK(at != leaf.entries.end() && at->cookie == search.entry->cookie);
  leaf.entries.erase(at);
  DirHeader header = header_;
  if (header.entries == 0) {
    co_return MakeError(EUCLEAN, "directory index counts no entries but holds \"%s\"",
                        std::string(name));
  }
  --header.entries;
  Changes changes;
  bool tree_empties = leaf.entries.empty() &&
                      std::all_of(path.begin(), path.end() - 1, [](const Step& step) {
                        return step.node->children.size() == 1;
                      });
  if (tree_empties) {
    CO_RETURN_IF_ERROR(co_await PlanEmpty(path, header, changes));
  } else {
    CO_RETURN_IF_ERROR(co_await PlanShrink(path, std::move(leaf), header, changes));
  }
  CO_RETURN_IF_ERROR(co_await Apply(changes, header));
  co_return std::move(*search.entry);
}

Task<Status> DirTree::Replace(std::string_view name, uint64_t ino, uint8_t type) {
  CO_RETURN_IF_ERROR(CheckDirEntryName(name));
  if (type >= 16) co_return MakeError(EINVAL, "directory entry type %d", type);
  CallGuard guard(*this);
  CO_RETURN_IF_ERROR(co_await ReloadIfStale());
  co_return co_await DoReplace(name, ino, type);
}

Task<Status> DirTree::DoReplace(std::string_view name, uint64_t ino, uint8_t type) {
  CO_ASSIGN_OR_RETURN(NameSearch search, co_await Search(name));
  if (!search.entry.has_value()) {
    co_return MakeError(ENOENT, "no entry \"%s\"", std::string(name));
  }
  DirNode leaf = TakeLeaf(search.path);
  auto at = std::lower_bound(leaf.entries.begin(), leaf.entries.end(), search.entry->cookie,
                             CookieBelow);
  CHECK(at != leaf.entries.end() && at->cookie == search.entry->cookie);
  at->ino = ino;
  at->type = type;
  Changes changes;
  changes.WriteNode(search.path.back().block, std::move(leaf));
  co_return co_await Apply(changes, header_);
}

Task<Status> DirTree::List(uint64_t after, std::function<bool(const DirEntry&)> emit) {
  CallGuard guard(*this);
  CO_RETURN_IF_ERROR(co_await ReloadIfStale());
  if (after >= kDirCookieEnd - 1) co_return OkStatus();
  co_return co_await ForEachFrom(after + 1, emit);
}

Task<Status> DirTree::Verify() {
  CallGuard guard(*this);
  CO_RETURN_IF_ERROR(co_await ReloadIfStale());
  co_return co_await DoVerify();
}

Task<Status> DirTree::DoVerify() {
  // Every block number below next_block is claimed exactly once: by the header, a node, a
  // free-list block, or as a free number.
  std::unordered_set<uint64_t> claimed = {kDirHeaderBlock};
  struct Pending {
    uint64_t block;
    uint32_t level;
    uint64_t low;
    uint64_t high;
  };
  std::vector<Pending> pending;
  pending.push_back(Pending{header_.root, header_.depth, 0, kDirCookieEnd});
  uint64_t entries = 0;
  while (!pending.empty()) {
    const Pending next = pending.back();
    pending.pop_back();
    if (!claimed.insert(next.block).second) {
      co_return MakeError(EUCLEAN, "directory block %d is referenced twice", next.block);
    }
    CO_ASSIGN_OR_RETURN(NodePtr node, co_await ReadNode(next.block, next.level, next.low, next.high));
    if (node->is_leaf()) {
      if (node->entries.empty() && next.block != header_.root) {
        co_return MakeError(EUCLEAN, "directory block %d is an empty leaf still linked",
                            next.block);
      }
      entries += node->entries.size();
      continue;
    }
    for (size_t i = 0; i < node->children.size(); ++i) {
      pending.push_back(Pending{node->children[i], next.level - 1,
                                i == 0 ? next.low : node->keys[i],
                                i + 1 < node->keys.size() ? node->keys[i + 1] : next.high});
    }
  }
  if (entries != header_.entries) {
    co_return MakeError(EUCLEAN, "directory index holds %d entries, its header counts %d",
                        entries, header_.entries);
  }
  uint64_t free_numbers = header_.free.size();
  for (uint64_t block : header_.free) {
    if (!claimed.insert(block).second) {
      co_return MakeError(EUCLEAN, "directory block %d is both free and in use", block);
    }
  }
  for (uint64_t list = header_.free_list; list != 0;) {
    if (!claimed.insert(list).second) {
      co_return MakeError(EUCLEAN, "directory block %d: the free list loops or is in use", list);
    }
    CO_ASSIGN_OR_RETURN(DirFreeList decoded, co_await ReadFreeList(list, header_.next_block));
    for (uint64_t block : decoded.blocks) {
      if (!claimed.insert(block).second) {
        co_return MakeError(EUCLEAN, "directory block %d is both free and in use", block);
      }
    }
    free_numbers += decoded.blocks.size();
    list = decoded.next;
  }
  if (free_numbers != header_.free_blocks) {
    co_return MakeError(EUCLEAN, "directory index has %d free numbers, its header counts %d",
                        free_numbers, header_.free_blocks);
  }
  if (claimed.size() != header_.next_block) {
    co_return MakeError(EUCLEAN,
                        "directory index: %d of its %d blocks are neither in use nor free",
                        header_.next_block - claimed.size(), header_.next_block);
  }
  co_return OkStatus();
}

}  // namespace blobfs
