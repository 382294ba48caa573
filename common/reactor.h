// Reactor: one event loop per thread, built on its own io_uring.
//
// Contract:
//  - A Reactor is created on, and only ever run by, one thread. Everything that runs on it —
//    coroutines, messages, I/O completions — runs on that thread, so per-reactor state needs no locks.
//  - Nothing running on a reactor may block. Waiting is done by co_await on io_uring operations
//    (uring_ops.h), timers (Sleep), other tasks, or the async primitives in this folder.
//  - Options.idle_spin and PollingHold make the loop poll rather than sleep for a while; a
//    polling loop still runs everything in order, it only never blocks in io_uring.
//  - Post() is the only thread-safe entry besides Spawn() and RequestStop(): it queues a function that
//    the reactor runs in FIFO order (per sender) and, if the reactor sleeps, wakes it through an
//    eventfd.
//  - Spawn() starts a Task detached. Run() returns only after RequestStop() has been called AND every
//    spawned task, posted message and submitted io_uring operation has finished, so shutdown never
//    abandons work in flight. Long-running tasks watch stop_requested() to wind down.
#ifndef BLOBFS_COMMON_REACTOR_H_
#define BLOBFS_COMMON_REACTOR_H_

#include <liburing.h>

#include <atomic>
#include <chrono>
#include <coroutine>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

// An io_uring submission's completion target. The SQE's user_data points at it; the reactor calls
// on_complete with the CQE's result (a negative errno on failure) and flags.
struct UringCompletion {
  void (*on_complete)(UringCompletion* self, int result, uint32_t flags) = nullptr;
};

class Reactor {
 public:
  struct Options {
    unsigned ring_entries = 1024;
    // 128-byte SQEs (IORING_SETUP_SQE128), for commands that carry more than 16 bytes (FUSE over
    // io_uring).
    bool big_sqes = false;
    // After doing work, keep polling this long before sleeping in io_uring: a message or
    // completion that arrives meanwhile then finds the thread awake (waking a sleeping thread on
    // another CPU costs tens of microseconds on a virtual machine).
    std::chrono::nanoseconds idle_spin{0};
    // ReactorThread pins its thread to this CPU (-1: no pinning).
    int cpu = -1;
  };

  // Sets up the ring and the wake-up eventfd. Fails with the kernel's errno (ENOMEM, ENOSYS, ...).
  static Result<std::unique_ptr<Reactor>> Create(Options options);
  static Result<std::unique_ptr<Reactor>> Create() { return Create(Options()); }
  ~Reactor();

  Reactor(const Reactor&) = delete;
  Reactor& operator=(const Reactor&) = delete;

  // The reactor whose loop is running on the calling thread, or nullptr.
  static Reactor* Current();

  // Thread-safe. Runs `fn` on this reactor's thread, after the messages posted before it.
  void Post(absl::AnyInvocable<void() &&> fn);

  // Thread-safe. Starts `task` on this reactor; it runs until it finishes, even after RequestStop().
  void Spawn(Task<void> task);

  // Thread-safe. Asks Run() to return once all work in flight has finished.
  void RequestStop();
  bool stop_requested() const { return stop_requested_.load(std::memory_order_acquire); }

  // Runs the loop on the calling thread until stopped and drained (see the contract above).
  void Run();

  // One loop iteration: submits queued SQEs (with `may_block` and nothing runnable, first waits
  // for at least one completion), then handles completions, posted messages and ready coroutines.
  void RunOnce(bool may_block);

  // True when nothing is queued, no spawned task is alive and no operation is in flight.
  bool Idle() const;

  // --- For awaitables and primitives running on this reactor's thread. ---

  // A submission queue entry to fill in; never null (submits queued entries to make room). The
  // caller must set user_data to a UringCompletion that lives until its completion arrives.
  io_uring_sqe* GetSqe();

  // Queues `handle` to be resumed by the loop, after what is already ready.
  void Schedule(std::coroutine_handle<> handle);

  // Suspends the calling coroutine for `duration` (an io_uring timeout).
  class SleepAwaiter;
  SleepAwaiter Sleep(std::chrono::nanoseconds duration);

  // Suspends the calling coroutine and resumes it on `target`'s thread (hops reactors).
  class SwitchAwaiter;
  static SwitchAwaiter SwitchTo(Reactor& target);

  // Gives other ready coroutines and I/O completions a turn.
  SwitchAwaiter Yield();

  uint64_t in_flight_operations() const { return in_flight_; }

  // While a PollingHold lives, the loop polls instead of sleeping: for a thread that waits for
  // a reply from another reactor and must not need a wake-up to take it.
  class PollingHold {
   public:
    explicit PollingHold(Reactor& reactor) : reactor_(&reactor) { ++reactor_->polling_holds_; }
    ~PollingHold() {
      if (reactor_ != nullptr) --reactor_->polling_holds_;
    }
    PollingHold(PollingHold&& other) noexcept : reactor_(other.reactor_) { other.reactor_ = nullptr; }
    PollingHold(const PollingHold&) = delete;
    PollingHold& operator=(const PollingHold&) = delete;
    PollingHold& operator=(PollingHold&&) = delete;

   private:
    Reactor* reactor_;
  };

 private:
  explicit Reactor(Options options);
  Status Init();
  void ArmWakeupRead();
  // Each returns how many messages, coroutines or completions it handled.
  size_t DrainInbox();
  size_t RunReadyCoroutines();
  size_t ReapCompletions();
  void TaskFinished() { live_tasks_.fetch_sub(1, std::memory_order_acq_rel); }
  static internal::DetachedCoroutine RunDetached(Reactor* reactor, Task<void> task);
  static void OnWakeup(UringCompletion* self, int result, uint32_t flags);

  Options options_;
  io_uring ring_{};
  bool ring_ready_ = false;
  int wakeup_fd_ = -1;
  uint64_t wakeup_value_ = 0;
  struct WakeupCompletion : UringCompletion {
    Reactor* reactor = nullptr;
  } wakeup_completion_;
  uint64_t in_flight_ = 0;  // SQEs handed out whose completions have not been reaped
  int polling_holds_ = 0;
  int64_t last_work_ns_ = 0;  // When an iteration last handled something (for idle_spin).
  std::deque<std::coroutine_handle<>> ready_;
  std::atomic<int64_t> live_tasks_{0};
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> sleeping_{false};  // The loop is (about to be) blocked in io_uring.

  mutable absl::Mutex inbox_mutex_;
  std::vector<absl::AnyInvocable<void() &&>> inbox_ ABSL_GUARDED_BY(inbox_mutex_);
  std::atomic<bool> inbox_nonempty_{false};
  std::vector<absl::AnyInvocable<void() &&>> draining_;  // reused by DrainInbox
};

class Reactor::SleepAwaiter : public UringCompletion {
 public:
  SleepAwaiter(Reactor& reactor, std::chrono::nanoseconds duration);
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle);
  void await_resume() const noexcept {}

 private:
  Reactor& reactor_;
  __kernel_timespec timeout_;
  std::coroutine_handle<> handle_;
};

class Reactor::SwitchAwaiter {
 public:
  explicit SwitchAwaiter(Reactor& target) : target_(target) {}
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle);
  void await_resume() const noexcept {}

 private:
  Reactor& target_;
};

}  // namespace blobfs

#endif  // BLOBFS_COMMON_REACTOR_H_
