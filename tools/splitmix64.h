// SplitMix64: a tiny, fast pseudo-random generator (Steele, Lea and Flood 2014; the seeding
// generator of xoshiro), and its mixing function as a 64-bit hash.
//
// Contract: deterministic for a given seed; every 64-bit output occurs once per 2^64 calls. Not
// cryptographic. One generator per worker: no shared state, no locks.
#ifndef BLOBFS_TOOLS_SPLITMIX64_H_
#define BLOBFS_TOOLS_SPLITMIX64_H_

#include <cstdint>

namespace blobfs {

// A bijective 64-bit mix: nearby inputs give unrelated outputs.
inline uint64_t Mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Mix64(state_);
  }

  // Uniform in [0, bound) for bound > 0 (Lemire's multiply-shift; bias below bound / 2^64).
  uint64_t Below(uint64_t bound) {
    return static_cast<uint64_t>((static_cast<unsigned __int128>(Next()) * bound) >> 64);
  }

 private:
  uint64_t state_;
};

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_SPLITMIX64_H_
