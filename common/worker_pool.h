// WorkerPool: threads for work that blocks (host-filesystem syscalls), so reactors never do.
//
// Contract:
//  - `co_await pool.Run(fn)` on a reactor runs `fn` on one of the pool's threads and resumes the
//    caller on its own reactor with fn's result. fn must not touch reactor-owned state.
//  - Jobs run in submission order per thread, concurrently across threads.
//  - The destructor finishes the queued jobs and joins the threads; nothing may be awaiting then.
#ifndef BLOBFS_COMMON_WORKER_POOL_H_
#define BLOBFS_COMMON_WORKER_POOL_H_

#include <coroutine>
#include <cstddef>
#include <deque>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/synchronization/mutex.h"
#include "common/reactor.h"
#include "glog/logging.h"

namespace blobfs {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  template <typename Fn>
  class RunAwaiter {
   public:
    using Value = std::invoke_result_t<Fn&>;
    RunAwaiter(WorkerPool& pool, Fn fn) : pool_(pool), fn_(std::move(fn)) {}
    bool await_ready() const noexcept { return false; }
    void await_suspend(std::coroutine_handle<> handle) {
      Reactor* reactor = Reactor::Current();
      CHECK(reactor != nullptr) << "WorkerPool::Run is awaited on a reactor";
      pool_.Submit([this, reactor, handle] {
        value_.emplace(fn_());
        reactor->Post([handle] { handle.resume(); });
      });
    }
    Value await_resume() { return std::move(*value_); }

   private:
    WorkerPool& pool_;
    Fn fn_;
    std::optional<Value> value_;
  };

  template <typename Fn>
  RunAwaiter<Fn> Run(Fn fn) {
    static_assert(!std::is_void_v<std::invoke_result_t<Fn&>>, "return a value (e.g. a Status)");
    return RunAwaiter<Fn>(*this, std::move(fn));
  }

 private:
  void Submit(absl::AnyInvocable<void() &&> job);
  void Work();
  bool HasWork() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mutex_) { return stopping_ || !jobs_.empty(); }

  absl::Mutex mutex_;
  std::deque<absl::AnyInvocable<void() &&>> jobs_ ABSL_GUARDED_BY(mutex_);
  bool stopping_ ABSL_GUARDED_BY(mutex_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace blobfs

#endif  // BLOBFS_COMMON_WORKER_POOL_H_
