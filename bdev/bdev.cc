// Bdev and BdevDescriptor: channels per reactor, statistics, QoS settings, removal, reset.
#include "bdev/bdev.h"

#include <cerrno>
#include <utility>

#include "bdev/reactor_channel.h"
#include "common/clock.h"

namespace blobfs {

struct Bdev::RemoveListener {
  Reactor* home = nullptr;  // where the callback runs; nullptr = the unregistering thread
  absl::Mutex mutex;
  RemoveCallback callback ABSL_GUARDED_BY(mutex);

  void Fire() {
    RemoveCallback fn;
    {
      absl::MutexLock lock(&mutex);
      fn = std::move(callback);
      callback = nullptr;
    }
    if (fn) std::move(fn)();
  }
};

Bdev::Bdev(std::string name, BdevGeometry geometry, std::unique_ptr<BdevDriver> driver)
    : name_(std::move(name)), geometry_(geometry), driver_(std::move(driver)) {}

Bdev::~Bdev() = default;

BdevStats Bdev::GetStats() const {
  absl::MutexLock lock(&mutex_);
  BdevStats stats = retired_stats_;
  for (const ChannelEntry& entry : channels_) entry.channel->counters.AddTo(stats);
  return stats;
}

void Bdev::SetQosLimits(QosLimits limits) { qos_.SetLimits(limits, MonotonicNanos()); }

Result<std::shared_ptr<ReactorChannel>> Bdev::GetReactorChannel(Reactor& reactor) {
  absl::MutexLock lock(&mutex_);
  for (const ChannelEntry& entry : channels_) {
    // Only the calling reactor's channel is referenced: only this thread can drop its last
    // reference, so the copy taken here cannot end up destroying it under the lock.
    if (&entry.channel->reactor != &reactor) continue;
    if (auto channel = entry.weak.lock()) return channel;
  }
  ASSIGN_OR_RETURN(std::unique_ptr<DriverChannel> module, driver_->CreateChannel(reactor));
  auto channel = std::make_shared<ReactorChannel>(shared_from_this(), reactor, std::move(module),
                                                  driver_->channel_queue_depth());
  channels_.push_back({channel.get(), channel});
  return channel;
}

void Bdev::RetireChannel(const ReactorChannel& channel) {
  absl::MutexLock lock(&mutex_);
  channel.counters.AddTo(retired_stats_);
  std::erase_if(channels_, [&](const ChannelEntry& entry) { return entry.channel == &channel; });
}

void Bdev::MarkRemoved() {
  removed_.store(true, std::memory_order_release);
  std::vector<std::shared_ptr<RemoveListener>> listeners;
  {
    absl::MutexLock lock(&mutex_);
    listeners.swap(listeners_);
  }
  for (auto& listener : listeners) {
    if (listener->home != nullptr) {
      listener->home->Post([listener] { listener->Fire(); });
    } else {
      listener->Fire();
    }
  }
}

Task<Status> Bdev::ResetAllChannels() {
  if (resetting_.exchange(true)) {
    co_return MakeError(EBUSY, "bdev '%s': a reset is already in progress", name_);
  }
  Reactor& origin = *Reactor::Current();
  std::vector<std::shared_ptr<ReactorChannel>> live;
  {
    absl::MutexLock lock(&mutex_);
    for (const ChannelEntry& entry : channels_) {
      if (auto channel = entry.weak.lock()) live.push_back(std::move(channel));
    }
  }
  // Freeze every channel (new I/O waits at its gate) and wait for what is in flight.
  for (auto& channel : live) {
    co_await Reactor::SwitchTo(channel->reactor);
    channel->frozen = true;
    channel->thawed.Reset();
    if (channel->in_flight > 0) {
      channel->drained.Reset();
      co_await channel->drained.Wait();
    }
  }
  co_await Reactor::SwitchTo(origin);
  Status status = co_await driver_->Reset();
  for (auto& channel : live) {
    co_await Reactor::SwitchTo(channel->reactor);
    channel->frozen = false;
    channel->thawed.Set();
    channel.reset();  // dropped on its own reactor
  }
  co_await Reactor::SwitchTo(origin);
  resetting_.store(false);
  co_return status;
}

Result<std::unique_ptr<BdevDescriptor>> Bdev::OpenDescriptor(std::shared_ptr<Bdev> bdev,
                                                             OpenMode mode,
                                                             RemoveCallback on_remove) {
  if (mode == OpenMode::kReadWrite && bdev->geometry().read_only) {
    return MakeError(EROFS, "bdev '%s' is read-only and cannot be opened for writing", bdev->name());
  }
  auto listener = std::make_shared<RemoveListener>();
  listener->home = Reactor::Current();
  {
    absl::MutexLock lock(&listener->mutex);
    listener->callback = std::move(on_remove);
  }
  {
    absl::MutexLock lock(&bdev->mutex_);
    if (bdev->removed()) return MakeError(ENODEV, "bdev '%s' has been removed", bdev->name());
    bdev->listeners_.push_back(listener);
  }
  return std::unique_ptr<BdevDescriptor>(new BdevDescriptor(std::move(bdev), mode, listener));
}

BdevDescriptor::BdevDescriptor(std::shared_ptr<Bdev> bdev, OpenMode mode,
                               std::shared_ptr<Bdev::RemoveListener> listener)
    : bdev_(std::move(bdev)), mode_(mode), listener_(std::move(listener)) {}

BdevDescriptor::~BdevDescriptor() {
  {
    absl::MutexLock lock(&bdev_->mutex_);
    std::erase(bdev_->listeners_, listener_);
  }
  RemoveCallback dropped;
  {
    absl::MutexLock lock(&listener_->mutex);
    dropped = std::move(listener_->callback);
    listener_->callback = nullptr;
  }
}

Result<std::unique_ptr<BdevChannel>> BdevDescriptor::OpenChannel() {
  Reactor* reactor = Reactor::Current();
  if (reactor == nullptr) {
    return MakeError(EINVAL, "bdev '%s': channels can only be opened on a reactor thread",
                     bdev_->name());
  }
  if (bdev_->removed()) return MakeError(ENODEV, "bdev '%s' has been removed", bdev_->name());
  ASSIGN_OR_RETURN(std::shared_ptr<ReactorChannel> channel, bdev_->GetReactorChannel(*reactor));
  return std::unique_ptr<BdevChannel>(new BdevChannel(bdev_, writable(), std::move(channel)));
}

}  // namespace blobfs
