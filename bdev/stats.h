// Per-bdev I/O statistics: operations, bytes, errors and latency (sum and max) per I/O type.
//
// Contract: each reactor channel counts its own I/O without locks (ChannelCounters, written by one
// thread, read by any); Bdev::GetStats() adds up the live channels and those already closed. A
// snapshot is consistent per counter, not across counters.
#ifndef BLOBFS_BDEV_STATS_H_
#define BLOBFS_BDEV_STATS_H_

#include <array>
#include <atomic>
#include <cstdint>

#include "bdev/io_type.h"

namespace blobfs {

struct IoTypeStats {
  uint64_t operations = 0;  // completed, including failed ones
  uint64_t bytes = 0;       // of successful operations
  uint64_t errors = 0;
  uint64_t latency_ns_sum = 0;
  uint64_t latency_ns_max = 0;
};

struct BdevStats {
  std::array<IoTypeStats, kIoTypeCount> by_type{};

  IoTypeStats& operator[](IoType type) { return by_type[static_cast<size_t>(type)]; }
  const IoTypeStats& operator[](IoType type) const { return by_type[static_cast<size_t>(type)]; }
};

class ChannelCounters {
 public:
  // Only the owning reactor's thread calls Record.
  void Record(IoType type, uint64_t bytes, uint64_t latency_ns, bool ok) {
    Counters& c = counters_[static_cast<size_t>(type)];
    Bump(c.operations, 1);
    if (ok) {
      Bump(c.bytes, bytes);
    } else {
      Bump(c.errors, 1);
    }
    Bump(c.latency_ns_sum, latency_ns);
    if (latency_ns > c.latency_ns_max.load(std::memory_order_relaxed)) {
      c.latency_ns_max.store(latency_ns, std::memory_order_relaxed);
    }
  }

  // Any thread.
  void AddTo(BdevStats& stats) const {
    for (size_t i = 0; i < kIoTypeCount; ++i) {
      const Counters& c = counters_[i];
      IoTypeStats& out = stats.by_type[i];
      out.operations += c.operations.load(std::memory_order_relaxed);
      out.bytes += c.bytes.load(std::memory_order_relaxed);
      out.errors += c.errors.load(std::memory_order_relaxed);
      out.latency_ns_sum += c.latency_ns_sum.load(std::memory_order_relaxed);
      uint64_t max = c.latency_ns_max.load(std::memory_order_relaxed);
      if (max > out.latency_ns_max) out.latency_ns_max = max;
    }
  }

 private:
  struct Counters {
    std::atomic<uint64_t> operations{0};
    std::atomic<uint64_t> bytes{0};
    std::atomic<uint64_t> errors{0};
    std::atomic<uint64_t> latency_ns_sum{0};
    std::atomic<uint64_t> latency_ns_max{0};
  };
  // Single writer: a relaxed load and store is enough and cheaper than an atomic add.
  static void Bump(std::atomic<uint64_t>& counter, uint64_t amount) {
    counter.store(counter.load(std::memory_order_relaxed) + amount, std::memory_order_relaxed);
  }
  std::array<Counters, kIoTypeCount> counters_;
};

}  // namespace blobfs

#endif  // BLOBFS_BDEV_STATS_H_
