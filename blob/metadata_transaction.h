// MetadataTransaction: the one path by which a caller-level operation writes blob-store metadata.
//
// Contract:
//  - An operation begins a transaction, adds the page writes its metadata changes need and the
//    releases that may happen only once they are durable, then commits. Nothing writes metadata
//    around a transaction.
//  - Commit orders the writes: first every page that is not a commit point (new chain pages, which
//    nothing on disk references yet), then — after a flush, when the device has a write cache —
//    the commit points (blob roots rewritten in place, the super block), then a flush. Only after
//    that do the unmaps run (clusters a blob gave up, ranges that overlap or touch merged into
//    one; their errors are ignored, unmap being advisory) and then the release actions
//    (returning old chain pages and freed clusters to the pools), so a crash at any point leaves every blob either as it was or as it became, and no
//    cluster is handed out again while an unmap of it is in flight.
//  - A failed commit runs no unmap and no release action: what the operation claimed stays claimed and what it
//    meant to free stays allocated. The store is left consistent on disk (a later dirty load
//    reclaims unreachable pages); the caller reports the error.
//  - Today commit writes through; a journal can later make a transaction atomic across several
//    blobs (rename, link) behind this same interface.
//  - A write is one or more whole pages (a buffer of a multiple of kPageSize bytes, aligned for
//    the device) at a device page; a write to the same first page replaces an earlier one. Writes
//    of one transaction must not overlap otherwise.
#ifndef BLOBFS_BLOB_METADATA_TRANSACTION_H_
#define BLOBFS_BLOB_METADATA_TRANSACTION_H_

#include <cstdint>
#include <map>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "bdev/bdev.h"
#include "blob/format/page.h"
#include "common/aligned_buffer.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

class MetadataTransaction {
 public:
  enum class Order { kBeforeCommitPoint, kCommitPoint };

  MetadataTransaction() = default;
  MetadataTransaction(const MetadataTransaction&) = delete;
  MetadataTransaction& operator=(const MetadataTransaction&) = delete;
  MetadataTransaction(MetadataTransaction&&) = default;
  MetadataTransaction& operator=(MetadataTransaction&&) = default;

  // `device_page` is a page number on the device (byte offset / 4096); `pages` holds whole pages.
  void AddPageWrite(uint64_t device_page, AlignedBuffer pages, Order order);

  // Unmaps device bytes [offset, offset + length) after a successful commit, before the releases.
  void UnmapAfterCommit(uint64_t offset, uint64_t length);

  // Flush before the commit points even when no page of this transaction precedes them: data the
  // commit points make reachable (clusters newly mapped) must be durable first.
  void RequireBarrier() { barrier_required_ = true; }

  // Runs after a successful commit, in the order added.
  void AfterCommit(absl::AnyInvocable<void() &&> release);

  bool empty() const { return writes_.empty() && unmaps_.empty() && releases_.empty(); }
  // Calls `visit` with the device page number of every page this transaction writes.
  void ForEachWrittenPage(absl::FunctionRef<void(uint64_t device_page)> visit) const;
  size_t page_writes() const { return writes_.size(); }

  // Writes everything through `channel` (see the contract) and runs the releases. The transaction
  // is spent afterwards, whatever the outcome.
  Task<Status> Commit(BdevChannel& channel);

 private:
  struct PageWrite {
    AlignedBuffer page;
    Order order;
  };
  Task<Status> WritePages(BdevChannel& channel, Order order);

  std::map<uint64_t, PageWrite> writes_;  // by device page: ascending, so writes go out in order
  struct Unmap {
    uint64_t offset;
    uint64_t length;
  };
  // `unmaps` by offset, ranges that overlap or touch merged: the clusters of a deleted tree of
  // files are mostly consecutive, and an unmap of an image file is a slow hole punch each.
  static std::vector<Unmap> Coalesced(std::vector<Unmap> unmaps);

  std::vector<Unmap> unmaps_;
  bool barrier_required_ = false;
  std::vector<absl::AnyInvocable<void() &&>> releases_;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_METADATA_TRANSACTION_H_
