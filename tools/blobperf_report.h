// How blobperf prints its figures: one line each, "<what>: <figure>[, <details>]", written and
// flushed at once so that a long run shows its progress. Problems go to stderr, not through here.
#ifndef BLOBFS_TOOLS_BLOBPERF_REPORT_H_
#define BLOBFS_TOOLS_BLOBPERF_REPORT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "bdev/stats.h"
#include "tools/latency_histogram.h"

namespace blobfs {

void PrintFigure(std::string_view what, std::string_view figure);

// 1234567.8 -> "1,234,568": a rate or count rounded to a whole number, with thousands separators.
std::string WithCommas(double value);

// Bytes in binary units with one decimal: "512 B", "12.0 KiB", "390.9 MiB", "4.0 GiB".
std::string BinaryBytes(uint64_t bytes);

// Nanoseconds as milliseconds with two decimals: "0.42 ms", "812.30 ms".
std::string Milliseconds(int64_t ns);

// "p50 31.2 us, p99 80.4 us" for latencies recorded in nanoseconds.
std::string LatencyFigures(const LatencyHistogram& latency_ns);

// The I/O a device did between two snapshots of its statistics: after - before, per counter (the
// maxima are those of `after`).
BdevStats StatsDelta(const BdevStats& before, const BdevStats& after);

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_BLOBPERF_REPORT_H_
