// Awaitable io_uring operations on the current reactor's ring.
//
// Contract: each function returns an awaitable that, when co_awaited on a reactor thread, submits
// one SQE and resumes the coroutine on that reactor when its completion arrives. The awaited value
// is the CQE result: >= 0 on success (bytes transferred for reads and writes), a negative errno on
// failure. Buffers and iovec arrays must stay valid until the co_await returns. No call blocks.
#ifndef BLOBFS_COMMON_URING_OPS_H_
#define BLOBFS_COMMON_URING_OPS_H_

#include <liburing.h>
#include <sys/uio.h>

#include <coroutine>
#include <cstdint>
#include <utility>

#include "common/reactor.h"

namespace blobfs::uring {

// One SQE prepared by `prep(sqe)`; resumes with the CQE result.
template <typename Prep>
class Operation : public UringCompletion {
 public:
  explicit Operation(Prep prep) : prep_(std::move(prep)) {
    on_complete = [](UringCompletion* self, int result, uint32_t) {
      auto* op = static_cast<Operation*>(self);
      op->result_ = result;
      op->handle_.resume();
    };
  }
  bool await_ready() const noexcept { return false; }
  void await_suspend(std::coroutine_handle<> handle) {
    Reactor* reactor = Reactor::Current();
    CHECK(reactor != nullptr) << "io_uring operation awaited outside a reactor";
    handle_ = handle;
    io_uring_sqe* sqe = reactor->GetSqe();
    prep_(sqe);
    io_uring_sqe_set_data(sqe, static_cast<UringCompletion*>(this));
  }
  int await_resume() const noexcept { return result_; }

 private:
  Prep prep_;
  std::coroutine_handle<> handle_;
  int result_ = 0;
};

inline auto Read(int fd, void* buffer, uint32_t length, uint64_t offset) {
  return Operation([=](io_uring_sqe* sqe) { io_uring_prep_read(sqe, fd, buffer, length, offset); });
}

inline auto Write(int fd, const void* buffer, uint32_t length, uint64_t offset) {
  return Operation(
      [=](io_uring_sqe* sqe) { io_uring_prep_write(sqe, fd, buffer, length, offset); });
}

inline auto Readv(int fd, const iovec* iov, unsigned iovcnt, uint64_t offset) {
  return Operation([=](io_uring_sqe* sqe) { io_uring_prep_readv(sqe, fd, iov, iovcnt, offset); });
}

inline auto Writev(int fd, const iovec* iov, unsigned iovcnt, uint64_t offset) {
  return Operation(
      [=](io_uring_sqe* sqe) { io_uring_prep_writev(sqe, fd, iov, iovcnt, offset); });
}

// fdatasync when `data_only`, else fsync.
inline auto Fsync(int fd, bool data_only) {
  return Operation([=](io_uring_sqe* sqe) {
    io_uring_prep_fsync(sqe, fd, data_only ? IORING_FSYNC_DATASYNC : 0);
  });
}

inline auto Fallocate(int fd, int mode, uint64_t offset, uint64_t length) {
  return Operation(
      [=](io_uring_sqe* sqe) { io_uring_prep_fallocate(sqe, fd, mode, offset, length); });
}

}  // namespace blobfs::uring

#endif  // BLOBFS_COMMON_URING_OPS_H_
