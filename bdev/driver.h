// The interface a bdev module implements (malloc, uring, error, ...).
//
// Contract between the generic bdev layer (bdev.h) and a module:
//  - The generic layer validates every request before the module sees it: ranges are inside the
//    device, block-aligned and non-empty; a read or write never crosses the optimal I/O boundary nor
//    exceeds max_transfer_blocks; its buffers meet required_alignment (bounced otherwise) and add up
//    to exactly num_blocks * block_size bytes. At most channel_queue_depth() requests are in flight
//    per channel; more wait in the generic layer. Types the module does not Support() never reach it
//    (write_zeroes is emulated, unmap fails with EOPNOTSUPP, flush without a write cache succeeds).
//  - A DriverChannel is per-reactor state, created and used only on its reactor; Submit may be
//    called concurrently (interleaved coroutines) up to the queue depth. It must not block.
//  - Reset() is called after the generic layer has drained all channels.
#ifndef BLOBFS_BDEV_DRIVER_H_
#define BLOBFS_BDEV_DRIVER_H_

#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <span>

#include "bdev/io_type.h"
#include "common/error.h"
#include "common/reactor.h"
#include "common/task.h"
#include "common/uuid.h"

namespace blobfs {

// Shape and abilities of a block device, fixed when it is registered.
struct BdevGeometry {
  uint32_t block_size = 4096;  // bytes per block: a power of two, 512..65536
  uint64_t num_blocks = 0;
  // In blocks; 0 = none. Reads and writes that cross a multiple of it are split there.
  uint32_t optimal_io_boundary_blocks = 0;
  // In blocks; 0 = unlimited. Longer requests are split.
  uint32_t max_transfer_blocks = 0;
  // Memory alignment the module needs for data buffers (power of two; 1 = any).
  uint32_t required_alignment = 1;
  // The device has a volatile write cache: writes are durable only after a flush.
  bool write_cache = false;
  // The device cannot be written (a read-only image): read-write opens fail with EROFS.
  bool read_only = false;
  Uuid uuid;

  uint64_t size_bytes() const { return uint64_t{block_size} * num_blocks; }
};

struct IoRequest {
  IoType type;
  uint64_t offset_blocks = 0;
  uint64_t num_blocks = 0;
  std::span<const iovec> iov;  // read and write only
};

class DriverChannel {
 public:
  virtual ~DriverChannel() = default;
  virtual Task<Status> Submit(const IoRequest& request) = 0;
};

class BdevDriver {
 public:
  virtual ~BdevDriver() = default;

  // "malloc", "uring", "error": shown in listings and messages.
  virtual const char* module_name() const = 0;

  // Whether requests of `type` may be sent. Read and write must be supported.
  virtual bool Supports(IoType type) const = 0;

  // Requests in flight per channel before the generic layer queues them.
  virtual uint32_t channel_queue_depth() const { return 128; }

  // Creates the state for one reactor; called on that reactor.
  virtual Result<std::unique_ptr<DriverChannel>> CreateChannel(Reactor& reactor) = 0;

  // Called on a reactor once all I/O has drained during a bdev reset.
  virtual Task<Status> Reset() { co_return OkStatus(); }
};

}  // namespace blobfs

#endif  // BLOBFS_BDEV_DRIVER_H_
