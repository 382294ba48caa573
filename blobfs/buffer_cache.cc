#include "blobfs/buffer_cache.h"

#include <algorithm>
#include <iterator>

namespace blobfs {
namespace {

// Dirty or pinned buffers one eviction passes over before it gives up (the cache then stays over
// its capacity until write-back cleans buffers).
constexpr size_t kEvictScanLimit = 64;

}  // namespace

BufferCache::BufferCache(BlobStore& store, BufferCacheOptions options)
    : store_(store),
      options_(options),
      block_size_(std::max<uint32_t>(4096, store.io_unit_size())),
      arena_(options_.buffer_size) {
  CHECK_EQ(options_.buffer_size % block_size_, 0u);
  CHECK_LE(options_.buffer_size / block_size_, 32u) << "block bits are kept in 32-bit masks";
}

BufferCache::Handle BufferCache::Allocate(void* owner, uint64_t index,
                                          std::function<void()> on_evict) {
  if (bytes_ + options_.buffer_size > options_.capacity_bytes) EvictClean();
  buffers_.push_front(Buffer{.owner = owner,
                             .index = index,
                             .memory = arena_.Take(),
                             .valid = 0,
                             .dirty = 0,
                             .pins = 0,
                             .on_evict = std::move(on_evict)});
  bytes_ += options_.buffer_size;
  return buffers_.begin();
}

void BufferCache::Free(Handle buffer) {
  bytes_ -= options_.buffer_size;
  arena_.Give(buffer->memory);
  buffers_.erase(buffer);
}

void BufferCache::EvictClean() {
  // From the least recently used end. Dirty and pinned buffers stay (their owners write them back
  // or unpin them); each one met moves to the front, so a cache full of dirty buffers costs a
  // bounded scan per allocation, not one over the whole cache.
  size_t kept = 0;
  while (!buffers_.empty() && kept < kEvictScanLimit &&
         bytes_ + options_.buffer_size > options_.capacity_bytes) {
    auto it = std::prev(buffers_.end());
    if (it->dirty != 0 || it->pins != 0) {
      buffers_.splice(buffers_.begin(), buffers_, it);
      ++kept;
      continue;
    }
    std::function<void()> forget = std::move(it->on_evict);
    bytes_ -= options_.buffer_size;
    arena_.Give(it->memory);
    buffers_.erase(it);
    if (forget) forget();
  }
}

Task<void> BufferCache::RefreshFreeSpace() {
  BlobStoreStats stats = co_await store_.GetStats();
  free_bytes_ = stats.free_clusters * stats.cluster_size;
}

bool BufferCache::Reserve(uint64_t bytes) {
  if (reserved_ + bytes > free_bytes_) return false;
  reserved_ += bytes;
  return true;
}

void BufferCache::Unreserve(uint64_t bytes) { reserved_ -= std::min(reserved_, bytes); }

}  // namespace blobfs
