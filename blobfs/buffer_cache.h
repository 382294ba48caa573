// BufferCache: the file-data buffers of a mounted blobfs, shared by all files under one memory
// cap, and the space reservation that keeps write-back from running out of clusters.
//
// Contract:
//  - A buffer stands for buffer_size bytes of one file at a buffer-aligned offset, with a valid
//    and a dirty bit per block (block_size, the filesystem block). Its memory holds only its
//    first `blocks` blocks (a power of two, up to blocks_per_buffer()), so a small file's buffer
//    takes a 16th of a full one, not the whole; Grow moves a buffer to more memory. Buffers are
//    owned here; files find theirs through their own index (FileData) and tell the cache when
//    they use one (Touch). The capacity counts the memory buffers hold.
//  - Allocate may evict clean buffers, least recently used first, to stay under the capacity;
//    dirty buffers are never evicted — over_capacity() tells writers (and the filesystem's
//    commit) to write back. An allocation passes over at most a bounded number of dirty or pinned
//    buffers (moving them to the recently used end), so its cost does not grow with the cache.
//  - A new buffer's bytes are undefined (its memory comes from an arena of huge pages that reuses
//    the memory of evicted and freed buffers: buffer_arena.h): only blocks marked valid may be
//    read.
//  - Reservation: a file reserves each cluster it will have to allocate at write-back when it
//    first dirties a block in it, and releases it once written (or discarded); a directory
//    reserves the blocks a change may add before making it (dir_blob_storage.h). Reserve refuses
//    (false) what the store's free clusters, less what is reserved and what is held back,
//    cannot hold, so ENOSPC is reported by the call, never lost at write-back. What is held back
//    (HoldBack) only ReserveHeldBack may take: the orphan directory's growth, so that deleting
//    files works on a full filesystem.
//  - One reactor (the filesystem's).
#ifndef BLOBFS_BLOBFS_BUFFER_CACHE_H_
#define BLOBFS_BLOBFS_BUFFER_CACHE_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <list>
#include <vector>

#include "blob/blob_store.h"
#include "blobfs/buffer_arena.h"
#include "common/task.h"

namespace blobfs {

struct BufferCacheOptions {
  uint64_t capacity_bytes = uint64_t{256} << 20;
  uint32_t buffer_size = 64 << 10;
  // Reads ahead grow to this many bytes on sequential reads (at most an eighth of the capacity):
  // a window this deep keeps several large reads at the device at once (2 MiB windows kept it
  // to about one, and cold reads to 1.8-2.2 GB/s against 3.0-3.3 with 8 MiB).
  uint32_t readahead_max = 8 << 20;
};

class BufferCache {
 public:
  struct Buffer {
    void* owner = nullptr;
    uint64_t index = 0;  // Offset / buffer_size.
    std::byte* memory = nullptr;  // `blocks` blocks, from the arena.
    uint32_t blocks = 0;  // Blocks the memory holds: a power of two.
    uint32_t valid = 0;  // Bit b: block b holds the file's bytes.
    uint32_t dirty = 0;  // Bit b: block b differs from the blob.
    uint32_t pins = 0;   // In use by a call that awaits: not evicted.
    // Called when the cache evicts this (clean) buffer, so the owner forgets it.
    std::function<void()> on_evict{};
  };
  using Handle = std::list<Buffer>::iterator;

  BufferCache(BlobStore& store, BufferCacheOptions options);

  const BufferCacheOptions& options() const { return options_; }
  uint64_t readahead_max() const {
    return std::min<uint64_t>(options_.readahead_max, options_.capacity_bytes / 8);
  }
  uint32_t block_size() const { return block_size_; }
  uint32_t blocks_per_buffer() const { return options_.buffer_size / block_size_; }
  uint64_t cluster_size() const { return store_.cluster_size(); }

  // A new, empty buffer (no valid blocks) for `owner`'s buffer `index`, holding at least
  // `blocks` blocks (1 to blocks_per_buffer()).
  Handle Allocate(void* owner, uint64_t index, uint32_t blocks, std::function<void()> on_evict);
  // Makes `buffer` hold at least `blocks` blocks, keeping its bytes; it must not be pinned (its
  // memory may move).
  void Grow(Handle buffer, uint32_t blocks);
  void Touch(Handle buffer) { buffers_.splice(buffers_.begin(), buffers_, buffer); }
  void Free(Handle buffer);
  bool over_capacity() const { return bytes_ > options_.capacity_bytes; }
  uint64_t bytes() const { return bytes_; }

  // Reads the store's free clusters (before a batch of Reserve calls).
  Task<void> RefreshFreeSpace();
  bool Reserve(uint64_t bytes);
  // As Reserve, but may take what is held back.
  bool ReserveHeldBack(uint64_t bytes);
  void Unreserve(uint64_t bytes);
  uint64_t reserved_bytes() const { return reserved_; }
  void HoldBack(uint64_t bytes) { held_back_ = bytes; }
  uint64_t held_back_bytes() const { return held_back_; }

 private:
  // The arena's class for a buffer of `blocks` blocks (rounded up to a power of two).
  size_t SlotClass(uint32_t blocks) const;
  // Evicts clean buffers until `bytes` more fit under the capacity (or the scan gives up).
  void EvictClean(uint64_t bytes);

  BlobStore& store_;
  const BufferCacheOptions options_;
  const uint32_t block_size_;
  BufferArena arena_;
  std::list<Buffer> buffers_;  // Most recently used first.
  uint64_t bytes_ = 0;
  uint64_t free_bytes_ = 0;
  uint64_t reserved_ = 0;
  uint64_t held_back_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_BUFFER_CACHE_H_
