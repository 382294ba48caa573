// LatencyHistogram: bucket mapping, percentiles, merge and extremes.
#include "tools/latency_histogram.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace blobfs {
namespace {

using H = LatencyHistogram;

TEST(LatencyHistogramTest, EveryValueFallsInsideItsBucket) {
  std::mt19937_64 random(7);
  std::vector<uint64_t> values = {0, 1, 255, 256, 257, UINT64_MAX};
  for (int k = 1; k < 64; ++k) {
    values.push_back((uint64_t{1} << k) - 1);
    values.push_back(uint64_t{1} << k);
  }
  for (int i = 0; i < 100000; ++i) values.push_back(random() >> (random() % 64));
  for (uint64_t value : values) {
    size_t index = H::BucketIndex(value);
    ASSERT_LT(index, H::kBucketCount) << value;
    uint64_t lowest = H::BucketLowest(index);
    ASSERT_LE(lowest, value);
    ASSERT_LE(value - lowest, H::BucketWidth(index) - 1) << value;
    if (value < 256) {
      ASSERT_EQ(H::BucketWidth(index), 1u) << value;
    }
    if (lowest >= 256) {
      ASSERT_LE(H::BucketWidth(index) * 128, lowest) << value;
    }
  }
  EXPECT_EQ(H::BucketIndex(UINT64_MAX), H::kBucketCount - 1);
}

TEST(LatencyHistogramTest, BucketsTileTheRangeWithoutGaps) {
  for (size_t index = 0; index + 1 < H::kBucketCount; ++index) {
    ASSERT_EQ(H::BucketLowest(index) + H::BucketWidth(index), H::BucketLowest(index + 1)) << index;
  }
}

TEST(LatencyHistogramTest, EmptyHistogramAnswersZero) {
  H histogram;
  EXPECT_EQ(histogram.count(), 0u);
  EXPECT_EQ(histogram.min(), 0u);
  EXPECT_EQ(histogram.max(), 0u);
  EXPECT_EQ(histogram.ValueAtPercentile(50), 0u);
  EXPECT_EQ(histogram.ValueAtPercentile(99), 0u);
}

TEST(LatencyHistogramTest, SingleValueIsEveryPercentile) {
  H histogram;
  histogram.Record(123456);
  for (double p : {0.0, 1.0, 50.0, 99.0, 100.0}) EXPECT_EQ(histogram.ValueAtPercentile(p), 123456u);
}

TEST(LatencyHistogramTest, SmallValuesAreExact) {
  H histogram;
  for (uint64_t v = 0; v < 256; ++v) histogram.Record(v);
  EXPECT_EQ(histogram.ValueAtPercentile(50), 127u);  // rank 128 of 256
  EXPECT_EQ(histogram.ValueAtPercentile(100), 255u);
  EXPECT_EQ(histogram.ValueAtPercentile(0), 0u);
}

TEST(LatencyHistogramTest, PercentilesFollowRanks) {
  H histogram;
  histogram.Record(10);
  histogram.Record(1000);
  EXPECT_EQ(histogram.ValueAtPercentile(50), 10u);
  uint64_t upper = histogram.ValueAtPercentile(50.1);
  EXPECT_NEAR(static_cast<double>(upper), 1000.0, 1000.0 / 256);
}

TEST(LatencyHistogramTest, PercentilesOfALognormalSampleAreWithinPrecision) {
  std::mt19937_64 random(42);
  std::lognormal_distribution<double> latency(11.0, 1.2);  // around 60 µs in ns, long tail
  H histogram;
  std::vector<uint64_t> sample;
  for (int i = 0; i < 1'000'000; ++i) {
    uint64_t v = static_cast<uint64_t>(latency(random));
    sample.push_back(v);
    histogram.Record(v);
  }
  std::sort(sample.begin(), sample.end());
  for (double p : {1.0, 10.0, 50.0, 90.0, 99.0, 99.9, 99.99}) {
    size_t rank = static_cast<size_t>(std::ceil(p / 100 * sample.size()));
    double exact = static_cast<double>(sample[rank - 1]);
    double got = static_cast<double>(histogram.ValueAtPercentile(p));
    EXPECT_LE(std::abs(got - exact), exact / 256 + 1) << "p" << p;
  }
  EXPECT_EQ(histogram.min(), sample.front());
  EXPECT_EQ(histogram.max(), sample.back());
}

TEST(LatencyHistogramTest, MergeEqualsRecordingEverythingInOne) {
  std::mt19937_64 random(3);
  H all, first, second, empty;
  for (int i = 0; i < 10000; ++i) {
    uint64_t v = random() % 5'000'000;
    all.Record(v);
    (i % 2 == 0 ? first : second).Record(v);
  }
  first.Merge(second);
  first.Merge(empty);
  EXPECT_EQ(first.count(), all.count());
  EXPECT_EQ(first.min(), all.min());
  EXPECT_EQ(first.max(), all.max());
  for (double p : {1.0, 50.0, 99.0}) EXPECT_EQ(first.ValueAtPercentile(p), all.ValueAtPercentile(p));
  empty.Merge(all);
  EXPECT_EQ(empty.count(), all.count());
  EXPECT_EQ(empty.ValueAtPercentile(50), all.ValueAtPercentile(50));
}

TEST(LatencyHistogramTest, LargestValueDoesNotOverflow) {
  H histogram;
  histogram.Record(UINT64_MAX);
  histogram.Record(UINT64_MAX - 1);
  EXPECT_EQ(histogram.max(), UINT64_MAX);
  uint64_t median = histogram.ValueAtPercentile(50);  // clamped into [min, max]
  EXPECT_GE(median, UINT64_MAX - 1);
}

}  // namespace
}  // namespace blobfs
