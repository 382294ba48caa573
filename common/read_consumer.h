// ReadConsumer: how a read hands over bytes that stay in the reader's own memory (a cache's
// buffers), so that the receiver — e.g. the FUSE reply to a READ — takes them without a copy in
// between.
//
// Contract: the reader calls the consumer once, on the reader's thread, with the bytes in order as
// pieces of memory that stay valid and unchanged only until it returns; its Status is the read's.
#ifndef BLOBFS_COMMON_READ_CONSUMER_H_
#define BLOBFS_COMMON_READ_CONSUMER_H_

#include <sys/uio.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "common/error.h"
#include "common/iov.h"

namespace blobfs {

using ReadConsumer = std::function<Status(std::span<const iovec> data)>;

// A consumer that copies what it is handed into `out`, from its start (the bytes beyond what
// `out` holds are dropped); `out` must outlive the read.
inline ReadConsumer CopyingInto(std::span<const iovec> out) {
  return [out, room = IovLength(out)](std::span<const iovec> data) {
    uint64_t at = 0;
    for (const iovec& piece : data) {
      const uint64_t take = std::min<uint64_t>(piece.iov_len, room - at);
      IovecList target;
      IovSlice(out, at, take, target);
      IovCopyFromBuffer(target, static_cast<const std::byte*>(piece.iov_base), take);
      at += take;
    }
    return Status();
  };
}

}  // namespace blobfs

#endif  // BLOBFS_COMMON_READ_CONSUMER_H_
