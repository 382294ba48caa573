#include "blob/metadata_page_cache.h"

#include <cstring>

#include "blob/format/page.h"
#include "glog/logging.h"

namespace blobfs {

bool MetadataPageCache::Lookup(uint32_t index, std::span<std::byte> out) {
  auto it = map_.find(index);
  if (it == map_.end()) return false;
  CHECK_EQ(out.size(), kPageSize);
  lru_.splice(lru_.begin(), lru_, it->second);
  std::memcpy(out.data(), it->second->second.data(), kPageSize);
  return true;
}

void MetadataPageCache::Insert(uint32_t index, std::span<const std::byte> page, uint64_t epoch) {
  CHECK_EQ(page.size(), kPageSize);
  if (capacity_ == 0 || epoch != epoch_) return;
  auto it = map_.find(index);
  if (it != map_.end()) {
    std::memcpy(it->second->second.data(), page.data(), kPageSize);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  AlignedBuffer copy(kPageSize, kPageSize);
  std::memcpy(copy.data(), page.data(), kPageSize);
  if (map_.size() >= capacity_) {
    auto last = std::prev(lru_.end());
    map_.erase(last->first);
    lru_.erase(last);
  }
  lru_.emplace_front(index, std::move(copy));
  map_[index] = lru_.begin();
}

void MetadataPageCache::Invalidate(uint32_t index) {
  ++epoch_;
  auto it = map_.find(index);
  if (it == map_.end()) return;
  lru_.erase(it->second);
  map_.erase(it);
}

}  // namespace blobfs
