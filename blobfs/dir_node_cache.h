// DirNodeCache: decoded directory-index nodes (DirTree) kept in memory for every directory of a
// filesystem under one bound, the least recently used evicted first.
//
// Contract:
//  - A node is cached under (owner, block). Each DirTree takes an owner of its own (NewOwner) and
//    a new one whenever it must forget what it cached (a reload): nodes of an owner nobody asks
//    for any more are never found again and age out like any other, so a tree never has to
//    visit the cache to go away. At most `capacity` nodes are held; 0 caches nothing.
//  - Find makes the node it returns the most recently used. Put replaces what (owner, block)
//    held. Nodes are immutable while cached; a caller that changes a node takes it out (Erase)
//    first.
//  - Why one bound for all: a per-directory bound is either too small for a large directory
//    (each insert into a 50k-entry directory decoded its leaf again) or, times every directory
//    in memory, too large.
//  - One reactor (the filesystem's); not thread-safe.
#ifndef BLOBFS_BLOBFS_DIR_NODE_CACHE_H_
#define BLOBFS_BLOBFS_DIR_NODE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include "blobfs/format/dir_block.h"
#include "common/lru_map.h"

namespace blobfs {

class DirNodeCache {
 public:
  using NodePtr = std::shared_ptr<const DirNode>;

  explicit DirNodeCache(size_t capacity) : nodes_(capacity) {}

  uint64_t NewOwner() { return next_owner_++; }
  // The node cached under (owner, block), or null.
  NodePtr Find(uint64_t owner, uint64_t block) {
    const NodePtr* node = nodes_.Find(Key{owner, block});
    return node == nullptr ? nullptr : *node;
  }
  void Put(uint64_t owner, uint64_t block, NodePtr node) {
    nodes_.Put(Key{owner, block}, std::move(node));
  }
  void Erase(uint64_t owner, uint64_t block) { nodes_.Erase(Key{owner, block}); }

  size_t size() const { return nodes_.size(); }
  size_t capacity() const { return nodes_.capacity(); }

 private:
  struct Key {
    uint64_t owner;
    uint64_t block;
    bool operator==(const Key&) const = default;
    template <typename H>
    friend H AbslHashValue(H hash, const Key& key) {
      return H::combine(std::move(hash), key.owner, key.block);
    }
  };

  uint64_t next_owner_ = 1;
  LruMap<Key, NodePtr> nodes_;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_DIR_NODE_CACHE_H_
