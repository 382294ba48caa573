// MetadataTransaction: the one path by which a caller-level operation writes blob-store metadata.
//
// Contract:
//  - An operation begins a transaction, adds the page writes its metadata changes need and the
//    releases that may happen only once they are durable, then hands it to the store's journal
//    (metadata_journal.h), which makes it durable as a whole or not at all. Nothing writes
//    metadata around a transaction.
//  - A write is one or more whole pages (a buffer of a multiple of kPageSize bytes, aligned for
//    the device) at a device page; a write to the same first page replaces an earlier one. Writes
//    of one transaction must not overlap otherwise. Its order says whether anything on disk may
//    reference the pages before the transaction commits: kBeforeCommitPoint pages (new chain
//    pages, masks) are referenced by nothing yet and may be written in place ahead of the
//    commit; kCommitPoint pages (blob roots rewritten in place, the super block) switch the
//    store to its new state.
//  - RequireBarrier: the transaction makes newly written data reachable (clusters newly mapped),
//    so that data must be durable before the commit is.
//  - Finish runs once the commit is durable: the unmaps (clusters a blob gave up, ranges that
//    overlap or touch merged into one; their errors are ignored, unmap being advisory), then the
//    release actions (returning old chain pages and freed clusters to the pools), so no cluster
//    is handed out again while an unmap of it is in flight. A transaction that fails is dropped
//    without Finish: what the operation claimed stays claimed and what it meant to free stays
//    allocated.
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

  // Data the commit points make reachable (clusters newly mapped) must be durable first.
  void RequireBarrier() { barrier_required_ = true; }
  bool barrier_required() const { return barrier_required_; }

  // Runs after a successful commit, in the order added.
  void AfterCommit(absl::AnyInvocable<void() &&> release);

  bool empty() const { return writes_.empty() && unmaps_.empty() && releases_.empty(); }
  // Calls `visit` with the device page number of every page this transaction writes.
  void ForEachWrittenPage(absl::FunctionRef<void(uint64_t device_page)> visit) const;
  size_t page_writes() const { return writes_.size(); }

  struct PageWrite {
    AlignedBuffer pages;
    Order order;
  };
  // The writes by first device page, ascending.
  const std::map<uint64_t, PageWrite>& writes() const { return writes_; }

  // The commit is durable: runs the unmaps and the releases (see the contract). The transaction
  // is spent afterwards.
  Task<void> Finish(BdevChannel& channel);

 private:
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
