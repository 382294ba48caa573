// Group commit: calls queue their inodes; a commit_interval after the first change (or as soon as
// many inodes wait, or a call needs durability) one commit at a time writes every queued inode's file
// data, directory blocks and record and commits their blobs in one BlobStore::Commit, which also
// deletes the blobs of inodes whose unlink an earlier commit made durable. Calls return before
// that; Fsync, SyncFs and friends wait for it (CommitNow).
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <optional>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "blobfs/blob_file_system.h"
#include "common/clock.h"

namespace blobfs {
namespace {

// Queued inodes that make a commit due at once: bounds the memory and the latency of one commit
// (and, below, what the journal takes in one transaction).
constexpr size_t kMaxQueuedInodes = 16384;
// Of a commit's limit, what stays for the orphan directory and its blocks.
constexpr size_t kCommitSlack = 8;
// How often a waiting commit loop looks at the queue and for unmount.
constexpr std::chrono::milliseconds kCommitPoll{10};

}  // namespace

void BlobFileSystem::SetCommitLimits(uint64_t atomic_pages) {
  // Half the pages for the inodes' roots, half for the directory blocks their changes overwrite.
  commit_limit_ = atomic_pages > 4 * kCommitSlack
                      ? std::min<size_t>(atomic_pages / 2 - kCommitSlack, 4 * kMaxQueuedInodes)
                      : kMaxQueuedInodes;
  commit_trigger_ = std::min(kMaxQueuedInodes, commit_limit_ / 2);
}

void BlobFileSystem::MarkDirty(Inode& inode) {
  inode.record_dirty = true;
  Queue(inode);
}

void BlobFileSystem::Queue(Inode& inode) {
  if (!inode.queued) {
    inode.queued = true;
    queue_.push_back(&inode);
  }
  // A namespace call holds ns_lock_ (another call may hold it meanwhile: counting that one in
  // too only makes the next commit take it sooner).
  if (!inode.queued_by_namespace && ns_lock_.available() == 0) {
    inode.queued_by_namespace = true;
    ++namespace_queued_;
  }
  ScheduleCommit();
}

Task<AsyncSemaphore::Hold> BlobFileSystem::LockNamespace() {
  if (namespace_queued_ >= commit_trigger_ && !closing_) {
    Status committed = co_await CommitOnce();
    if (!committed.ok()) LOG(WARNING) << "blobfs: a commit to make room failed: " << committed;
  }
  co_return co_await ns_lock_.Lock();
}

void BlobFileSystem::ScheduleCommit() {
  ++change_seq_;
  if (!commit_loop_running_ && !closing_) {
    commit_loop_running_ = true;
    reactor_.Spawn(CommitLoop());
  }
}

Task<void> BlobFileSystem::CommitLoop() {
  // Yield once so the call that queued the first change (and those right behind it) finish
  // their changes and join this commit.
  co_await Reactor::SwitchTo(reactor_);
  while (committed_seq_ < change_seq_ && !closing_) {
    co_await WaitUntilCommitDue();
    // A call may have committed everything meanwhile (CommitNow), or unmount begun.
    if (committed_seq_ >= change_seq_ || closing_) break;
    Status status = co_await CommitOnce();
    if (!status.ok()) {
      LOG(ERROR) << "blobfs commit failed: " << status;
      commit_error_ = status;
      break;
    }
  }
  commit_loop_running_ = false;
}

Task<void> BlobFileSystem::WaitUntilCommitDue() {
  const int64_t due = MonotonicNanos() + std::chrono::nanoseconds(options_.commit_interval).count();
  // A cache full of dirty data commits early: only write-back makes its buffers evictable.
  while (!closing_ && queue_.size() < commit_trigger_ && !cache_->over_capacity() &&
         committed_seq_ < change_seq_) {
    const int64_t left = due - MonotonicNanos();
    if (left <= 0) break;
    co_await reactor_.Sleep(std::min<std::chrono::nanoseconds>(std::chrono::nanoseconds(left),
                                                               kCommitPoll));
  }
}

Task<Status> BlobFileSystem::CommitNow() {
  uint64_t target = change_seq_;
  while (committed_seq_ < target) CO_RETURN_IF_ERROR(co_await CommitOnce());
  Status failed = commit_error_;
  commit_error_ = Status();
  co_return failed;
}

Task<Status> BlobFileSystem::CommitAll() {
  // A commit deletes what unlinks left unreferenced (with the unlinks); one more drops the orphan
  // entries of those that were open at their unlink; more rounds when the deletions take several
  // commits (commit_limit_ each), or if calls keep changing things meanwhile.
  const size_t rounds =
      4 + (reclaim_queue_.size() + reclaim_ready_.size()) / std::max<size_t>(commit_limit_ / 2, 1);
  for (size_t round = 0; round < rounds; ++round) {
    CO_RETURN_IF_ERROR(co_await CommitNow());
    if (reclaim_queue_.empty() && reclaim_ready_.empty() && committed_seq_ >= change_seq_) break;
    ScheduleCommit();
  }
  co_return Status();
}

std::vector<Inode*> BlobFileSystem::TakeReclaimable(size_t limit) {
  std::vector<Inode*> reclaimable;
  std::vector<uint64_t> pinned;
  for (size_t at = 0; at < reclaim_ready_.size(); ++at) {
    const uint64_t ino = reclaim_ready_[at];
    if (reclaimable.size() == limit) {
      // The next commit deletes the rest (their unlinks wait for it too, or orphan entries keep
      // them).
      pinned.insert(pinned.end(), reclaim_ready_.begin() + at, reclaim_ready_.end());
      break;
    }
    auto it = inodes_.find(ino);
    if (it == inodes_.end()) continue;
    Inode& inode = *it->second;
    if (inode.record.nlink != 0 || inode.lookups > 0 || inode.opens > 0) {
      // Linked again (O_TMPFILE) or looked up by number meanwhile: MaybeReclaim queues it again
      // once it is unreferenced.
      inode.reclaiming = false;
      MaybeReclaim(inode);
    } else if (inode.pins > 0) {
      pinned.push_back(ino);  // A call still holds it: the next commit tries again.
    } else {
      reclaimable.push_back(&inode);
    }
  }
  reclaim_ready_ = std::move(pinned);
  return reclaimable;
}

Task<Status> BlobFileSystem::CommitOnce() {
  ++commits_in_flight_;
  Status status = co_await CommitGroup();
  --commits_in_flight_;
  co_return status;
}

Task<Status> BlobFileSystem::CommitGroup() {
  co_await commit_lock_.Acquire();
  // A snapshot with no namespace change half done: the queue, the records, the reclaims.
  co_await ns_lock_.Acquire();
  // Inodes to delete: those an earlier commit left for later, and those unlinked since and
  // referenced by nothing, whose last entries this commit removes. A commit is atomic, so such an
  // inode goes with the entries that named it and needs no orphan entry. At most commit_limit_
  // inodes and deletions in all: deletions get what the queue leaves.
  reclaim_ready_.insert(reclaim_ready_.end(), reclaim_queue_.begin(), reclaim_queue_.end());
  reclaim_queue_.clear();
  const size_t room =
      std::max<size_t>(commit_limit_ > queue_.size() ? commit_limit_ - queue_.size() : 0, 1);
  const size_t ready = reclaim_ready_.size();
  std::vector<Inode*> doomed = TakeReclaimable(room);
  const bool deletions_left = doomed.size() == room && ready > room;
  std::vector<uint64_t> not_entered;  // doomed inodes whose orphan entries were still to come
  for (Inode* inode : doomed) {
    if (orphans_to_enter_.erase(inode->ino) != 0) not_entered.push_back(inode->ino);
  }
  // The orphan entries of this commit's other unlinks (of inodes still open) go in with them.
  if (Status entered = co_await EnterOrphans(); !entered.ok()) {
    for (Inode* inode : doomed) reclaim_ready_.push_back(inode->ino);
    orphans_to_enter_.insert(not_entered.begin(), not_entered.end());
    ns_lock_.Release();
    commit_lock_.Release();
    co_return entered;
  }
  uint64_t target = change_seq_;
  // At most commit_limit_ inodes and deletions: every inode a namespace call queued (LockNamespace
  // keeps them fewer), then the others, then deletions; what does not fit waits for the next
  // commit, and this one does not count as reaching `target`.
  std::vector<InodeRef> batch;
  std::vector<Inode*> deferred;
  std::vector<Inode*> taken;
  taken.reserve(std::min(queue_.size(), commit_limit_));
  for (bool namespace_pass : {true, false}) {
    for (Inode* inode : queue_) {
      if (inode->queued_by_namespace != namespace_pass) continue;
      if (!namespace_pass && taken.size() >= commit_limit_) {
        deferred.push_back(inode);
      } else {
        taken.push_back(inode);
      }
    }
  }
  for (Inode* inode : taken) {
    inode->queued = false;
    inode->queued_by_namespace = false;
  }
  queue_ = std::move(deferred);
  namespace_queued_ = 0;
  if (!queue_.empty()) target = committed_seq_;
  // An inode this commit deletes has nothing more to write; one unlinked but still open has: its
  // record (nlink 0) goes with the entries that no longer name it.
  const absl::flat_hash_set<Inode*> deleting(doomed.begin(), doomed.end());
  batch.reserve(taken.size());
  for (Inode* inode : taken) {
    if (!deleting.contains(inode)) batch.emplace_back(inode);
  }
  Status status;
  // The records as written, by batch position (those not written stay empty).
  std::vector<std::optional<InodeRecord>> written_records(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    Inode& inode = *batch[i];
    // Data written back goes with its record, so that the commit has something to journal and
    // ends with a flush (CommitNow's promise).
    if (!inode.record_dirty && (inode.data == nullptr || !inode.data->dirty())) continue;
    inode.record_dirty = false;
    written_records[i] = inode.record;
    status = co_await inode.blob->SetXattr(std::string(InodeRecord::kXattrName),
                                           inode.record.Encode(), XattrKind::kInternal);
    if (!status.ok()) break;
  }
  // The directory blocks as they are with these records: a call that changes a directory after
  // the lock is released goes in the next commit, entries and records together.
  std::vector<DirBlobStorage*> written_back;
  for (size_t i = 0; status.ok() && i < batch.size(); ++i) {
    Inode& inode = *batch[i];
    if (inode.dir_storage == nullptr || !inode.dir_storage->dirty()) continue;
    inode.dir_storage->TakeForWriteBack();
    written_back.push_back(inode.dir_storage.get());
  }
  ns_lock_.Release();

  // File data first (ordered: a committed size never exposes unwritten blocks), then the
  // directory blocks, then every blob's metadata and the deletions in one transaction.
  for (size_t i = 0; status.ok() && i < batch.size(); ++i) {
    Inode& inode = *batch[i];
    if (inode.data == nullptr || !inode.data->dirty()) continue;
    co_await inode.data_lock.Acquire();
    status = co_await inode.data->WriteBack();
    // A write or truncate since the snapshot above changed the size of what was written back:
    // the record goes with the size of its data (inline bytes must match it exactly). The next
    // commit writes the record as it is by then.
    std::optional<InodeRecord>& record = written_records[i];
    if (status.ok() && record.has_value() && record->size != inode.data->size()) {
      record->size = inode.data->size();
      status = co_await inode.blob->SetXattr(std::string(InodeRecord::kXattrName),
                                             record->Encode(), XattrKind::kInternal);
    }
    inode.data_lock.Release();
  }
  // Directory blocks: new ones in place, overwrites with the commit.
  std::vector<BlobStore::JournaledWrite> journaled;
  for (size_t i = 0; status.ok() && i < written_back.size(); ++i) {
    status = co_await written_back[i]->WriteBack(&journaled);
  }
  if (status.ok()) {
    std::vector<Blob*> blobs;
    blobs.reserve(batch.size());
    for (InodeRef& inode : batch) blobs.push_back(inode->blob);
    std::vector<Blob*> deletions;
    deletions.reserve(doomed.size());
    for (Inode* inode : doomed) {
      if (inode->data != nullptr) inode->data->Discard();
      deletions.push_back(inode->blob);
    }
    status = co_await store_->Commit(blobs, deletions, journaled);
  }
  for (DirBlobStorage* storage : written_back) storage->CommitDone(status.ok());
  if (!status.ok()) {
    // Everything stays queued for the next attempt.
    for (InodeRef& inode : batch) {
      inode->record_dirty = true;
      Queue(*inode);
    }
    for (Inode* inode : doomed) reclaim_ready_.push_back(inode->ino);
    orphans_to_enter_.insert(not_entered.begin(), not_entered.end());
    commit_lock_.Release();
    co_return status;
  }
  committed_seq_ = std::max(committed_seq_, target);
  if (!queue_.empty() || deletions_left) ScheduleCommit();
  // What an earlier commit failed to write was kept queued and is written now.
  commit_error_ = Status();
  batch.clear();
  if (!doomed.empty()) status = co_await ForgetDeleted(std::move(doomed));
  co_await EvictIdle();
  commit_lock_.Release();
  co_return status;
}

}  // namespace blobfs
