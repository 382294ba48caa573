// Running coroutines from ordinary (non-reactor) code: tools, tests and main().
//
// Contract:
//  - RunSync(reactor, task) drives `reactor` on the calling thread until `task` finishes and returns
//    its value. The reactor must not be running on another thread, and the caller must not itself be
//    running on a reactor (no nesting).
//  - ReactorThread owns a thread that runs one reactor until destroyed; BlockOn(task) runs a task
//    there and waits for its value. Destruction requests a stop and joins: Run() first lets work in
//    flight finish.
#ifndef BLOBFS_COMMON_SYNC_BRIDGE_H_
#define BLOBFS_COMMON_SYNC_BRIDGE_H_

#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <type_traits>

#include "absl/synchronization/notification.h"
#include "common/reactor.h"
#include "common/task.h"

namespace blobfs {

namespace internal {

template <typename T>
Task<void> StoreResult(Task<T> task, std::optional<T>* out, bool* done) {
  out->emplace(co_await std::move(task));
  *done = true;
}

inline Task<void> StoreResult(Task<void> task, std::optional<std::monostate>* out, bool* done) {
  co_await std::move(task);
  out->emplace();
  *done = true;
}

template <typename T>
using StoredResult = std::conditional_t<std::is_void_v<T>, std::monostate, T>;

}  // namespace internal

template <typename T>
T RunSync(Reactor& reactor, Task<T> task) {
  CHECK(Reactor::Current() == nullptr) << "RunSync called from a reactor thread";
  std::optional<internal::StoredResult<T>> result;
  bool done = false;
  reactor.Spawn(internal::StoreResult(std::move(task), &result, &done));
  while (!done) reactor.RunOnce(/*may_block=*/true);
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

class ReactorThread {
 public:
  // Starts a thread and creates its reactor there (io_uring rings belong to one issuer thread).
  static Result<std::unique_ptr<ReactorThread>> Start(Reactor::Options options = {});
  ~ReactorThread();

  Reactor& reactor() { return *reactor_; }

  // Runs `task` on this thread's reactor and waits for its value. Call from outside any reactor.
  template <typename T>
  T BlockOn(Task<T> task) {
    CHECK(Reactor::Current() != reactor_.get()) << "BlockOn from the reactor's own thread";
    std::optional<internal::StoredResult<T>> result;
    absl::Notification finished;
    reactor_->Spawn(Signal(std::move(task), &result, &finished));
    finished.WaitForNotification();
    if constexpr (!std::is_void_v<T>) return std::move(*result);
  }

 private:
  ReactorThread() = default;

  template <typename T>
  static Task<void> Signal(Task<T> task, std::optional<internal::StoredResult<T>>* out,
                           absl::Notification* finished) {
    if constexpr (std::is_void_v<T>) {
      co_await std::move(task);
      out->emplace();
    } else {
      out->emplace(co_await std::move(task));
    }
    finished->Notify();
  }

  std::unique_ptr<Reactor> reactor_;
  std::thread thread_;
};

}  // namespace blobfs

#endif  // BLOBFS_COMMON_SYNC_BRIDGE_H_
