// ReactorChannel: the per-reactor state of one bdev, shared by all descriptors' channels on that
// reactor. Private to the bdev layer (bdev.cc, channel.cc).
//
// It owns the module's DriverChannel, the queue-depth slots, the lock-free counters, the reset gate
// and the FIFO of I/O waiting for QoS admission. Everything but the counters is touched only on its
// reactor's thread.
#ifndef BLOBFS_BDEV_REACTOR_CHANNEL_H_
#define BLOBFS_BDEV_REACTOR_CHANNEL_H_

#include <coroutine>
#include <cstdint>
#include <deque>
#include <memory>

#include "bdev/bdev.h"
#include "bdev/driver.h"
#include "bdev/stats.h"
#include "common/async_event.h"
#include "common/async_semaphore.h"
#include "common/reactor.h"

namespace blobfs {

struct ReactorChannel : public std::enable_shared_from_this<ReactorChannel> {
  ReactorChannel(std::shared_ptr<Bdev> owner, Reactor& home, std::unique_ptr<DriverChannel> module,
                 uint32_t queue_depth)
      : bdev(std::move(owner)), reactor(home), driver(std::move(module)), slots(queue_depth) {
    thawed.Set();
  }
  ~ReactorChannel() { bdev->RetireChannel(*this); }

  const BdevGeometry& geometry() const { return bdev->geometry(); }

  struct QosWaiter {
    uint64_t bytes;
    std::coroutine_handle<> handle;
  };

  const std::shared_ptr<Bdev> bdev;
  Reactor& reactor;
  const std::unique_ptr<DriverChannel> driver;
  AsyncSemaphore slots;        // the module's queue depth
  ChannelCounters counters;
  uint64_t in_flight = 0;      // admitted requests not yet completed
  bool frozen = false;         // a reset is draining this channel
  AsyncEvent thawed;           // set while not frozen
  AsyncEvent drained;          // set by the last completion while frozen
  std::deque<QosWaiter> qos_queue;
  bool qos_pump_running = false;
};

}  // namespace blobfs

#endif  // BLOBFS_BDEV_REACTOR_CHANNEL_H_
