// Integer rounding up to a unit: sizes to blocks, clusters, pages and alignments.
// Contract: `unit` is not 0, and `value + unit - 1` does not overflow (callers that take sizes
// from outside check that first).
#ifndef BLOBFS_COMMON_ROUNDING_H_
#define BLOBFS_COMMON_ROUNDING_H_

#include <cstdint>

namespace blobfs {

// How many units it takes to hold `value`: 0 for 0, 1 for 1..unit, ...
constexpr uint64_t DivideRoundingUp(uint64_t value, uint64_t unit) {
  return (value + unit - 1) / unit;
}

// The smallest multiple of `unit` that is at least `value`.
constexpr uint64_t RoundUp(uint64_t value, uint64_t unit) {
  return DivideRoundingUp(value, unit) * unit;
}

}  // namespace blobfs

#endif  // BLOBFS_COMMON_ROUNDING_H_
