#include "common/sync_bridge.h"

#include <pthread.h>
#include <sched.h>

namespace blobfs {

Result<std::unique_ptr<ReactorThread>> ReactorThread::Start(Reactor::Options options) {
  std::unique_ptr<ReactorThread> self(new ReactorThread());
  std::optional<Error> setup_error;
  absl::Notification created;
  self->thread_ = std::thread([&, raw = self.get()] {
    if (options.cpu >= 0) {
      cpu_set_t cpus;
      CPU_ZERO(&cpus);
      CPU_SET(options.cpu, &cpus);
      // Best effort: an offline or forbidden CPU leaves the thread where the scheduler puts it.
      if (pthread_setaffinity_np(pthread_self(), sizeof(cpus), &cpus) != 0) {
        LOG(WARNING) << "reactor thread not pinned to CPU " << options.cpu;
      }
    }
    auto reactor = Reactor::Create(options);
    if (!reactor.ok()) {
      setup_error = reactor.error();
      created.Notify();
      return;
    }
    raw->reactor_ = std::move(reactor).value();
    Reactor* loop = raw->reactor_.get();
    created.Notify();  // `created` and `setup_error` must not be touched after this
    loop->Run();
  });
  created.WaitForNotification();
  if (setup_error.has_value()) {
    self->thread_.join();
    return *setup_error;
  }
  return self;
}

ReactorThread::~ReactorThread() {
  if (reactor_ != nullptr) reactor_->RequestStop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace blobfs
