// Blob: an open blob of a BlobStore — its size in clusters, flags, extended attributes and data.
//
// Contract:
//  - Blobs are made and owned by their BlobStore (CreateBlob/OpenBlob return the same object for
//    the same id while it is open; CloseBlob drops a reference).
//  - Metadata methods (Resize, xattrs, SetReadOnly, Deallocate, Sync) run on the store's
//    metadata reactor, from any caller reactor. They change memory; Sync (or the store's Commit,
//    or the last close) makes the changes durable. Names are 1 to 255 bytes without NUL, values at
//    most 65536 bytes (EINVAL otherwise); user and internal attributes are separate namespaces.
//    A blob with read-only metadata (md_ro, or a read-only store) refuses changes with EROFS.
//  - Resize grows by allocating clusters (thin blobs allocate nothing; ENOSPC with nothing
//    allocated when the store is short; what the new clusters of a blob that is not thin hold
//    is what the device's unmap of them left: use thin blobs where that matters) and shrinks by
//    unmapping the tail; the released clusters
//    return to the store after the next commit. I/O racing with a shrink of the same range is the
//    caller's race to avoid.
//  - Data I/O: byte offsets and lengths that are multiples of the store's io unit, inside the
//    blob (EINVAL otherwise), through a BlobChannel of the calling reactor. Requests are split at
//    cluster boundaries into bdev requests. Reads of unallocated clusters of a thin blob return
//    zeroes. A write into unallocated clusters allocates them on the metadata reactor: concurrent
//    writers of the same cluster get one allocation and all their data lands in it; the parts of
//    a new cluster the write does not cover are zeroed before anyone can read it. New clusters
//    are durable once the blob is synced; that commit flushes the data before the metadata that
//    maps it. Overwrites of mapped clusters are durable after BlobChannel::Flush. Writes to a read-only blob fail
//    with EROFS.
//  - The fast path takes no lock: it reads an immutable snapshot of the extent map, which the
//    metadata reactor replaces (copy on write) when the map changes.
#ifndef BLOBFS_BLOB_BLOB_H_
#define BLOBFS_BLOB_BLOB_H_

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "bdev/bdev.h"
#include "common/iov.h"
#include "blob/blob_channel.h"
#include "blob/cluster_run.h"
#include "blob/extent_map.h"
#include "blob/format/blob_metadata.h"
#include "common/async_event.h"
#include "common/async_semaphore.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

class BlobStore;

enum class XattrKind { kUser, kInternal };

class Blob {
 public:
  // Flag bits (FORMAT.md, "Descriptors").
  static constexpr uint64_t kInvalidFlagThin = 1;
  static constexpr uint64_t kKnownInvalidFlags = kInvalidFlagThin;
  static constexpr uint64_t kDataReadOnlyFlag = 1;
  static constexpr uint64_t kKnownDataReadOnlyFlags = kDataReadOnlyFlag;
  static constexpr uint64_t kKnownMetadataReadOnlyFlags = 0;

  Blob(const Blob&) = delete;
  Blob& operator=(const Blob&) = delete;

  uint64_t id() const { return id_; }
  BlobStore& store() { return *store_; }
  bool thin() const { return (invalid_flags_ & kInvalidFlagThin) != 0; }
  // True when the blob's data cannot be written: its own flags say so, or the store is read-only.
  bool read_only() const { return data_read_only_.load(std::memory_order_acquire); }
  // The three flag words as stored (FORMAT.md, FLAGS), whatever the store's mode. On the
  // metadata reactor.
  struct Flags {
    uint64_t invalid = 0;
    uint64_t data_ro = 0;
    uint64_t md_ro = 0;
  };
  Flags flags() const { return {invalid_flags_, data_ro_flags_, md_ro_flags_}; }
  uint64_t num_clusters() const { return num_clusters_.load(std::memory_order_acquire); }
  // num_clusters() × the cluster size (2^64 - 1 when that does not fit).
  uint64_t size_bytes() const;
  // The extent map as of now: an immutable snapshot (for SEEK_DATA/SEEK_HOLE, inspection).
  std::shared_ptr<const ExtentMap> extents() const { return extents_.load(); }

  Task<Status> Resize(uint64_t num_clusters);
  // Unmaps logical clusters [first, first + count) of a thin blob (EINVAL for other blobs): they
  // read as zeroes and their clusters return to the store after the next commit.
  Task<Status> Deallocate(uint64_t first, uint64_t count);
  Task<Status> SetXattr(std::string name, std::string value, XattrKind kind = XattrKind::kUser);
  // ENOENT when absent.
  Task<Result<std::string>> GetXattr(std::string name, XattrKind kind = XattrKind::kUser);
  // ENOENT when absent.
  Task<Status> RemoveXattr(std::string name, XattrKind kind = XattrKind::kUser);
  // Names in ascending byte order.
  Task<std::vector<std::string>> ListXattrs(XattrKind kind = XattrKind::kUser);
  // Makes the blob's data and metadata read-only, durably (it commits).
  Task<Status> SetReadOnly();
  // Commits this blob's pending changes (BlobStore::Commit of this blob alone).
  Task<Status> Sync();
  // True while changes are in memory only. On the metadata reactor only.
  bool dirty() const { return version_ != committed_version_; }
  // Bytes of the names and values of the blob's xattrs of `kind`. On the metadata reactor only.
  uint64_t xattr_bytes(XattrKind kind) const;
  // Whether the blob has the xattr `name` of `kind`. On the metadata reactor only.
  bool has_xattr(const std::string& name, XattrKind kind) const;

  Task<Status> Read(BlobChannel& channel, uint64_t offset, std::span<std::byte> buffer);
  Task<Status> Write(BlobChannel& channel, uint64_t offset, std::span<const std::byte> buffer);
  Task<Status> Readv(BlobChannel& channel, uint64_t offset, std::span<const iovec> iov);
  Task<Status> Writev(BlobChannel& channel, uint64_t offset, std::span<const iovec> iov);
  // Unallocated clusters of a thin blob are left unallocated (they already read as zeroes).
  Task<Status> WriteZeroes(BlobChannel& channel, uint64_t offset, uint64_t length);
  // Tells the device the range's data is no longer needed; it reads as zeroes or as before, as
  // the device decides. Allocation is unchanged (Deallocate releases clusters).
  Task<Status> Unmap(BlobChannel& channel, uint64_t offset, uint64_t length);

 private:
  friend class BlobStore;
  // A blob as the store found it on disk (`chain`: its pages, root first) or as it creates it
  // (empty chain).
  Blob(BlobStore& store, const BlobMetadata& metadata, ExtentMap extents,
       std::vector<uint32_t> chain);

  // Metadata as it is now, for serialization.
  BlobMetadata Snapshot() const;
  // Publishes `map` as the new extent snapshot.
  void PublishExtents(ExtentMap map);
  void MarkDirty() { ++version_; }
  Status CheckMetadataWritable() const;
  // EINVAL unless `name` is 1 to 255 bytes without NUL and the value at most 65536 bytes.
  static Status CheckXattr(std::string_view name, size_t value_size);
  // EINVAL unless [offset, offset + length) is inside the blob and io-unit aligned.
  Status CheckRange(const char* operation, uint64_t offset, uint64_t length) const;

  Task<Status> DoResize(uint64_t num_clusters);
  Task<Status> DoDeallocate(uint64_t first, uint64_t count);
  Task<Status> DoSetXattr(std::string name, std::string value, XattrKind kind);
  Task<Result<std::string>> DoGetXattr(std::string name, XattrKind kind);
  Task<Status> DoRemoveXattr(std::string name, XattrKind kind);
  Task<std::vector<std::string>> DoListXattrs(XattrKind kind);
  Task<Status> DoSetReadOnly();
  std::map<std::string, std::string>& XattrsOf(XattrKind kind) {
    return kind == XattrKind::kUser ? xattrs_ : internal_xattrs_;
  }

  // The data path: does `op` on [offset, offset + length) of the blob as `map` places it, one
  // bdev request per mapped contiguous piece. Unmapped pieces read as zeroes and are skipped by
  // write_zeroes and unmap; `map` must map every cluster a write touches.
  enum class DataOp { kRead, kWrite, kWriteZeroes, kUnmap };
  Task<Status> SubmitData(BdevChannel& channel, const ExtentMap& map, DataOp op, uint64_t offset,
                          uint64_t length, std::span<const iovec> iov);
  static Task<Status> SubmitPiece(BdevChannel& channel, DataOp op, uint64_t device_offset,
                                  uint64_t length, std::span<const iovec> iov);
  // True when `map` maps every cluster of [offset, offset + length).
  bool FullyMapped(const ExtentMap& map, uint64_t offset, uint64_t length) const;

  BlobStore* const store_;
  const uint64_t id_;
  const uint32_t root_index_;
  uint64_t invalid_flags_ = 0;
  uint64_t data_ro_flags_ = 0;
  uint64_t md_ro_flags_ = 0;
  bool metadata_read_only_ = false;
  std::atomic<bool> data_read_only_{false};
  std::atomic<uint64_t> num_clusters_{0};
  std::atomic<std::shared_ptr<const ExtentMap>> extents_;
  std::map<std::string, std::string> xattrs_;
  std::map<std::string, std::string> internal_xattrs_;

  // Commit state (metadata reactor only).
  uint64_t sync_generation_ = 0;
  std::vector<uint32_t> chain_;  // The pages of the committed chain, root first; empty if none.
  uint64_t version_ = 0;
  uint64_t committed_version_ = 0;
  std::vector<ClusterRun> released_clusters_;  // Given up, awaiting a commit.
  // Clusters were mapped by writes since the last commit: their data must be durable before the
  // commit that makes them reachable.
  bool mapped_since_commit_ = false;
  // Pages of chains whose commit failed: free once a later commit of this blob succeeds.
  std::vector<uint32_t> released_pages_;
  // Logical clusters a thin write is allocating, with the event set when it is done.
  absl::flat_hash_map<uint64_t, std::shared_ptr<AsyncEvent>> allocating_;
  AsyncSemaphore commit_lock_{1};              // One commit of this blob at a time.
  int open_references_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_BLOB_H_
