#include "fuse/fuse_server.h"

#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/reactor.h"
#include "common/uring_ops.h"
#include "common/async_event.h"
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

}  // namespace

KernelNotify DeviceNotifier(int fd) {
  return [fd](std::span<const iovec> notification) -> Status {
    FdReplySink sink(fd);
    return sink.Send(notification);
  };
}

namespace {

// The reader of one reactor and the requests it has handed out.
struct ServerState {
  int fd;
  Dispatcher& dispatcher;
  DispatcherChannel& channel;
  std::function<void()> after_init;
  size_t buffer_size;
  int64_t spin_nanos;
  int64_t last_request = 0;  // MonotonicNanos of the latest request read.
  // Request buffers not in use; a request being served holds one.
  std::vector<std::unique_ptr<char[]>> free_buffers{};
  size_t in_flight = 0;
  AsyncEvent buffer_returned{};
};

// Reads one request: by polling for a while after recent traffic, otherwise through io_uring.
// Returns the byte count or a negative errno.
Task<int> ReadRequest(ServerState& state, char* buffer) {
  while (MonotonicNanos() - state.last_request < state.spin_nanos) {
    const ssize_t got = read(state.fd, buffer, state.buffer_size);
    if (got >= 0 || errno != EAGAIN) co_return got >= 0 ? static_cast<int>(got) : -errno;
    co_await Reactor::Current()->Yield();  // Requests being served run meanwhile.
  }
  co_return co_await uring::Read(state.fd, buffer, static_cast<uint32_t>(state.buffer_size),
                                 static_cast<uint64_t>(-1));
}

// Serves one request and gives its buffer back.
Task<void> ServeRequest(ServerState& state, std::unique_ptr<char[]> buffer, size_t length) {
  FdReplySink sink(state.fd);
  const iovec request{buffer.get(), length};
  co_await state.channel.Handle(std::span<const iovec>(&request, 1), sink);
  if (state.after_init && state.dispatcher.initialized()) {
    std::function<void()> after_init = std::move(state.after_init);
    state.after_init = nullptr;
    after_init();
  }
  state.free_buffers.push_back(std::move(buffer));
  --state.in_flight;
  state.buffer_returned.Set();
}

}  // namespace

Task<Status> ServeFuseDevice(int fd, Dispatcher& dispatcher, FuseServeOptions options) {
  Result<std::unique_ptr<DispatcherChannel>> channel = dispatcher.OpenChannel();
  if (!channel.ok()) co_return channel.error();
  ServerState state{.fd = fd,
                    .dispatcher = dispatcher,
                    .channel = **channel,
                    .after_init = std::move(options.after_init),
                    .buffer_size = dispatcher.request_buffer_size(),
                    .spin_nanos = std::chrono::nanoseconds(options.spin).count()};
  for (size_t i = 0; i < std::max<size_t>(options.slots, 1); ++i) {
    state.free_buffers.push_back(std::unique_ptr<char[]>(new char[state.buffer_size]));
  }
  Reactor& reactor = *Reactor::Current();
  Status status;
  while (true) {
    while (state.free_buffers.empty()) {
      state.buffer_returned.Reset();
      co_await state.buffer_returned.Wait();
    }
    std::unique_ptr<char[]> buffer = std::move(state.free_buffers.back());
    state.free_buffers.pop_back();
    const int got = co_await ReadRequest(state, buffer.get());
    if (got > 0) {
      state.last_request = MonotonicNanos();
      ++state.in_flight;
      reactor.Spawn(ServeRequest(state, std::move(buffer), static_cast<size_t>(got)));
      // The request runs before the next read: a read finding nothing costs a syscall that the
      // caller would otherwise wait through.
      co_await reactor.Yield();
      continue;
    }
    state.free_buffers.push_back(std::move(buffer));
    if (got == -ENOENT || got == -EINTR || got == -EAGAIN) continue;  // ENOENT: interrupted.
    // ENODEV: unmounted, the session is over; any other error stops this reader.
    if (got < 0 && got != -ENODEV) status = MakeError(-got, "read from /dev/fuse: %s", std::strerror(-got));
    break;
  }
  while (state.in_flight > 0) {  // The requests being served use `state`.
    state.buffer_returned.Reset();
    co_await state.buffer_returned.Wait();
  }
  co_return status;
}

}  // namespace blobfs
