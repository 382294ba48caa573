// blobperf's flags and their checks (see blobperf_options.h).
#include "tools/blobperf_options.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cmath>
#include <string_view>

#include "absl/strings/str_format.h"
#include "blob/store_layout.h"
#include "common/units.h"
#include "gflags/gflags.h"

DEFINE_string(bdev, "",
              "the bdev to run on, as a spec: malloc:SIZE, uring:PATH[,size=SIZE][,...] or "
              "error:SPEC (required); every test formats a blob store on it");
DEFINE_string(test, "all", "create, load, seqwrite or all");
DEFINE_uint64(count, 100000,
              "blobs each create variant makes at most, and blobs in the store the load test "
              "loads");
DEFINE_double(seconds, 5, "time limit of each create variant, in seconds");
DEFINE_int32(depth, 16,
             "creates in flight in the concurrent create variants (1: only the depth-1 ones run)");
DEFINE_int32(batch, 64,
             "blobs committed together by one BlobStore::Commit in the batched variants");
DEFINE_string(cluster_size, "1M", "cluster size of the stores the tests format (k/M/G suffixes)");
DEFINE_string(io_size, "1M", "bytes per write of the seqwrite passes (k/M suffixes)");
DEFINE_int32(queue_depth, 8, "writes in flight in the seqwrite passes");
DEFINE_string(bytes, "0",
              "bytes each seqwrite pass writes, a multiple of --io_size (k/M/G suffixes; 0 = as "
              "much as fits twice in the store, at most 1G)");
DEFINE_bool(drop_caches, false,
            "sync and write 3 to /proc/sys/vm/drop_caches before each timed load (needs root)");

namespace blobfs {
namespace {

constexpr uint64_t kMaxCount = 10'000'000;
constexpr double kMaxSeconds = 1e6;
constexpr int32_t kMaxDepth = 4096;
constexpr int32_t kMaxBatch = 65536;
constexpr uint64_t kMinClusterSize = 4096;
constexpr uint64_t kMaxClusterSize = uint64_t{1} << 30;
constexpr uint64_t kMaxIoSize = uint64_t{1} << 30;
constexpr int32_t kMaxQueueDepth = 1024;
constexpr uint64_t kMaxBufferBytes = uint64_t{4} << 30;
constexpr uint64_t kDefaultMaxBytes = uint64_t{1} << 30;

template <typename... Args>
Error FlagError(const absl::FormatSpec<Args...>& format, const Args&... args) {
  return MakeError(EINVAL, format, args...);
}

Result<uint64_t> ParseSizeFlag(std::string_view flag, std::string_view text) {
  Result<uint64_t> size = ParseSize(text);
  if (!size.ok()) return FlagError("--%s: %s", flag, size.error().message());
  return *size;
}

Status ParseTest(std::string_view name, BlobperfOptions& options) {
  const bool all = name == "all";
  options.run_create = all || name == "create";
  options.run_load = all || name == "load";
  options.run_seqwrite = all || name == "seqwrite";
  if (!options.run_create && !options.run_load && !options.run_seqwrite) {
    return FlagError("--test must be create, load, seqwrite or all (got '%s')", name);
  }
  return OkStatus();
}

// The layout of a store of `md_pages` metadata pages on the device (as BlobStore::Init plans it).
Result<SuperBlock> Layout(const BlobperfOptions& options, const BdevGeometry& geometry,
                          uint64_t md_pages) {
  return PlanLayout({.device_bytes = geometry.size_bytes(),
                     .block_size = geometry.block_size,
                     .cluster_size = options.cluster_size,
                     .md_pages = md_pages});
}

Status FitSeqwrite(BlobperfOptions& options, const BdevGeometry& geometry) {
  if (options.io_size % geometry.block_size != 0) {
    return FlagError("--io_size must be a multiple of the %u-byte block size (got %lu)",
                     geometry.block_size, options.io_size);
  }
  Result<SuperBlock> layout = Layout(options, geometry, kSeqwriteMetadataPages);
  if (!layout.ok()) return FlagError("--bdev: no blob store fits: %s", layout.error().message());
  // Two blobs of `bytes` each (one allocated, one thin) must fit side by side.
  const uint64_t half = (layout->total_clusters - MetadataClusters(*layout)) / 2;
  const uint64_t fitting = half * options.cluster_size;
  if (options.bytes == 0) {
    options.bytes = std::min(fitting, kDefaultMaxBytes) / options.io_size * options.io_size;
    if (options.bytes == 0) {
      return FlagError(
          "--bdev: the store's data area cannot hold two blobs of one --io_size write (%lu bytes)",
          options.io_size);
    }
    return OkStatus();
  }
  if (options.bytes % options.io_size != 0) {
    return FlagError("--bytes must be a multiple of --io_size %lu (got %lu)", options.io_size,
                     options.bytes);
  }
  if (options.bytes > fitting) {
    return FlagError(
        "--bytes %lu is more than the %lu bytes two blobs can each have in this device's store",
        options.bytes, fitting);
  }
  return OkStatus();
}

}  // namespace

uint64_t MetadataPagesFor(uint64_t blobs) { return blobs + blobs / 64 + 64; }

Result<BlobperfOptions> OptionsFromFlags() {
  BlobperfOptions options;
  if (FLAGS_bdev.empty()) {
    return FlagError("--bdev is required (e.g. --bdev=malloc:1G or --bdev=uring:/path,size=4G)");
  }
  options.bdev_spec = FLAGS_bdev;
  RETURN_IF_ERROR(ParseTest(FLAGS_test, options));
  if (FLAGS_count < 1 || FLAGS_count > kMaxCount) {
    return FlagError("--count must be between 1 and %lu (got %lu)", kMaxCount, FLAGS_count);
  }
  options.count = FLAGS_count;
  if (!std::isfinite(FLAGS_seconds) || FLAGS_seconds <= 0 || FLAGS_seconds > kMaxSeconds) {
    return FlagError("--seconds must be more than 0 and at most %.0f (got %g)", kMaxSeconds,
                     FLAGS_seconds);
  }
  options.seconds = FLAGS_seconds;
  if (FLAGS_depth < 1 || FLAGS_depth > kMaxDepth) {
    return FlagError("--depth must be between 1 and %d (got %d)", kMaxDepth, FLAGS_depth);
  }
  options.depth = static_cast<uint32_t>(FLAGS_depth);
  if (FLAGS_batch < 1 || FLAGS_batch > kMaxBatch) {
    return FlagError("--batch must be between 1 and %d (got %d)", kMaxBatch, FLAGS_batch);
  }
  options.batch = static_cast<uint32_t>(FLAGS_batch);
  ASSIGN_OR_RETURN(const uint64_t cluster_size, ParseSizeFlag("cluster_size", FLAGS_cluster_size));
  if (!std::has_single_bit(cluster_size) || cluster_size < kMinClusterSize ||
      cluster_size > kMaxClusterSize) {
    return FlagError("--cluster_size must be a power of two from 4k to 1G (got %s)",
                     FLAGS_cluster_size);
  }
  options.cluster_size = static_cast<uint32_t>(cluster_size);
  ASSIGN_OR_RETURN(options.io_size, ParseSizeFlag("io_size", FLAGS_io_size));
  if (options.io_size == 0 || options.io_size > kMaxIoSize) {
    return FlagError("--io_size must be between 1 byte and 1G (got %s)", FLAGS_io_size);
  }
  if (FLAGS_queue_depth < 1 || FLAGS_queue_depth > kMaxQueueDepth) {
    return FlagError("--queue_depth must be between 1 and %d (got %d)", kMaxQueueDepth,
                     FLAGS_queue_depth);
  }
  options.queue_depth = static_cast<uint32_t>(FLAGS_queue_depth);
  if (options.io_size * options.queue_depth > kMaxBufferBytes) {
    return FlagError(
        "--io_size x --queue_depth needs %lu bytes of buffers, more than the %lu limit",
        options.io_size * options.queue_depth, kMaxBufferBytes);
  }
  ASSIGN_OR_RETURN(options.bytes, ParseSizeFlag("bytes", FLAGS_bytes));
  options.drop_caches = FLAGS_drop_caches;
  return options;
}

Status FitToDevice(BlobperfOptions& options, const BdevGeometry& geometry) {
  if (options.cluster_size < geometry.block_size) {
    return FlagError("--cluster_size must be at least the %u-byte block size (got %u)",
                     geometry.block_size, options.cluster_size);
  }
  if (options.run_create || options.run_load) {
    Result<SuperBlock> layout = Layout(options, geometry, MetadataPagesFor(options.count));
    if (!layout.ok()) {
      return FlagError("--count %lu: a store with room for that many blobs does not fit: %s",
                       options.count, layout.error().message());
    }
  }
  if (options.run_seqwrite) RETURN_IF_ERROR(FitSeqwrite(options, geometry));
  return OkStatus();
}

}  // namespace blobfs
