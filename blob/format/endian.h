// Little-endian, unaligned integer fields of on-disk structures.
//
// Contract: LoadLe16/32/64(bytes, offset) read the integer stored least significant byte first at
// bytes[offset, offset + width); StoreLe16/32/64 write one there. The field must lie inside the
// span (checked in debug builds). The result does not depend on the host's byte order.
#ifndef BLOBFS_BLOB_FORMAT_ENDIAN_H_
#define BLOBFS_BLOB_FORMAT_ENDIAN_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "glog/logging.h"

namespace blobfs {
namespace endian_internal {

template <typename Unsigned>
Unsigned Load(std::span<const std::byte> bytes, size_t offset) {
  DCHECK_LE(offset + sizeof(Unsigned), bytes.size());
  Unsigned value = 0;
  for (size_t i = 0; i < sizeof(Unsigned); ++i) {
    value |= static_cast<Unsigned>(std::to_integer<uint8_t>(bytes[offset + i])) << (8 * i);
  }
  return value;
}

template <typename Unsigned>
void Store(std::span<std::byte> bytes, size_t offset, Unsigned value) {
  DCHECK_LE(offset + sizeof(Unsigned), bytes.size());
  for (size_t i = 0; i < sizeof(Unsigned); ++i) {
    bytes[offset + i] = static_cast<std::byte>(value >> (8 * i));
  }
}

}  // namespace endian_internal

inline uint16_t LoadLe16(std::span<const std::byte> bytes, size_t offset) {
  return endian_internal::Load<uint16_t>(bytes, offset);
}
inline uint32_t LoadLe32(std::span<const std::byte> bytes, size_t offset) {
  return endian_internal::Load<uint32_t>(bytes, offset);
}
inline uint64_t LoadLe64(std::span<const std::byte> bytes, size_t offset) {
  return endian_internal::Load<uint64_t>(bytes, offset);
}

inline void StoreLe16(std::span<std::byte> bytes, size_t offset, uint16_t value) {
  endian_internal::Store(bytes, offset, value);
}
inline void StoreLe32(std::span<std::byte> bytes, size_t offset, uint32_t value) {
  endian_internal::Store(bytes, offset, value);
}
inline void StoreLe64(std::span<std::byte> bytes, size_t offset, uint64_t value) {
  endian_internal::Store(bytes, offset, value);
}

}  // namespace blobfs

#endif  // BLOBFS_BLOB_FORMAT_ENDIAN_H_
