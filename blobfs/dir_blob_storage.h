// DirBlobStorage: the blocks of one directory index (DirTree) kept in the directory's thin blob,
// block i at byte i × block_size.
//
// Contract:
//  - Writes land in memory (dirty blocks) and reach the blob only in WriteBack, which the
//    filesystem's commit calls; reads see the newest version (dirty, then being written back, then
//    the blob). Blocks past the blob's end, never written, or released read as zeroes.
//  - TakeForWriteBack takes the dirty and released blocks as they are (a caller takes them under
//    the lock that keeps them consistent with the records committed with them; WriteBack takes
//    them itself when nothing was taken); WriteBack then grows the blob to hold the highest
//    block, writes the taken blocks of clusters the
//    blob has not mapped yet in contiguous runs, and gives released blocks' clusters back when a
//    cluster holds exactly one block (otherwise it zeroes them). Overwrites of mapped blocks (and
//    zeroings) go to `journaled`, for the commit to make durable atomically with the records that
//    need them (BlobStore::JournaledWrite); they stay readable here until CommitDone, which a
//    caller that took blocks must call once that commit ended: if it failed, whatever was taken
//    is dirty again. Without `journaled` (a blob nothing on disk names yet, as at mkfs) everything goes
//    in place. On failure the blocks stay dirty for the next attempt.
//  - Space: a block whose cluster the blob does not have yet takes a cluster of the reservation
//    (buffer_cache.h) when first written, held until WriteBack has written it (or it was
//    released). WriteBlock never fails for space: a caller reserves before a change what it may
//    add (Reserve: ENOSPC when the filesystem cannot hold it) and gives back what it did not use
//    (ReleaseUnused); a block written beyond that is reserved on the spot, from what is held back
//    if need be.
//  - One reactor (the filesystem's); WriteBack may overlap reads and writes of the tree.
#ifndef BLOBFS_BLOBFS_DIR_BLOB_STORAGE_H_
#define BLOBFS_BLOBFS_DIR_BLOB_STORAGE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <vector>
#include <span>

#include "blob/blob.h"
#include "blob/blob_store.h"
#include "blob/blob_channel.h"
#include "blobfs/buffer_cache.h"
#include "blobfs/dir_storage.h"
#include "common/aligned_buffer.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

class DirBlobStorage : public DirStorage {
 public:
  // `space`: where clusters are reserved; none for readers and mkfs (Reserve then always works).
  DirBlobStorage(Blob& blob, BlobChannel& channel, uint32_t block_size,
                 BufferCache* space = nullptr);
  ~DirBlobStorage() override;

  uint32_t block_size() const override { return block_size_; }
  Task<Status> ReadBlock(uint64_t index, std::span<std::byte> out) override;
  Task<Status> WriteBlock(uint64_t index, std::span<const std::byte> data) override;
  Task<Status> ReleaseBlock(uint64_t index) override;

  bool dirty() const { return !dirty_.empty() || !released_.empty(); }
  void TakeForWriteBack();
  Task<Status> WriteBack(std::vector<BlobStore::JournaledWrite>* journaled = nullptr);
  void CommitDone(bool committed);

  // Sets aside room for `blocks` new blocks; kHeldBack may take what the filesystem holds back.
  enum class Room { kOrdinary, kHeldBack };
  Task<Status> Reserve(uint64_t blocks, Room room);
  void ReleaseUnused();

 private:
  using Block = std::shared_ptr<AlignedBuffer>;
  Task<Status> WriteRun(uint64_t first, std::span<const Block> blocks);
  // Takes a cluster of the reservation for block `index` unless its cluster is had already.
  void ClaimCluster(uint64_t index);

  Blob& blob_;
  BlobChannel& channel_;
  const uint32_t block_size_;
  std::map<uint64_t, Block> dirty_;
  std::map<uint64_t, Block> writing_;  // Taken from dirty_ for the next WriteBack.
  std::set<uint64_t> releasing_;        // Taken from released_ for the next WriteBack.
  std::map<uint64_t, Block> committing_;  // Handed to the commit, until CommitDone.
  std::set<uint64_t> released_;
  BufferCache* const space_;
  uint64_t unused_bytes_ = 0;            // Reserved by Reserve, not yet taken by a block.
  std::set<uint64_t> claimed_clusters_;  // Reserved for blocks not yet written back.
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_DIR_BLOB_STORAGE_H_
