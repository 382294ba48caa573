// FsSuper: the filesystem's parameters, stored as the internal xattr "fs" of the blob store's
// super blob (FORMAT.md, "Filesystem super record").
//
// Contract:
//  - Encode writes version 1. Decode fails with EUCLEAN for a bad magic, a short value, a label
//    longer than kMaxLabel, an inline_max over kMaxInlineMax, a block size that is not a power of two in [4096, 65536], or a zero
//    root inode; with EOPNOTSUPP for a newer version or an unknown incompat feature bit. Unknown
//    ro_compat bits decode and make read_only_required() true. Messages start with
//    "filesystem super: ".
//  - Decode(Encode(s)) == s for every s that Decode accepts.
#ifndef BLOBFS_BLOBFS_FORMAT_FS_SUPER_H_
#define BLOBFS_BLOBFS_FORMAT_FS_SUPER_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "blobfs/format/timestamp.h"
#include "common/error.h"
#include "common/uuid.h"

namespace blobfs {

struct FsSuper {
  static constexpr uint32_t kVersion = 1;
  static constexpr size_t kEncodedSize = 176;
  static constexpr size_t kMaxLabel = 64;
  // The largest inline_max (files this small keep their bytes in an xattr of their inode).
  static constexpr uint32_t kMaxInlineMax = 32768;
  static constexpr std::string_view kXattrName = "fs";
  // The blob store's bstype for blobfs.
  static constexpr std::string_view kBstype = "blobfs";
  static constexpr uint64_t kKnownCompatFeatures = 0;
  static constexpr uint64_t kKnownRoCompatFeatures = 0;
  static constexpr uint64_t kKnownIncompatFeatures = 0;

  uint64_t compat_features = 0;
  uint64_t ro_compat_features = 0;
  uint64_t incompat_features = 0;
  Uuid uuid;
  std::string label{};
  Timestamp created;
  // The unit of st_blksize, directory blocks and buffer-cache blocks.
  uint32_t block_size = 4096;
  // Files of at most this many bytes keep their data in their inode blob.
  uint32_t inline_max = 0;
  uint64_t root_ino = 0;
  // The directory index of inodes to reclaim at mount (unlinked while open, or mid-delete).
  uint64_t orphan_ino = 0;
  // Keys the hash of directory entry names.
  uint64_t hash_seed = 0;
  // Read-write mounts so far; the high half of new inodes' generation numbers.
  uint64_t mount_count = 0;

  bool read_only_required() const { return (ro_compat_features & ~kKnownRoCompatFeatures) != 0; }

  std::string Encode() const;
  static Result<FsSuper> Decode(std::string_view bytes);
  friend bool operator==(const FsSuper&, const FsSuper&) = default;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_FORMAT_FS_SUPER_H_
