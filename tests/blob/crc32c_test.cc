// Crc32c against the standard test vectors and a bit-at-a-time reference.
#include "blob/crc32c.h"

#include <cstddef>
#include <cstdint>
#include <random>
#include <string_view>
#include <vector>

#include "gtest/gtest.h"

namespace blobfs {
namespace {

std::span<const std::byte> Bytes(std::string_view text) { return std::as_bytes(std::span(text)); }

// CRC-32C one bit at a time, straight from the definition.
uint32_t ReferenceCrc32c(std::span<const std::byte> bytes) {
  uint32_t crc = 0xFFFFFFFF;
  for (std::byte b : bytes) {
    crc ^= std::to_integer<uint8_t>(b);
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ ((crc & 1) ? 0x82F63B78 : 0);
  }
  return crc ^ 0xFFFFFFFF;
}

TEST(Crc32cTest, CheckValue) { EXPECT_EQ(Crc32c(Bytes("123456789")), 0xE3069283u); }

TEST(Crc32cTest, EmptyInputIsZero) { EXPECT_EQ(Crc32c({}), 0u); }

// RFC 3720 (iSCSI), appendix B.4.
TEST(Crc32cTest, Rfc3720Vectors) {
  std::vector<std::byte> zeros(32, std::byte{0});
  std::vector<std::byte> ones(32, std::byte{0xFF});
  std::vector<std::byte> ascending(32);
  std::vector<std::byte> descending(32);
  for (size_t i = 0; i < 32; ++i) {
    ascending[i] = std::byte(i);
    descending[i] = std::byte(31 - i);
  }
  EXPECT_EQ(Crc32c(zeros), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(Crc32c(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc32c(descending), 0x113FDB5Cu);
}

TEST(Crc32cTest, MatchesTheReferenceAtEveryLengthAndAlignment) {
  std::mt19937_64 random(1);
  std::vector<std::byte> data(70000);
  for (std::byte& b : data) b = std::byte(random());
  for (size_t offset : {0, 1, 3, 7}) {
    for (size_t length : {1, 2, 3, 4, 7, 8, 15, 16, 63, 64, 255, 256, 1000, 4092, 4096, 65536}) {
      auto slice = std::span(data).subspan(offset, length);
      EXPECT_EQ(Crc32c(slice), ReferenceCrc32c(slice))
          << "offset " << offset << " length " << length;
    }
  }
}

TEST(Crc32cTest, ExtendContinuesOverPieces) {
  std::mt19937_64 random(2);
  std::vector<std::byte> data(9000);
  for (std::byte& b : data) b = std::byte(random());
  const std::span<const std::byte> all(data);
  for (size_t cut : {0, 1, 511, 4096, 8999, 9000}) {
    EXPECT_EQ(Crc32cExtend(Crc32c(all.first(cut)), all.subspan(cut)), Crc32c(all)) << cut;
  }
  EXPECT_EQ(Crc32cExtend(0, all), Crc32c(all));
}

}  // namespace
}  // namespace blobfs
