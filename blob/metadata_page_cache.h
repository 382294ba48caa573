// MetadataPageCache: recently read metadata pages of a blob store, so that opening blobs whose
// pages lie near each other (inodes created together, a directory listed and then stat'ed) costs
// one device read per window of pages instead of one per blob.
//
// Contract:
//  - Holds at most `capacity` pages (4 KiB each), least recently used evicted first; capacity 0
//    caches nothing.
//  - Pages are keyed by their index in the metadata region. The cache never decides what is on
//    disk: the store inserts only pages it read from the device, and invalidates every page a
//    metadata transaction writes before the transaction starts.
//  - A read races with a transaction that rewrites its pages: Insert takes the epoch observed
//    before the read was issued and drops the pages if any invalidation happened since, so a
//    stale copy never enters the cache.
//  - One reactor (the store's metadata reactor).
#ifndef BLOBFS_BLOB_METADATA_PAGE_CACHE_H_
#define BLOBFS_BLOB_METADATA_PAGE_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/aligned_buffer.h"
#include "common/lru_map.h"

namespace blobfs {

class MetadataPageCache {
 public:
  explicit MetadataPageCache(size_t capacity) : pages_(capacity) {}

  // Copies page `index` into `out` (one page) and returns true when cached.
  bool Lookup(uint32_t index, std::span<std::byte> out);
  // The epoch to pass to Insert for a read issued now.
  uint64_t epoch() const { return epoch_; }
  // Caches `page` (one page) as page `index`, unless an invalidation happened after `epoch`.
  void Insert(uint32_t index, std::span<const std::byte> page, uint64_t epoch);
  // Forgets page `index` and starts a new epoch.
  void Invalidate(uint32_t index);

  size_t size() const { return pages_.size(); }

 private:
  uint64_t epoch_ = 0;
  LruMap<uint32_t, AlignedBuffer> pages_;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_METADATA_PAGE_CACHE_H_
