#include "fsdev/xattr_reply.h"

#include <linux/limits.h>

#include <cerrno>
#include <utility>

namespace blobfs {

Result<FsdevXattrReply> MakeXattrReply(std::string value, uint32_t size) {
  if (value.size() > XATTR_SIZE_MAX) {
    return MakeError(E2BIG, "xattr value or list of %d bytes (at most %d)", value.size(),
                     XATTR_SIZE_MAX);
  }
  const auto length = static_cast<uint32_t>(value.size());
  if (size == 0) return FsdevXattrReply{.size = length};
  if (length > size) {
    return MakeError(ERANGE, "%d bytes do not fit a buffer of %d", length, size);
  }
  return FsdevXattrReply{.size = length, .data = std::move(value)};
}

}  // namespace blobfs
