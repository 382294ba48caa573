// The name of an inode's entry in the orphan directory (FORMAT.md, "The orphan directory"): the
// inode number in 16 lowercase hex digits.
#ifndef BLOBFS_BLOBFS_FORMAT_ORPHAN_ENTRY_H_
#define BLOBFS_BLOBFS_FORMAT_ORPHAN_ENTRY_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_format.h"

namespace blobfs {

inline std::string OrphanEntryName(uint64_t ino) { return absl::StrFormat("%016x", ino); }

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_FORMAT_ORPHAN_ENTRY_H_
