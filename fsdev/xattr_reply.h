// MakeXattrReply: the size-probe rules of getxattr(2)/listxattr(2) over a value a module has.
// A `size` of 0 asks only for the value's size; a value larger than `size` is ERANGE; otherwise
// the value itself. Values over 64 KiB (XATTR_SIZE_MAX) are E2BIG, as Linux never returns them.
#ifndef BLOBFS_FSDEV_XATTR_REPLY_H_
#define BLOBFS_FSDEV_XATTR_REPLY_H_

#include <cstdint>
#include <string>

#include "common/error.h"
#include "fsdev/fsdev.h"

namespace blobfs {

Result<FsdevXattrReply> MakeXattrReply(std::string value, uint32_t size);

}  // namespace blobfs

#endif  // BLOBFS_FSDEV_XATTR_REPLY_H_
