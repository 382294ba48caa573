#include "blob/format/mask.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string_view>

#include "blob/crc32c.h"
#include "blob/format/endian.h"
#include "blob/format/page.h"

namespace blobfs {
namespace {

constexpr size_t kKindOffset = 0;
constexpr size_t kCrcOffset = 4;
constexpr size_t kBitCountOffset = 8;
constexpr size_t kBitsOffset = 16;

std::string_view MaskName(MaskKind kind) {
  switch (kind) {
    case MaskKind::kUsedPages:
      return "used page mask";
    case MaskKind::kUsedClusters:
      return "used cluster mask";
    case MaskKind::kUsedBlobIds:
      return "used blob id mask";
  }
  LOG(FATAL) << "mask kind " << static_cast<uint32_t>(kind);
}

uint64_t BitBytes(uint64_t bit_count) { return bit_count / 8 + (bit_count % 8 != 0); }

// The bits of the last byte that lie past bit_count (0 when bit_count is a multiple of 8).
uint8_t TailBits(uint64_t bit_count) {
  return bit_count % 8 == 0 ? 0 : static_cast<uint8_t>(0xFF << (bit_count % 8));
}

}  // namespace

uint64_t MaskPages(uint64_t bit_count) {
  uint64_t bytes = kBitsOffset + BitBytes(bit_count);
  return bytes / kPageSize + (bytes % kPageSize != 0);
}

void EncodeMask(MaskKind kind, std::span<const std::byte> bits, uint64_t bit_count,
                std::span<std::byte> pages) {
  uint64_t bit_bytes = BitBytes(bit_count);
  CHECK_GE(bits.size(), bit_bytes) << MaskName(kind) << ": " << bit_count << " bits";
  CHECK_EQ(pages.size() % kPageSize, 0u) << MaskName(kind);
  CHECK_GE(pages.size() / kPageSize, MaskPages(bit_count)) << MaskName(kind);
  std::span<std::byte> bit_area = pages.subspan(kBitsOffset, bit_bytes);
  if (bit_bytes != 0) {
    std::memcpy(bit_area.data(), bits.data(), bit_bytes);
    bit_area.back() &= ~static_cast<std::byte>(TailBits(bit_count));
  }
  std::fill(pages.begin() + kBitsOffset + bit_bytes, pages.end(), std::byte{0});
  StoreLe32(pages, kKindOffset, static_cast<uint32_t>(kind));
  StoreLe32(pages, kCrcOffset, Crc32c(bit_area));
  StoreLe64(pages, kBitCountOffset, bit_count);
}

Result<std::span<const std::byte>> DecodeMask(std::span<const std::byte> pages, MaskKind kind,
                                              uint64_t bit_count) {
  CHECK_EQ(pages.size() % kPageSize, 0u) << MaskName(kind);
  std::string_view name = MaskName(kind);
  uint64_t bit_bytes = BitBytes(bit_count);
  if (pages.size() < kBitsOffset + bit_bytes) {
    return MakeError(EUCLEAN, "%s: %d bits need %d pages, the run has %d", name, bit_count,
                     MaskPages(bit_count), pages.size() / kPageSize);
  }
  uint32_t found_kind = LoadLe32(pages, kKindOffset);
  if (found_kind != static_cast<uint32_t>(kind)) {
    return MakeError(EUCLEAN, "%s: kind %d, expected %d", name, found_kind,
                     static_cast<uint32_t>(kind));
  }
  uint64_t found_bit_count = LoadLe64(pages, kBitCountOffset);
  if (found_bit_count != bit_count) {
    return MakeError(EUCLEAN, "%s: bit_count %d, expected %d", name, found_bit_count, bit_count);
  }
  std::span<const std::byte> bit_area = pages.subspan(kBitsOffset, bit_bytes);
  uint32_t crc = Crc32c(bit_area);
  uint32_t found_crc = LoadLe32(pages, kCrcOffset);
  if (found_crc != crc) {
    return MakeError(EUCLEAN, "%s: crc 0x%08x does not match its bits (crc 0x%08x)", name,
                     found_crc, crc);
  }
  if (bit_bytes != 0 && (std::to_integer<uint8_t>(bit_area.back()) & TailBits(bit_count)) != 0) {
    return MakeError(EUCLEAN, "%s: bits past bit_count %d are set (last byte 0x%02x)", name,
                     bit_count, std::to_integer<uint8_t>(bit_area.back()));
  }
  auto tail = pages.subspan(kBitsOffset + bit_bytes);
  auto nonzero =
      std::find_if(tail.begin(), tail.end(), [](std::byte b) { return b != std::byte{0}; });
  if (nonzero != tail.end()) {
    return MakeError(EUCLEAN, "%s: byte %d after the bits is not zero", name,
                     kBitsOffset + bit_bytes + (nonzero - tail.begin()));
  }
  return bit_area;
}

}  // namespace blobfs
