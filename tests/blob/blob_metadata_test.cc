// A blob's metadata chain: round trips (large xattrs, thousands of extents, many pages) and one
// test per corruption ParseChain must refuse.
#include "blob/format/blob_metadata.h"

#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "blob/format/blob_id.h"
#include "blob/format/endian.h"
#include "blob/format/metadata_page.h"
#include "blob/format/page.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

using ::testing::HasSubstr;

constexpr uint32_t kRoot = 40;
constexpr uint64_t kTotalClusters = 1 << 20;

// A chain as a loader would hand it to ParseChain.
struct TestChain {
  std::vector<AlignedBuffer> pages;
  std::vector<uint32_t> indices;

  Result<BlobMetadata> Parse(uint64_t total_clusters = kTotalClusters) const {
    std::vector<ChainPage> chain;
    for (size_t i = 0; i < pages.size(); ++i) chain.push_back({indices[i], pages[i].span()});
    return ParseChain(chain, total_clusters);
  }

  // Recomputes page i's CRC after a test changed its bytes.
  void Reseal(size_t i) { SetMetadataPageNext(pages[i].span(), LoadLe32(pages[i].span(), 4088)); }
};

// Serializes and links `metadata` at the root's index, then scattered pages after it.
TestChain Serialized(const BlobMetadata& metadata) {
  TestChain chain;
  chain.pages = SerializeBlob(metadata);
  uint32_t root = *RootOfBlobId(metadata.blob_id);
  for (size_t i = 0; i < chain.pages.size(); ++i) {
    chain.indices.push_back(i == 0 ? root : static_cast<uint32_t>(root + 1000 + 7 * i));
  }
  LinkChain(chain.pages, chain.indices);
  return chain;
}

// --- Descriptors built by hand, so that tests can write what SerializeBlob never would. ---

using Bytes = std::vector<std::byte>;

Bytes RawDescriptorBytes(uint16_t type, const Bytes& body) {
  Bytes bytes(kDescriptorHeaderSize + body.size());
  StoreLe16(bytes, 0, type);
  StoreLe16(bytes, 2, static_cast<uint16_t>(body.size()));
  std::copy(body.begin(), body.end(), bytes.begin() + kDescriptorHeaderSize);
  return bytes;
}

Bytes Flags(uint64_t num_clusters) {
  Bytes bytes(FlagsSize());
  DescriptorWriter(bytes).AddFlags({.num_clusters = num_clusters});
  return bytes;
}

Bytes Extents(const std::vector<ExtentRun>& runs) {
  Bytes bytes(ExtentsSize(runs.size()));
  DescriptorWriter(bytes).AddExtents(runs);
  return bytes;
}

Bytes Xattr(std::string_view name, uint32_t value_length, uint32_t offset, std::string_view part,
            DescriptorType type = DescriptorType::kXattr) {
  Bytes bytes(XattrFragmentSize(name.size(), part.size()));
  DescriptorWriter(bytes).AddXattrFragment(
      type, {.name = name, .value_length = value_length, .fragment_offset = offset, .bytes = part});
  return bytes;
}

// A chain of blob 2^32 + kRoot, generation 5, at indices kRoot, 3, 4, ...: page i holds the
// descriptors page_descriptors[i], one after the other.
TestChain Chain(const std::vector<std::vector<Bytes>>& page_descriptors) {
  TestChain chain;
  for (size_t i = 0; i < page_descriptors.size(); ++i) {
    AlignedBuffer& page = chain.pages.emplace_back(kPageSize, kPageSize);
    std::span<std::byte> area = DescriptorArea(page.span());
    size_t used = 0;
    for (const Bytes& descriptor : page_descriptors[i]) {
      std::copy(descriptor.begin(), descriptor.end(), area.begin() + used);
      used += descriptor.size();
    }
    MetadataPageHeader header;
    header.blob_id = BlobIdOfRoot(kRoot);
    header.sync_generation = 5;
    header.sequence = static_cast<uint32_t>(i);
    header.descriptor_bytes = static_cast<uint32_t>(used);
    FinishMetadataPage(header, page.span());
    chain.indices.push_back(i == 0 ? kRoot : static_cast<uint32_t>(i + 2));
  }
  LinkChain(chain.pages, chain.indices);
  return chain;
}

void ExpectCorrupt(const Result<BlobMetadata>& result, const std::string& substring) {
  ASSERT_FALSE(result.ok()) << "parsed, expected: " << substring;
  EXPECT_EQ(result.error().code(), EUCLEAN) << result.error().ToString();
  EXPECT_THAT(result.error().message(), HasSubstr(substring));
}

// --- Random valid metadata. ---

std::string RandomName(std::mt19937_64& random) {
  std::string name(1 + random() % 255, ' ');
  for (char& c : name) c = static_cast<char>(1 + random() % 255);
  return name;
}

std::string RandomValue(std::mt19937_64& random, size_t size) {
  std::string value(size, ' ');
  for (char& c : value) c = static_cast<char>(random());
  return value;
}

std::vector<ExtentRun> RandomExtents(std::mt19937_64& random, size_t count, uint64_t& end) {
  std::vector<ExtentRun> runs;
  uint64_t logical = random() % 4;
  for (size_t i = 0; i < count; ++i) {
    ExtentRun run{.logical = logical,
                  .physical = random() % (kTotalClusters - 1000),
                  .count = static_cast<uint32_t>(1 + random() % 300)};
    runs.push_back(run);
    logical = run.logical + run.count + random() % 3;
  }
  end = logical;
  return runs;
}

BlobMetadata RandomMetadata(std::mt19937_64& random, size_t xattrs, size_t runs) {
  BlobMetadata metadata;
  metadata.blob_id = BlobIdOfRoot(static_cast<uint32_t>(random() % 100000));
  metadata.sync_generation = random();
  metadata.invalid_flags = random() % 2;
  metadata.data_ro_flags = random() % 4;
  metadata.md_ro_flags = random() % 2 ? random() : 0;
  uint64_t end = 0;
  metadata.extents = RandomExtents(random, runs, end);
  metadata.num_clusters = end + random() % 10;
  for (size_t i = 0; i < xattrs; ++i) {
    size_t size = random() % 4 == 0 ? random() % (kMaxXattrValueLength + 1) : random() % 100;
    auto& kind = random() % 2 ? metadata.xattrs : metadata.internal_xattrs;
    kind[RandomName(random)] = RandomValue(random, size);
  }
  return metadata;
}

// --- Round trips. ---

TEST(BlobMetadataTest, SmallestBlobIsOnePage) {
  BlobMetadata metadata;
  metadata.blob_id = BlobIdOfRoot(kRoot);
  TestChain chain = Serialized(metadata);
  ASSERT_EQ(chain.pages.size(), 1u);
  Result<MetadataPage> page = ParseMetadataPage(chain.pages[0].span(), kRoot);
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->header.descriptor_bytes, FlagsSize());
  EXPECT_EQ(page->header.next, kNoPageIndex);
  EXPECT_TRUE(IsRootPage(page->header, kRoot));
  Result<BlobMetadata> parsed = chain.Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, metadata);
}

TEST(BlobMetadataTest, RandomRoundTrips) {
  std::mt19937_64 random(11);
  for (int i = 0; i < 100; ++i) {
    BlobMetadata metadata = RandomMetadata(random, random() % 20, random() % 1000);
    TestChain chain = Serialized(metadata);
    Result<BlobMetadata> parsed = chain.Parse();
    ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
    ASSERT_EQ(*parsed, metadata) << "iteration " << i;
  }
}

TEST(BlobMetadataTest, LargeXattrsAndThousandsOfExtents) {
  std::mt19937_64 random(12);
  BlobMetadata metadata = RandomMetadata(random, 0, 5000);
  metadata.xattrs[std::string(255, 'x')] = RandomValue(random, kMaxXattrValueLength);
  metadata.xattrs["empty"] = "";
  metadata.xattrs["small"] = "v";
  metadata.internal_xattrs["big"] = RandomValue(random, kMaxXattrValueLength);
  metadata.internal_xattrs[std::string(255, 'x')] = RandomValue(random, 65535);
  TestChain chain = Serialized(metadata);
  // 3 × 64 KiB of values and 100 KB of runs: at least 73 pages, and nearly full ones.
  EXPECT_GE(chain.pages.size(), 73u);
  EXPECT_LE(chain.pages.size(), 76u);
  Result<BlobMetadata> parsed = chain.Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(*parsed, metadata);
}

TEST(BlobMetadataTest, ExtentsFillPagesExactly) {
  std::mt19937_64 random(13);
  BlobMetadata metadata = RandomMetadata(random, 0, 5000);
  TestChain chain = Serialized(metadata);
  // The root holds FLAGS and 201 runs, every other page 203 runs (4 + 203 × 20 = 4064 bytes).
  EXPECT_EQ(chain.pages.size(), 1 + (5000 - 201 + 202) / 203);
  Result<MetadataPage> second = ParseMetadataPage(chain.pages[1].span(), chain.indices[1]);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->header.descriptor_bytes, kDescriptorAreaSize);
  EXPECT_EQ(second->header.sequence, 1u);
}

TEST(BlobMetadataTest, DescriptorsComeInFormatMdOrder) {
  std::mt19937_64 random(14);
  BlobMetadata metadata = RandomMetadata(random, 30, 3000);
  TestChain chain = Serialized(metadata);
  std::vector<uint16_t> types;
  for (size_t i = 0; i < chain.pages.size(); ++i) {
    Result<MetadataPage> page = ParseMetadataPage(chain.pages[i].span(), chain.indices[i]);
    ASSERT_TRUE(page.ok());
    DescriptorReader reader(page->descriptors);
    while (!reader.AtEnd()) types.push_back(reader.Next()->type);
  }
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types[0], 1);
  // FLAGS, then XATTR (3), then XATTR_INTERNAL (4), then EXTENTS (2).
  auto rank = [](uint16_t type) { return type == 2 ? 5 : type; };
  for (size_t i = 1; i < types.size(); ++i) ASSERT_LE(rank(types[i - 1]), rank(types[i])) << i;
}

TEST(BlobMetadataTest, LinkChainSetsEveryNext) {
  std::mt19937_64 random(15);
  BlobMetadata metadata = RandomMetadata(random, 0, 1000);
  TestChain chain = Serialized(metadata);
  ASSERT_GE(chain.pages.size(), 3u);
  for (size_t i = 0; i < chain.pages.size(); ++i) {
    uint32_t expected = i + 1 < chain.pages.size() ? chain.indices[i + 1] : kNoPageIndex;
    EXPECT_EQ(LoadLe32(chain.pages[i].span(), 4088), expected);
  }
}

// --- Page headers and links. ---

TEST(BlobMetadataTest, BadCrc) {
  TestChain chain = Chain({{Flags(10)}, {Xattr("a", 1, 0, "b")}});
  chain.pages[1].span()[100] ^= std::byte{1};
  ExpectCorrupt(chain.Parse(), "metadata page 3: crc");
}

TEST(BlobMetadataTest, RootAtTheWrongIndex) {
  TestChain chain = Chain({{Flags(10)}});
  chain.indices[0] = kRoot + 1;
  ExpectCorrupt(chain.Parse(), "metadata page 41: blob_id 0x100000028 is not the id of a root");
}

TEST(BlobMetadataTest, RootWithANonzeroSequence) {
  TestChain chain = Chain({{Flags(10)}});
  StoreLe32(chain.pages[0].span(), 16, 1);
  chain.Reseal(0);
  ExpectCorrupt(chain.Parse(), "metadata page 40: sequence 1, expected 0");
}

TEST(BlobMetadataTest, MismatchedBlobId) {
  TestChain chain = Chain({{Flags(10)}, {}, {}});
  StoreLe64(chain.pages[2].span(), 0, BlobIdOfRoot(kRoot + 1));
  chain.Reseal(2);
  ExpectCorrupt(chain.Parse(), "metadata page 4: blob_id 0x100000029 differs from the root's");
}

TEST(BlobMetadataTest, MismatchedSyncGeneration) {
  TestChain chain = Chain({{Flags(10)}, {}});
  StoreLe64(chain.pages[1].span(), 8, 4);  // A stale page of the previous generation.
  chain.Reseal(1);
  ExpectCorrupt(chain.Parse(), "metadata page 3: sync_generation 4 differs from the root's 5");
}

TEST(BlobMetadataTest, SequenceGap) {
  TestChain chain = Chain({{Flags(10)}, {}, {}});
  StoreLe32(chain.pages[1].span(), 16, 2);
  chain.Reseal(1);
  ExpectCorrupt(chain.Parse(), "metadata page 3: sequence 2, expected 1");
}

TEST(BlobMetadataTest, NextDoesNotLeadToTheFollowingPage) {
  TestChain chain = Chain({{Flags(10)}, {}});
  chain.indices[1] = 9;
  ExpectCorrupt(chain.Parse(), "metadata page 40: next 0x3, but the chain continues at 0x9");
  chain = Chain({{Flags(10)}, {}});
  chain.pages.pop_back();
  chain.indices.pop_back();
  ExpectCorrupt(chain.Parse(), "next 0x3, but the chain continues at 0xffffffff");
}

TEST(BlobMetadataTest, DescriptorBytesTooLarge) {
  TestChain chain = Chain({{Flags(10)}});
  StoreLe32(chain.pages[0].span(), 20, 5000);
  chain.Reseal(0);
  ExpectCorrupt(chain.Parse(), "metadata page 40: descriptor_bytes 5000 exceeds 4064");
}

TEST(BlobMetadataTest, NonzeroTail) {
  TestChain chain = Chain({{Flags(10)}});
  chain.pages[0].span()[24 + 36] = std::byte{2};
  chain.Reseal(0);
  ExpectCorrupt(
      chain.Parse(),
      "metadata page 40: byte 36 of the descriptor area is not zero (descriptor_bytes 36)");
}

// --- Descriptor framing and types. ---

TEST(BlobMetadataTest, DescriptorLengthOverrun) {
  Bytes truncated = Xattr("name", 4, 0, "abcd");
  StoreLe16(truncated, 2, 100);
  TestChain chain = Chain({{Flags(10), truncated}});
  ExpectCorrupt(chain.Parse(),
                "metadata page 40: descriptor at offset 36 (type 3): length 100 "
                "overruns descriptor_bytes 60");
}

TEST(BlobMetadataTest, UnknownDescriptorType) {
  TestChain chain = Chain({{Flags(10)}, {RawDescriptorBytes(5, Bytes(8))}});
  ExpectCorrupt(chain.Parse(),
                "metadata page 3: descriptor at offset 0: unknown descriptor type 5 (length 8)");
  chain = Chain({{Flags(10), RawDescriptorBytes(0, {})}});
  ExpectCorrupt(chain.Parse(), "unknown descriptor type 0");
}

TEST(BlobMetadataTest, FlagsMissing) {
  ExpectCorrupt(Chain({{}, {Flags(10)}}).Parse(),
                "metadata page 40: the root page has no FLAGS descriptor");
  ExpectCorrupt(Chain({{Xattr("a", 0, 0, ""), Flags(10)}}).Parse(),
                "metadata page 40: XATTR at offset 0: the first descriptor of the root page is "
                "XATTR, not FLAGS");
  ExpectCorrupt(Chain({{Extents({{0, 1, 1}})}}).Parse(), "is EXTENTS, not FLAGS");
}

TEST(BlobMetadataTest, FlagsDuplicated) {
  ExpectCorrupt(Chain({{Flags(10), Flags(10)}}).Parse(),
                "metadata page 40: FLAGS at offset 36: a second FLAGS descriptor");
  ExpectCorrupt(Chain({{Flags(10)}, {Flags(10)}}).Parse(), "metadata page 3: FLAGS at offset 0");
}

TEST(BlobMetadataTest, FlagsOfTheWrongLength) {
  ExpectCorrupt(Chain({{RawDescriptorBytes(1, Bytes(24))}}).Parse(),
                "metadata page 40: FLAGS at offset 0: FLAGS length 24 is not 32");
}

// --- Extents. ---

TEST(BlobMetadataTest, ExtentsOverlapping) {
  TestChain chain = Chain({{Flags(100), Extents({{0, 50, 10}, {9, 70, 1}})}});
  ExpectCorrupt(chain.Parse(),
                "metadata page 40: EXTENTS at offset 36: EXTENTS run 1 (logical 9, count 1) does "
                "not follow the previous run (logical 0, count 10)");
}

TEST(BlobMetadataTest, ExtentsOverlappingAcrossPages) {
  TestChain chain = Chain({{Flags(100), Extents({{0, 50, 10}})}, {Extents({{5, 70, 1}})}});
  ExpectCorrupt(chain.Parse(), "metadata page 3: EXTENTS at offset 0: EXTENTS run 0 (logical 5");
}

TEST(BlobMetadataTest, ExtentsUnsorted) {
  TestChain chain = Chain({{Flags(100), Extents({{20, 50, 1}}), Extents({{10, 70, 1}})}});
  ExpectCorrupt(chain.Parse(), "EXTENTS run 0 (logical 10, count 1) does not follow");
}

TEST(BlobMetadataTest, ExtentsAdjacentAreFine) {
  TestChain chain = Chain({{Flags(100), Extents({{0, 50, 10}, {10, 60, 90}})}});
  Result<BlobMetadata> parsed = chain.Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->extents.size(), 2u);
}

TEST(BlobMetadataTest, ExtentsOutsideTheBlob) {
  ExpectCorrupt(Chain({{Flags(100), Extents({{95, 0, 6}})}}).Parse(),
                "EXTENTS run 0 (logical 95, count 6) ends past num_clusters 100");
  ExpectCorrupt(Chain({{Flags(100), Extents({{UINT64_MAX, 0, 2}})}}).Parse(),
                "ends past num_clusters 100");
}

TEST(BlobMetadataTest, ExtentsOutsideTheDevice) {
  ExpectCorrupt(Chain({{Flags(100), Extents({{0, kTotalClusters - 1, 2}})}}).Parse(),
                "EXTENTS run 0 (physical 1048575, count 2) ends past total_clusters 1048576");
  ExpectCorrupt(Chain({{Flags(100), Extents({{0, UINT64_MAX - 1, 5}})}}).Parse(),
                "ends past total_clusters");
}

TEST(BlobMetadataTest, ExtentRunOfZeroClusters) {
  Bytes runs = Extents({{0, 1, 1}});
  StoreLe32(runs, 4 + 16, 0);
  ExpectCorrupt(Chain({{Flags(100), runs}}).Parse(), "count 0");
}

TEST(BlobMetadataTest, XattrAfterExtents) {
  ExpectCorrupt(Chain({{Flags(100), Extents({{0, 1, 1}}), Xattr("a", 0, 0, "")}}).Parse(),
                "XATTR at offset 60: an xattr after EXTENTS");
}

// --- Extended attributes. ---

TEST(BlobMetadataTest, XattrFragmentsAcrossPages) {
  TestChain chain =
      Chain({{Flags(0), Xattr("a", 6, 0, "ab")},
             {Xattr("a", 6, 2, "cd")},
             {Xattr("a", 6, 4, "ef"), Xattr("b", 0, 0, "", DescriptorType::kXattrInternal)}});
  Result<BlobMetadata> parsed = chain.Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->xattrs.at("a"), "abcdef");
  EXPECT_EQ(parsed->internal_xattrs.at("b"), "");
}

TEST(BlobMetadataTest, XattrFragmentGap) {
  TestChain chain = Chain({{Flags(0), Xattr("a", 6, 0, "ab")}, {Xattr("a", 6, 3, "def")}});
  ExpectCorrupt(chain.Parse(),
                "metadata page 3: XATTR at offset 0: xattr 'a': fragment_offset 3, expected 2");
}

TEST(BlobMetadataTest, XattrFragmentRepeated) {
  TestChain chain = Chain({{Flags(0), Xattr("a", 6, 0, "ab"), Xattr("a", 6, 0, "ab")}});
  ExpectCorrupt(chain.Parse(), "xattr 'a': fragment_offset 0, expected 2");
}

TEST(BlobMetadataTest, XattrFirstFragmentNotAtZero) {
  TestChain chain = Chain({{Flags(0), Xattr("a", 6, 2, "cdef")}});
  ExpectCorrupt(chain.Parse(), "xattr 'a': first fragment at fragment_offset 2, expected 0");
}

TEST(BlobMetadataTest, XattrIncompleteAtTheEnd) {
  TestChain chain = Chain({{Flags(0)}, {Xattr("a", 6, 0, "ab")}});
  ExpectCorrupt(chain.Parse(),
                "metadata page 3 (the chain's end): xattr 'a' is incomplete: 2 of its 6 bytes");
}

TEST(BlobMetadataTest, XattrInterruptedByAnother) {
  ExpectCorrupt(Chain({{Flags(0), Xattr("a", 6, 0, "ab"), Xattr("b", 1, 0, "x")}}).Parse(),
                "XATTR at offset 55: xattr 'a' is incomplete: 2 of its 6 bytes");
  ExpectCorrupt(Chain({{Flags(0), Xattr("a", 6, 0, "ab"),
                        Xattr("a", 6, 2, "cdef", DescriptorType::kXattrInternal)}})
                    .Parse(),
                "XATTR_INTERNAL at offset 55: xattr 'a' is incomplete");
  ExpectCorrupt(Chain({{Flags(10), Xattr("a", 6, 0, "ab"), Extents({{0, 0, 1}})}}).Parse(),
                "EXTENTS at offset 55: xattr 'a' is incomplete");
}

TEST(BlobMetadataTest, XattrValueLengthChanges) {
  TestChain chain = Chain({{Flags(0), Xattr("a", 6, 0, "ab"), Xattr("a", 5, 2, "cde")}});
  ExpectCorrupt(chain.Parse(), "xattr 'a': value_length 5 differs from its first fragment's 6");
}

TEST(BlobMetadataTest, DuplicateNames) {
  ExpectCorrupt(Chain({{Flags(0), Xattr("a", 1, 0, "x")}, {Xattr("a", 1, 0, "y")}}).Parse(),
                "metadata page 3: XATTR at offset 0: xattr 'a' appears twice");
  DescriptorType internal = DescriptorType::kXattrInternal;
  ExpectCorrupt(
      Chain({{Flags(0), Xattr("a", 0, 0, "", internal), Xattr("a", 0, 0, "", internal)}}).Parse(),
      "internal xattr 'a' appears twice");
  // One name in each kind is two attributes.
  Result<BlobMetadata> parsed =
      Chain({{Flags(0), Xattr("a", 1, 0, "x"), Xattr("a", 1, 0, "y", internal)}}).Parse();
  ASSERT_TRUE(parsed.ok()) << parsed.error().ToString();
  EXPECT_EQ(parsed->xattrs.at("a"), "x");
  EXPECT_EQ(parsed->internal_xattrs.at("a"), "y");
}

TEST(BlobMetadataTest, XattrBodyErrorsNameThePage) {
  Bytes nul_name = Xattr("abc", 0, 0, "");
  nul_name[4 + kXattrHeaderSize + 1] = std::byte{0};
  ExpectCorrupt(Chain({{Flags(0)}, {nul_name}}).Parse(),
                "metadata page 3: XATTR at offset 0: xattr name has a NUL byte at 1");
}

}  // namespace
}  // namespace blobfs
