#include "common/sync_bridge.h"

namespace blobfs {

Result<std::unique_ptr<ReactorThread>> ReactorThread::Start(Reactor::Options options) {
  std::unique_ptr<ReactorThread> self(new ReactorThread());
  std::optional<Error> setup_error;
  absl::Notification created;
  self->thread_ = std::thread([&, raw = self.get()] {
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
