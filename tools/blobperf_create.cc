// blobperf's create test (see blobperf_create.h).
#include "tools/blobperf_create.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "common/when_all.h"
#include "tools/blobperf_report.h"
#include "tools/latency_histogram.h"

namespace blobfs {
namespace {

// One variant's progress, shared by its workers (all on one reactor, so no locks).
struct CreateRun {
  BlobStore& store;
  uint32_t batch;  // 0: each blob synced on its own
  uint64_t count;
  int64_t deadline_ns;
  uint64_t taken = 0;             // blobs handed to workers
  uint64_t done = 0;              // blobs created, committed and closed
  LatencyHistogram latency_ns{};  // per blob, or per batch
};

BlobCreateOptions TwoXattrBlob(uint64_t n) {
  return {.xattrs = {{"name", absl::StrFormat("blobperf-%lu", n)}, {"owner", "blobperf"}}};
}

Task<Status> CreateSyncClose(BlobStore& store, uint64_t n) {
  CO_ASSIGN_OR_RETURN(Blob* blob, co_await store.CreateBlob(TwoXattrBlob(n)));
  CO_RETURN_IF_ERROR(co_await blob->Sync());
  co_return co_await store.CloseBlob(blob);
}

Task<Status> CreateWorker(CreateRun& run) {
  while (run.taken < run.count) {
    const uint64_t first = run.taken;
    const uint64_t units = run.batch == 0 ? 1 : std::min<uint64_t>(run.batch, run.count - first);
    run.taken += units;
    const int64_t start = MonotonicNanos();
    // Not `cond ? co_await a : co_await b`: GCC 12 destroys such a temporary Status twice.
    Task<Status> unit = run.batch == 0 ? CreateSyncClose(run.store, first)
                                       : CreateCommitClose(run.store, first, units);
    Status status = co_await std::move(unit);
    const int64_t end = MonotonicNanos();
    if (!status.ok()) {
      run.taken = run.count;  // the other workers stop too
      co_return status;
    }
    run.latency_ns.Record(static_cast<uint64_t>(end - start));
    run.done += units;
    if (end >= run.deadline_ns) break;
  }
  co_return OkStatus();
}

std::string VariantName(uint32_t batch, uint32_t depth) {
  if (batch == 0) return absl::StrFormat("create+sync+close (2 xattrs, depth %u)", depth);
  return absl::StrFormat("create x%u+commit+close (2 xattrs, depth %u)", batch, depth);
}

Task<Status> RunVariant(BlobperfEnv& env, uint32_t batch, uint32_t depth) {
  const std::string name = VariantName(batch, depth);
  Result<std::unique_ptr<BlobStore>> formatted =
      co_await env.Format(MetadataPagesFor(env.options.count));
  if (!formatted.ok()) co_return formatted.error().WithContext(name);
  std::unique_ptr<BlobStore> store = std::move(formatted).value();

  const BdevStats before = env.bdev.GetStats();
  const int64_t start = MonotonicNanos();
  CreateRun run{.store = *store,
                .batch = batch,
                .count = env.options.count,
                .deadline_ns = start + static_cast<int64_t>(env.options.seconds * 1e9)};
  std::vector<Task<Status>> workers;
  for (uint32_t i = 0; i < depth; ++i) workers.push_back(CreateWorker(run));
  Status status = co_await WhenAll(std::move(workers));
  const double seconds = static_cast<double>(MonotonicNanos() - start) / 1e9;
  if (!status.ok()) co_return status.error().WithContext(name);
  const BdevStats io = StatsDelta(before, env.bdev.GetStats());

  const double blobs = static_cast<double>(run.done);
  const IoTypeStats& flushes = io[IoType::kFlush];
  const int64_t flush_mean_ns =
      flushes.operations == 0 ? 0
                              : static_cast<int64_t>(flushes.latency_ns_sum / flushes.operations);
  PrintFigure(name, absl::StrFormat("%s ops/s, latency per %s %s, per blob %.2f writes + %.2f "
                                    "flushes (flush mean %s), %s blobs in %.2f s",
                                    WithCommas(blobs / seconds), batch == 0 ? "blob" : "batch",
                                    LatencyFigures(run.latency_ns),
                                    static_cast<double>(io[IoType::kWrite].operations) / blobs,
                                    static_cast<double>(flushes.operations) / blobs,
                                    Milliseconds(flush_mean_ns), WithCommas(blobs), seconds));
  Status unloaded = co_await store->Unload();
  if (!unloaded.ok()) co_return unloaded.error().WithContext(name);
  co_return OkStatus();
}

}  // namespace

Task<Status> CreateCommitClose(BlobStore& store, uint64_t first, uint64_t count) {
  std::vector<Blob*> blobs;
  blobs.reserve(count);
  for (uint64_t n = first; n < first + count; ++n) {
    CO_ASSIGN_OR_RETURN(Blob* blob, co_await store.CreateBlob(TwoXattrBlob(n)));
    blobs.push_back(blob);
  }
  CO_RETURN_IF_ERROR(co_await store.Commit(blobs));
  for (Blob* blob : blobs) CO_RETURN_IF_ERROR(co_await store.CloseBlob(blob));
  co_return OkStatus();
}

Task<Status> RunCreateTest(BlobperfEnv& env) {
  std::vector<uint32_t> depths = {1};
  if (env.options.depth != 1) depths.push_back(env.options.depth);
  for (uint32_t batch : {uint32_t{0}, env.options.batch}) {
    for (uint32_t depth : depths) CO_RETURN_IF_ERROR(co_await RunVariant(env, batch, depth));
  }
  co_return OkStatus();
}

}  // namespace blobfs
