// LatencyHistogram: merging and percentile queries (see latency_histogram.h).
#include "tools/latency_histogram.h"

#include <cmath>

namespace blobfs {

void LatencyHistogram::Merge(const LatencyHistogram& other) {
  if (other.count_ == 0) return;
  for (size_t i = 0; i < kBucketCount; ++i) counts_[i] += other.counts_[i];
  count_ += other.count_;
  min_ = std::min(min_, other.min_);
  max_ = std::max(max_, other.max_);
}

uint64_t LatencyHistogram::ValueAtPercentile(double percentile) const {
  if (count_ == 0) return 0;
  if (percentile <= 0) return min();
  if (percentile >= 100) return max();
  const double wanted = std::ceil(percentile / 100.0 * static_cast<double>(count_));
  const uint64_t rank = std::clamp<uint64_t>(static_cast<uint64_t>(wanted), 1, count_);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBucketCount; ++i) {
    seen += counts_[i];
    if (seen >= rank) {
      const uint64_t midpoint = BucketLowest(i) + (BucketWidth(i) - 1) / 2;
      return std::clamp(midpoint, min(), max());
    }
  }
  return max();  // not reached: the counts add up to count_
}

}  // namespace blobfs
