#include "blobfs/dir_blob_storage.h"

#include <sys/uio.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/rounding.h"
#include "glog/logging.h"

namespace blobfs {
namespace {

// Blocks per write request: well under the kernel's IOV_MAX of 1024 buffers.
constexpr size_t kMaxRunBlocks = 256;

}  // namespace

DirBlobStorage::DirBlobStorage(Blob& blob, BlobChannel& channel, uint32_t block_size,
                               BufferCache* space)
    : blob_(blob), channel_(channel), block_size_(block_size), space_(space) {}

DirBlobStorage::~DirBlobStorage() {
  if (space_ != nullptr) {
    space_->Unreserve(unused_bytes_ + claimed_clusters_.size() * space_->cluster_size());
  }
}

Task<Status> DirBlobStorage::Reserve(uint64_t blocks, Room room) {
  // Each new block may need a cluster of its own.
  if (space_ == nullptr) co_return Status();
  const uint64_t bytes = blocks * space_->cluster_size();
  co_await space_->RefreshFreeSpace();
  const bool reserved =
      room == Room::kHeldBack ? space_->ReserveHeldBack(bytes) : space_->Reserve(bytes);
  if (!reserved) {
    co_return MakeError(ENOSPC, "no room for %d more directory blocks of blob 0x%x", blocks,
                        blob_.id());
  }
  unused_bytes_ += bytes;
  co_return Status();
}

void DirBlobStorage::ReleaseUnused() {
  if (space_ != nullptr) space_->Unreserve(unused_bytes_);
  unused_bytes_ = 0;
}

void DirBlobStorage::ClaimCluster(uint64_t index) {
  if (space_ == nullptr) return;
  const uint64_t cluster_size = space_->cluster_size();
  const uint64_t cluster = index * block_size_ / cluster_size;
  if (claimed_clusters_.contains(cluster)) return;
  if (cluster < blob_.num_clusters() && blob_.extents()->Lookup(cluster).has_value()) return;
  if (unused_bytes_ >= cluster_size) {
    unused_bytes_ -= cluster_size;
  } else if (!space_->Reserve(cluster_size) && !space_->ReserveHeldBack(cluster_size)) {
    // Past what the caller reserved and all there is: the write-back will say ENOSPC.
    LOG(WARNING) << "directory blob 0x" << std::hex << blob_.id()
                 << ": a block beyond the reserved room";
    return;
  }
  claimed_clusters_.insert(cluster);
}

Task<Status> DirBlobStorage::ReadBlock(uint64_t index, std::span<std::byte> out) {
  CHECK_EQ(out.size(), block_size_);
  for (const std::map<uint64_t, Block>* blocks : {&dirty_, &writing_, &committing_}) {
    if (auto it = blocks->find(index); it != blocks->end()) {
      std::memcpy(out.data(), it->second->data(), block_size_);
      co_return Status();
    }
  }
  uint64_t offset = index * block_size_;
  if (released_.contains(index) || releasing_.contains(index) || offset >= blob_.size_bytes()) {
    std::memset(out.data(), 0, out.size());
    co_return Status();
  }
  co_return co_await blob_.Read(channel_, offset, out);
}

Task<Status> DirBlobStorage::WriteBlock(uint64_t index, std::span<const std::byte> data) {
  CHECK_EQ(data.size(), block_size_);
  Block& block = dirty_[index];
  // A block written again before its write-back is overwritten in place, unless a reader or
  // a write-back still holds the old bytes.
  if (block == nullptr || block.use_count() > 1) {
    block = std::make_shared<AlignedBuffer>(block_size_, 4096);
  }
  std::memcpy(block->data(), data.data(), block_size_);
  released_.erase(index);
  ClaimCluster(index);
  co_return Status();
}

Task<Status> DirBlobStorage::ReleaseBlock(uint64_t index) {
  dirty_.erase(index);
  released_.insert(index);
  co_return Status();
}

void DirBlobStorage::TakeForWriteBack() {
  CHECK(writing_.empty() && releasing_.empty() && committing_.empty())
      << "one write-back at a time, then CommitDone";
  writing_.swap(dirty_);
  releasing_.swap(released_);
}

Task<Status> DirBlobStorage::WriteBack(std::vector<BlobStore::JournaledWrite>* journaled) {
  if (writing_.empty() && releasing_.empty()) TakeForWriteBack();
  std::set<uint64_t> released;
  released.swap(releasing_);
  Status status;
  const uint64_t cluster_size = blob_.store().cluster_size();
  if (!writing_.empty()) {
    uint64_t end = (writing_.rbegin()->first + 1) * block_size_;
    uint64_t clusters = DivideRoundingUp(end, cluster_size);
    if (clusters > blob_.num_clusters()) status = co_await blob_.Resize(clusters);
  }
  // Overwrites of blocks the blob has on disk go with the commit, atomically with the records
  // that need them; blocks in clusters not mapped yet go in place now (nothing on disk names
  // them until the commit that maps them, which flushes them first).
  auto mapped = [this, cluster_size](uint64_t index) {
    const uint64_t cluster = index * block_size_ / cluster_size;
    return cluster < blob_.num_clusters() && blob_.extents()->Lookup(cluster).has_value();
  };
  if (journaled != nullptr) {
    for (auto it = writing_.begin(); status.ok() && it != writing_.end();) {
      if (!mapped(it->first)) {
        ++it;
        continue;
      }
      journaled->push_back({&blob_, it->first * block_size_, it->second->span()});
      committing_.insert(std::move(*it));
      it = writing_.erase(it);
    }
  }
  // Contiguous runs of blocks go out as one vectored write each.
  std::vector<Block> run;
  uint64_t run_first = 0;
  for (auto it = writing_.begin(); status.ok() && it != writing_.end(); ++it) {
    if (!run.empty() && (it->first != run_first + run.size() || run.size() == kMaxRunBlocks)) {
      status = co_await WriteRun(run_first, run);
      run.clear();
    }
    if (run.empty()) run_first = it->first;
    run.push_back(it->second);
  }
  if (status.ok() && !run.empty()) status = co_await WriteRun(run_first, run);

  bool one_block_clusters = blob_.store().cluster_size() == block_size_;
  for (auto it = released.begin(); status.ok() && it != released.end(); ++it) {
    uint64_t offset = *it * block_size_;
    if (offset >= blob_.size_bytes() || released_.contains(*it) || dirty_.contains(*it)) continue;
    if (one_block_clusters) {
      status = co_await blob_.Deallocate(*it, 1);
    } else if (journaled != nullptr && mapped(*it)) {
      Block zeroes = std::make_shared<AlignedBuffer>(block_size_, 4096);
      journaled->push_back({&blob_, offset, zeroes->span()});
      committing_.emplace(*it, std::move(zeroes));
    } else {
      status = co_await blob_.WriteZeroes(channel_, offset, block_size_);
    }
  }
  if (!status.ok()) {
    // Keep what did not reach the blob for the next attempt; newer versions win.
    for (auto& [index, block] : writing_) dirty_.try_emplace(index, std::move(block));
    for (uint64_t index : released) {
      if (!dirty_.contains(index)) released_.insert(index);
    }
  } else if (space_ != nullptr) {
    // A cluster is had (or no longer wanted) once no block in it waits to be written.
    std::set<uint64_t> still_wanted;
    for (const auto& [index, block] : dirty_) still_wanted.insert(index * block_size_ / cluster_size);
    for (auto it = claimed_clusters_.begin(); it != claimed_clusters_.end();) {
      if (still_wanted.contains(*it)) {
        ++it;
      } else {
        space_->Unreserve(cluster_size);
        it = claimed_clusters_.erase(it);
      }
    }
  }
  writing_.clear();
  co_return status;
}

void DirBlobStorage::CommitDone(bool committed) {
  if (!committed) {
    // Dirty again for the next commit (also what a failed commit took and never wrote back);
    // newer versions win.
    for (auto* taken : {&committing_, &writing_}) {
      for (auto& [index, block] : *taken) dirty_.try_emplace(index, std::move(block));
    }
    for (uint64_t index : releasing_) {
      if (!dirty_.contains(index)) released_.insert(index);
    }
  }
  committing_.clear();
  writing_.clear();
  releasing_.clear();
}

Task<Status> DirBlobStorage::WriteRun(uint64_t first, std::span<const Block> blocks) {
  std::vector<iovec> iov;
  iov.reserve(blocks.size());
  for (const Block& block : blocks) iov.push_back({block->data(), block_size_});
  co_return co_await blob_.Writev(channel_, first * block_size_, iov);
}

}  // namespace blobfs
