// SuperBlock: the byte layout of FORMAT.md, round trips, and one test per rejected field.
#include "blob/format/super_block.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "blob/crc32c.h"
#include "blob/format/endian.h"
#include "blob/format/mask.h"
#include "blob/format/page.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

using ::testing::HasSubstr;

// A store of 1024 clusters of 64 KiB (64 MiB) laid out as mkfs does.
SuperBlock ValidSuperBlock() {
  SuperBlock sb;
  sb.io_unit_size = 512;
  sb.cluster_size = 64 << 10;
  sb.total_clusters = 1024;
  sb.used_page_mask_start = 1;
  sb.used_page_mask_len = 1;
  sb.used_cluster_mask_start = 2;
  sb.used_cluster_mask_len = 1;
  sb.used_blobid_mask_start = 3;
  sb.used_blobid_mask_len = 1;
  sb.md_start = 4;
  sb.md_len = 1000;
  sb.super_blob = BlobIdOfRoot(7);
  std::memcpy(sb.bstype.data(), "blobfs", 6);
  sb.uuid = *Uuid::Parse("0f1e2d3c-4b5a-4978-8796-a5b4c3d2e1f0");
  sb.mount_count = 3;
  return sb;
}

std::vector<std::byte> Encoded(const SuperBlock& sb) {
  std::vector<std::byte> page(kPageSize);
  sb.Encode(page);
  return page;
}

// Recomputes the CRC after a test has changed bytes.
void Reseal(std::vector<std::byte>& page) {
  StoreLe32(page, 4092, Crc32c(std::span(page).first(4092)));
}

void ExpectError(const Result<SuperBlock>& result, int code, const std::string& substring) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), code) << result.error().ToString();
  EXPECT_THAT(result.error().message(), HasSubstr("super block: "));
  EXPECT_THAT(result.error().message(), HasSubstr(substring));
}

// Encodes `sb` (bypassing Encode's check that it is valid) and decodes it.
Result<SuperBlock> DecodeFields(const SuperBlock& sb) {
  std::vector<std::byte> page = Encoded(ValidSuperBlock());
  StoreLe64(page, 16, sb.compat_features);
  StoreLe64(page, 24, sb.ro_compat_features);
  StoreLe64(page, 32, sb.incompat_features);
  StoreLe32(page, 40, sb.state);
  StoreLe32(page, 48, sb.io_unit_size);
  StoreLe32(page, 52, sb.cluster_size);
  StoreLe64(page, 56, sb.total_clusters);
  StoreLe64(page, 64, sb.super_blob);
  StoreLe64(page, 72, sb.md_start);
  StoreLe64(page, 80, sb.md_len);
  StoreLe64(page, 88, sb.used_page_mask_start);
  StoreLe64(page, 96, sb.used_page_mask_len);
  StoreLe64(page, 104, sb.used_cluster_mask_start);
  StoreLe64(page, 112, sb.used_cluster_mask_len);
  StoreLe64(page, 120, sb.used_blobid_mask_start);
  StoreLe64(page, 128, sb.used_blobid_mask_len);
  Reseal(page);
  return SuperBlock::Decode(page);
}

TEST(SuperBlockTest, LayoutIsFormatMd) {
  SuperBlock sb = ValidSuperBlock();
  sb.compat_features = 0;
  sb.state = SuperBlock::kStateClean;
  std::vector<std::byte> page = Encoded(sb);
  EXPECT_EQ(std::memcmp(page.data(), "BLOBSTOR", 8), 0);
  EXPECT_EQ(LoadLe32(page, 8), 1u);
  EXPECT_EQ(LoadLe32(page, 12), 4096u);
  EXPECT_EQ(LoadLe32(page, 40), 1u);
  EXPECT_EQ(LoadLe32(page, 44), 4096u);
  EXPECT_EQ(LoadLe32(page, 48), 512u);
  EXPECT_EQ(LoadLe32(page, 52), 65536u);
  EXPECT_EQ(LoadLe64(page, 56), 1024u);
  EXPECT_EQ(LoadLe64(page, 64), (uint64_t{1} << 32) + 7);
  EXPECT_EQ(LoadLe64(page, 72), 4u);
  EXPECT_EQ(LoadLe64(page, 80), 1000u);
  EXPECT_EQ(LoadLe64(page, 88), 1u);
  EXPECT_EQ(LoadLe64(page, 104), 2u);
  EXPECT_EQ(LoadLe64(page, 120), 3u);
  EXPECT_EQ(std::memcmp(page.data() + 136, "blobfs\0\0\0\0\0\0\0\0\0\0", 16), 0);
  EXPECT_EQ(std::memcmp(page.data() + 152, sb.uuid.bytes.data(), 16), 0);
  EXPECT_EQ(LoadLe64(page, 168), 3u);
  for (size_t i = 176; i < 4092; ++i) ASSERT_EQ(page[i], std::byte{0}) << "reserved byte " << i;
  EXPECT_EQ(LoadLe32(page, 4092), Crc32c(std::span(page).first(4092)));
  // Little-endian: the least significant byte first.
  EXPECT_EQ(page[52], std::byte{0x00});
  EXPECT_EQ(page[54], std::byte{0x01});
}

TEST(SuperBlockTest, RoundTrips) {
  std::mt19937_64 random(7);
  int round_trips = 0;
  for (int i = 0; i < 200; ++i) {
    SuperBlock sb;
    sb.compat_features = random();
    sb.state = random() % 2;
    sb.io_unit_size = 512u << (random() % 4);
    sb.cluster_size = 4096u << (random() % 19);
    sb.total_clusters = 64 + random() % 100000;
    uint64_t pages = sb.total_pages();
    sb.md_len = random() % std::min<uint64_t>(pages / 2, kMaxMetadataPages + 1);
    sb.used_page_mask_len = MaskPages(sb.md_len) + random() % 2;
    sb.used_cluster_mask_len = MaskPages(sb.total_clusters);
    sb.used_blobid_mask_len = MaskPages(sb.md_len);
    // mkfs's order, each region right after the previous.
    sb.used_page_mask_start = 1;
    sb.used_cluster_mask_start = sb.used_page_mask_start + sb.used_page_mask_len;
    sb.used_blobid_mask_start = sb.used_cluster_mask_start + sb.used_cluster_mask_len;
    sb.md_start = sb.used_blobid_mask_start + sb.used_blobid_mask_len;
    if (sb.md_start + sb.md_len > pages) continue;
    sb.super_blob = sb.md_len > 0 && random() % 2 ? BlobIdOfRoot(random() % sb.md_len) : kNoBlobId;
    for (uint8_t& b : sb.bstype) b = static_cast<uint8_t>(random());
    sb.uuid = Uuid::Random();
    sb.mount_count = random();
    ASSERT_TRUE(sb.Validate().ok()) << sb.Validate().error().ToString();
    Result<SuperBlock> decoded = SuperBlock::Decode(Encoded(sb));
    ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
    EXPECT_EQ(*decoded, sb);
    EXPECT_FALSE(decoded->read_only_required());
    ++round_trips;
  }
  EXPECT_GT(round_trips, 150);
}

TEST(SuperBlockTest, CleanFlag) {
  SuperBlock sb = ValidSuperBlock();
  EXPECT_FALSE(sb.clean());
  sb.state = SuperBlock::kStateClean;
  EXPECT_TRUE(sb.clean());
  EXPECT_EQ(sb.total_pages(), 1024u * 16);
}

TEST(SuperBlockTest, BadCrc) {
  std::vector<std::byte> page = Encoded(ValidSuperBlock());
  page[100] ^= std::byte{0x10};
  ExpectError(SuperBlock::Decode(page), EUCLEAN, "crc");
}

TEST(SuperBlockTest, FlippedMagic) {
  std::vector<std::byte> page = Encoded(ValidSuperBlock());
  page[3] ^= std::byte{0x01};
  Reseal(page);
  ExpectError(SuperBlock::Decode(page), EUCLEAN, "magic");
}

TEST(SuperBlockTest, ZeroedPageIsNotABlobStore) {
  std::vector<std::byte> page(kPageSize);
  ExpectError(SuperBlock::Decode(page), EUCLEAN, "not a blob store");
}

TEST(SuperBlockTest, NewerVersionIsRefusedEvenWithAnotherCrcPlacement) {
  std::vector<std::byte> page = Encoded(ValidSuperBlock());
  StoreLe32(page, 8, 2);
  ExpectError(SuperBlock::Decode(page), EOPNOTSUPP, "newer blobfs");
  Reseal(page);
  ExpectError(SuperBlock::Decode(page), EOPNOTSUPP, "version 2");
}

TEST(SuperBlockTest, VersionZero) {
  std::vector<std::byte> page = Encoded(ValidSuperBlock());
  StoreLe32(page, 8, 0);
  Reseal(page);
  ExpectError(SuperBlock::Decode(page), EUCLEAN, "version 0");
}

TEST(SuperBlockTest, SuperSizeAndPageSize) {
  std::vector<std::byte> page = Encoded(ValidSuperBlock());
  StoreLe32(page, 12, 8192);
  Reseal(page);
  ExpectError(SuperBlock::Decode(page), EUCLEAN, "super_size 8192");
  page = Encoded(ValidSuperBlock());
  StoreLe32(page, 44, 512);
  Reseal(page);
  ExpectError(SuperBlock::Decode(page), EUCLEAN, "page_size 512");
}

TEST(SuperBlockTest, UnknownIncompatFeatureIsRefused) {
  SuperBlock sb = ValidSuperBlock();
  sb.incompat_features = 4;
  ExpectError(DecodeFields(sb), EOPNOTSUPP, "incompat_features 0x4");
  EXPECT_EQ(sb.Validate().error().code(), EOPNOTSUPP);
}

TEST(SuperBlockTest, UnknownRoCompatFeatureAsksForReadOnly) {
  SuperBlock sb = ValidSuperBlock();
  sb.ro_compat_features = 1 << 5;
  Result<SuperBlock> decoded = DecodeFields(sb);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_TRUE(decoded->read_only_required());
  EXPECT_EQ(decoded->ro_compat_features, 1u << 5);
}

TEST(SuperBlockTest, UnknownCompatFeatureIsIgnored) {
  SuperBlock sb = ValidSuperBlock();
  sb.compat_features = uint64_t{1} << 63;
  Result<SuperBlock> decoded = DecodeFields(sb);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_FALSE(decoded->read_only_required());
}

TEST(SuperBlockTest, ReservedBytesAreZeroUnlessAnUnknownFeatureMayUseThem) {
  std::vector<std::byte> page = Encoded(ValidSuperBlock());
  page[2000] = std::byte{1};
  Reseal(page);
  ExpectError(SuperBlock::Decode(page), EUCLEAN, "reserved byte 2000");
  StoreLe64(page, 16, 1);  // An unknown compat feature.
  Reseal(page);
  EXPECT_TRUE(SuperBlock::Decode(page).ok());
  StoreLe64(page, 16, 0);
  StoreLe64(page, 24, 1);  // An unknown ro_compat feature.
  Reseal(page);
  EXPECT_TRUE(SuperBlock::Decode(page).ok());
}

TEST(SuperBlockTest, UndefinedStateBits) {
  SuperBlock sb = ValidSuperBlock();
  sb.state = 3;
  ExpectError(DecodeFields(sb), EUCLEAN, "state 0x3");
}

TEST(SuperBlockTest, IoUnitSize) {
  for (uint32_t size : {0u, 256u, 513u, 8192u}) {
    SuperBlock sb = ValidSuperBlock();
    sb.io_unit_size = size;
    ExpectError(DecodeFields(sb), EUCLEAN, "io_unit_size " + std::to_string(size));
  }
}

TEST(SuperBlockTest, ClusterSize) {
  for (uint32_t size : {0u, 2048u, 3u * 4096, (1u << 31)}) {
    SuperBlock sb = ValidSuperBlock();
    sb.cluster_size = size;
    ExpectError(DecodeFields(sb), EUCLEAN, "cluster_size " + std::to_string(size));
  }
  SuperBlock sb = ValidSuperBlock();
  sb.cluster_size = 1u << 30;
  EXPECT_TRUE(DecodeFields(sb).ok());
}

TEST(SuperBlockTest, StoreLargerThan2To64Bytes) {
  SuperBlock sb = ValidSuperBlock();
  sb.total_clusters = uint64_t{1} << 48;  // × 64 KiB = 2^64.
  ExpectError(DecodeFields(sb), EUCLEAN, "exceeds 2^64 bytes");
}

TEST(SuperBlockTest, MdLenAbove2To32) {
  SuperBlock sb = ValidSuperBlock();
  sb.cluster_size = 1 << 30;
  sb.total_clusters = 100000;
  sb.md_len = 5000000000;
  ExpectError(DecodeFields(sb), EUCLEAN, "md_len 5000000000 exceeds 2^32-1");
}

TEST(SuperBlockTest, SuperBlobOutsideTheMetadataRegion) {
  for (uint64_t id : {uint64_t{0}, uint64_t{7}, BlobIdOfRoot(1000), kNoBlobId - 1}) {
    SuperBlock sb = ValidSuperBlock();
    sb.super_blob = id;
    ExpectError(DecodeFields(sb), EUCLEAN, "super_blob");
  }
  SuperBlock sb = ValidSuperBlock();
  sb.super_blob = kNoBlobId;
  EXPECT_TRUE(DecodeFields(sb).ok());
}

TEST(SuperBlockTest, MaskTooShortForItsBits) {
  SuperBlock sb = ValidSuperBlock();
  sb.md_len = 40000;  // 5000 bytes of bits: two pages.
  sb.md_start = 10;
  ExpectError(DecodeFields(sb), EUCLEAN, "used_page_mask_len 1 is too short");
  sb.used_page_mask_len = 2;
  sb.used_cluster_mask_start = 3;
  sb.used_blobid_mask_start = 4;
  ExpectError(DecodeFields(sb), EUCLEAN, "used_blobid_mask_len 1 is too short");
  sb = ValidSuperBlock();
  sb.used_cluster_mask_len = 0;
  ExpectError(DecodeFields(sb), EUCLEAN, "used_cluster_mask_len 0 is too short");
}

TEST(SuperBlockTest, RegionPastTheEndOfTheStore) {
  SuperBlock sb = ValidSuperBlock();
  sb.md_len = sb.total_pages() - sb.md_start + 1;
  ExpectError(DecodeFields(sb), EUCLEAN, "metadata region");
  sb = ValidSuperBlock();
  sb.used_cluster_mask_start = UINT64_MAX;  // start + len wraps around.
  ExpectError(DecodeFields(sb), EUCLEAN, "used cluster mask");
  sb = ValidSuperBlock();
  sb.total_clusters = 0;
  ExpectError(DecodeFields(sb), EUCLEAN, "super block (start page 0, 1 pages) ends past");
}

TEST(SuperBlockTest, OverlappingRegions) {
  SuperBlock sb = ValidSuperBlock();
  sb.md_start = 3;
  ExpectError(DecodeFields(sb), EUCLEAN,
              "used blob id mask [3, 4) overlaps metadata region [3, 1003)");
  sb = ValidSuperBlock();
  sb.used_page_mask_start = 0;
  ExpectError(DecodeFields(sb), EUCLEAN, "super block [0, 1) overlaps used page mask");
  sb = ValidSuperBlock();
  sb.used_cluster_mask_start = 500;
  ExpectError(DecodeFields(sb), EUCLEAN, "used cluster mask [500, 501) overlaps metadata region");
  sb = ValidSuperBlock();
  sb.used_blobid_mask_start = 1;
  ExpectError(DecodeFields(sb), EUCLEAN, "used page mask [1, 2) overlaps used blob id mask");
}

TEST(SuperBlockTest, AnyPlacementInsideTheStoreIsAccepted) {
  SuperBlock sb = ValidSuperBlock();
  sb.md_start = 1;
  sb.used_blobid_mask_start = 2000;
  sb.used_cluster_mask_start = 1500;
  sb.used_page_mask_start = sb.total_pages() - 1;
  Result<SuperBlock> decoded = DecodeFields(sb);
  ASSERT_TRUE(decoded.ok()) << decoded.error().ToString();
  EXPECT_EQ(*decoded, sb);
}

}  // namespace
}  // namespace blobfs
