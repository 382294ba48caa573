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
#include <cstring>
#include <functional>
#include <span>

#include "common/error.h"

namespace blobfs {

using ReadConsumer = std::function<Status(std::span<const iovec> data)>;

// A consumer that copies what it is handed into `out`, from its start (the bytes beyond what
// `out` holds are dropped); `out` must outlive the read.
inline ReadConsumer CopyingInto(std::span<const iovec> out) {
  return [out](std::span<const iovec> data) {
    size_t slot = 0;
    size_t slot_offset = 0;
    for (const iovec& piece : data) {
      size_t done = 0;
      while (done < piece.iov_len && slot < out.size()) {
        const size_t take =
            std::min(piece.iov_len - done, out[slot].iov_len - slot_offset);
        std::memcpy(static_cast<char*>(out[slot].iov_base) + slot_offset,
                    static_cast<const char*>(piece.iov_base) + done, take);
        done += take;
        slot_offset += take;
        if (slot_offset == out[slot].iov_len) {
          ++slot;
          slot_offset = 0;
        }
      }
    }
    return Status();
  };
}

}  // namespace blobfs

#endif  // BLOBFS_COMMON_READ_CONSUMER_H_
