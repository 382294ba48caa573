// CreateDirectoryBlob: a new, empty directory made on the store directly, for what runs without a
// mounted filesystem (mkfs makes the root and the orphan directory, fsck's repair lost+found).
//
// Contract: creates the blob with its inode record (nlink 2; `parent`, or the blob itself when 0)
// and formats its index, written in place (nothing on disk names the blob yet). The caller
// commits the blob (BlobStore::Commit) and links it where it belongs; on failure a blob may be
// left that nothing names.
#ifndef BLOBFS_BLOBFS_NEW_DIRECTORY_H_
#define BLOBFS_BLOBFS_NEW_DIRECTORY_H_

#include <cstdint>

#include "blob/blob.h"
#include "blob/blob_channel.h"
#include "blob/blob_store.h"
#include "blobfs/format/fs_super.h"
#include "common/error.h"
#include "common/task.h"
#include "blobfs/format/timestamp.h"

namespace blobfs {

struct NewDirectory {
  uint32_t permissions = 0755;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t parent = 0;  // 0: the directory is its own parent
  uint64_t generation = 1;
  Timestamp time{};
};

Task<Result<Blob*>> CreateDirectoryBlob(BlobStore& store, BlobChannel& channel,
                                        const FsSuper& super, NewDirectory directory);

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_NEW_DIRECTORY_H_
