// Monotonic time in nanoseconds, for latency figures and rate limits. Cheap (vDSO), thread-safe.
#ifndef BLOBFS_COMMON_CLOCK_H_
#define BLOBFS_COMMON_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace blobfs {

inline int64_t MonotonicNanos() {
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

}  // namespace blobfs

#endif  // BLOBFS_COMMON_CLOCK_H_
