#include "fuse/fuse_server.h"

#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/reactor.h"
#include "common/uring_ops.h"
#include "common/when_all.h"
#include "glog/logging.h"

namespace blobfs {
namespace {

// Replies go straight to the descriptor: a /dev/fuse write completes the request in the kernel
// and never waits.
class FdReplySink : public ReplySink {
 public:
  explicit FdReplySink(int fd) : fd_(fd) {}
  Status Send(std::span<const iovec> reply) override {
    const ssize_t written = writev(fd_, reply.data(), static_cast<int>(reply.size()));
    if (written < 0) {
      // ENOENT: the kernel no longer waits for this request (it was interrupted).
      return MakeError(errno, "writev to /dev/fuse: %s", std::strerror(errno));
    }
    return Status();
  }

 private:
  int fd_;
};

// What the slots of one reactor share.
struct ReaderState {
  int fd;
  DispatcherChannel& channel;
  size_t buffer_size;
  int64_t spin_nanos;
  int64_t last_request = 0;  // MonotonicNanos of the latest request read.
  bool spinning = false;     // One slot at a time polls.
};

// Reads one request: by polling for a while after recent traffic (one slot), otherwise through
// io_uring. Returns the byte count or a negative errno.
Task<int> ReadRequest(ReaderState& state, char* buffer) {
  if (!state.spinning && MonotonicNanos() - state.last_request < state.spin_nanos) {
    state.spinning = true;
    while (MonotonicNanos() - state.last_request < state.spin_nanos) {
      const ssize_t got = read(state.fd, buffer, state.buffer_size);
      if (got >= 0 || errno != EAGAIN) {
        state.spinning = false;
        co_return got >= 0 ? static_cast<int>(got) : -errno;
      }
      co_await Reactor::Current()->Yield();
    }
    state.spinning = false;
  }
  co_return co_await uring::Read(state.fd, buffer, static_cast<uint32_t>(state.buffer_size),
                                 static_cast<uint64_t>(-1));
}

// One read slot: read a request, serve it, read the next.
Task<Status> ServeSlot(ReaderState& state) {
  std::unique_ptr<char[]> buffer(new char[state.buffer_size]);
  FdReplySink sink(state.fd);
  while (true) {
    const int got = co_await ReadRequest(state, buffer.get());
    if (got > 0) {
      state.last_request = MonotonicNanos();
      const iovec request{buffer.get(), static_cast<size_t>(got)};
      co_await state.channel.Handle(std::span<const iovec>(&request, 1), sink);
      continue;
    }
    switch (-got) {
      case ENODEV:  // Unmounted: the session is over.
        co_return Status();
      case ENOENT:  // The request was interrupted before we read it.
      case EINTR:
      case EAGAIN:
        continue;
      default:
        co_return MakeError(-got, "read from /dev/fuse: %s", std::strerror(-got));
    }
  }
}

}  // namespace

Task<Status> ServeFuseDevice(int fd, Dispatcher& dispatcher, FuseServeOptions options) {
  Result<std::unique_ptr<DispatcherChannel>> channel = dispatcher.OpenChannel();
  if (!channel.ok()) co_return channel.error();
  ReaderState state{.fd = fd,
                    .channel = **channel,
                    .buffer_size = dispatcher.request_buffer_size(),
                    .spin_nanos = std::chrono::nanoseconds(options.spin).count()};
  std::vector<Task<Status>> readers;
  for (size_t i = 0; i < options.slots; ++i) readers.push_back(ServeSlot(state));
  co_return co_await WhenAll(std::move(readers));
}

}  // namespace blobfs
