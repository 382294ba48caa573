// RequestReader: reads one FUSE request's arguments from scatter/gather buffers, checking every
// length against what is there (the request is untrusted input).
//
// Contract: reads advance a cursor; a read that needs more bytes than remain fails with EINVAL and
// leaves the cursor where it was. Structs and strings are copied out (they may straddle buffers);
// bulk data (a WRITE's payload) is handed out as iovecs pointing into the caller's buffers, which
// must outlive their use.
#ifndef BLOBFS_DISPATCHER_REQUEST_READER_H_
#define BLOBFS_DISPATCHER_REQUEST_READER_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstring>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "common/error.h"

namespace blobfs {

class RequestReader {
 public:
  explicit RequestReader(std::span<const iovec> buffers);

  size_t remaining() const { return remaining_; }
  // Ignores everything past the next `length` bytes (no-op when fewer remain).
  void Limit(size_t length);

  // The next `wire_size` bytes (at most sizeof(T)) into a T whose remaining bytes are zero: older
  // protocol minors send shorter forms of some structs.
  template <typename T>
  Result<T> Read(size_t wire_size = sizeof(T)) {
    static_assert(std::is_trivially_copyable_v<T>);
    T value{};
    if (wire_size > sizeof(T)) wire_size = sizeof(T);
    RETURN_IF_ERROR(CopyOut(&value, wire_size));
    return value;
  }
  // A NUL-terminated string (the NUL is consumed, not returned); EINVAL without a NUL.
  Result<std::string> ReadString();
  // The next `length` bytes, copied.
  Result<std::string> ReadBytes(size_t length);
  // The next `length` bytes as iovecs into the buffers (no copy).
  Result<std::vector<iovec>> TakeIovecs(size_t length);

 private:
  Status CopyOut(void* out, size_t length);
  void Skip(size_t length);

  std::span<const iovec> buffers_;
  size_t index_ = 0;   // Current buffer.
  size_t offset_ = 0;  // Within it.
  size_t remaining_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_DISPATCHER_REQUEST_READER_H_
