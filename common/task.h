// Task<T>: a lazily started C++20 coroutine that produces a T.
//
// Contract:
//  - A Task does nothing until it is co_awaited; `co_await std::move(task)` (or `co_await f()`) runs
//    it and yields its value. A task that completes without suspending hands control straight back
//    (await_suspend returns false), and one that completes later resumes its awaiter by symmetric
//    transfer, so loops over synchronously completing tasks never grow the stack — also in builds
//    where the compiler does not turn symmetric transfer into a tail call (sanitizers, -O0).
//  - A Task is move-only and owns its coroutine frame: destroying an unstarted Task frees it. A started
//    Task must be awaited to completion (its awaiter keeps it alive); Reactor::Spawn runs a Task
//    detached.
//  - Errors travel as values (Task<Status>, Task<Result<T>>); an exception escaping a coroutine is a bug
//    and terminates the process.
#ifndef BLOBFS_COMMON_TASK_H_
#define BLOBFS_COMMON_TASK_H_

#include <atomic>
#include <coroutine>
#include <exception>
#include <optional>
#include <utility>

#include "glog/logging.h"

namespace blobfs {

template <typename T = void>
class Task;

namespace internal {

struct TaskPromiseBase {
  struct FinalAwaiter {
    bool await_ready() noexcept { return false; }
    template <typename Promise>
    std::coroutine_handle<> await_suspend(std::coroutine_handle<Promise> self) noexcept {
      TaskPromiseBase& promise = self.promise();
      // Second to arrive resumes the awaiter; if the awaiter is still inside its await_suspend
      // (we finished without suspending), it resumes itself there instead.
      if (promise.handoff.exchange(true, std::memory_order_acq_rel)) return promise.continuation;
      return std::noop_coroutine();
    }
    void await_resume() noexcept {}
  };

  std::suspend_always initial_suspend() noexcept { return {}; }
  FinalAwaiter final_suspend() noexcept { return {}; }
  void unhandled_exception() noexcept {
    LOG(FATAL) << "exception escaped a coroutine; errors must travel as Status values";
  }

  std::coroutine_handle<> continuation = std::noop_coroutine();
  std::atomic<bool> handoff{false};  // set by whichever of awaiter and final_suspend comes first
};

template <typename T>
struct TaskPromise : TaskPromiseBase {
  Task<T> get_return_object() noexcept;
  void return_value(T value) { result.emplace(std::move(value)); }
  T TakeResult() { return std::move(*result); }

  std::optional<T> result;
};

template <>
struct TaskPromise<void> : TaskPromiseBase {
  Task<void> get_return_object() noexcept;
  void return_void() noexcept {}
  void TakeResult() noexcept {}
};

// A coroutine that starts at once and frees itself when it ends; the building block for running
// Tasks detached (Reactor::Spawn, WhenAll).
struct DetachedCoroutine {
  struct promise_type {
    DetachedCoroutine get_return_object() noexcept { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() noexcept {}
    void unhandled_exception() noexcept {
      LOG(FATAL) << "exception escaped a detached coroutine";
    }
  };
};

}  // namespace internal

template <typename T>
class [[nodiscard]] Task {
 public:
  using promise_type = internal::TaskPromise<T>;
  using Handle = std::coroutine_handle<promise_type>;

  Task(Task&& other) noexcept : handle_(std::exchange(other.handle_, {})) {}
  Task& operator=(Task&& other) noexcept {
    if (this != &other) {
      if (handle_) handle_.destroy();
      handle_ = std::exchange(other.handle_, {});
    }
    return *this;
  }
  Task(const Task&) = delete;
  Task& operator=(const Task&) = delete;
  ~Task() {
    if (handle_) handle_.destroy();
  }

  class Awaiter {
   public:
    explicit Awaiter(Handle handle) : handle_(handle) {}
    bool await_ready() const noexcept { return false; }
    bool await_suspend(std::coroutine_handle<> awaiting) noexcept {
      handle_.promise().continuation = awaiting;
      handle_.resume();  // runs until the task first suspends or finishes
      // true: the task is suspended and will resume us when it finishes; false: it has finished.
      return !handle_.promise().handoff.exchange(true, std::memory_order_acq_rel);
    }
    T await_resume() { return handle_.promise().TakeResult(); }

   private:
    Handle handle_;
  };

  // The task's frame lives as long as the Task object, which outlives this temporary awaiter
  // because `co_await std::move(t)` / `co_await f()` keep it until the full expression ends.
  Awaiter operator co_await() && noexcept {
    CHECK(handle_) << "co_await on an empty Task";
    return Awaiter(handle_);
  }

 private:
  friend struct internal::TaskPromise<T>;
  explicit Task(Handle handle) : handle_(handle) {}

  Handle handle_;
};

namespace internal {

template <typename T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
  return Task<T>(std::coroutine_handle<TaskPromise<T>>::from_promise(*this));
}

inline Task<void> TaskPromise<void>::get_return_object() noexcept {
  return Task<void>(std::coroutine_handle<TaskPromise<void>>::from_promise(*this));
}

}  // namespace internal
}  // namespace blobfs

#endif  // BLOBFS_COMMON_TASK_H_
