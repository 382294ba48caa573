// BlobChannel: a reactor's path for blob data I/O (BlobStore::OpenChannel). Like the BdevChannel it
// wraps, it is used and destroyed only on the reactor that opened it, after its I/O completed.
#ifndef BLOBFS_BLOB_BLOB_CHANNEL_H_
#define BLOBFS_BLOB_BLOB_CHANNEL_H_

#include <memory>
#include <utility>

#include "bdev/bdev.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

class BlobChannel {
 public:
  explicit BlobChannel(std::unique_ptr<BdevChannel> device) : device_(std::move(device)) {}
  BdevChannel& device() { return *device_; }
  // Makes the data writes completed through any channel of the store durable (a bdev flush).
  // Metadata commits flush on their own; this is for overwrites of allocated clusters.
  Task<Status> Flush() { return device_->Flush(); }

 private:
  std::unique_ptr<BdevChannel> device_;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_BLOB_CHANNEL_H_
