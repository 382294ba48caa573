// blobperf's load test (see blobperf_load.h).
#include "tools/blobperf_load.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_format.h"
#include "blob/format/page.h"
#include "common/clock.h"
#include "tools/blobperf_create.h"
#include "tools/blobperf_report.h"

namespace blobfs {
namespace {

constexpr uint64_t kFillBatch = 1024;

// Blocks the reactor's thread, which is fine here: it runs between phases, with no I/O in flight.
Status DropCaches() {
  sync();
  const int fd = open("/proc/sys/vm/drop_caches", O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    return MakeError(errno, "--drop_caches: cannot open /proc/sys/vm/drop_caches (root only): %s",
                     strerror(errno));
  }
  const bool written = write(fd, "3", 1) == 1;
  const int saved_errno = errno;
  close(fd);
  if (!written) {
    return MakeError(saved_errno, "--drop_caches: writing /proc/sys/vm/drop_caches: %s",
                     strerror(saved_errno));
  }
  return OkStatus();
}

Task<Status> Fill(BlobperfEnv& env, BlobStore& store) {
  const uint64_t count = env.options.count;
  const int64_t start = MonotonicNanos();
  for (uint64_t first = 0; first < count; first += kFillBatch) {
    CO_RETURN_IF_ERROR(
        co_await CreateCommitClose(store, first, std::min(kFillBatch, count - first)));
  }
  const double seconds = static_cast<double>(MonotonicNanos() - start) / 1e9;
  PrintFigure(absl::StrFormat("fill for load (2 xattrs, %lu per commit)", kFillBatch),
              absl::StrFormat("%s blobs/s, %s blobs in %.2f s",
                              WithCommas(static_cast<double>(count) / seconds),
                              WithCommas(static_cast<double>(count)), seconds));
  co_return OkStatus();
}

// Loads the store, checks the path it took and its blob count, and prints the figures.
Task<Result<std::unique_ptr<BlobStore>>> TimedLoad(BlobperfEnv& env, bool expect_clean) {
  const char* kind = expect_clean ? "clean" : "dirty";
  if (env.options.drop_caches) CO_RETURN_IF_ERROR(DropCaches());
  const BdevStats before = env.bdev.GetStats();
  const int64_t start = MonotonicNanos();
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> store, co_await env.Load());
  const int64_t elapsed_ns = MonotonicNanos() - start;
  const BdevStats io = StatsDelta(before, env.bdev.GetStats());

  const BlobStoreStats stats = co_await store->GetStats();
  if (store->recovered() == expect_clean || stats.blobs != env.options.count) {
    co_return MakeError(EIO, "%s load: recovered=%d with %lu blobs, expected recovered=%d with %lu",
                        kind, store->recovered(), stats.blobs, !expect_clean, env.options.count);
  }
  const IoTypeStats& reads = io[IoType::kRead];
  PrintFigure(absl::StrFormat("%s load (%s blobs)", kind,
                              WithCommas(static_cast<double>(env.options.count))),
              absl::StrFormat("%s reading %s, in %s reads taking %s summed, metadata region %s",
                              Milliseconds(elapsed_ns), BinaryBytes(reads.bytes),
                              WithCommas(static_cast<double>(reads.operations)),
                              Milliseconds(static_cast<int64_t>(reads.latency_ns_sum)),
                              BinaryBytes(stats.md_pages * kPageSize)));
  co_return store;
}

}  // namespace

Task<Status> RunLoadTest(BlobperfEnv& env) {
  {
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> store,
                        co_await env.Format(MetadataPagesFor(env.options.count)));
    CO_RETURN_IF_ERROR(co_await Fill(env, *store));
    CO_RETURN_IF_ERROR(co_await store->Unload());
  }
  {
    // Loading cleared the clean bit on the device; dropping the store without Unload keeps it so.
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> store, co_await TimedLoad(env, true));
  }
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> store, co_await TimedLoad(env, false));
  co_return co_await store->Unload();
}

}  // namespace blobfs
