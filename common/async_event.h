// AsyncEvent: a flag that coroutines on one reactor can wait for.
//
// Contract: Wait() completes at once when the event is set, else when Set() is called. Set() wakes
// every waiter by scheduling it on its reactor (never resuming it inline), and the event stays set
// until Reset(). Waiters and setters run on the same reactor thread; the event must outlive them.
#ifndef BLOBFS_COMMON_ASYNC_EVENT_H_
#define BLOBFS_COMMON_ASYNC_EVENT_H_

#include <coroutine>
#include <vector>

#include "common/reactor.h"

namespace blobfs {

class AsyncEvent {
 public:
  AsyncEvent() = default;
  AsyncEvent(const AsyncEvent&) = delete;
  AsyncEvent& operator=(const AsyncEvent&) = delete;

  bool is_set() const { return set_; }

  void Set() {
    set_ = true;
    for (const Waiter& waiter : waiters_) waiter.reactor->Schedule(waiter.handle);
    waiters_.clear();
  }

  void Reset() { set_ = false; }

  class Awaiter {
   public:
    explicit Awaiter(AsyncEvent& event) : event_(event) {}
    bool await_ready() const noexcept { return event_.set_; }
    void await_suspend(std::coroutine_handle<> handle) {
      Reactor* reactor = Reactor::Current();
      CHECK(reactor != nullptr) << "AsyncEvent awaited outside a reactor";
      event_.waiters_.push_back({reactor, handle});
    }
    void await_resume() const noexcept {}

   private:
    AsyncEvent& event_;
  };

  Awaiter Wait() { return Awaiter(*this); }

 private:
  struct Waiter {
    Reactor* reactor;
    std::coroutine_handle<> handle;
  };
  bool set_ = false;
  std::vector<Waiter> waiters_;
};

}  // namespace blobfs

#endif  // BLOBFS_COMMON_ASYNC_EVENT_H_
