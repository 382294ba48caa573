// AsyncSemaphore: a counting semaphore for coroutines on one reactor.
//
// Contract: Acquire() takes a unit, waiting in FIFO order when none is free; Release() returns one,
// handing it straight to the oldest waiter (scheduled on the reactor, never resumed inline). This is
// how a layer queues work when it is out of a resource (queue slots, buffers) instead of failing it.
// All calls run on one reactor thread; the semaphore must outlive its waiters.
#ifndef BLOBFS_COMMON_ASYNC_SEMAPHORE_H_
#define BLOBFS_COMMON_ASYNC_SEMAPHORE_H_

#include <coroutine>
#include <cstddef>
#include <deque>

#include "common/reactor.h"
#include "common/task.h"

namespace blobfs {

class AsyncSemaphore {
 public:
  explicit AsyncSemaphore(size_t units) : available_(units) {}
  AsyncSemaphore(const AsyncSemaphore&) = delete;
  AsyncSemaphore& operator=(const AsyncSemaphore&) = delete;

  size_t available() const { return available_; }
  size_t waiting() const { return waiters_.size(); }

  class Awaiter {
   public:
    explicit Awaiter(AsyncSemaphore& semaphore) : semaphore_(semaphore) {}
    bool await_ready() const noexcept {
      if (semaphore_.available_ == 0 || !semaphore_.waiters_.empty()) return false;
      --semaphore_.available_;
      return true;
    }
    void await_suspend(std::coroutine_handle<> handle) {
      Reactor* reactor = Reactor::Current();
      CHECK(reactor != nullptr) << "AsyncSemaphore awaited outside a reactor";
      semaphore_.waiters_.push_back({reactor, handle});
    }
    void await_resume() const noexcept {}

   private:
    AsyncSemaphore& semaphore_;
  };

  // The unit is owned by the caller once the co_await returns.
  Awaiter Acquire() { return Awaiter(*this); }

  // One unit, released when the Hold is destroyed: `auto hold = co_await semaphore.Lock();`.
  class Hold {
   public:
    explicit Hold(AsyncSemaphore& semaphore) : semaphore_(&semaphore) {}
    Hold(Hold&& other) noexcept : semaphore_(other.semaphore_) { other.semaphore_ = nullptr; }
    Hold& operator=(Hold&&) = delete;
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold() {
      if (semaphore_ != nullptr) semaphore_->Release();
    }

   private:
    AsyncSemaphore* semaphore_;
  };
  Task<Hold> Lock() {
    co_await Acquire();
    co_return Hold(*this);
  }

  void Release() {
    if (waiters_.empty()) {
      ++available_;
      return;
    }
    Waiter next = waiters_.front();
    waiters_.pop_front();
    next.reactor->Schedule(next.handle);  // the unit passes to it directly
  }

 private:
  struct Waiter {
    Reactor* reactor;
    std::coroutine_handle<> handle;
  };
  size_t available_;
  std::deque<Waiter> waiters_;
};

}  // namespace blobfs

#endif  // BLOBFS_COMMON_ASYNC_SEMAPHORE_H_
