// Little-endian fields of blobfs records kept in std::string xattr values: the blob layer's
// LoadLe/StoreLe (blob/format/endian.h) over a string's bytes, plus 16-byte timestamps.
#ifndef BLOBFS_BLOBFS_FORMAT_RECORD_BYTES_H_
#define BLOBFS_BLOBFS_FORMAT_RECORD_BYTES_H_

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

#include "blob/format/endian.h"
#include "blobfs/format/timestamp.h"

namespace blobfs {

inline std::span<std::byte> BytesOf(std::string& text) {
  return std::as_writable_bytes(std::span<char>(text.data(), text.size()));
}
inline std::span<const std::byte> BytesOf(std::string_view text) {
  return std::as_bytes(std::span<const char>(text.data(), text.size()));
}

inline void StoreTimestamp(std::span<std::byte> bytes, size_t offset, Timestamp time) {
  StoreLe64(bytes, offset, static_cast<uint64_t>(time.sec));
  StoreLe32(bytes, offset + 8, time.nsec);
  StoreLe32(bytes, offset + 12, 0);
}
inline Timestamp LoadTimestamp(std::span<const std::byte> bytes, size_t offset) {
  return {static_cast<int64_t>(LoadLe64(bytes, offset)), LoadLe32(bytes, offset + 8)};
}

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_FORMAT_RECORD_BYTES_H_
