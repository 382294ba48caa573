// Masks: layout, round trips at page-boundary bit counts, and each rejected corruption.
#include "blob/format/mask.h"

#include <cerrno>
#include <random>
#include <string>
#include <vector>

#include "blob/crc32c.h"
#include "blob/format/endian.h"
#include "blob/format/page.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

using ::testing::HasSubstr;

constexpr uint64_t kBitsPerFirstPage = (kPageSize - 16) * 8;

std::vector<std::byte> RandomBits(uint64_t bit_count, uint64_t seed) {
  std::mt19937_64 random(seed);
  std::vector<std::byte> bits((bit_count + 7) / 8);
  for (std::byte& b : bits) b = std::byte(random());
  return bits;
}

std::vector<std::byte> Encoded(MaskKind kind, std::span<const std::byte> bits, uint64_t bit_count,
                               uint64_t pages) {
  std::vector<std::byte> run(pages * kPageSize, std::byte{0xAA});
  EncodeMask(kind, bits, bit_count, run);
  return run;
}

void ExpectError(const Result<std::span<const std::byte>>& result, const std::string& substring) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), EUCLEAN) << result.error().ToString();
  EXPECT_THAT(result.error().message(), HasSubstr(substring));
}

TEST(MaskTest, PagesNeeded) {
  EXPECT_EQ(MaskPages(0), 1u);
  EXPECT_EQ(MaskPages(1), 1u);
  EXPECT_EQ(MaskPages(kBitsPerFirstPage), 1u);
  EXPECT_EQ(MaskPages(kBitsPerFirstPage + 1), 2u);
  EXPECT_EQ(MaskPages(kBitsPerFirstPage + kPageSize * 8), 2u);
  EXPECT_EQ(MaskPages(kBitsPerFirstPage + kPageSize * 8 + 1), 3u);
  EXPECT_EQ(MaskPages(UINT64_MAX), (UINT64_MAX / 8 + 1 + 16) / kPageSize + 1);
}

TEST(MaskTest, LayoutIsFormatMd) {
  std::vector<std::byte> bits = {std::byte{0x05}, std::byte{0x81}, std::byte{0x03}};
  std::vector<std::byte> run = Encoded(MaskKind::kUsedClusters, bits, 18, 1);
  EXPECT_EQ(LoadLe32(run, 0), 2u);
  EXPECT_EQ(LoadLe64(run, 8), 18u);
  EXPECT_EQ(run[16], std::byte{0x05});
  EXPECT_EQ(run[17], std::byte{0x81});
  EXPECT_EQ(run[18], std::byte{0x03});
  EXPECT_EQ(LoadLe32(run, 4), Crc32c(std::span(run).subspan(16, 3)));
  for (size_t i = 19; i < run.size(); ++i) ASSERT_EQ(run[i], std::byte{0}) << i;
}

TEST(MaskTest, RoundTrips) {
  for (uint64_t bit_count :
       {uint64_t{0}, uint64_t{1}, uint64_t{7}, uint64_t{8}, uint64_t{9}, kBitsPerFirstPage - 1,
        kBitsPerFirstPage, kBitsPerFirstPage + 1, uint64_t{1000003}}) {
    std::vector<std::byte> bits = RandomBits(bit_count, bit_count);
    for (MaskKind kind : {MaskKind::kUsedPages, MaskKind::kUsedClusters, MaskKind::kUsedBlobIds}) {
      for (uint64_t extra_pages : {0, 2}) {
        std::vector<std::byte> run =
            Encoded(kind, bits, bit_count, MaskPages(bit_count) + extra_pages);
        Result<std::span<const std::byte>> decoded = DecodeMask(run, kind, bit_count);
        ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
        ASSERT_EQ(decoded->size(), bits.size());
        // Bits past bit_count are dropped; all others survive.
        std::vector<std::byte> expected = bits;
        if (bit_count % 8 != 0) expected.back() &= std::byte(0xFF >> (8 - bit_count % 8));
        EXPECT_TRUE(std::equal(decoded->begin(), decoded->end(), expected.begin()))
            << bit_count << " bits";
      }
    }
  }
}

TEST(MaskTest, AcceptsALongerBitBuffer) {
  std::vector<std::byte> bits(16, std::byte{0xFF});  // BitArray words may be longer.
  std::vector<std::byte> run = Encoded(MaskKind::kUsedPages, bits, 12, 1);
  Result<std::span<const std::byte>> decoded = DecodeMask(run, MaskKind::kUsedPages, 12);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[0], std::byte{0xFF});
  EXPECT_EQ((*decoded)[1], std::byte{0x0F});
}

TEST(MaskTest, WrongKind) {
  std::vector<std::byte> bits = RandomBits(100, 1);
  std::vector<std::byte> run = Encoded(MaskKind::kUsedPages, bits, 100, 1);
  ExpectError(DecodeMask(run, MaskKind::kUsedBlobIds, 100),
              "used blob id mask: kind 1, expected 3");
}

TEST(MaskTest, WrongBitCount) {
  std::vector<std::byte> bits = RandomBits(100, 1);
  std::vector<std::byte> run = Encoded(MaskKind::kUsedClusters, bits, 100, 1);
  ExpectError(DecodeMask(run, MaskKind::kUsedClusters, 101),
              "used cluster mask: bit_count 100, expected 101");
}

TEST(MaskTest, BadCrc) {
  uint64_t bit_count = kBitsPerFirstPage + 5000;
  std::vector<std::byte> bits = RandomBits(bit_count, 2);
  std::vector<std::byte> run = Encoded(MaskKind::kUsedPages, bits, bit_count, 2);
  run[kPageSize + 10] ^= std::byte{0x40};  // A bit on the second page.
  ExpectError(DecodeMask(run, MaskKind::kUsedPages, bit_count), "used page mask: crc");
}

TEST(MaskTest, BitPastBitCount) {
  std::vector<std::byte> bits = RandomBits(13, 3);
  std::vector<std::byte> run = Encoded(MaskKind::kUsedPages, bits, 13, 1);
  run[17] |= std::byte{0x80};
  StoreLe32(run, 4, Crc32c(std::span(run).subspan(16, 2)));
  ExpectError(DecodeMask(run, MaskKind::kUsedPages, 13), "bits past bit_count 13 are set");
}

TEST(MaskTest, NonzeroByteAfterTheBits) {
  std::vector<std::byte> bits = RandomBits(16, 4);
  std::vector<std::byte> run = Encoded(MaskKind::kUsedClusters, bits, 16, 2);
  run[kPageSize + 100] = std::byte{1};
  ExpectError(DecodeMask(run, MaskKind::kUsedClusters, 16),
              "byte " + std::to_string(kPageSize + 100) + " after the bits is not zero");
}

TEST(MaskTest, RunTooShort) {
  uint64_t bit_count = kBitsPerFirstPage + 1;
  std::vector<std::byte> run(kPageSize);
  ExpectError(DecodeMask(run, MaskKind::kUsedClusters, bit_count),
              "bits need 2 pages, the run has 1");
  ExpectError(DecodeMask({}, MaskKind::kUsedClusters, 0), "0 bits need 1 pages, the run has 0");
}

}  // namespace
}  // namespace blobfs
