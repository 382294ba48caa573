// Group commit: calls queue their inodes; one commit at a time writes every queued inode's file
// data, directory blocks and record and commits their blobs in one BlobStore::Commit. Calls
// return before that; Fsync, SyncFs and friends wait for it (CommitNow).
#include <cerrno>
#include <vector>

#include "blobfs/blob_file_system.h"

namespace blobfs {

void BlobFileSystem::MarkDirty(Inode& inode) {
  inode.record_dirty = true;
  Queue(inode);
}

void BlobFileSystem::Queue(Inode& inode) {
  ++change_seq_;
  if (!inode.queued) {
    inode.queued = true;
    queue_.push_back(&inode);
  }
  if (!commit_loop_running_ && !options_.commit_each_call && !closing_) {
    commit_loop_running_ = true;
    reactor_.Spawn(CommitLoop());
  }
}

Task<void> BlobFileSystem::CommitLoop() {
  // Yield once so the call that queued the first change (and those right behind it) finish
  // their changes and join this commit.
  co_await Reactor::SwitchTo(reactor_);
  while (committed_seq_ < change_seq_ && !closing_) {
    Status status = co_await CommitOnce();
    if (!status.ok()) {
      LOG(ERROR) << "blobfs commit failed: " << status;
      commit_error_ = status;
      break;
    }
  }
  commit_loop_running_ = false;
}

Task<Status> BlobFileSystem::CommitNow() {
  uint64_t target = change_seq_;
  while (committed_seq_ < target) CO_RETURN_IF_ERROR(co_await CommitOnce());
  Status failed = commit_error_;
  commit_error_ = Status();
  co_return failed;
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
  uint64_t target = change_seq_;
  std::vector<InodeRef> batch;
  batch.reserve(queue_.size());
  for (Inode* inode : queue_) {
    inode->queued = false;
    batch.emplace_back(inode);
  }
  queue_.clear();
  std::vector<uint64_t> reclaims;
  reclaims.swap(reclaim_queue_);
  Status status;
  for (InodeRef& inode : batch) {
    if (!inode->record_dirty || inode->reclaiming) continue;
    inode->record_dirty = false;
    status = co_await inode->blob->SetXattr(std::string(InodeRecord::kXattrName),
                                            inode->record.Encode(), XattrKind::kInternal);
    if (!status.ok()) break;
  }
  ns_lock_.Release();

  // File data first (ordered: a committed size never exposes unwritten blocks), then the
  // directory blocks, then every blob's metadata in one transaction.
  for (size_t i = 0; status.ok() && i < batch.size(); ++i) {
    Inode& inode = *batch[i];
    if (inode.reclaiming || inode.data == nullptr || !inode.data->dirty()) continue;
    co_await inode.data_lock.Acquire();
    status = co_await inode.data->WriteBack();
    inode.data_lock.Release();
  }
  for (size_t i = 0; status.ok() && i < batch.size(); ++i) {
    Inode& inode = *batch[i];
    if (inode.reclaiming || inode.dir_storage == nullptr || !inode.dir_storage->dirty()) continue;
    status = co_await inode.dir_storage->WriteBack();
  }
  if (status.ok()) {
    std::vector<Blob*> blobs;
    blobs.reserve(batch.size());
    for (InodeRef& inode : batch) {
      if (!inode->reclaiming) blobs.push_back(inode->blob);
    }
    status = co_await store_->Commit(blobs);
  }
  if (!status.ok()) {
    // Everything stays queued for the next attempt.
    for (InodeRef& inode : batch) {
      if (!inode->reclaiming) {
        inode->record_dirty = true;
        Queue(*inode);
      }
    }
    reclaim_queue_.insert(reclaim_queue_.end(), reclaims.begin(), reclaims.end());
    commit_lock_.Release();
    co_return status;
  }
  committed_seq_ = std::max(committed_seq_, target);
  // What an earlier commit failed to write was kept queued and is written now.
  commit_error_ = Status();
  batch.clear();
  if (!reclaims.empty()) status = co_await ReclaimQueued(std::move(reclaims));
  co_await EvictIdle();
  commit_lock_.Release();
  co_return status;
}

}  // namespace blobfs
