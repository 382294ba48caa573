// bdevperf: measures one bdev the way SPDK's bdevperf or fio would — IOPS, throughput and latency
// percentiles for a read, write, random or verify workload at a given queue depth on one or more
// reactors.
//
// Contract: the flags are described in bdevperf_options.cc (run with --help). Exit status 0 when
// the run completed without an I/O error or verify mismatch; 1 when the bdev cannot be created or
// opened, or any I/O failed or read back wrong data (the Error is printed); 2 for flags with a bad
// value, which are named in the message. Results go to stdout, problems to stderr.
#include <atomic>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/synchronization/notification.h"
#include "bdev/bdev.h"
#include "bdev/registry.h"
#include "bdev/spec.h"
#include "bdev/uring_bdev.h"
#include "common/clock.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/bdevperf_job.h"
#include "tools/bdevperf_options.h"
#include "tools/flag_syntax.h"
#include "tools/latency_histogram.h"
#include "tools/reactor_set.h"

namespace blobfs {
namespace {

constexpr int kExitIoError = 1;
constexpr int kExitBadFlags = 2;

// Runs `job` on the calling reactor and reports its status through `done`.
Task<void> RunJob(ReactorJob& job, int64_t deadline_ns, Status* status, absl::Notification* done) {
  *status = co_await job.Run(deadline_ns);
  done->Notify();
}

std::string DescribeBdev(Bdev& bdev) {
  std::string out = absl::StrFormat("%s (%s, %u-byte blocks", bdev.name(), bdev.module_name(),
                                    bdev.geometry().block_size);
  if (std::string_view(bdev.module_name()) == "uring") {
    out += UringBdevUsesDirectIo(bdev) ? ", O_DIRECT" : ", buffered";
  }
  return out + ")";
}

void PrintHeader(Bdev& bdev, const BdevperfOptions& options) {
  std::string line =
      absl::StrFormat("bdevperf: bdev=%s pattern=%s io_size=%lu qd=%u reactors=%u time=%.1fs",
                      DescribeBdev(bdev), PatternName(options.pattern), options.io_size,
                      options.queue_depth, options.reactors, options.time_seconds);
  if (options.range != bdev.geometry().size_bytes()) {
    absl::StrAppendFormat(&line, " range=%lu", options.range);
  }
  if (options.qos.iops != 0) absl::StrAppendFormat(&line, " qos_iops=%lu", options.qos.iops);
  if (options.qos.bytes_per_second != 0) {
    absl::StrAppendFormat(&line, " qos_bytes_per_second=%lu", options.qos.bytes_per_second);
  }
  std::printf("%s\n", line.c_str());
}

double Micros(uint64_t ns) { return static_cast<double>(ns) / 1e3; }

// "IOPS=... MB/s=... latency_us p50=... p99=... max=..." for a rate and its latencies.
std::string Figures(double iops, double bytes_per_second, const LatencyHistogram& latency_ns) {
  return absl::StrFormat("IOPS=%.0f MB/s=%.1f latency_us p50=%.1f p99=%.1f max=%.1f", iops,
                         bytes_per_second / 1e6, Micros(latency_ns.ValueAtPercentile(50)),
                         Micros(latency_ns.ValueAtPercentile(99)), Micros(latency_ns.max()));
}

void PrintResults(const std::vector<std::unique_ptr<ReactorJob>>& jobs) {
  double total_iops = 0;
  double total_bytes_per_second = 0;
  LatencyHistogram total_latency;
  for (size_t i = 0; i < jobs.size(); ++i) {
    const JobResult& result = jobs[i]->result();
    const double seconds = static_cast<double>(result.elapsed_ns) / 1e9;
    const double iops = static_cast<double>(result.operations) / seconds;
    const double bytes_per_second = static_cast<double>(result.bytes) / seconds;
    std::printf("reactor %zu: %s\n", i, Figures(iops, bytes_per_second, result.latency_ns).c_str());
    total_iops += iops;
    total_bytes_per_second += bytes_per_second;
    total_latency.Merge(result.latency_ns);
  }
  std::printf("total: %s\n", Figures(total_iops, total_bytes_per_second, total_latency).c_str());
}

void PrintBdevStats(Bdev& bdev) {
  const BdevStats stats = bdev.GetStats();
  for (IoType type : {IoType::kRead, IoType::kWrite}) {
    const IoTypeStats& s = stats[type];
    const double mean_ns =
        s.operations == 0 ? 0 : static_cast<double>(s.latency_ns_sum) / s.operations;
    std::printf("bdev %s stats: %s ops=%lu bytes=%lu errors=%lu latency_us mean=%.1f max=%.1f\n",
                bdev.name().c_str(), IoTypeName(type), s.operations, s.bytes, s.errors,
                mean_ns / 1e3, Micros(s.latency_ns_max));
  }
}

int Run() {
  Result<BdevperfOptions> parsed = OptionsFromFlags();
  if (!parsed.ok()) {
    std::fprintf(stderr, "bdevperf: %s\n", parsed.error().message().c_str());
    return kExitBadFlags;
  }
  BdevperfOptions options = *std::move(parsed);

  BdevRegistry registry;
  Result<std::shared_ptr<Bdev>> created = CreateBdevFromSpec(registry, options.bdev_spec);
  if (!created.ok()) {
    std::fprintf(stderr, "bdevperf: %s\n", created.error().ToString().c_str());
    return kExitIoError;
  }
  Bdev& bdev = **created;
  if (Status fits = FitToDevice(options, bdev.geometry()); !fits.ok()) {
    std::fprintf(stderr, "bdevperf: %s\n", fits.error().message().c_str());
    return kExitBadFlags;
  }
  const OpenMode mode = PatternWrites(options.pattern) ? OpenMode::kReadWrite : OpenMode::kReadOnly;
  Result<std::unique_ptr<BdevDescriptor>> descriptor = registry.Open(bdev.name(), mode);
  if (!descriptor.ok()) {
    std::fprintf(stderr, "bdevperf: %s\n", descriptor.error().ToString().c_str());
    return kExitIoError;
  }
  if (options.qos.enabled()) bdev.SetQosLimits(options.qos);

  Result<std::unique_ptr<ReactorSet>> reactors =
      ReactorSet::Start(*std::move(descriptor), options.reactors);
  if (!reactors.ok()) {
    std::fprintf(stderr, "bdevperf: %s\n", reactors.error().ToString().c_str());
    return kExitIoError;
  }
  std::atomic<bool> abort{false};
  std::vector<std::unique_ptr<ReactorJob>> jobs;
  for (uint32_t i = 0; i < options.reactors; ++i) {
    Result<std::unique_ptr<ReactorJob>> job =
        ReactorJob::Create(options, i, (*reactors)->channel(i), abort);
    if (!job.ok()) {
      std::fprintf(stderr, "bdevperf: %s\n", job.error().ToString().c_str());
      return kExitIoError;
    }
    jobs.push_back(*std::move(job));
  }
  PrintHeader(bdev, options);
  std::fflush(stdout);

  const int64_t deadline_ns = MonotonicNanos() + static_cast<int64_t>(options.time_seconds * 1e9);
  std::vector<Status> statuses(options.reactors);
  std::vector<absl::Notification> done(options.reactors);
  for (uint32_t i = 0; i < options.reactors; ++i) {
    (*reactors)->thread(i).reactor().Spawn(RunJob(*jobs[i], deadline_ns, &statuses[i], &done[i]));
  }
  for (absl::Notification& finished : done) finished.WaitForNotification();
  reactors->reset();  // channels, then the descriptor, then the reactors

  int exit_code = 0;
  for (const Status& status : statuses) {
    if (!status.ok()) {
      std::fprintf(stderr, "bdevperf: %s\n", status.error().ToString().c_str());
      exit_code = kExitIoError;
    }
  }
  if (exit_code == 0) {
    PrintResults(jobs);
    if (options.pattern == Pattern::kVerify && options.verify_final_pass) {
      uint64_t checked = 0;
      for (const auto& job : jobs) checked += job->result().slots_checked;
      std::printf("verify: final pass re-read %lu slots, all match\n", checked);
    }
  }
  PrintBdevStats(bdev);
  return exit_code;
}

}  // namespace
}  // namespace blobfs

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;  // the bdev layer's notes belong on stderr, not in /tmp log files
  gflags::SetUsageMessage(
      "measures one bdev: bdevperf --bdev=SPEC [--pattern=randread] [--queue_depth=32] "
      "[--io_size=4k] [--time=5] [--reactors=1] ...");
  if (blobfs::Status syntax = blobfs::CheckFlagSyntax(argc, argv); !syntax.ok()) {
    std::fprintf(stderr, "bdevperf: %s\n", syntax.error().message().c_str());
    return blobfs::kExitBadFlags;
  }
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  google::InitGoogleLogging(argv[0]);
  if (argc > 1) {
    std::fprintf(stderr, "bdevperf: unexpected argument '%s' (all settings are --flags)\n",
                 argv[1]);
    return blobfs::kExitBadFlags;
  }
  return blobfs::Run();
}
