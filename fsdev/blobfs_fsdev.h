// The blobfs module of the fsdev API: a mounted blobfs FileSystem as an fsdev.
//
// Contract:
//  - Node ids are blobfs inode numbers (blobfs counts the lookups and answers ESTALE for unknown
//    ones); the root's is the filesystem's root inode.
//  - Calls hop to the filesystem's reactor and complete on the caller's. Handles are checked
//    against the node id and kind they were opened for (EBADF).
//  - blobfs is the only writer of its image, so entries and attributes may be cached long
//    (BlobfsFsdevOptions); a rename or unlink by this same process is seen by the kernel anyway
//    (it makes them).
//  - Reads and writes go in pieces of kAbortGranularity bytes and stop early when aborted.
//  - Close unmounts the filesystem.
#ifndef BLOBFS_FSDEV_BLOBFS_FSDEV_H_
#define BLOBFS_FSDEV_BLOBFS_FSDEV_H_

#include <chrono>
#include <memory>
#include <string>

#include "blobfs/filesystem.h"
#include "fsdev/fsdev.h"

namespace blobfs {

struct BlobfsFsdevOptions {
  std::string name = "blobfs";
  std::chrono::nanoseconds entry_timeout = std::chrono::hours(24);
  std::chrono::nanoseconds attr_timeout = std::chrono::hours(24);
};

// Takes the mounted filesystem; call on its reactor.
std::shared_ptr<Fsdev> MakeBlobfsFsdev(std::unique_ptr<FileSystem> fs, BlobfsFsdevOptions options);

}  // namespace blobfs

#endif  // BLOBFS_FSDEV_BLOBFS_FSDEV_H_
