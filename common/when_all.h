// WhenAll: run several Task<Status> concurrently on the current reactor and wait for all of them.
//
// Contract: every task runs to completion, even after one fails; the result is the first error in
// completion order, or OK. The tasks must finish on the reactor that awaits WhenAll.
#ifndef BLOBFS_COMMON_WHEN_ALL_H_
#define BLOBFS_COMMON_WHEN_ALL_H_

#include <coroutine>
#include <cstddef>
#include <vector>

#include "common/error.h"
#include "common/task.h"

namespace blobfs {

namespace internal {

struct JoinState {
  size_t remaining;
  Status first_error;
  std::coroutine_handle<> waiter;
};

inline DetachedCoroutine RunJoined(Task<Status> task, JoinState* state) {
  Status status = co_await std::move(task);
  if (!status.ok() && state->first_error.ok()) state->first_error = std::move(status);
  // The last statement: resuming the waiter may end it and free `state`.
  if (--state->remaining == 0) state->waiter.resume();
}

// Counts the awaiting coroutine itself as one participant, so tasks that all finish before it
// suspends never resume an empty handle.
struct JoinAwaiter {
  JoinState& state;
  bool await_ready() const noexcept { return state.remaining == 1; }
  bool await_suspend(std::coroutine_handle<> handle) noexcept {
    state.waiter = handle;
    return --state.remaining != 0;
  }
  void await_resume() const noexcept {}
};

}  // namespace internal

inline Task<Status> WhenAll(std::vector<Task<Status>> tasks) {
  internal::JoinState state{tasks.size() + 1, OkStatus(), nullptr};
  for (Task<Status>& task : tasks) internal::RunJoined(std::move(task), &state);
  co_await internal::JoinAwaiter{state};
  co_return std::move(state.first_error);
}

}  // namespace blobfs

#endif  // BLOBFS_COMMON_WHEN_ALL_H_
