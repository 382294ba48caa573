// The malloc module: a bdev held in RAM, for tests and as a performance baseline.
//
// Contract: the memory is anonymous, zero on creation and committed up front, like a RAM disk's
// (creation fails with ENOMEM when it cannot be), so I/O never waits for page faults. I/O is a memcpy done at submission; the completion is
// delivered on the next reactor iteration (never inline), like a real device's. Supports read,
// write, write_zeroes and unmap (unmapped blocks read as zeroes); no write cache, so flush is a no-op.
#ifndef BLOBFS_BDEV_MALLOC_BDEV_H_
#define BLOBFS_BDEV_MALLOC_BDEV_H_

#include <cstdint>
#include <memory>
#include <string>

#include "bdev/bdev.h"
#include "bdev/registry.h"

namespace blobfs {

struct MallocBdevOptions {
  uint64_t size_bytes = 0;  // a multiple of block_size
  uint32_t block_size = 4096;
  uint32_t optimal_io_boundary_blocks = 0;
  uint32_t max_transfer_blocks = 0;
};

Result<std::shared_ptr<Bdev>> CreateMallocBdev(BdevRegistry& registry, std::string name,
                                               const MallocBdevOptions& options);

}  // namespace blobfs

#endif  // BLOBFS_BDEV_MALLOC_BDEV_H_
