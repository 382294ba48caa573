#include "fuse/fuse_server.h"

#include <poll.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <vector>

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

Task<int> WaitReadable(int fd) {
  co_return co_await uring::Operation(
      [fd](io_uring_sqe* sqe) { io_uring_prep_poll_add(sqe, fd, POLLIN); });
}

// One read slot: read a request, serve it, read the next.
Task<Status> ServeSlot(int fd, DispatcherChannel& channel, size_t buffer_size) {
  std::unique_ptr<char[]> buffer(new char[buffer_size]);
  FdReplySink sink(fd);
  while (true) {
    const int got = co_await uring::Read(fd, buffer.get(), static_cast<uint32_t>(buffer_size),
                                         static_cast<uint64_t>(-1));
    if (got > 0) {
      const iovec request{buffer.get(), static_cast<size_t>(got)};
      co_await channel.Handle(std::span<const iovec>(&request, 1), sink);
      continue;
    }
    switch (-got) {
      case ENODEV:  // Unmounted: the session is over.
        co_return Status();
      case ENOENT:  // The request was interrupted before we read it.
      case EINTR:
        continue;
      case EAGAIN:
        co_await WaitReadable(fd);
        continue;
      default:
        co_return MakeError(-got, "read from /dev/fuse: %s", std::strerror(-got));
    }
  }
}

}  // namespace

Task<Status> ServeFuseDevice(int fd, Dispatcher& dispatcher, size_t slots) {
  Result<std::unique_ptr<DispatcherChannel>> channel = dispatcher.OpenChannel();
  if (!channel.ok()) co_return channel.error();
  std::vector<Task<Status>> readers;
  for (size_t i = 0; i < slots; ++i) {
    readers.push_back(ServeSlot(fd, **channel, dispatcher.request_buffer_size()));
  }
  co_return co_await WhenAll(std::move(readers));
}

}  // namespace blobfs
