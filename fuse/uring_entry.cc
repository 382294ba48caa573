#include "fuse/uring_entry.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace blobfs {

static_assert(sizeof(wire::uring::ReqHeader) <= RingEntry::kHeaderSize);

RingEntry::RingEntry(size_t payload_size)
    : header(kHeaderSize, 4096),
      payload(payload_size, 4096),
      iov{{header.data(), header.size()}, {payload.data(), payload.size()}} {}

Result<std::array<iovec, 3>> RequestOf(RingEntry& entry) {
  wire::uring::ReqHeader& headers = entry.headers();
  wire::InHeader in;
  std::memcpy(&in, headers.in_out, sizeof(in));
  const size_t payload = headers.ring_ent_in_out.payload_sz;
  if (payload > entry.payload.size() || in.len < sizeof(in) + payload ||
      in.len - sizeof(in) - payload > wire::uring::kOpInSize) {
    return MakeError(EINVAL,
                     "FUSE io_uring request %u (opcode %u) of %u bytes with a %zu-byte payload "
                     "does not fit its ring entry",
                     in.unique, in.opcode, in.len, payload);
  }
  return std::array<iovec, 3>{iovec{headers.in_out, sizeof(in)},
                              iovec{headers.op_in, in.len - sizeof(in) - payload},
                              iovec{entry.payload.data(), payload}};
}

Status RingReplySink::Send(std::span<const iovec> reply) {
  size_t total = 0;
  for (const iovec& piece : reply) total += piece.iov_len;
  if (total < sizeof(wire::OutHeader) ||
      total - sizeof(wire::OutHeader) > entry_.payload.size()) {
    Fail(EIO);
    return MakeError(EMSGSIZE, "a reply of %zu bytes does not fit a ring entry", total);
  }
  char* header = entry_.headers().in_out;
  char* payload = reinterpret_cast<char*>(entry_.payload.data());
  size_t at = 0;
  for (const iovec& piece : reply) {
    const char* from = static_cast<const char*>(piece.iov_base);
    for (size_t done = 0; done < piece.iov_len;) {
      const bool in_header = at < sizeof(wire::OutHeader);
      const size_t take = in_header
                              ? std::min(piece.iov_len - done, sizeof(wire::OutHeader) - at)
                              : piece.iov_len - done;
      char* to = in_header ? header + at : payload + (at - sizeof(wire::OutHeader));
      // A reply may point into the request's payload, or be in place already.
      if (to != from + done) std::memmove(to, from + done, take);
      done += take;
      at += take;
    }
  }
  entry_.headers().ring_ent_in_out.payload_sz =
      static_cast<uint32_t>(total - sizeof(wire::OutHeader));
  sent_ = true;
  return Status();
}

void RingReplySink::Fail(int code) {
  const wire::OutHeader out{.len = sizeof(wire::OutHeader), .error = -code, .unique = unique_};
  std::memcpy(entry_.headers().in_out, &out, sizeof(out));
  entry_.headers().ring_ent_in_out.payload_sz = 0;
  sent_ = true;
}

}  // namespace blobfs
