// blobperf's seqwrite test (see blobperf_seqwrite.h).
#include "tools/blobperf_seqwrite.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "common/rounding.h"
#include "common/when_all.h"
#include "tools/blobperf_report.h"
#include "common/huge_page_buffer.h"
#include "tools/latency_histogram.h"

namespace blobfs {
namespace {

constexpr size_t kBufferAlignment = 4096;

// Bytes between consecutive worker buffers.
size_t BufferStride(uint64_t io_size) {
  return RoundUp(io_size, kBufferAlignment);
}

// Writes `data` at byte `offset` of what a pass writes to.
using WriteAt = absl::AnyInvocable<Task<Status>(uint64_t offset, std::span<const std::byte> data)>;

// One pass: its writer, how far it got, and what its turns took.
struct Pass {
  const char* target;
  WriteAt write;
  uint64_t cursor = 0;  // the next offset to write
  int64_t elapsed_ns = 0;
  LatencyHistogram latency_ns{};
};

Task<Status> WriteWorker(Pass& pass, uint64_t io_size, uint64_t end,
                         std::span<const std::byte> buffer) {
  while (pass.cursor < end) {
    const uint64_t offset = pass.cursor;
    pass.cursor += io_size;
    const int64_t start = MonotonicNanos();
    Status status = co_await pass.write(offset, buffer);
    if (!status.ok()) {
      pass.cursor = end;  // the other workers stop too
      co_return status.error().WithContext(
          absl::StrFormat("%s write at offset %lu", pass.target, offset));
    }
    pass.latency_ns.Record(static_cast<uint64_t>(MonotonicNanos() - start));
  }
  co_return OkStatus();
}

// One turn of `pass`: writes on up to `end`, each worker from its own slice of `buffers`.
Task<Status> TimedTurn(const BlobperfOptions& options, HugePageBuffer& buffers, Pass& pass,
                       uint64_t end) {
  const size_t stride = BufferStride(options.io_size);
  const int64_t start = MonotonicNanos();
  std::vector<Task<Status>> workers;
  for (uint32_t i = 0; i < options.queue_depth; ++i) {
    workers.push_back(
        WriteWorker(pass, options.io_size, end, {buffers.data() + i * stride, options.io_size}));
  }
  Status status = co_await WhenAll(std::move(workers));
  pass.elapsed_ns += MonotonicNanos() - start;
  co_return status;
}

double BytesPerSecond(const BlobperfOptions& options, const Pass& pass) {
  return static_cast<double>(options.bytes) / (static_cast<double>(pass.elapsed_ns) / 1e9);
}

void PrintPass(const BlobperfOptions& options, const Pass& pass, const Pass* raw,
               std::string_view extra) {
  const double rate = BytesPerSecond(options, pass);
  std::string figure = absl::StrFormat("%s MB/s", WithCommas(rate / 1e6));
  if (raw != nullptr) {
    absl::StrAppendFormat(&figure, " (%.2fx raw)", rate / BytesPerSecond(options, *raw));
  }
  absl::StrAppendFormat(&figure, ", latency %s, %s in %.2f s%s", LatencyFigures(pass.latency_ns),
                        BinaryBytes(options.bytes), static_cast<double>(pass.elapsed_ns) / 1e9,
                        extra);
  PrintFigure(absl::StrFormat("seqwrite %s qd %u, %s", BinaryBytes(options.io_size),
                              options.queue_depth, pass.target),
              figure);
}

}  // namespace

Task<Status> RunSeqwriteTest(BlobperfEnv& env) {
  const BlobperfOptions& options = env.options;
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> store,
                      co_await env.Format(kSeqwriteMetadataPages));
  const uint64_t cluster_size = store->cluster_size();
  const uint64_t clusters = DivideRoundingUp(options.bytes, cluster_size);
  // Named options: GCC 12 mishandles braced temporaries with a std::map inside co_await.
  BlobCreateOptions allocated_options{.num_clusters = clusters};
  CO_ASSIGN_OR_RETURN(Blob* allocated, co_await store->CreateBlob(std::move(allocated_options)));
  BlobCreateOptions thin_options{.num_clusters = clusters, .thin = true};
  CO_ASSIGN_OR_RETURN(Blob* thin, co_await store->CreateBlob(std::move(thin_options)));
  std::vector<Blob*> both = {allocated, thin};
  CO_RETURN_IF_ERROR(co_await store->Commit(both));
  const std::shared_ptr<const ExtentMap> extents = allocated->extents();
  if (extents->run_count() != 1) {
    co_return MakeError(EIO, "seqwrite: the allocated blob has %u extent runs, not one",
                        extents->run_count());
  }
  const uint64_t device_base = extents->begin()->physical * cluster_size;

  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> descriptor, env.OpenDescriptor());
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevChannel> raw_channel, descriptor->OpenChannel());
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> blob_channel, store->OpenChannel());
  CO_ASSIGN_OR_RETURN(
      HugePageBuffer buffers,
      HugePageBuffer::Allocate(BufferStride(options.io_size) * options.queue_depth));
  std::memset(buffers.data(), 0xA5, buffers.size());

  BdevChannel& raw_device = *raw_channel;
  BlobChannel& channel = *blob_channel;
  Pass passes[] = {
      {.target = "raw bdev",
       .write =
           [&raw_device, device_base](uint64_t offset, std::span<const std::byte> data) {
             return raw_device.Write(device_base + offset, data);
           }},
      {.target = "blob",
       .write =
           [allocated, &channel](uint64_t offset, std::span<const std::byte> data) {
             return allocated->Write(channel, offset, data);
           }},
      {.target = "thin blob, allocating",
       .write =
           [thin, &channel](uint64_t offset, std::span<const std::byte> data) {
             return thin->Write(channel, offset, data);
           }},
  };
  // Whole writes per turn, at least one.
  const uint64_t turn =
      std::max(options.io_size, kSeqwriteSliceBytes / options.io_size * options.io_size);
  for (uint64_t done = 0, round = 0; done < options.bytes; ++round) {
    done = std::min(options.bytes, done + turn);
    for (size_t i = 0; i < std::size(passes); ++i) {
      Pass& pass = passes[(round + i) % std::size(passes)];
      CO_RETURN_IF_ERROR(co_await TimedTurn(options, buffers, pass, done));
    }
  }
  const int64_t sync_start = MonotonicNanos();
  CO_RETURN_IF_ERROR(co_await thin->Sync());
  const int64_t sync_ns = MonotonicNanos() - sync_start;
  const size_t runs = thin->extents()->run_count();
  PrintPass(options, passes[0], nullptr, "");
  PrintPass(options, passes[1], &passes[0], "");
  PrintPass(options, passes[2], &passes[0],
            absl::StrFormat(", then sync %s, %u extent run%s", Milliseconds(sync_ns), runs,
                            runs == 1 ? "" : "s"));

  blob_channel.reset();
  for (Blob* open : both) CO_RETURN_IF_ERROR(co_await store->CloseBlob(open));
  co_return co_await store->Unload();
}

}  // namespace blobfs
