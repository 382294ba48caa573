// ReactorJob: the worker loops of bdevperf (see bdevperf_job.h).
#include "tools/bdevperf_job.h"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <span>
#include <utility>

#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "common/rounding.h"
#include "common/when_all.h"
#include "tools/verify_pattern.h"

namespace blobfs {
namespace {

constexpr size_t kBufferAlignment = 4096;

// Bytes between consecutive worker buffers.
size_t BufferStride(const BdevperfOptions& options) {
  return RoundUp(options.io_size, kBufferAlignment);
}

size_t BuffersPerWorker(const BdevperfOptions& options) {
  return options.pattern == Pattern::kVerify ? 2 : 1;
}

}  // namespace

Result<std::unique_ptr<ReactorJob>> ReactorJob::Create(const BdevperfOptions& options,
                                                       uint32_t index, BdevChannel& channel,
                                                       std::atomic<bool>& abort) {
  const size_t bytes = BufferStride(options) * BuffersPerWorker(options) * options.queue_depth;
  ASSIGN_OR_RETURN(HugePageBuffer buffers, HugePageBuffer::Allocate(bytes));
  return std::unique_ptr<ReactorJob>(
      new ReactorJob(options, index, channel, abort, std::move(buffers)));
}

ReactorJob::ReactorJob(const BdevperfOptions& options, uint32_t index, BdevChannel& channel,
                       std::atomic<bool>& abort, HugePageBuffer buffers)
    : options_(options),
      index_(index),
      channel_(channel),
      abort_(abort),
      block_size_(channel.geometry().block_size),
      random_positions_((options.range - options.io_size) / block_size_ + 1),
      slice_(ReactorSlice(options, block_size_, index)),
      cursor_(slice_.begin),
      buffers_(std::move(buffers)) {
  const bool verify = options.pattern == Pattern::kVerify;
  const uint64_t slots = (slice_.end - slice_.begin) / options.io_size;
  const size_t stride = BufferStride(options);
  std::byte* next_buffer = buffers_.data();
  workers_.resize(options.queue_depth);
  for (uint32_t w = 0; w < options.queue_depth; ++w) {
    Worker& worker = workers_[w];
    worker.index = w;
    worker.data = {next_buffer, options.io_size};
    next_buffer += stride;
    worker.data_iov = {worker.data.data(), options.io_size};
    if (verify) {
      worker.check = {next_buffer, options.io_size};
      next_buffer += stride;
      worker.check_iov = {worker.check.data(), options.io_size};
      worker.slot_count = (slots - w + options.queue_depth - 1) / options.queue_depth;
    }
    worker.random = SplitMix64(Mix64(options.seed) ^ Mix64((uint64_t{index} << 32) | w));
  }
}

Task<Status> ReactorJob::Run(int64_t deadline_ns) {
  const int64_t start = MonotonicNanos();
  const bool verify = options_.pattern == Pattern::kVerify;
  std::vector<Task<Status>> timed;
  for (Worker& worker : workers_) {
    timed.push_back(verify ? RunVerifyWorker(worker, deadline_ns)
                           : RunIoWorker(worker, deadline_ns));
  }
  Status status = co_await WhenAll(std::move(timed));
  result_.elapsed_ns = MonotonicNanos() - start;
  if (!status.ok() || !verify || !options_.verify_final_pass) co_return status;
  std::vector<Task<Status>> checks;
  for (Worker& worker : workers_) checks.push_back(CheckLastWrites(worker));
  co_return co_await WhenAll(std::move(checks));
}

Task<Status> ReactorJob::RunIoWorker(Worker& worker, int64_t deadline_ns) {
  const bool write = PatternWrites(options_.pattern);
  const std::span<const iovec> iov(&worker.data_iov, 1);
  while (!abort_.load(std::memory_order_relaxed)) {
    const uint64_t offset = NextOffset(worker);
    const int64_t start = MonotonicNanos();
    // Not `write ? co_await ... : co_await ...`: GCC 12 destroys the temporary Status of such a
    // conditional twice.
    Task<Status> io = write ? channel_.Writev(offset, iov) : channel_.Readv(offset, iov);
    Status status = co_await std::move(io);
    const int64_t end = MonotonicNanos();
    if (!status.ok()) co_return Failed(worker, status.error());
    Count(end - start);
    if (end >= deadline_ns) break;
  }
  co_return OkStatus();
}

Task<Status> ReactorJob::RunVerifyWorker(Worker& worker, int64_t deadline_ns) {
  while (!abort_.load(std::memory_order_relaxed)) {
    const uint64_t generation = worker.writes + 1;
    const uint64_t offset = SlotOffset(worker, worker.writes % worker.slot_count);
    Status status = co_await WriteAndCheck(worker, offset, generation);
    if (!status.ok()) co_return Failed(worker, status.error());
    worker.writes = generation;
    if (MonotonicNanos() >= deadline_ns) break;
  }
  co_return OkStatus();
}

Task<Status> ReactorJob::WriteAndCheck(Worker& worker, uint64_t offset, uint64_t generation) {
  FillVerifyPattern(worker.data, offset, generation, options_.seed);
  int64_t start = MonotonicNanos();
  CO_RETURN_IF_ERROR(co_await channel_.Writev(offset, {&worker.data_iov, 1}));
  int64_t end = MonotonicNanos();
  Count(end - start);
  start = end;
  CO_RETURN_IF_ERROR(co_await channel_.Readv(offset, {&worker.check_iov, 1}));
  Count(MonotonicNanos() - start);
  co_return CompareReadBack(worker, offset, generation);
}

Task<Status> ReactorJob::CheckLastWrites(Worker& worker) {
  // Generation g went to slot (g - 1) % slot_count, so slot k last received the largest such g.
  const uint64_t written_slots = std::min(worker.writes, worker.slot_count);
  for (uint64_t k = 0; k < written_slots && !abort_.load(std::memory_order_relaxed); ++k) {
    const uint64_t generation =
        k + 1 + (worker.writes - 1 - k) / worker.slot_count * worker.slot_count;
    const uint64_t offset = SlotOffset(worker, k);
    FillVerifyPattern(worker.data, offset, generation, options_.seed);
    Status status = co_await channel_.Readv(offset, {&worker.check_iov, 1});
    if (status.ok()) status = CompareReadBack(worker, offset, generation);
    if (!status.ok()) co_return Failed(worker, status.error().WithContext("final verify pass"));
    ++result_.slots_checked;
  }
  co_return OkStatus();
}

Status ReactorJob::CompareReadBack(const Worker& worker, uint64_t offset, uint64_t generation) {
  const std::optional<size_t> at = FirstMismatch(worker.data, worker.check);
  if (!at.has_value()) return OkStatus();
  return MakeError(EIO, "%s (generation %lu)",
                   DescribeMismatch(worker.data, worker.check, offset, *at), generation);
}

uint64_t ReactorJob::NextOffset(Worker& worker) {
  if (PatternIsRandom(options_.pattern)) {
    return worker.random.Below(random_positions_) * block_size_;
  }
  const uint64_t offset = cursor_;
  cursor_ += options_.io_size;
  if (cursor_ > slice_.end - options_.io_size) cursor_ = slice_.begin;
  return offset;
}

uint64_t ReactorJob::SlotOffset(const Worker& worker, uint64_t k) const {
  return slice_.begin + (worker.index + k * options_.queue_depth) * options_.io_size;
}

void ReactorJob::Count(int64_t latency_ns) {
  ++result_.operations;
  result_.bytes += options_.io_size;
  result_.latency_ns.Record(static_cast<uint64_t>(latency_ns));
}

Error ReactorJob::Failed(const Worker& worker, const Error& error) {
  abort_.store(true, std::memory_order_relaxed);
  return error.WithContext(absl::StrFormat("reactor %u worker %u", index_, worker.index));
}

}  // namespace blobfs
