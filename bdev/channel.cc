// BdevChannel: the generic I/O path — validation, QoS admission, the reset gate, splitting,
// bounce buffers, write_zeroes emulation, queue-depth slots and statistics.
#include <algorithm>
#include <cerrno>
#include <vector>

#include "bdev/bdev.h"
#include "common/iov.h"
#include "bdev/reactor_channel.h"
#include "common/aligned_buffer.h"
#include "common/clock.h"
#include "common/when_all.h"

namespace blobfs {
namespace {

constexpr uint64_t kZeroBufferSize = 1 << 20;
constexpr uint32_t kZeroBufferAlignment = 4096;

const AlignedBuffer& ZeroBuffer() {
  static const AlignedBuffer* zeroes = new AlignedBuffer(kZeroBufferSize, kZeroBufferAlignment);
  return *zeroes;
}

bool IsData(IoType type) { return type == IoType::kRead || type == IoType::kWrite; }

// How many blocks from `offset_blocks` one module request may cover.
uint64_t PieceBlocks(const BdevGeometry& g, IoType type, uint64_t offset_blocks, uint64_t blocks) {
  if (!IsData(type)) return blocks;
  uint64_t piece = blocks;
  if (g.optimal_io_boundary_blocks != 0) {
    piece = std::min<uint64_t>(piece, g.optimal_io_boundary_blocks -
                                          offset_blocks % g.optimal_io_boundary_blocks);
  }
  if (g.max_transfer_blocks != 0) piece = std::min<uint64_t>(piece, g.max_transfer_blocks);
  return piece;
}

Task<Status> SubmitToModule(ReactorChannel& channel, IoRequest request) {
  co_await channel.slots.Acquire();
  Status status = co_await channel.driver->Submit(request);
  channel.slots.Release();
  co_return status;
}

// One request within the module's limits; copies through an aligned buffer when the caller's
// memory misses the module's alignment.
Task<Status> SubmitPiece(ReactorChannel& channel, IoType type, uint64_t offset_blocks,
                         uint64_t blocks, std::span<const iovec> iov) {
  const BdevGeometry& g = channel.geometry();
  if (!IsData(type) || IovAligned(iov, g.required_alignment)) {
    co_return co_await SubmitToModule(channel, {type, offset_blocks, blocks, iov});
  }
  const uint64_t length = blocks * g.block_size;
  AlignedBuffer bounce(length, g.required_alignment);
  if (type == IoType::kWrite) IovCopyToBuffer(iov, bounce.data(), length);
  const iovec whole{bounce.data(), length};
  Status status = co_await SubmitToModule(channel, {type, offset_blocks, blocks, {&whole, 1}});
  if (status.ok() && type == IoType::kRead) IovCopyFromBuffer(iov, bounce.data(), length);
  co_return status;
}

Task<Status> SubmitSlice(ReactorChannel& channel, IoType type, uint64_t offset_blocks,
                         uint64_t blocks, std::span<const iovec> iov, uint64_t byte_offset) {
  IovecList slice;
  if (IsData(type)) IovSlice(iov, byte_offset, blocks * channel.geometry().block_size, slice);
  co_return co_await SubmitPiece(channel, type, offset_blocks, blocks, slice);
}

// Splits at the boundary and the transfer limit; the pieces run concurrently.
Task<Status> SubmitRange(ReactorChannel& channel, IoType type, uint64_t offset_blocks,
                         uint64_t blocks, std::span<const iovec> iov) {
  const BdevGeometry& g = channel.geometry();
  if (PieceBlocks(g, type, offset_blocks, blocks) == blocks) {
    co_return co_await SubmitPiece(channel, type, offset_blocks, blocks, iov);
  }
  std::vector<Task<Status>> pieces;
  for (uint64_t done = 0; done < blocks;) {
    uint64_t piece = PieceBlocks(g, type, offset_blocks + done, blocks - done);
    pieces.push_back(
        SubmitSlice(channel, type, offset_blocks + done, piece, iov, done * g.block_size));
    done += piece;
  }
  co_return co_await WhenAll(std::move(pieces));
}

Task<Status> EmulateWriteZeroes(ReactorChannel& channel, uint64_t offset_blocks, uint64_t blocks) {
  const uint32_t block_size = channel.geometry().block_size;
  const uint64_t chunk_blocks = kZeroBufferSize / block_size;
  for (uint64_t done = 0; done < blocks;) {
    uint64_t chunk = std::min(chunk_blocks, blocks - done);
    const iovec zeroes{const_cast<std::byte*>(ZeroBuffer().data()), chunk * block_size};
    CO_RETURN_IF_ERROR(
        co_await SubmitRange(channel, IoType::kWrite, offset_blocks + done, chunk, {&zeroes, 1}));
    done += chunk;
  }
  co_return OkStatus();
}

Task<Status> Execute(ReactorChannel& channel, IoType type, uint64_t offset_blocks, uint64_t blocks,
                     std::span<const iovec> iov) {
  Bdev& bdev = *channel.bdev;
  switch (type) {
    case IoType::kFlush:
      // Without a volatile cache completed writes are already durable.
      if (!bdev.Supports(IoType::kFlush)) co_return OkStatus();
      co_return co_await SubmitToModule(channel, {IoType::kFlush, 0, 0, {}});
    case IoType::kWriteZeroes: {
      if (bdev.Supports(IoType::kWriteZeroes)) {
        Status status = co_await SubmitRange(channel, type, offset_blocks, blocks, iov);
        // A module may learn only now that its backing store cannot do it (and stops claiming it).
        if (status.ok() || status.error().code() != EOPNOTSUPP || bdev.Supports(type)) {
          co_return status;
        }
      }
      co_return co_await EmulateWriteZeroes(channel, offset_blocks, blocks);
    }
    case IoType::kUnmap:
      if (!bdev.Supports(IoType::kUnmap)) {
        co_return MakeError(EOPNOTSUPP, "bdev '%s' (%s) does not support unmap", bdev.name(),
                            bdev.module_name());
      }
      break;
    default:
      break;
  }
  co_return co_await SubmitRange(channel, type, offset_blocks, blocks, iov);
}

Task<void> RunQosPump(std::shared_ptr<ReactorChannel> channel) {
  QosRateLimiter& limiter = channel->bdev->qos_limiter();
  while (!channel->qos_queue.empty()) {
    int64_t wait = limiter.TryAdmit(channel->qos_queue.front().bytes, MonotonicNanos());
    if (wait == 0) {
      channel->reactor.Schedule(channel->qos_queue.front().handle);
      channel->qos_queue.pop_front();
      continue;
    }
    co_await channel->reactor.Sleep(std::chrono::nanoseconds(wait));
  }
  channel->qos_pump_running = false;
}

// Admits at once when nothing waits and the limiter agrees; otherwise joins the channel's FIFO,
// which one pump task releases as tokens become available.
class QosAdmission {
 public:
  QosAdmission(ReactorChannel& channel, uint64_t bytes) : channel_(channel), bytes_(bytes) {}
  bool await_ready() const {
    return channel_.qos_queue.empty() &&
           channel_.bdev->qos_limiter().TryAdmit(bytes_, MonotonicNanos()) == 0;
  }
  void await_suspend(std::coroutine_handle<> handle) {
    channel_.qos_queue.push_back({bytes_, handle});
    if (!channel_.qos_pump_running) {
      channel_.qos_pump_running = true;
      channel_.reactor.Spawn(RunQosPump(channel_.shared_from_this()));
    }
  }
  void await_resume() const noexcept {}

 private:
  ReactorChannel& channel_;
  uint64_t bytes_;
};

}  // namespace

BdevChannel::BdevChannel(std::shared_ptr<Bdev> bdev, bool writable,
                         std::shared_ptr<ReactorChannel> channel)
    : bdev_(std::move(bdev)), writable_(writable), channel_(std::move(channel)) {}

BdevChannel::~BdevChannel() = default;

Status BdevChannel::Validate(IoType type, uint64_t offset, uint64_t length,
                             std::span<const iovec> iov) const {
  const BdevGeometry& g = bdev_->geometry();
  auto fail = [&](int code, const std::string& why) {
    return MakeError(code, "bdev '%s': %s of %lu bytes at offset %lu: %s", bdev_->name(),
                     IoTypeName(type), length, offset, why);
  };
  if (bdev_->removed()) return fail(ENODEV, "the bdev has been removed");
  if (IsWriteType(type) && !writable_) return fail(EBADF, "the descriptor is read-only");
  if (type == IoType::kFlush || type == IoType::kReset) return OkStatus();
  if (length == 0) return fail(EINVAL, "empty range");
  if (offset % g.block_size != 0 || length % g.block_size != 0) {
    return fail(EINVAL, absl::StrFormat("not a multiple of the %u-byte block size", g.block_size));
  }
  if (offset > g.size_bytes() || length > g.size_bytes() - offset) {
    return fail(EINVAL, absl::StrFormat("beyond the end of the device (%lu bytes)", g.size_bytes()));
  }
  if (IsData(type)) {
    if (iov.size() > IOV_MAX) {
      return fail(EINVAL, absl::StrFormat("%zu buffers exceed IOV_MAX (%d)", iov.size(), IOV_MAX));
    }
    if (IovLength(iov) != length) {
      return fail(EINVAL, absl::StrFormat("the buffers hold %lu bytes", IovLength(iov)));
    }
  }
  return OkStatus();
}

Task<Status> BdevChannel::Submit(IoType type, uint64_t offset, uint64_t length,
                                 std::span<const iovec> iov, iovec single) {
  if (single.iov_base != nullptr) iov = {&single, 1};  // `single` lives in this frame
  CO_RETURN_IF_ERROR(Validate(type, offset, length, iov));
  ReactorChannel& channel = *channel_;
  DCHECK(Reactor::Current() == &channel.reactor) << "bdev channel used off its reactor";
  const int64_t start = MonotonicNanos();
  if (bdev_->qos_limiter().enabled()) co_await QosAdmission(channel, length);
  while (channel.frozen) co_await channel.thawed.Wait();
  ++channel.in_flight;
  const BdevGeometry& g = bdev_->geometry();
  const uint64_t offset_blocks = offset / g.block_size;
  const uint64_t blocks = length / g.block_size;
  Status status;
  if (IsData(type) && PieceBlocks(g, type, offset_blocks, blocks) == blocks &&
      IovAligned(iov, g.required_alignment)) {
    // The common case, without the frames of the general path.
    co_await channel.slots.Acquire();
    status = co_await channel.driver->Submit({type, offset_blocks, blocks, iov});
    channel.slots.Release();
  } else {
    status = co_await Execute(channel, type, offset_blocks, blocks, iov);
  }
  channel.counters.Record(type, length, MonotonicNanos() - start, status.ok());
  if (--channel.in_flight == 0 && channel.frozen) channel.drained.Set();
  co_return status;
}

Task<Status> BdevChannel::Read(uint64_t offset, std::span<std::byte> buffer) {
  return Submit(IoType::kRead, offset, buffer.size(), {}, {buffer.data(), buffer.size()});
}

Task<Status> BdevChannel::Write(uint64_t offset, std::span<const std::byte> buffer) {
  return Submit(IoType::kWrite, offset, buffer.size(), {},
                {const_cast<std::byte*>(buffer.data()), buffer.size()});
}

Task<Status> BdevChannel::Readv(uint64_t offset, std::span<const iovec> iov) {
  return Submit(IoType::kRead, offset, IovLength(iov), iov);
}

Task<Status> BdevChannel::Writev(uint64_t offset, std::span<const iovec> iov) {
  return Submit(IoType::kWrite, offset, IovLength(iov), iov);
}

Task<Status> BdevChannel::WriteZeroes(uint64_t offset, uint64_t length) {
  return Submit(IoType::kWriteZeroes, offset, length, {});
}

Task<Status> BdevChannel::Unmap(uint64_t offset, uint64_t length) {
  return Submit(IoType::kUnmap, offset, length, {});
}

Task<Status> BdevChannel::Flush() { return Submit(IoType::kFlush, 0, 0, {}); }

Task<Status> BdevChannel::Reset() {
  if (bdev_->removed()) {
    co_return MakeError(ENODEV, "bdev '%s': reset: the bdev has been removed", bdev_->name());
  }
  if (!writable_) {
    co_return MakeError(EBADF, "bdev '%s': reset: the descriptor is read-only", bdev_->name());
  }
  const int64_t start = MonotonicNanos();
  Status status = co_await bdev_->ResetAllChannels();
  channel_->counters.Record(IoType::kReset, 0, MonotonicNanos() - start, status.ok());
  co_return status;
}

}  // namespace blobfs
