// LruMap: a map that holds at most `capacity` entries and, past that, forgets the least recently
// used one. The shape behind the caches that keep decoded or read metadata under a bound.
//
// Contract:
//  - Find returns the value under a key (null when absent) and makes it the most recently used.
//  - Put stores a value under a key, replacing what was there, makes it the most recently used,
//    then evicts from the least recently used end until at most `capacity` entries are held.
//    It returns the stored value, or null when capacity is 0 (which holds nothing).
//  - Erase forgets a key; an absent key is no error.
//  - A pointer from Find or Put stays valid until its entry is erased or evicted.
//  - Not thread-safe; callers keep it on one thread (a reactor).
#ifndef BLOBFS_COMMON_LRU_MAP_H_
#define BLOBFS_COMMON_LRU_MAP_H_

#include <cstddef>
#include <list>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace blobfs {

template <typename Key, typename Value>
class LruMap {
 public:
  explicit LruMap(size_t capacity) : capacity_(capacity) {}
  LruMap(const LruMap&) = delete;
  LruMap& operator=(const LruMap&) = delete;

  Value* Find(const Key& key) {
    auto it = index_.find(key);
    if (it == index_.end()) return nullptr;
    lru_.splice(lru_.begin(), lru_, it->second);
    return &it->second->second;
  }

  Value* Put(const Key& key, Value value) {
    if (capacity_ == 0) return nullptr;
    if (auto it = index_.find(key); it != index_.end()) {
      it->second->second = std::move(value);
      lru_.splice(lru_.begin(), lru_, it->second);
      return &it->second->second;
    }
    lru_.emplace_front(key, std::move(value));
    index_.emplace(key, lru_.begin());
    while (lru_.size() > capacity_) {
      index_.erase(lru_.back().first);
      lru_.pop_back();
    }
    return &lru_.front().second;
  }

  void Erase(const Key& key) {
    if (auto it = index_.find(key); it != index_.end()) {
      lru_.erase(it->second);
      index_.erase(it);
    }
  }

  size_t size() const { return lru_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  using Entries = std::list<std::pair<Key, Value>>;  // Most recently used first.

  const size_t capacity_;
  Entries lru_;
  absl::flat_hash_map<Key, typename Entries::iterator> index_;
};

}  // namespace blobfs

#endif  // BLOBFS_COMMON_LRU_MAP_H_
