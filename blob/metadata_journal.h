// MetadataJournal: makes each metadata transaction of a blob store durable as a whole or not at
// all, through a write-ahead log in the store's journal area (FORMAT.md, "Journal").
//
// Contract:
//  - Commit writes the transaction's images of journaled pages (the super block and the metadata
//    region) to the log as one transaction — descriptors, images, a commit block whose CRC covers
//    them all — and then, once that is durable, writes them in place (the checkpoint). A crash at
//    any point leaves either none or all of the transaction for the next load's replay
//    (journal_replay.h). Other pages (the masks) are written in place before the commit block.
//  - Flushes: a transaction that makes no new data reachable and writes nothing in place costs
//    exactly one flush (its commit block's CRC covers the transaction, so it needs none before
//    it). One with a barrier, pages in place, or too big for the log (see below) costs two: its
//    data and in-place pages are flushed before its commit block.
//  - The checkpoint is not flushed by its own commit: the next commit block says, in its tail,
//    that replay starts at the transaction whose checkpoint may not be durable yet. The log never
//    overwrites a transaction the last durable commit block still needs.
//  - A transaction whose journaled pages outnumber max_transaction_pages() writes its
//    kBeforeCommitPoint pages in place and journals only its commit points. Commit points beyond
//    max_transaction_pages() go as several transactions, each atomic on its own, and a warning is
//    logged: callers that need atomicity keep their commits within that bound.
//  - A failure to write the log or to flush fails the commit (the caller keeps both states, as
//    the disk may hold either); the journal goes on. A failure while writing in place after the
//    commit was durable aborts the journal: every later Commit fails with EIO, and the next load
//    replays what was committed.
//  - Commits run one at a time, on the reactor of `channel`, which must outlive the journal.
#ifndef BLOBFS_BLOB_METADATA_JOURNAL_H_
#define BLOBFS_BLOB_METADATA_JOURNAL_H_

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <vector>

#include "bdev/bdev.h"
#include "blob/format/journal_block.h"
#include "blob/journal_replay.h"
#include "blob/metadata_transaction.h"
#include "common/async_semaphore.h"
#include "common/error.h"
#include "common/task.h"
#include "common/uuid.h"

namespace blobfs {

class MetadataJournal {
 public:
  struct Options {
    PageRange area;                    // The journal's device pages.
    Uuid uuid;                         // The store's.
    std::vector<PageRange> journaled;  // Pages whose writes go through the log.
  };
  // Continues the log where a load's scan left it (a new store: a default JournalReplay). The
  // scan's replay must already be in place and flushed.
  MetadataJournal(BdevChannel& channel, Options options, const JournalReplay& position);

  Task<Status> Commit(MetadataTransaction& transaction);

  // Makes every checkpoint durable and ends every transaction (a flush, an empty transaction, a
  // flush): the next load replays nothing. The last step of a clean unload, after which offline
  // changes to the pages in place stand.
  Task<Status> Checkpoint();

  // The most journaled pages one transaction takes in the log.
  uint64_t max_transaction_pages() const { return max_blocks_ - 1 - DescriptorsFor(max_blocks_); }
  bool aborted() const { return aborted_; }

 private:
  struct Image {
    uint64_t target;
    std::span<const std::byte> bytes;  // One page.
  };
  struct LiveTransaction {
    uint64_t sequence;
    uint64_t blocks;  // Log positions it takes, commit block included.
  };
  static uint64_t DescriptorsFor(uint64_t images) {
    return (images + kJournalTagsPerDescriptor - 1) / kJournalTagsPerDescriptor;
  }

  Task<Status> DoCommit(MetadataTransaction& transaction);
  // One log transaction of `images` (each target once); `in_place` pages go out before its
  // commit block, after a flush when `ordered`.
  Task<Status> WriteTransaction(std::span<const Image> images, std::span<const Image> in_place,
                                bool ordered);
  // Makes room for `blocks` more log positions, ending every earlier transaction when the log is
  // full.
  Task<Status> MakeRoom(uint64_t blocks);
  Task<Status> EndEarlierTransactions();
  Task<Status> WriteLog(uint64_t position, std::span<const std::byte> blocks);
  Task<Status> WritePages(std::span<const Image> images);

  BdevChannel& channel_;
  Options options_;
  uint64_t log_pages_;
  uint64_t max_blocks_;  // Log positions one transaction may take.
  uint64_t next_sequence_;
  uint64_t head_;  // Log position of the next block.
  // Transactions the last durable commit block (or one that may be) still needs, oldest first,
  // ending at head_.
  std::deque<LiveTransaction> live_;
  uint64_t live_blocks_ = 0;
  // The last durable commit block's tail: transactions before it will never be replayed.
  uint64_t durable_tail_;
  // The transaction whose checkpoint was written but not yet flushed.
  std::optional<uint64_t> unflushed_checkpoint_;
  // A transaction failed: the next one flushes before its commit block and names itself the tail,
  // so no replay ever needs the failed one, which may not be whole on disk.
  bool after_failure_ = false;
  bool aborted_ = false;
  AsyncSemaphore lock_{1};
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_METADATA_JOURNAL_H_
