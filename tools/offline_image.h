// OfflineImage: what the offline tools (fsck.blobfs, blobfs-inspect) need to read an image file or
// block device, or for fsck's repairs to write it: the image locked against a concurrent mount
// (image_lock.h), a reactor thread, and the device as the uring bdev "image" in a registry,
// read-only unless `writable`.
//
// Contract: Open fails with the system's error when the path cannot be stat'ed or opened, and
// with EBUSY (the message naming the image) when a daemon, mkfs or another tool holds it. Destroy
// the registry's users (descriptors, stores) before the OfflineImage.
#ifndef BLOBFS_TOOLS_OFFLINE_IMAGE_H_
#define BLOBFS_TOOLS_OFFLINE_IMAGE_H_

#include <memory>
#include <string>

#include "bdev/registry.h"
#include "common/error.h"
#include "common/sync_bridge.h"
#include "tools/image_lock.h"

namespace blobfs {

struct OfflineImage {
  static Result<std::unique_ptr<OfflineImage>> Open(const std::string& path, bool writable = false);

  static constexpr const char* kBdevName = "image";
  std::unique_ptr<ImageLock> lock;
  std::unique_ptr<ReactorThread> reactor;
  BdevRegistry registry;
};

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_OFFLINE_IMAGE_H_
