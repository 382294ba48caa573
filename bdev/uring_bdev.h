// The uring module: a bdev over a regular file or a block device, driven through each reactor's
// io_uring.
//
// Contract:
//  - Opens with O_DIRECT when the file and the chosen block size allow it (statx DIOALIGN, or the
//    device's logical block size) and falls back cleanly to buffered I/O when they do not (kAuto);
//    kOn turns that fallback into an error. With O_DIRECT the bdev's required alignment is the
//    kernel's memory alignment, and the generic layer bounces buffers that miss it.
//  - Flush is fdatasync through io_uring. write_zeroes is fallocate(ZERO_RANGE) and unmap is
//    fallocate(PUNCH_HOLE); when the file system refuses either, write_zeroes falls back to writing
//    zeroes and unmap reports EOPNOTSUPP.
//  - A missing file is ENOENT unless create_size asks to create it; a file too small for one block,
//    or smaller than create_size, is EINVAL; anything but a regular file or block device is EINVAL.
#ifndef BLOBFS_BDEV_URING_BDEV_H_
#define BLOBFS_BDEV_URING_BDEV_H_

#include <cstdint>
#include <memory>
#include <string>

#include "bdev/bdev.h"
#include "bdev/registry.h"

namespace blobfs {

enum class DirectIo { kAuto, kOn, kOff };

struct UringBdevOptions {
  std::string path;
  // 0 = the device's logical block size, or 4096 for a regular file.
  uint32_t block_size = 0;
  DirectIo direct = DirectIo::kAuto;
  bool read_only = false;
  // For regular files: create the file, or grow it, to this many bytes (0 = it must exist as is).
  uint64_t create_size = 0;
  uint32_t queue_depth = 128;  // requests in flight per reactor
};

Result<std::shared_ptr<Bdev>> CreateUringBdev(BdevRegistry& registry, std::string name,
                                              const UringBdevOptions& options);

// Whether a uring bdev ended up using O_DIRECT (false for other modules).
bool UringBdevUsesDirectIo(Bdev& bdev);

}  // namespace blobfs

#endif  // BLOBFS_BDEV_URING_BDEV_H_
