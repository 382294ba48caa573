// RunOn: runs a task on another reactor and resumes the caller on its own reactor afterwards.
//
// Contract: called on a reactor (CHECK). When `target` is the caller's reactor the task simply
// runs; otherwise the caller hops to `target`, awaits the task there, and hops back, so the
// result is consumed where the call was made. The task must not outlive the objects it uses.
#ifndef BLOBFS_COMMON_RUN_ON_H_
#define BLOBFS_COMMON_RUN_ON_H_

#include <type_traits>
#include <utility>

#include "common/reactor.h"
#include "common/task.h"
#include "glog/logging.h"

namespace blobfs {

template <typename T>
Task<T> RunOn(Reactor& target, Task<T> body) {
  Reactor* caller = Reactor::Current();
  CHECK(caller != nullptr) << "RunOn is called on a reactor";
  if (caller == &target) co_return co_await std::move(body);
  co_await Reactor::SwitchTo(target);
  if constexpr (std::is_void_v<T>) {
    co_await std::move(body);
    co_await Reactor::SwitchTo(*caller);
  } else {
    T result = co_await std::move(body);
    co_await Reactor::SwitchTo(*caller);
    co_return result;
  }
}

}  // namespace blobfs

#endif  // BLOBFS_COMMON_RUN_ON_H_
