// One FUSE-over-io_uring ring entry: the buffers the kernel fills with a request and reads the
// reply from, and the translation between that layout and the dispatcher's (a request as
// /dev/fuse delivers it, a reply as /dev/fuse takes it).
//
// Contract:
//  - A RingEntry owns a 4 KiB header buffer laid out as wire::uring::ReqHeader and a payload
//    buffer of `payload_size` bytes; `iov` describes both for the kernel's REGISTER command.
//  - RequestOf checks the request the kernel put in the entry (its InHeader in in_out, its
//    per-opcode struct in op_in, the rest in the payload) and returns it as the three pieces the
//    dispatcher reads in order; a request whose lengths do not fit the layout is EINVAL.
//  - RingReplySink puts the dispatcher's reply back into the same entry: the OutHeader into
//    in_out, the rest into the payload (pieces may point into the request's payload, or be built
//    in place through DataBuffer). A reply that does not fit becomes an EIO reply; Fail()
//    answers a request with an error.
#ifndef BLOBFS_FUSE_URING_ENTRY_H_
#define BLOBFS_FUSE_URING_ENTRY_H_

#include <sys/uio.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "common/aligned_buffer.h"
#include "common/error.h"
#include "dispatcher/dispatcher.h"
#include "dispatcher/fuse_wire.h"

namespace blobfs {

struct RingEntry {
  static constexpr size_t kHeaderSize = 4096;

  explicit RingEntry(size_t payload_size);

  wire::uring::ReqHeader& headers() {
    return *reinterpret_cast<wire::uring::ReqHeader*>(header.data());
  }

  AlignedBuffer header;
  AlignedBuffer payload;
  iovec iov[2];
};

// The request in `entry`, as header, per-opcode struct and the rest.
Result<std::array<iovec, 3>> RequestOf(RingEntry& entry);

class RingReplySink : public ReplySink {
 public:
  RingReplySink(RingEntry& entry, uint64_t unique) : entry_(entry), unique_(unique) {}

  Status Send(std::span<const iovec> reply) override;
  // The entry's payload buffer: data built there is not copied again.
  std::span<char> DataBuffer() override {
    return {reinterpret_cast<char*>(entry_.payload.data()), entry_.payload.size()};
  }

  // An error reply (`code` is a positive errno).
  void Fail(int code);

  bool sent() const { return sent_; }

 private:
  RingEntry& entry_;
  const uint64_t unique_;
  bool sent_ = false;
};

}  // namespace blobfs

#endif  // BLOBFS_FUSE_URING_ENTRY_H_
