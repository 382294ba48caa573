// OfflineReader: reads a blobfs filesystem on a loaded blob store without mounting it — nothing is
// written, orphans are left as they are, no inode cache — for fsck.blobfs and blobfs-inspect.
//
// Contract:
//  - Open reads the filesystem super record: EUCLEAN when the store has no super blob or the
//    record is missing or does not decode (EOPNOTSUPP for a newer format).
//  - ReadRecord: the inode record of an open inode blob; ENOENT when the blob has none, EUCLEAN
//    (from InodeRecord::Decode) when it does not decode.
//  - OpenDirectory: the directory index kept in an open directory blob, header checked; the blob
//    and the reader must stay while the result is used. Lookup and List on it read only.
//  - Resolve: the inode an absolute path names, component by component from the root, without
//    following symlinks ("." and ".." are names like others: ENOENT). ENOTDIR when a component
//    before the last is no directory.
//  - Runs on the store's metadata reactor, one call at a time.
#ifndef BLOBFS_BLOBFS_OFFLINE_READER_H_
#define BLOBFS_BLOBFS_OFFLINE_READER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "blob/blob.h"
#include "blob/blob_channel.h"
#include "blob/blob_store.h"
#include "blobfs/dir_blob_storage.h"
#include "blobfs/dir_node_cache.h"
#include "blobfs/dir_tree.h"
#include "blobfs/format/fs_super.h"
#include "blobfs/format/inode_record.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

// A directory's index over its blob, for reading.
struct OfflineDirectory {
  OfflineDirectory(Blob& blob, BlobChannel& channel, uint32_t block_size)
      : storage(blob, channel, block_size) {}
  DirBlobStorage storage;
  std::unique_ptr<DirTree> tree;
};

class OfflineReader {
 public:
  static Task<Result<std::unique_ptr<OfflineReader>>> Open(BlobStore& store);

  const FsSuper& super() const { return super_; }
  BlobStore& store() { return store_; }
  BlobChannel& channel() { return *channel_; }

  static Task<Result<InodeRecord>> ReadRecord(Blob& blob);
  Task<Result<std::unique_ptr<OfflineDirectory>>> OpenDirectory(Blob& blob);
  Task<Result<uint64_t>> Resolve(std::string_view path);

 private:
  OfflineReader(BlobStore& store, std::unique_ptr<BlobChannel> channel, FsSuper super)
      : store_(store), channel_(std::move(channel)), super_(std::move(super)) {}
  // The entry `name` of directory `dir` (ENOENT when absent).
  Task<Result<DirEntry>> LookupIn(uint64_t dir, std::string_view name);
  Task<Result<std::optional<DirEntry>>> LookupInBlob(Blob& blob, std::string_view name);

  BlobStore& store_;
  std::unique_ptr<BlobChannel> channel_;
  FsSuper super_;
  // Decoded directory blocks, for every directory opened.
  DirNodeCache dir_nodes_{256};
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_OFFLINE_READER_H_
