#include "bdev/qos.h"

#include <algorithm>
#include <cmath>

namespace blobfs {
namespace {
constexpr double kBurstNs = 1'000'000;  // one millisecond of tokens
}  // namespace

void QosRateLimiter::Bucket::Configure(uint64_t per_second) {
  rate_per_ns = static_cast<double>(per_second) / 1e9;
  // At least two tokens: a waiter woken late by timer slack keeps the surplus instead of losing it
  // to the cap, so the long-run rate stays at the limit.
  capacity = std::max(2.0, rate_per_ns * kBurstNs);
  tokens = capacity;
}

void QosRateLimiter::Bucket::Refill(int64_t elapsed_ns) {
  if (rate_per_ns == 0) return;
  tokens = std::min(capacity, tokens + rate_per_ns * static_cast<double>(elapsed_ns));
}

int64_t QosRateLimiter::Bucket::WaitFor(double needed) const {
  if (rate_per_ns == 0 || tokens >= needed) return 0;
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil((needed - tokens) / rate_per_ns)));
}

void QosRateLimiter::SetLimits(QosLimits limits, int64_t now_ns) {
  absl::MutexLock lock(&mutex_);
  limits_ = limits;
  iops_.Configure(limits.iops);
  bytes_.Configure(limits.bytes_per_second);
  last_refill_ns_ = now_ns;
  enabled_.store(limits.enabled(), std::memory_order_release);
}

QosLimits QosRateLimiter::limits() const {
  absl::MutexLock lock(&mutex_);
  return limits_;
}

int64_t QosRateLimiter::TryAdmit(uint64_t bytes, int64_t now_ns) {
  absl::MutexLock lock(&mutex_);
  if (now_ns > last_refill_ns_) {
    iops_.Refill(now_ns - last_refill_ns_);
    bytes_.Refill(now_ns - last_refill_ns_);
    last_refill_ns_ = now_ns;
  }
  // One whole token per operation; any positive byte budget admits (see the header).
  int64_t wait = std::max(iops_.WaitFor(1.0), bytes_.WaitFor(1.0));
  if (wait > 0) return wait;
  if (iops_.rate_per_ns != 0) iops_.tokens -= 1.0;
  if (bytes_.rate_per_ns != 0) bytes_.tokens -= static_cast<double>(bytes);
  return 0;
}

}  // namespace blobfs
