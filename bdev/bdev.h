// The block device layer: bdevs, descriptors and per-reactor I/O channels.
//
// Contract:
//  - A Bdev is created by a module and registered by name in a BdevRegistry (registry.h). Users
//    open a BdevDescriptor (read-only or read-write) and, on each reactor that does I/O, a
//    BdevChannel from it. A channel is used and destroyed only on the reactor that opened it, and
//    only after its I/O has completed; descriptors and channels must be closed before the reactor
//    stops.
//  - Offsets and lengths are in bytes and must be multiples of the block size; a range must be
//    non-empty and inside the device. Anything else fails with EINVAL, a modifying request (write,
//    write_zeroes, unmap, flush, reset) through a read-only descriptor with EBADF, I/O on a removed bdev with ENODEV — each with a message naming the bdev,
//    the operation and the problem. No I/O is ever done partially and reported as success.
//  - The layer splits reads and writes at the optimal I/O boundary and at the maximum transfer size,
//    bounces buffers that miss the module's memory alignment, emulates write_zeroes with writes of a
//    zero buffer, queues I/O beyond the module's queue depth or the QoS limits (never fails it for
//    lack of resources), and counts every operation in the bdev's statistics.
//  - Reset waits for all in-flight I/O on every channel (new I/O waits meanwhile), then resets the
//    module. Hot removal (BdevRegistry::Unregister) tells every descriptor's remove callback; the
//    bdev lives on until the last descriptor and channel are closed, failing new I/O with ENODEV.
#ifndef BLOBFS_BDEV_BDEV_H_
#define BLOBFS_BDEV_BDEV_H_

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "bdev/driver.h"
#include "bdev/qos.h"
#include "bdev/stats.h"
#include "common/error.h"
#include "common/reactor.h"
#include "common/task.h"

namespace blobfs {

class BdevChannel;
class BdevDescriptor;
struct ReactorChannel;

enum class OpenMode { kReadOnly, kReadWrite };

// Called once when the bdev is hot-removed, on the reactor that opened the descriptor (or on the
// unregistering thread when it was opened outside any reactor). Closing the descriptor cancels a
// callback that has not started; one already running on another thread finishes there.
using RemoveCallback = absl::AnyInvocable<void() &&>;

class Bdev : public std::enable_shared_from_this<Bdev> {
 public:
  Bdev(std::string name, BdevGeometry geometry, std::unique_ptr<BdevDriver> driver);
  ~Bdev();
  Bdev(const Bdev&) = delete;
  Bdev& operator=(const Bdev&) = delete;

  const std::string& name() const { return name_; }
  const BdevGeometry& geometry() const { return geometry_; }
  const char* module_name() const { return driver_->module_name(); }
  bool Supports(IoType type) const { return driver_->Supports(type); }
  bool removed() const { return removed_.load(std::memory_order_acquire); }

  // Thread-safe snapshot of the I/O counters of all channels, open and closed.
  BdevStats GetStats() const;

  // Thread-safe; applies to I/O admitted from now on. All-zero limits turn QoS off.
  void SetQosLimits(QosLimits limits);
  QosLimits qos_limits() const { return qos_.limits(); }
  QosRateLimiter& qos_limiter() { return qos_; }

  // The module behind this bdev (for module-specific controls such as error injection).
  BdevDriver& driver() { return *driver_; }

 private:
  friend class BdevChannel;
  friend class BdevDescriptor;
  friend class BdevRegistry;
  friend struct ReactorChannel;

  struct RemoveListener;

  static Result<std::unique_ptr<BdevDescriptor>> OpenDescriptor(std::shared_ptr<Bdev> bdev,
                                                                OpenMode mode,
                                                                RemoveCallback on_remove);
  Result<std::shared_ptr<ReactorChannel>> GetReactorChannel(Reactor& reactor);
  void RetireChannel(const ReactorChannel& channel);
  void MarkRemoved();
  Task<Status> ResetAllChannels();

  const std::string name_;
  const BdevGeometry geometry_;
  const std::unique_ptr<BdevDriver> driver_;
  std::atomic<bool> removed_{false};
  std::atomic<bool> resetting_{false};
  QosRateLimiter qos_;

  mutable absl::Mutex mutex_;
  // The live reactor channels. `channel` stays valid while its entry is listed: a channel delists
  // itself under mutex_ (RetireChannel) before it is destroyed, so readers holding mutex_ need no
  // reference of their own (whose release could destroy a channel under the lock, off its reactor).
  struct ChannelEntry {
    ReactorChannel* channel;
    std::weak_ptr<ReactorChannel> weak;
  };
  std::vector<ChannelEntry> channels_ ABSL_GUARDED_BY(mutex_);
  BdevStats retired_stats_ ABSL_GUARDED_BY(mutex_);
  std::vector<std::shared_ptr<RemoveListener>> listeners_ ABSL_GUARDED_BY(mutex_);
};

class BdevDescriptor {
 public:
  ~BdevDescriptor();  // closes; a pending remove notification is dropped
  BdevDescriptor(const BdevDescriptor&) = delete;
  BdevDescriptor& operator=(const BdevDescriptor&) = delete;

  Bdev& bdev() { return *bdev_; }
  const BdevGeometry& geometry() const { return bdev_->geometry(); }
  bool writable() const { return mode_ == OpenMode::kReadWrite; }

  // Opens this descriptor's channel on the calling thread's reactor (EINVAL outside a reactor).
  Result<std::unique_ptr<BdevChannel>> OpenChannel();

 private:
  friend class Bdev;
  BdevDescriptor(std::shared_ptr<Bdev> bdev, OpenMode mode,
                 std::shared_ptr<Bdev::RemoveListener> listener);

  std::shared_ptr<Bdev> bdev_;
  OpenMode mode_;
  std::shared_ptr<Bdev::RemoveListener> listener_;
};

class BdevChannel {
 public:
  ~BdevChannel();
  BdevChannel(const BdevChannel&) = delete;
  BdevChannel& operator=(const BdevChannel&) = delete;

  const BdevGeometry& geometry() const { return bdev_->geometry(); }
  Bdev& bdev() { return *bdev_; }

  Task<Status> Read(uint64_t offset, std::span<std::byte> buffer);
  Task<Status> Write(uint64_t offset, std::span<const std::byte> buffer);
  Task<Status> Readv(uint64_t offset, std::span<const iovec> iov);
  Task<Status> Writev(uint64_t offset, std::span<const iovec> iov);
  Task<Status> WriteZeroes(uint64_t offset, uint64_t length);
  Task<Status> Unmap(uint64_t offset, uint64_t length);
  Task<Status> Flush();
  // Waits for in-flight I/O on all channels of the bdev, then resets the module. EBUSY while
  // another reset of the same bdev runs.
  Task<Status> Reset();

 private:
  friend class BdevDescriptor;
  BdevChannel(std::shared_ptr<Bdev> bdev, bool writable, std::shared_ptr<ReactorChannel> channel);

  Status Validate(IoType type, uint64_t offset, uint64_t length, std::span<const iovec> iov) const;
  // `single`, when it has a base, stands for `iov` (saves callers of Read/Write a frame).
  Task<Status> Submit(IoType type, uint64_t offset, uint64_t length, std::span<const iovec> iov,
                      iovec single = {});

  std::shared_ptr<Bdev> bdev_;
  bool writable_;
  std::shared_ptr<ReactorChannel> channel_;
};

}  // namespace blobfs

#endif  // BLOBFS_BDEV_BDEV_H_
