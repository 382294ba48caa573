#include "blobfs/format/inode_record.h"

#include <cerrno>

#include "blobfs/format/record_bytes.h"

namespace blobfs {
namespace {

// Byte offsets (FORMAT.md, "Inode record").
constexpr size_t kVersionOffset = 0;
constexpr size_t kRecordSizeOffset = 2;
constexpr size_t kModeOffset = 4;
constexpr size_t kUidOffset = 8;
constexpr size_t kGidOffset = 12;
constexpr size_t kNlinkOffset = 16;
constexpr size_t kFlagsOffset = 20;
constexpr size_t kSizeOffset = 24;
constexpr size_t kRdevOffset = 32;
constexpr size_t kGenerationOffset = 40;
constexpr size_t kParentOffset = 48;
constexpr size_t kAtimeOffset = 56;
constexpr size_t kMtimeOffset = 72;
constexpr size_t kCtimeOffset = 88;
constexpr size_t kBtimeOffset = 104;
static_assert(kBtimeOffset + 16 == InodeRecord::kEncodedSize);

}  // namespace

bool IsKnownFileType(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFLNK:
    case S_IFCHR:
    case S_IFBLK:
    case S_IFIFO:
    case S_IFSOCK:
      return true;
    default:
      return false;
  }
}

std::string InodeRecord::Encode() const {
  std::string encoded(kEncodedSize, '\0');
  std::span<std::byte> bytes = BytesOf(encoded);
  StoreLe16(bytes, kVersionOffset, kVersion);
  StoreLe16(bytes, kRecordSizeOffset, kEncodedSize);
  StoreLe32(bytes, kModeOffset, mode);
  StoreLe32(bytes, kUidOffset, uid);
  StoreLe32(bytes, kGidOffset, gid);
  StoreLe32(bytes, kNlinkOffset, nlink);
  StoreLe32(bytes, kFlagsOffset, flags);
  StoreLe64(bytes, kSizeOffset, size);
  StoreLe64(bytes, kRdevOffset, rdev);
  StoreLe64(bytes, kGenerationOffset, generation);
  StoreLe64(bytes, kParentOffset, parent);
  StoreTimestamp(bytes, kAtimeOffset, atime);
  StoreTimestamp(bytes, kMtimeOffset, mtime);
  StoreTimestamp(bytes, kCtimeOffset, ctime);
  StoreTimestamp(bytes, kBtimeOffset, btime);
  return encoded;
}

Result<InodeRecord> InodeRecord::Decode(std::string_view encoded) {
  std::span<const std::byte> bytes = BytesOf(encoded);
  if (bytes.size() < 4) {
    return MakeError(EUCLEAN, "inode record: %d bytes, too short for a header", bytes.size());
  }
  uint16_t version = LoadLe16(bytes, kVersionOffset);
  if (version > kVersion) {
    return MakeError(EOPNOTSUPP, "inode record: version %d is newer than this build's %d", version,
                     kVersion);
  }
  if (version == 0) return MakeError(EUCLEAN, "inode record: version 0");
  uint16_t record_size = LoadLe16(bytes, kRecordSizeOffset);
  if (record_size < kEncodedSize || record_size > bytes.size()) {
    return MakeError(EUCLEAN, "inode record: record_size %d in a %d-byte value (at least %d)",
                     record_size, bytes.size(), kEncodedSize);
  }
  InodeRecord record;
  record.mode = LoadLe32(bytes, kModeOffset);
  record.uid = LoadLe32(bytes, kUidOffset);
  record.gid = LoadLe32(bytes, kGidOffset);
  record.nlink = LoadLe32(bytes, kNlinkOffset);
  record.flags = LoadLe32(bytes, kFlagsOffset);
  record.size = LoadLe64(bytes, kSizeOffset);
  record.rdev = LoadLe64(bytes, kRdevOffset);
  record.generation = LoadLe64(bytes, kGenerationOffset);
  record.parent = LoadLe64(bytes, kParentOffset);
  record.atime = LoadTimestamp(bytes, kAtimeOffset);
  record.mtime = LoadTimestamp(bytes, kMtimeOffset);
  record.ctime = LoadTimestamp(bytes, kCtimeOffset);
  record.btime = LoadTimestamp(bytes, kBtimeOffset);
  if (!IsKnownFileType(record.mode)) {
    return MakeError(EUCLEAN, "inode record: mode 0%o has no known file type", record.mode);
  }
  for (const Timestamp* time : {&record.atime, &record.mtime, &record.ctime, &record.btime}) {
    if (!time->valid()) {
      return MakeError(EUCLEAN, "inode record: a timestamp has %d nanoseconds", time->nsec);
    }
  }
  return record;
}

}  // namespace blobfs
