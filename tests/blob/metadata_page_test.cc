// One metadata page: its layout, relinking, root detection and the page-level corruptions.
#include "blob/format/metadata_page.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "blob/crc32c.h"
#include "blob/format/blob_id.h"
#include "blob/format/endian.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

using ::testing::HasSubstr;

// A page of blob 2^32 + 9 with `descriptor_bytes` bytes of 0x5A as its descriptors.
std::vector<std::byte> MakePage(uint32_t descriptor_bytes, uint32_t sequence = 2) {
  std::vector<std::byte> page(kPageSize, std::byte{0xEE});
  std::span<std::byte> area = DescriptorArea(page);
  std::fill(area.begin(), area.begin() + descriptor_bytes, std::byte{0x5A});
  MetadataPageHeader header;
  header.blob_id = BlobIdOfRoot(9);
  header.sync_generation = 77;
  header.sequence = sequence;
  header.descriptor_bytes = descriptor_bytes;
  header.next = 12;
  FinishMetadataPage(header, page);
  return page;
}

void ExpectError(const Result<MetadataPage>& result, const std::string& substring) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), EUCLEAN) << result.error().ToString();
  EXPECT_THAT(result.error().message(), HasSubstr("metadata page 31: " + substring));
}

TEST(MetadataPageTest, LayoutIsFormatMd) {
  std::vector<std::byte> page = MakePage(10);
  EXPECT_EQ(LoadLe64(page, 0), (uint64_t{1} << 32) + 9);
  EXPECT_EQ(LoadLe64(page, 8), 77u);
  EXPECT_EQ(LoadLe32(page, 16), 2u);
  EXPECT_EQ(LoadLe32(page, 20), 10u);
  for (size_t i = 24; i < 34; ++i) EXPECT_EQ(page[i], std::byte{0x5A});
  for (size_t i = 34; i < 4088; ++i) ASSERT_EQ(page[i], std::byte{0}) << i;
  EXPECT_EQ(LoadLe32(page, 4088), 12u);
  EXPECT_EQ(LoadLe32(page, 4092), Crc32c(std::span(page).first(4092)));
  EXPECT_EQ(DescriptorArea(page).data(), page.data() + 24);
  EXPECT_EQ(DescriptorArea(page).size(), kDescriptorAreaSize);
}

TEST(MetadataPageTest, ParsesWhatWasWritten) {
  for (uint32_t bytes : {0u, 1u, 36u, 4063u, 4064u}) {
    std::vector<std::byte> page = MakePage(bytes);
    Result<MetadataPage> parsed = ParseMetadataPage(page, 31);
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
    EXPECT_EQ(parsed->header.blob_id, BlobIdOfRoot(9));
    EXPECT_EQ(parsed->header.sync_generation, 77u);
    EXPECT_EQ(parsed->header.sequence, 2u);
    EXPECT_EQ(parsed->header.descriptor_bytes, bytes);
    EXPECT_EQ(parsed->header.next, 12u);
    EXPECT_EQ(parsed->descriptors.data(), page.data() + 24);
    EXPECT_EQ(parsed->descriptors.size(), bytes);
  }
}

TEST(MetadataPageTest, SetNextRelinksAndKeepsTheCrcValid) {
  std::vector<std::byte> page = MakePage(100);
  SetMetadataPageNext(page, kNoPageIndex);
  Result<MetadataPage> parsed = ParseMetadataPage(page, 31);
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->header.next, kNoPageIndex);
}

TEST(MetadataPageTest, RootPages) {
  MetadataPageHeader header;
  header.blob_id = BlobIdOfRoot(9);
  EXPECT_TRUE(IsRootPage(header, 9));
  EXPECT_FALSE(IsRootPage(header, 8));
  header.sequence = 1;
  EXPECT_FALSE(IsRootPage(header, 9));
  header.sequence = 0;
  header.blob_id = 9;
  EXPECT_FALSE(IsRootPage(header, 9));
}

TEST(MetadataPageTest, BlobIds) {
  EXPECT_EQ(BlobIdOfRoot(0), uint64_t{1} << 32);
  EXPECT_EQ(RootOfBlobId(BlobIdOfRoot(0)), 0u);
  EXPECT_EQ(RootOfBlobId(BlobIdOfRoot(kNoPageIndex - 1)), kNoPageIndex - 1);
  EXPECT_EQ(RootOfBlobId((uint64_t{1} << 32) - 1), std::nullopt);
  EXPECT_EQ(RootOfBlobId(BlobIdOfRoot(0) + kNoPageIndex), std::nullopt);
  EXPECT_EQ(RootOfBlobId(kNoBlobId), std::nullopt);
}

TEST(MetadataPageTest, BadCrc) {
  std::vector<std::byte> page = MakePage(100);
  page[50] ^= std::byte{1};
  ExpectError(ParseMetadataPage(page, 31), "crc");
}

TEST(MetadataPageTest, DescriptorBytesTooLarge) {
  std::vector<std::byte> page = MakePage(100);
  StoreLe32(page, 20, 4065);
  SetMetadataPageNext(page, 12);  // Recomputes the CRC.
  ExpectError(ParseMetadataPage(page, 31), "descriptor_bytes 4065 exceeds 4064");
}

TEST(MetadataPageTest, NonzeroTail) {
  std::vector<std::byte> page = MakePage(100);
  page[24 + 3000] = std::byte{7};
  SetMetadataPageNext(page, 12);
  ExpectError(ParseMetadataPage(page, 31),
              "byte 3000 of the descriptor area is not zero (descriptor_bytes 100)");
}

}  // namespace
}  // namespace blobfs
