// QoS rate limits for one bdev: I/O operations per second and bytes per second.
//
// Contract:
//  - QosRateLimiter is a thread-safe token bucket shared by all channels of a bdev. Limits can be
//    changed at any time from any thread; 0 means unlimited, and with both 0 the limiter is off.
//  - TryAdmit(bytes, now) either admits one I/O of `bytes` (returns 0) or says how many nanoseconds
//    to wait before trying again. A bucket holds up to one millisecond's worth of tokens, but never
//    less than two: that is the burst. A byte budget may go negative by one large I/O, so large I/O
//    is never starved; the debt is paid before the next admission.
//  - It never blocks and never fails I/O: callers queue what is not admitted (channel.cc does, FIFO
//    per channel) and retry after the wait.
#ifndef BLOBFS_BDEV_QOS_H_
#define BLOBFS_BDEV_QOS_H_

#include <atomic>
#include <cstdint>

#include "absl/synchronization/mutex.h"

namespace blobfs {

struct QosLimits {
  uint64_t iops = 0;              // 0 = unlimited
  uint64_t bytes_per_second = 0;  // 0 = unlimited
  bool enabled() const { return iops != 0 || bytes_per_second != 0; }
};

class QosRateLimiter {
 public:
  void SetLimits(QosLimits limits, int64_t now_ns);
  QosLimits limits() const;
  bool enabled() const { return enabled_.load(std::memory_order_acquire); }

  // 0 when admitted (tokens taken), else the nanoseconds until a retry can succeed.
  int64_t TryAdmit(uint64_t bytes, int64_t now_ns);

 private:
  struct Bucket {
    double rate_per_ns = 0;  // 0 = unlimited
    double capacity = 0;
    double tokens = 0;

    void Configure(uint64_t per_second);
    void Refill(int64_t elapsed_ns);
    // Nanoseconds until the bucket holds `needed` tokens (0 if it does).
    int64_t WaitFor(double needed) const;
  };

  mutable absl::Mutex mutex_;
  QosLimits limits_ ABSL_GUARDED_BY(mutex_);
  Bucket iops_ ABSL_GUARDED_BY(mutex_);
  Bucket bytes_ ABSL_GUARDED_BY(mutex_);
  int64_t last_refill_ns_ ABSL_GUARDED_BY(mutex_) = 0;
  std::atomic<bool> enabled_{false};
};

}  // namespace blobfs

#endif  // BLOBFS_BDEV_QOS_H_
