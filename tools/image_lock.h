// ImageLock: one user of an image at a time. mkfs.blobfs, the mount daemon and fsck.blobfs take an
// exclusive flock(2) on the image file or block device for as long as they use it, so a second
// mount of the same image waits (bounded) and then fails with a clear message instead of
// corrupting it.
//
// Contract: Acquire() retries for up to `wait`; EBUSY names the image when it is still held, and
// open errors are returned as they are. The lock is released when the ImageLock is destroyed (or
// when its process exits, even by kill -9). A forked child inherits the lock.
#ifndef BLOBFS_TOOLS_IMAGE_LOCK_H_
#define BLOBFS_TOOLS_IMAGE_LOCK_H_

#include <chrono>
#include <memory>
#include <string>

#include "common/error.h"

namespace blobfs {

class ImageLock {
 public:
  static Result<std::unique_ptr<ImageLock>> Acquire(const std::string& path,
                                                    std::chrono::milliseconds wait);
  ~ImageLock();
  ImageLock(const ImageLock&) = delete;
  ImageLock& operator=(const ImageLock&) = delete;

 private:
  explicit ImageLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_IMAGE_LOCK_H_
