#include "fsdev/abort_tracker.h"

#include <algorithm>

namespace blobfs {

AbortTracker::Scope::Scope(AbortTracker& tracker, uint64_t request_id)
    : tracker_(tracker), request_id_(request_id) {
  if (request_id_ == 0) return;
  flag_ = std::make_shared<std::atomic<bool>>(false);
  absl::MutexLock lock(&tracker_.mutex_);
  auto pending = std::find(tracker_.pending_.begin(), tracker_.pending_.end(), request_id_);
  if (pending != tracker_.pending_.end()) {
    tracker_.pending_.erase(pending);
    flag_->store(true, std::memory_order_release);
  }
  tracker_.live_[request_id_] = flag_;
}

AbortTracker::Scope::~Scope() {
  if (request_id_ == 0) return;
  absl::MutexLock lock(&tracker_.mutex_);
  auto it = tracker_.live_.find(request_id_);
  if (it != tracker_.live_.end() && it->second == flag_) tracker_.live_.erase(it);
}

void AbortTracker::Abort(uint64_t request_id) {
  if (request_id == 0) return;
  absl::MutexLock lock(&mutex_);
  auto it = live_.find(request_id);
  if (it != live_.end()) {
    it->second->store(true, std::memory_order_release);
    return;
  }
  pending_.push_back(request_id);
  if (pending_.size() > kPendingAborts) pending_.pop_front();
}

}  // namespace blobfs
