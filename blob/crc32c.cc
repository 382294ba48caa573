#include "blob/crc32c.h"

#include <isa-l/crc.h>

#include <algorithm>

namespace blobfs {

uint32_t Crc32c(std::span<const std::byte> bytes) { return Crc32cExtend(0, bytes); }

uint32_t Crc32cExtend(uint32_t previous, std::span<const std::byte> bytes) {
  // ISA-L's crc32_iscsi neither inverts its initial value nor its result, so the register starts
  // at the previous CRC inverted (0xFFFFFFFF for none) and is inverted at the end; its length is
  // an int, so long inputs go in chunks.
  constexpr size_t kMaxChunk = size_t{1} << 30;
  uint32_t crc = previous ^ 0xFFFFFFFF;
  while (!bytes.empty()) {
    size_t chunk = std::min(bytes.size(), kMaxChunk);
    // crc32_iscsi only reads the buffer; its parameter is not const-qualified.
    auto* data = reinterpret_cast<unsigned char*>(const_cast<std::byte*>(bytes.data()));
    crc = crc32_iscsi(data, static_cast<int>(chunk), crc);
    bytes = bytes.subspan(chunk);
  }
  return crc ^ 0xFFFFFFFF;
}

}  // namespace blobfs
