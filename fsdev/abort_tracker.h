// AbortTracker: the in-flight requests of an fsdev that Abort may stop early.
//
// Contract:
//  - A call that can be aborted holds a Scope for its request id while it runs and asks
//    aborted() at the points where it may stop. Abort(id) flags the scope of that id, if one is
//    live; it does nothing for ids that finished, never began, or are 0 (not abortable).
//  - An abort that arrives before its call registered is remembered for a short while (the
//    kernel may send INTERRUPT before the request it names is dispatched): the next Scope with
//    that id starts aborted. At most kPendingAborts such ids are kept, oldest dropped first.
//  - Thread-safe: calls and aborts may come from any thread.
#ifndef BLOBFS_FSDEV_ABORT_TRACKER_H_
#define BLOBFS_FSDEV_ABORT_TRACKER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace blobfs {

class AbortTracker {
 public:
  static constexpr size_t kPendingAborts = 64;

  class Scope {
   public:
    Scope(AbortTracker& tracker, uint64_t request_id);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;
    bool aborted() const { return flag_ != nullptr && flag_->load(std::memory_order_acquire); }

   private:
    AbortTracker& tracker_;
    const uint64_t request_id_;
    std::shared_ptr<std::atomic<bool>> flag_;
  };

  void Abort(uint64_t request_id);

 private:
  absl::Mutex mutex_;
  absl::flat_hash_map<uint64_t, std::shared_ptr<std::atomic<bool>>> live_ ABSL_GUARDED_BY(mutex_);
  std::deque<uint64_t> pending_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace blobfs

#endif  // BLOBFS_FSDEV_ABORT_TRACKER_H_
