// LatencyHistogram: a fixed-size log-linear histogram of non-negative 64-bit values (latencies in
// nanoseconds), in the manner of HdrHistogram.
//
// Contract:
//  - Values 0..255 are counted exactly. Above that, each power-of-two range [2^e, 2^(e+1)) is cut
//    into 128 equal buckets, so a bucket is never wider than 1/128 of its lower bound. All 64-bit
//    values fit; nothing is ever clamped or dropped.
//  - Record() is O(1), never allocates and takes no lock: one histogram has one writer. Merge()
//    adds another histogram's counts (e.g. per-reactor histograms into a total).
//  - ValueAtPercentile(p) returns, for p in (0, 100), the midpoint of the bucket holding the
//    recorded value of rank ceil(p/100 * count) (counting from 1 in ascending order), clamped to
//    [min(), max()]; it is within 1/256 (0.4%) of that value. p <= 0 gives min(), p >= 100 max().
//    An empty histogram answers 0 everywhere; count(), min() and max() are exact.
#ifndef BLOBFS_TOOLS_LATENCY_HISTOGRAM_H_
#define BLOBFS_TOOLS_LATENCY_HISTOGRAM_H_

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

namespace blobfs {

class LatencyHistogram {
 public:
  // log2 of the buckets per power-of-two range; sets the precision (1/2^kSubBucketBits).
  static constexpr int kSubBucketBits = 7;
  static constexpr size_t kBucketCount =
      (size_t{64 - kSubBucketBits - 1} << kSubBucketBits) + (size_t{2} << kSubBucketBits);

  LatencyHistogram() : counts_(kBucketCount, 0) {}

  void Record(uint64_t value) {
    ++counts_[BucketIndex(value)];
    ++count_;
    min_ = std::min(min_, value);
    max_ = std::max(max_, value);
  }

  void Merge(const LatencyHistogram& other);

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ == 0 ? 0 : min_; }
  uint64_t max() const { return max_; }
  uint64_t ValueAtPercentile(double percentile) const;

  // The bucket a value falls into, and the smallest value and width of a bucket (for tests).
  static size_t BucketIndex(uint64_t value) {
    const int shift = std::max(0, static_cast<int>(std::bit_width(value)) - (kSubBucketBits + 1));
    return (static_cast<size_t>(shift) << kSubBucketBits) + static_cast<size_t>(value >> shift);
  }
  static uint64_t BucketLowest(size_t index) {
    const int shift = BucketShift(index);
    return static_cast<uint64_t>(index - (static_cast<size_t>(shift) << kSubBucketBits)) << shift;
  }
  static uint64_t BucketWidth(size_t index) { return uint64_t{1} << BucketShift(index); }

 private:
  static int BucketShift(size_t index) {
    return std::max(0, static_cast<int>(index >> kSubBucketBits) - 1);
  }

  std::vector<uint64_t> counts_;
  uint64_t count_ = 0;
  uint64_t min_ = std::numeric_limits<uint64_t>::max();
  uint64_t max_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_LATENCY_HISTOGRAM_H_
