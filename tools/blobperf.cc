// blobperf: figures for the blob store — blob creation (one at a time, concurrent, batched),
// loading a store of many blobs (clean and dirty), and sequential writes through blobs against
// the same writes straight to the bdev.
//
// Contract: the flags are described in blobperf_options.cc (run with --help); the tests in
// blobperf_create.h, blobperf_load.h and blobperf_seqwrite.h. Every test formats the bdev afresh,
// so it destroys what the device held. Everything runs on one reactor on the main thread. Exit
// status 0 when every test ran; 1 when the bdev cannot be created or a blob store operation failed
// (the Error is printed); 2 for flags with a bad value, which are named in the message. Figures
// go to stdout, one line each; problems to stderr.
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "absl/strings/str_format.h"
#include "bdev/bdev.h"
#include "bdev/registry.h"
#include "bdev/spec.h"
#include "bdev/uring_bdev.h"
#include "common/reactor.h"
#include "common/sync_bridge.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/blobperf_create.h"
#include "tools/blobperf_env.h"
#include "tools/blobperf_load.h"
#include "tools/blobperf_options.h"
#include "tools/blobperf_report.h"
#include "tools/blobperf_seqwrite.h"
#include "tools/flag_syntax.h"

namespace blobfs {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitBadFlags = 2;

void PrintHeader(Bdev& bdev, const BlobperfOptions& options) {
  const BdevGeometry& geometry = bdev.geometry();
  std::string device =
      absl::StrFormat("%s (%s, %s, %u-byte blocks", bdev.name(), bdev.module_name(),
                      BinaryBytes(geometry.size_bytes()), geometry.block_size);
  if (std::string_view(bdev.module_name()) == "uring") {
    device += UringBdevUsesDirectIo(bdev) ? ", O_DIRECT" : ", buffered";
  }
  if (geometry.write_cache) device += ", write cache";
  std::printf("blobperf: bdev=%s) cluster_size=%s\n", device.c_str(),
              BinaryBytes(options.cluster_size).c_str());
  std::fflush(stdout);
}

Task<Status> RunTests(BlobperfEnv& env) {
  if (env.options.run_create) CO_RETURN_IF_ERROR(co_await RunCreateTest(env));
  if (env.options.run_load) CO_RETURN_IF_ERROR(co_await RunLoadTest(env));
  if (env.options.run_seqwrite) CO_RETURN_IF_ERROR(co_await RunSeqwriteTest(env));
  co_return OkStatus();
}

int Run() {
  Result<BlobperfOptions> parsed = OptionsFromFlags();
  if (!parsed.ok()) {
    std::fprintf(stderr, "blobperf: %s\n", parsed.error().message().c_str());
    return kExitBadFlags;
  }
  BlobperfOptions options = *std::move(parsed);

  BdevRegistry registry;
  Result<std::shared_ptr<Bdev>> created = CreateBdevFromSpec(registry, options.bdev_spec);
  if (!created.ok()) {
    std::fprintf(stderr, "blobperf: %s\n", created.error().ToString().c_str());
    return kExitFailed;
  }
  Bdev& bdev = **created;
  if (Status fits = FitToDevice(options, bdev.geometry()); !fits.ok()) {
    std::fprintf(stderr, "blobperf: %s\n", fits.error().message().c_str());
    return kExitBadFlags;
  }
  Result<std::unique_ptr<Reactor>> reactor = Reactor::Create();
  if (!reactor.ok()) {
    std::fprintf(stderr, "blobperf: %s\n", reactor.error().ToString().c_str());
    return kExitFailed;
  }
  PrintHeader(bdev, options);
  BlobperfEnv env{.options = options, .registry = registry, .bdev = bdev};
  Status status = RunSync(**reactor, RunTests(env));
  if (!status.ok()) {
    std::fprintf(stderr, "blobperf: %s\n", status.error().ToString().c_str());
    return kExitFailed;
  }
  return 0;
}

}  // namespace
}  // namespace blobfs

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;  // the bdev layer's notes belong on stderr, not in /tmp log files
  gflags::SetUsageMessage(
      "figures for the blob store: blobperf --bdev=SPEC [--test=all|create|load|seqwrite] "
      "[--count=100000] [--seconds=5] [--depth=16] [--batch=64] [--bytes=0] ...");
  if (blobfs::Status syntax = blobfs::CheckFlagSyntax(argc, argv); !syntax.ok()) {
    std::fprintf(stderr, "blobperf: %s\n", syntax.error().message().c_str());
    return blobfs::kExitBadFlags;
  }
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  google::InitGoogleLogging(argv[0]);
  if (argc > 1) {
    std::fprintf(stderr, "blobperf: unexpected argument '%s' (all settings are --flags)\n",
                 argv[1]);
    return blobfs::kExitBadFlags;
  }
  return blobfs::Run();
}
