#include "blob/metadata_page_cache.h"

#include <cstring>
#include <utility>

#include "blob/format/page.h"
#include "glog/logging.h"

namespace blobfs {

bool MetadataPageCache::Lookup(uint32_t index, std::span<std::byte> out) {
  const AlignedBuffer* page = pages_.Find(index);
  if (page == nullptr) return false;
  CHECK_EQ(out.size(), kPageSize);
  std::memcpy(out.data(), page->data(), kPageSize);
  return true;
}

void MetadataPageCache::Insert(uint32_t index, std::span<const std::byte> page, uint64_t epoch) {
  CHECK_EQ(page.size(), kPageSize);
  if (epoch != epoch_) return;
  if (AlignedBuffer* cached = pages_.Find(index)) {
    std::memcpy(cached->data(), page.data(), kPageSize);
    return;
  }
  if (pages_.capacity() == 0) return;
  AlignedBuffer copy(kPageSize, kPageSize);
  std::memcpy(copy.data(), page.data(), kPageSize);
  pages_.Put(index, std::move(copy));
}

void MetadataPageCache::Invalidate(uint32_t index) {
  ++epoch_;
  pages_.Erase(index);
}

}  // namespace blobfs
