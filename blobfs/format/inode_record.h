// InodeRecord: the attributes of one inode, stored as the internal xattr "i" of the inode's blob
// (FORMAT.md, "Inode record").
//
// Contract:
//  - Encode writes version 1 (kEncodedSize bytes). Decode accepts version 1 records of at least
//    kEncodedSize bytes (longer ones: the tail is a later minor addition and is ignored), and fails
//    with EUCLEAN for a short record, an unknown file type in mode, or nanoseconds >= 10^9, and
//    with EOPNOTSUPP for a newer version. Messages start with "inode record: ".
//  - Decode(Encode(r)) == r for every r whose mode has a known file type and whose times are valid.
#ifndef BLOBFS_BLOBFS_FORMAT_INODE_RECORD_H_
#define BLOBFS_BLOBFS_FORMAT_INODE_RECORD_H_

#include <sys/stat.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "blobfs/format/timestamp.h"
#include "common/error.h"

namespace blobfs {

struct InodeRecord {
  static constexpr uint16_t kVersion = 1;
  static constexpr size_t kEncodedSize = 120;
  // The internal xattr of the inode's blob that holds the record.
  static constexpr std::string_view kXattrName = "i";

  uint32_t mode = 0;  // File type and permission bits, as st_mode.
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t nlink = 0;
  uint32_t flags = 0;  // Inode flags (FS_IOC_GETFLAGS bits); none interpreted yet.
  uint64_t size = 0;
  uint64_t rdev = 0;
  // Tells apart inodes that reused one inode number (the blob id).
  uint64_t generation = 0;
  // A directory's parent inode (the root's is itself); 0 for other types.
  uint64_t parent = 0;
  Timestamp atime{};
  Timestamp mtime{};
  Timestamp ctime{};
  Timestamp btime;  // Birth time.

  uint32_t type() const { return mode & S_IFMT; }
  bool is_dir() const { return S_ISDIR(mode); }
  bool is_regular() const { return S_ISREG(mode); }
  bool is_symlink() const { return S_ISLNK(mode); }

  std::string Encode() const;
  static Result<InodeRecord> Decode(std::string_view bytes);
  friend bool operator==(const InodeRecord&, const InodeRecord&) = default;
};

// True for the seven file types POSIX knows.
bool IsKnownFileType(uint32_t mode);

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_FORMAT_INODE_RECORD_H_
