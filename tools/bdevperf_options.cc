// bdevperf's flags and their checks (see bdevperf_options.h).
#include "tools/bdevperf_options.h"

#include <cerrno>
#include <cmath>
#include <string_view>

#include "absl/strings/str_format.h"
#include "common/units.h"
#include "gflags/gflags.h"

DEFINE_string(bdev, "",
              "the bdev to test, as a spec: malloc:SIZE, uring:PATH[,size=SIZE][,...] or "
              "error:SPEC (required)");
DEFINE_string(pattern, "randread", "read, write, randread, randwrite or verify");
DEFINE_int32(queue_depth, 32, "I/O in flight per reactor (one worker coroutine each)");
DEFINE_string(io_size, "4096",
              "bytes per I/O (k/M suffixes allowed); a multiple of the block size");
DEFINE_double(time, 5, "seconds to run");
DEFINE_int32(reactors, 1, "reactor threads, each with its own channel and queue_depth workers");
DEFINE_uint64(qos_iops, 0, "QoS limit in I/O operations per second for the bdev (0 = none)");
DEFINE_string(qos_bytes_per_second, "0",
              "QoS limit in bytes per second for the bdev (k/M/G suffixes allowed; 0 = none)");
DEFINE_uint64(seed, 1, "seed of the random offsets and of the verify data");
DEFINE_string(range, "0",
              "bytes of the device to use, from offset 0 (k/M/G/T suffixes allowed; 0 = all)");
DEFINE_bool(verify_final_pass, true,
            "with --pattern=verify, re-read and check every slot's last write at the end");

namespace blobfs {
namespace {

constexpr int32_t kMaxQueueDepth = 65536;
constexpr int32_t kMaxReactors = 256;
constexpr uint64_t kMaxIoSize = uint64_t{1} << 30;
constexpr uint64_t kMaxBufferBytes = uint64_t{4} << 30;
constexpr double kMaxSeconds = 1e6;

template <typename... Args>
Error FlagError(const absl::FormatSpec<Args...>& format, const Args&... args) {
  return MakeError(EINVAL, format, args...);
}

Result<Pattern> ParsePattern(std::string_view name) {
  for (Pattern p : {Pattern::kRead, Pattern::kWrite, Pattern::kRandRead, Pattern::kRandWrite,
                    Pattern::kVerify}) {
    if (name == PatternName(p)) return p;
  }
  return FlagError("--pattern must be read, write, randread, randwrite or verify (got '%s')", name);
}

Result<uint64_t> ParseSizeFlag(std::string_view flag, std::string_view text) {
  Result<uint64_t> size = ParseSize(text);
  if (!size.ok()) return FlagError("--%s: %s", flag, size.error().message());
  return *size;
}

}  // namespace

const char* PatternName(Pattern pattern) {
  switch (pattern) {
    case Pattern::kRead:
      return "read";
    case Pattern::kWrite:
      return "write";
    case Pattern::kRandRead:
      return "randread";
    case Pattern::kRandWrite:
      return "randwrite";
    case Pattern::kVerify:
      return "verify";
  }
  return "unknown";
}

Result<BdevperfOptions> OptionsFromFlags() {
  BdevperfOptions options;
  if (FLAGS_bdev.empty()) {
    return FlagError("--bdev is required (e.g. --bdev=malloc:1G or --bdev=uring:/path,size=1G)");
  }
  options.bdev_spec = FLAGS_bdev;
  ASSIGN_OR_RETURN(options.pattern, ParsePattern(FLAGS_pattern));
  if (FLAGS_queue_depth < 1 || FLAGS_queue_depth > kMaxQueueDepth) {
    return FlagError("--queue_depth must be between 1 and %d (got %d)", kMaxQueueDepth,
                     FLAGS_queue_depth);
  }
  options.queue_depth = static_cast<uint32_t>(FLAGS_queue_depth);
  if (FLAGS_reactors < 1 || FLAGS_reactors > kMaxReactors) {
    return FlagError("--reactors must be between 1 and %d (got %d)", kMaxReactors, FLAGS_reactors);
  }
  options.reactors = static_cast<uint32_t>(FLAGS_reactors);
  ASSIGN_OR_RETURN(options.io_size, ParseSizeFlag("io_size", FLAGS_io_size));
  if (options.io_size == 0 || options.io_size > kMaxIoSize) {
    return FlagError("--io_size must be between 1 byte and 1G (got %s)", FLAGS_io_size);
  }
  const uint64_t buffers = options.io_size * options.queue_depth * options.reactors *
                           (options.pattern == Pattern::kVerify ? 2 : 1);
  if (buffers > kMaxBufferBytes) {
    return FlagError(
        "--io_size x --queue_depth x --reactors needs %lu bytes of data buffers, more than the "
        "%lu-byte limit",
        buffers, kMaxBufferBytes);
  }
  if (!std::isfinite(FLAGS_time) || FLAGS_time <= 0 || FLAGS_time > kMaxSeconds) {
    return FlagError("--time must be more than 0 and at most %.0f seconds (got %g)", kMaxSeconds,
                     FLAGS_time);
  }
  options.time_seconds = FLAGS_time;
  options.qos.iops = FLAGS_qos_iops;
  ASSIGN_OR_RETURN(options.qos.bytes_per_second,
                   ParseSizeFlag("qos_bytes_per_second", FLAGS_qos_bytes_per_second));
  options.seed = FLAGS_seed;
  ASSIGN_OR_RETURN(options.range, ParseSizeFlag("range", FLAGS_range));
  options.verify_final_pass = FLAGS_verify_final_pass;
  return options;
}

Status FitToDevice(BdevperfOptions& options, const BdevGeometry& geometry) {
  const uint64_t block_size = geometry.block_size;
  const uint64_t device_size = geometry.size_bytes();
  if (options.range == 0) {
    options.range = device_size;
  } else if (options.range % block_size != 0 || options.range > device_size) {
    return FlagError(
        "--range must be a multiple of the %lu-byte block size and at most the "
        "device size %lu (got %lu)",
        block_size, device_size, options.range);
  }
  if (options.io_size % block_size != 0) {
    return FlagError("--io_size must be a multiple of the %lu-byte block size (got %lu)",
                     block_size, options.io_size);
  }
  if (options.io_size > options.range) {
    return FlagError("--io_size %lu is larger than the %lu bytes in use (%s)", options.io_size,
                     options.range, options.range == device_size ? "the device" : "--range");
  }
  if (!PatternIsRandom(options.pattern)) {
    // Sequential and verify I/O stay within each reactor's slice of the range.
    const Slice slice = ReactorSlice(options, geometry.block_size, 0);
    const uint64_t slice_bytes = slice.end - slice.begin;
    if (slice_bytes < options.io_size) {
      return FlagError(
          "--reactors: %u reactors split the %lu-byte range into %lu-byte slices, "
          "smaller than --io_size %lu",
          options.reactors, options.range, slice_bytes, options.io_size);
    }
    const uint64_t slots = slice_bytes / options.io_size;
    if (options.pattern == Pattern::kVerify && slots < options.queue_depth) {
      return FlagError(
          "--queue_depth: verify gives each worker its own io_size slots, but each "
          "reactor's slice holds only %lu slots for %u workers (lower --queue_depth "
          "or --reactors, or raise --range)",
          slots, options.queue_depth);
    }
  }
  return OkStatus();
}

Slice ReactorSlice(const BdevperfOptions& options, uint32_t block_size, uint32_t index) {
  const uint64_t slice_bytes = options.range / options.reactors / block_size * block_size;
  return {index * slice_bytes, (index + 1) * slice_bytes};
}

}  // namespace blobfs
