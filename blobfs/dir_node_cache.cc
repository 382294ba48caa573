#include "blobfs/dir_node_cache.h"

namespace blobfs {

DirNodeCache::NodePtr DirNodeCache::Find(uint64_t owner, uint64_t block) {
  auto it = index_.find(Key{owner, block});
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->node;
}

void DirNodeCache::Put(uint64_t owner, uint64_t block, NodePtr node) {
  if (capacity_ == 0) return;
  const Key key{owner, block};
  if (auto it = index_.find(key); it != index_.end()) {
    it->second->node = std::move(node);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.push_front(Entry{key, std::move(node)});
  index_.emplace(key, lru_.begin());
  if (lru_.size() > capacity_) {
    index_.erase(lru_.back().key);
    lru_.pop_back();
  }
}

void DirNodeCache::Erase(uint64_t owner, uint64_t block) {
  if (auto it = index_.find(Key{owner, block}); it != index_.end()) {
    lru_.erase(it->second);
    index_.erase(it);
  }
}

}  // namespace blobfs
