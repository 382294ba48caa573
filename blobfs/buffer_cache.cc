#include "blobfs/buffer_cache.h"

#include <algorithm>
#include <bit>
#include <cstring>
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
      arena_(block_size_, std::bit_width(options_.buffer_size / block_size_)) {
  CHECK_EQ(options_.buffer_size % block_size_, 0u);
  CHECK(std::has_single_bit(blocks_per_buffer())) << "buffers are a power of two blocks";
  CHECK_LE(blocks_per_buffer(), 32u) << "block bits are kept in 32-bit masks";
}

size_t BufferCache::SlotClass(uint32_t blocks) const {
  CHECK(blocks >= 1 && blocks <= blocks_per_buffer()) << blocks << " blocks";
  return std::bit_width(std::bit_ceil(blocks)) - 1;
}

BufferCache::Handle BufferCache::Allocate(void* owner, uint64_t index, uint32_t blocks,
                                          std::function<void()> on_evict) {
  const size_t slot_class = SlotClass(blocks);
  const uint64_t size = arena_.slot_size(slot_class);
  EvictClean(size);
  buffers_.push_front(Buffer{.owner = owner,
                             .index = index,
                             .memory = arena_.Take(slot_class),
                             .blocks = uint32_t{1} << slot_class,
                             .valid = 0,
                             .dirty = 0,
                             .pins = 0,
                             .on_evict = std::move(on_evict)});
  bytes_ += size;
  return buffers_.begin();
}

void BufferCache::Grow(Handle buffer, uint32_t blocks) {
  if (blocks <= buffer->blocks) return;
  CHECK_EQ(buffer->pins, 0u) << "a pinned buffer cannot move";
  const size_t old_class = SlotClass(buffer->blocks);
  const size_t new_class = SlotClass(blocks);
  const uint64_t old_size = arena_.slot_size(old_class);
  const uint64_t new_size = arena_.slot_size(new_class);
  Touch(buffer);
  ++buffer->pins;  // Not evicted to make room for itself.
  EvictClean(new_size - old_size);
  --buffer->pins;
  std::byte* memory = arena_.Take(new_class);
  std::memcpy(memory, buffer->memory, old_size);
  arena_.Give(buffer->memory, old_class);
  buffer->memory = memory;
  buffer->blocks = uint32_t{1} << new_class;
  bytes_ += new_size - old_size;
}

void BufferCache::Free(Handle buffer) {
  const size_t slot_class = SlotClass(buffer->blocks);
  bytes_ -= arena_.slot_size(slot_class);
  arena_.Give(buffer->memory, slot_class);
  buffers_.erase(buffer);
}

void BufferCache::EvictClean(uint64_t bytes) {
  // From the least recently used end. Dirty and pinned buffers stay (their owners write them back
  // or unpin them); each one met moves to the front, so a cache full of dirty buffers costs a
  // bounded scan per allocation, not one over the whole cache.
  size_t kept = 0;
  while (!buffers_.empty() && kept < kEvictScanLimit &&
         bytes_ + bytes > options_.capacity_bytes) {
    auto it = std::prev(buffers_.end());
    if (it->dirty != 0 || it->pins != 0) {
      buffers_.splice(buffers_.begin(), buffers_, it);
      ++kept;
      continue;
    }
    std::function<void()> forget = std::move(it->on_evict);
    Free(it);
    if (forget) forget();
  }
}

Task<void> BufferCache::RefreshFreeSpace() {
  BlobStoreStats stats = co_await store_.GetStats();
  free_bytes_ = stats.free_clusters * stats.cluster_size;
}

bool BufferCache::Reserve(uint64_t bytes) {
  if (reserved_ + held_back_ + bytes > free_bytes_) return false;
  reserved_ += bytes;
  return true;
}

bool BufferCache::ReserveHeldBack(uint64_t bytes) {
  if (reserved_ + bytes > free_bytes_) return false;
  reserved_ += bytes;
  return true;
}

void BufferCache::Unreserve(uint64_t bytes) { reserved_ -= std::min(reserved_, bytes); }

}  // namespace blobfs
