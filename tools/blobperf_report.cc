// blobperf's figure lines and number formats (see blobperf_report.h).
#include "tools/blobperf_report.h"

#include <cmath>
#include <cstdio>

#include "absl/strings/str_format.h"

namespace blobfs {

void PrintFigure(std::string_view what, std::string_view figure) {
  std::printf("%.*s: %.*s\n", static_cast<int>(what.size()), what.data(),
              static_cast<int>(figure.size()), figure.data());
  std::fflush(stdout);
}

std::string WithCommas(double value) {
  const std::string digits = absl::StrFormat("%.0f", std::fabs(value));
  std::string out = value <= -0.5 ? "-" : "";
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

std::string BinaryBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return absl::StrFormat("%lu B", bytes);
  double value = static_cast<double>(bytes) / 1024;
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(kUnits)) {
    value /= 1024;
    ++unit;
  }
  return absl::StrFormat("%.1f %s", value, kUnits[unit]);
}

std::string Milliseconds(int64_t ns) {
  return absl::StrFormat("%.2f ms", static_cast<double>(ns) / 1e6);
}

std::string LatencyFigures(const LatencyHistogram& latency_ns) {
  return absl::StrFormat("p50 %.1f us, p99 %.1f us",
                         static_cast<double>(latency_ns.ValueAtPercentile(50)) / 1e3,
                         static_cast<double>(latency_ns.ValueAtPercentile(99)) / 1e3);
}

BdevStats StatsDelta(const BdevStats& before, const BdevStats& after) {
  BdevStats delta = after;
  for (size_t i = 0; i < kIoTypeCount; ++i) {
    delta.by_type[i].operations -= before.by_type[i].operations;
    delta.by_type[i].bytes -= before.by_type[i].bytes;
    delta.by_type[i].errors -= before.by_type[i].errors;
    delta.by_type[i].latency_ns_sum -= before.by_type[i].latency_ns_sum;
  }
  return delta;
}

}  // namespace blobfs
