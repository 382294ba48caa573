// BlobStore on damaged stores: every kind of corruption a loader can meet gives a clear error —
// EUCLEAN with a message naming the page and the field, or the refusal FORMAT.md prescribes
// (EOPNOTSUPP, EMEDIUMTYPE, EROFS, EINVAL) — never a crash, a hang or a read out of bounds (the
// sanitizer build checks the last two). The damage is made on the raw device with the codecs of
// blob/format, the CRCs recomputed wherever it has to reach the checks behind them.
//
// Most cases run the same course: make the blobs, unload cleanly, damage the device, then
//  1. a clean load, which trusts the masks and reads a blob's chain only when it is opened: the
//     load succeeds and opening the damaged blob fails (the others open);
//  2. a crash (the clean load has cleared the clean bit), then a dirty load, which reads and checks
//     every chain of the metadata region up front: it fails, naming the damage.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "blob/blob_store.h"
#include "blob/format/blob_id.h"
#include "blob/format/descriptor.h"
#include "blob/format/endian.h"
#include "blob/format/mask.h"
#include "blob/format/metadata_page.h"
#include "blob/format/page.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"
#include "tests/blob/blob_store_disk_util.h"
#include "tests/blob/blob_store_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h
using blob_test::Bytes;
using blob_test::FixPageCrc;
using blob_test::RawDisk;
using blob_test::StoreHarness;
using ::testing::HasSubstr;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint32_t kCluster = 64 * 1024;
constexpr uint64_t kDeviceBytes = 8 * kMiB;
constexpr uint64_t kTotalClusters = kDeviceBytes / kCluster;  // 128
constexpr uint32_t kMdPages = 64;

// Metadata page fields (FORMAT.md, "Metadata pages").
constexpr size_t kBlobIdOffset = 0;
constexpr size_t kSyncGenerationOffset = 8;
constexpr size_t kSequenceOffset = 16;
constexpr size_t kDescriptorBytesOffset = 20;
constexpr size_t kNextOffset = 4088;
// Super block fields (FORMAT.md, "Super block").
constexpr size_t kVersionOffset = 8;
constexpr size_t kCompatOffset = 16;
constexpr size_t kRoCompatOffset = 24;
constexpr size_t kIncompatOffset = 32;
constexpr size_t kTotalClustersOffset = 56;
constexpr size_t kReservedOffset = 192;
// Mask fields (FORMAT.md, "Masks").
constexpr size_t kMaskKindOffset = 0;
constexpr size_t kMaskBitCountOffset = 8;
constexpr size_t kMaskBitsOffset = 16;

std::string PageName(uint32_t index) { return "metadata page " + std::to_string(index); }

// Checks that `result` failed with `code` and that its message has every one of `parts`.
template <typename R>
void ExpectErrorImpl(const R& result, int code, std::initializer_list<std::string> parts) {
  ASSERT_FALSE(result.ok()) << "succeeded; expected " << ErrnoName(code);
  EXPECT_EQ(result.error().code(), code) << result.error().ToString();
  for (const std::string& part : parts) {
    EXPECT_THAT(result.error().message(), HasSubstr(part));
  }
}
#define EXPECT_ERROR(expr, code, ...)               \
  do {                                              \
    SCOPED_TRACE(#expr);                            \
    ExpectErrorImpl((expr), (code), {__VA_ARGS__}); \
  } while (0)

// A descriptor stream, built field by field (FORMAT.md, "Descriptors").
class Stream {
 public:
  Stream& U16(uint16_t value) { return Int(value, 2); }
  Stream& U32(uint32_t value) { return Int(value, 4); }
  Stream& U64(uint64_t value) { return Int(value, 8); }
  Stream& Text(std::string_view text) {
    for (char c : text) bytes_.push_back(static_cast<std::byte>(c));
    return *this;
  }
  Stream& Header(uint16_t type, uint16_t length) { return U16(type).U16(length); }
  Stream& Flags(uint64_t invalid, uint64_t data_ro, uint64_t md_ro, uint64_t num_clusters) {
    return Header(1, 32).U64(invalid).U64(data_ro).U64(md_ro).U64(num_clusters);
  }
  Stream& Run(uint64_t logical, uint64_t physical, uint32_t count) {
    return U64(logical).U64(physical).U32(count);
  }
  Stream& Extents(std::initializer_list<ExtentRun> runs) {
    Header(2, static_cast<uint16_t>(runs.size() * kExtentRunSize));
    for (const ExtentRun& run : runs) Run(run.logical, run.physical, run.count);
    return *this;
  }
  // An XATTR (type 3) fragment whose body is exactly as the fields say.
  Stream& Xattr(std::string_view name, uint32_t value_length, uint32_t offset,
                std::string_view bytes, uint16_t type = 3) {
    Header(type, static_cast<uint16_t>(kXattrHeaderSize + name.size() + bytes.size()));
    return U16(static_cast<uint16_t>(name.size()))
        .U16(0)
        .U32(value_length)
        .U32(offset)
        .Text(name)
        .Text(bytes);
  }
  const Bytes& bytes() const { return bytes_; }

 private:
  Stream& Int(uint64_t value, int width) {
    for (int i = 0; i < width; ++i) bytes_.push_back(static_cast<std::byte>(value >> (8 * i)));
    return *this;
  }
  Bytes bytes_;
};

// A finished metadata page (valid CRC, zeroed tail) holding `descriptors`.
Bytes MetadataPageWith(uint64_t blob_id, uint64_t generation, uint32_t sequence,
                       const Stream& descriptors, uint32_t next = kNoPageIndex) {
  Bytes page(kPageSize);
  const Bytes& stream = descriptors.bytes();
  CHECK_LE(stream.size(), kDescriptorAreaSize);
  std::copy(stream.begin(), stream.end(), DescriptorArea(page).begin());
  FinishMetadataPage({.blob_id = blob_id,
                      .sync_generation = generation,
                      .sequence = sequence,
                      .descriptor_bytes = static_cast<uint32_t>(stream.size()),
                      .next = next},
                     page);
  return page;
}

class BlobStoreCorruptionTest : public ::testing::Test {
 protected:
  BlobStoreCorruptionTest() : h_(kDeviceBytes, 512), disk_(h_) {}

  void SetUp() override {
    ASSERT_OK(h_.Init({.cluster_size = kCluster, .md_pages = kMdPages, .bstype = "test"}));
  }

  // Creates a blob and closes it (which commits it).
  uint64_t MakeBlob(BlobCreateOptions options) {
    Result<Blob*> blob = h_.Create(std::move(options));
    CHECK_OK(blob);
    const uint64_t id = (*blob)->id();
    CHECK_OK(h_.Close(*blob));
    return id;
  }

  // Marks free on disk a cluster the victim holds and used one that no blob holds; returns them
  // (held, leaked).
  std::pair<uint64_t, uint64_t> MisMarkTwoClusters() {
    const uint64_t held = victim_metadata_.extents[0].physical + 1;
    const uint64_t leaked = kTotalClusters - 1;
    Bytes clusters = disk_.MaskBits(MaskKind::kUsedClusters);
    clusters[held / 8] &= ~std::byte(1u << (held % 8));
    clusters[leaked / 8] |= std::byte(1u << (leaked % 8));
    disk_.WriteMask(MaskKind::kUsedClusters, clusters);
    return {held, leaked};
  }

  // The blobs most cases use: `victim` gets the damage, `bystander` must stay readable. With
  // `chained`, the victim's 9000-byte xattr spreads its metadata over three pages.
  void MakeScene(bool chained) {
    bystander_ = MakeBlob({.num_clusters = 1, .xattrs = {{"name", "bystander"}}});
    victim_ = MakeBlob({.num_clusters = 2,
                        .xattrs = {{"name", "victim"},
                                   {"big", chained ? std::string(9000, 'b') : std::string()}}});
    ASSERT_OK(h_.Unload());
    chain_ = disk_.Chain(victim_);
    root_ = chain_[0];
    ASSERT_EQ(chain_.size(), chained ? 3u : 1u);
    victim_metadata_ = disk_.Metadata(victim_);
    ASSERT_EQ(victim_metadata_.extents.size(), 1u);
  }

  // Opens the bystander, checks it and closes it.
  void ExpectBystanderIntact() {
    ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(bystander_));
    EXPECT_EQ(h_.Run(blob->GetXattr("name")).value(), "bystander");
    EXPECT_EQ(blob->num_clusters(), 1u);
    ASSERT_OK(h_.Close(blob));
  }

  // Step 1 of the course (file comment): the clean load succeeds, opening the victim fails with
  // `code` and every one of `parts`, the bystander opens. Leaves the store loaded.
  void CleanLoadThenOpenFails(int code, std::initializer_list<std::string> parts) {
    ASSERT_OK(h_.Load());
    ASSERT_FALSE(h_.store().recovered());
    {
      SCOPED_TRACE("open of the damaged blob after a clean load");
      ExpectErrorImpl(h_.Open(victim_), code, parts);
    }
    EXPECT_EQ(h_.Stats().open_blobs, 0u);
    ExpectBystanderIntact();
  }

  // Step 2: a crash, then a dirty load that fails with EUCLEAN and every one of `parts`.
  void CrashThenDirtyLoadFails(std::initializer_list<std::string> parts) {
    h_.Crash();
    ASSERT_FALSE(disk_.Super().clean());
    SCOPED_TRACE("dirty load");
    ExpectErrorImpl(h_.Load(), EUCLEAN, parts);
    EXPECT_FALSE(h_.loaded());
  }

  StoreHarness h_;
  RawDisk disk_;
  uint64_t victim_ = 0;
  uint64_t bystander_ = 0;
  std::vector<uint32_t> chain_;
  uint32_t root_ = 0;
  BlobMetadata victim_metadata_;
};

// --- The super block --------------------------------------------------------------------------

TEST_F(BlobStoreCorruptionTest, SuperBlockWithBadCrcIsRefused) {
  MakeScene(false);
  Bytes page = disk_.ReadPage(0);
  page[168] ^= std::byte{0x40};  // mount_count, CRC left as it was
  disk_.WritePage(0, page);
  EXPECT_ERROR(h_.Load(), EUCLEAN, "super block", "crc");
  EXPECT_ERROR(h_.Load({.read_only = true}), EUCLEAN, "super block", "crc");
}

// A crash while page 0 is written in place tears it; the journal holds it whole until that write
// is durable, and the load takes it from there.
TEST_F(BlobStoreCorruptionTest, ATornSuperBlockComesBackFromTheJournal) {
  MakeScene(false);
  ASSERT_OK(h_.Load());  // writes page 0 (not clean) through the journal
  const uint64_t mount_count = h_.store().super_block().mount_count;
  h_.Crash();
  Bytes page = disk_.ReadPage(0);
  std::fill(page.begin() + 2048, page.end(), std::byte{0});  // sectors 4-7 never written
  disk_.WritePage(0, page);
  ASSERT_OK(h_.Load());
  EXPECT_TRUE(h_.store().recovered());
  EXPECT_EQ(h_.store().super_block().mount_count, mount_count + 1);
  ExpectBystanderIntact();
  ASSERT_OK(h_.Unload());
  // A clean unload empties the journal: a torn page 0 is then beyond repair.
  page = disk_.ReadPage(0);
  std::fill(page.begin() + 2048, page.end(), std::byte{0});
  disk_.WritePage(0, page);
  EXPECT_ERROR(h_.Load(), EUCLEAN, "super block", "crc");
}

TEST_F(BlobStoreCorruptionTest, ZeroedSuperBlockIsNotABlobStore) {
  MakeScene(false);
  disk_.WritePage(0, Bytes(kPageSize));
  EXPECT_ERROR(h_.Load(), EUCLEAN, "super block", "magic");
}

TEST_F(BlobStoreCorruptionTest, UnknownIncompatFeatureIsRefused) {
  MakeScene(false);
  disk_.EditSuper([](std::span<std::byte> page) { StoreLe64(page, kIncompatOffset, 1u << 5); });
  EXPECT_ERROR(h_.Load(), EOPNOTSUPP, "incompat_features 0x20");
  EXPECT_ERROR(h_.Load({.read_only = true}), EOPNOTSUPP, "incompat_features");
}

TEST_F(BlobStoreCorruptionTest, NewerVersionIsRefused) {
  MakeScene(false);
  disk_.EditSuper([](std::span<std::byte> page) { StoreLe32(page, kVersionOffset, 2); });
  EXPECT_ERROR(h_.Load(), EOPNOTSUPP, "version 2", "newer");
  EXPECT_ERROR(h_.Load({.read_only = true}), EOPNOTSUPP, "version 2");
}

TEST_F(BlobStoreCorruptionTest, ForeignBstypeIsRefused) {
  MakeScene(false);
  EXPECT_ERROR(h_.Load({.bstype = "other"}), EMEDIUMTYPE, "'test'", "'other'");
  ASSERT_OK(h_.Load({.bstype = "test"}));
  ASSERT_OK(h_.Unload());
  ASSERT_OK(h_.Load());  // an empty bstype accepts any store
  ExpectBystanderIntact();
}

TEST_F(BlobStoreCorruptionTest, UnknownCompatFeatureIsIgnored) {
  MakeScene(false);
  disk_.EditSuper([](std::span<std::byte> page) {
    StoreLe64(page, kCompatOffset, 1u << 9);
    page[kReservedOffset + 10] = std::byte{0x5a};  // the feature may use the reserved bytes
  });
  ASSERT_OK(h_.Load());
  EXPECT_FALSE(h_.store().read_only());
  ExpectBystanderIntact();
}

TEST_F(BlobStoreCorruptionTest, UnknownRoCompatFeatureLoadsOnlyReadOnly) {
  MakeScene(false);
  disk_.EditSuper([](std::span<std::byte> page) { StoreLe64(page, kRoCompatOffset, 1u << 3); });
  const Bytes image = disk_.Image();
  EXPECT_ERROR(h_.Load(), EROFS, "ro_compat_features 0x8");

  ASSERT_OK(h_.Load({.read_only = true}));
  EXPECT_TRUE(h_.store().read_only());
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), (std::vector<uint64_t>{bystander_, victim_}));
  ExpectBystanderIntact();
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(victim_));
  EXPECT_TRUE(blob->read_only());
  EXPECT_OK(h_.Read(blob, 0, kCluster));
  EXPECT_EQ(ErrCode(h_.Write(blob, 0, Pattern(512, 1))), EROFS);
  EXPECT_EQ(ErrCode(h_.Run(blob->SetXattr("name", "changed"))), EROFS);
  EXPECT_EQ(ErrCode(h_.Run(blob->Resize(5))), EROFS);
  EXPECT_EQ(ErrCode(h_.Run(blob->Sync())), EROFS);
  ASSERT_OK(h_.Close(blob));
  EXPECT_EQ(ErrCode(h_.Create()), EROFS);
  EXPECT_EQ(ErrCode(h_.Run(h_.store().DeleteBlob(victim_))), EROFS);
  EXPECT_EQ(ErrCode(h_.Run(h_.store().SetSuperBlob(victim_))), EROFS);
  ASSERT_OK(h_.Unload());
  // A read-only load writes nothing, not even the mount count.
  EXPECT_TRUE(disk_.Image() == image);
}

TEST_F(BlobStoreCorruptionTest, DeviceSmallerThanTheStoreIsRefused) {
  MakeScene(false);
  // The super block claims one cluster more than the device has.
  disk_.EditSuper(
      [](std::span<std::byte> page) { StoreLe64(page, kTotalClustersOffset, kTotalClusters + 1); });
  EXPECT_ERROR(h_.Load(), EINVAL, "the bdev has 8388608 bytes", "129 clusters");
  EXPECT_ERROR(h_.Load({.read_only = true}), EINVAL, "129 clusters");
}

TEST_F(BlobStoreCorruptionTest, TruncatedImageIsRefused) {
  MakeScene(false);
  const Bytes image = disk_.Image();
  StoreHarness small(kDeviceBytes / 2, 512);
  RawDisk(small).Write(0, std::span(image).first(kDeviceBytes / 2));
  EXPECT_ERROR(small.Load(), EINVAL, "the bdev has 4194304 bytes", "128 clusters");
}

TEST_F(BlobStoreCorruptionTest, DeviceWithLargerBlocksThanTheIoUnitIsRefused) {
  MakeScene(false);
  const Bytes image = disk_.Image();
  StoreHarness large_blocks(kDeviceBytes, 4096);
  RawDisk(large_blocks).Write(0, image);
  EXPECT_ERROR(large_blocks.Load(), EINVAL, "block size 4096", "io unit 512");
}

// --- A blob's root page -----------------------------------------------------------------------

// A root that fails its CRC cannot be told from a free page or a torn write by a dirty load: the
// blob is gone (and its clusters and pages free). A clean load knows the blob from the masks, so
// opening it fails instead.
TEST_F(BlobStoreCorruptionTest, RootWithBadCrc) {
  MakeScene(false);
  const BlobStoreStats before_damage = [&] {
    CHECK_OK(h_.Load());
    BlobStoreStats stats = h_.Stats();
    CHECK_OK(h_.Unload());
    return stats;
  }();
  Bytes page = disk_.ReadMd(root_);
  page[100] ^= std::byte{1};
  disk_.WriteMd(root_, page);

  CleanLoadThenOpenFails(EUCLEAN, {PageName(root_), "crc"});
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), (std::vector<uint64_t>{bystander_, victim_}));
  EXPECT_ERROR(h_.Run(h_.store().DeleteBlob(victim_)), EUCLEAN, PageName(root_), "crc");

  h_.Crash();
  ASSERT_OK(h_.Load());
  EXPECT_TRUE(h_.store().recovered());
  // Documented behaviour: the blob vanishes.
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), std::vector<uint64_t>{bystander_});
  EXPECT_ERROR(h_.Open(victim_), ENOENT, "no blob");
  const BlobStoreStats after = h_.Stats();
  EXPECT_EQ(after.blobs, 1u);
  EXPECT_EQ(after.md_pages_used, 1u);
  EXPECT_EQ(after.free_clusters, before_damage.free_clusters + 2);
  ExpectBystanderIntact();
}

// A zeroed root is no blob to a dirty load, the way a deleted blob's root is.
TEST_F(BlobStoreCorruptionTest, ZeroedRoot) {
  MakeScene(true);
  disk_.WriteMd(root_, Bytes(kPageSize));
  CleanLoadThenOpenFails(EUCLEAN, {PageName(root_), "crc"});
  h_.Crash();
  ASSERT_OK(h_.Load());
  EXPECT_TRUE(h_.store().recovered());
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), std::vector<uint64_t>{bystander_});
  EXPECT_EQ(ErrCode(h_.Open(victim_)), ENOENT);
  // The rest of its chain is unreachable, hence free.
  EXPECT_EQ(h_.Stats().md_pages_used, 1u);
  ExpectBystanderIntact();
}

// A page at a root's place whose blob_id names another page is no root: a dirty load passes over
// it; opening the blob after a clean load names the mismatch.
TEST_F(BlobStoreCorruptionTest, RootWhoseBlobIdNamesAnotherPage) {
  MakeScene(false);
  disk_.EditMd(root_, [&](std::span<std::byte> page) {
    StoreLe64(page, kBlobIdOffset, BlobIdOfRoot(root_ + 10));
  });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(root_), "blob_id", "is not the id of a root"});
  h_.Crash();
  ASSERT_OK(h_.Load());
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), std::vector<uint64_t>{bystander_});
}

// A root page with a valid CRC whose sequence is not 0 is no root either.
TEST_F(BlobStoreCorruptionTest, RootWithNonzeroSequence) {
  MakeScene(false);
  disk_.EditMd(root_, [](std::span<std::byte> page) { StoreLe32(page, kSequenceOffset, 1); });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(root_), "sequence 1, expected 0"});
  h_.Crash();
  ASSERT_OK(h_.Load());
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), std::vector<uint64_t>{bystander_});
}

// --- Descriptors: pages crafted with valid CRCs, so that the descriptor parsers see the damage ---

struct DescriptorDamage {
  const char* name;
  // Makes the victim's root page from its id, generation and first (only) extent run.
  std::function<Bytes(uint64_t id, uint64_t generation, const ExtentRun& run)> page;
  std::string field;  // what the message must name, besides the page
};

std::ostream& operator<<(std::ostream& out, const DescriptorDamage& damage) {
  return out << damage.name;
}

// A root page with `stream` after a valid FLAGS of a 2-cluster blob.
Bytes AfterFlags(uint64_t id, uint64_t generation, const Stream& stream) {
  Stream flags;
  flags.Flags(0, 0, 0, 2);
  Bytes bytes = flags.bytes();
  bytes.insert(bytes.end(), stream.bytes().begin(), stream.bytes().end());
  Bytes page(kPageSize);
  CHECK_LE(bytes.size(), kDescriptorAreaSize);
  std::copy(bytes.begin(), bytes.end(), DescriptorArea(page).begin());
  FinishMetadataPage({.blob_id = id,
                      .sync_generation = generation,
                      .sequence = 0,
                      .descriptor_bytes = static_cast<uint32_t>(bytes.size()),
                      .next = kNoPageIndex},
                     page);
  return page;
}

const DescriptorDamage kDescriptorDamages[] = {
    {"DescriptorBytesPastTheArea",
     [](uint64_t id, uint64_t generation, const ExtentRun& run) {
       Bytes page = AfterFlags(id, generation, Stream().Extents({run}));
       StoreLe32(page, kDescriptorBytesOffset, 4065);
       FixPageCrc(page);
       return page;
     },
     "descriptor_bytes 4065 exceeds 4064"},
    {"DescriptorBytesShortOfTheStream",
     [](uint64_t id, uint64_t generation, const ExtentRun& run) {
       Bytes page = AfterFlags(id, generation, Stream().Extents({run}));
       // Cuts the last byte of the run's count (2) off the stream: it is left in the tail.
       StoreLe32(page, kDescriptorBytesOffset, LoadLe32(page, kDescriptorBytesOffset) - 4);
       FixPageCrc(page);
       return page;
     },
     "of the descriptor area is not zero"},
    {"DescriptorLengthOverrunsTheStream",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       Stream stream;
       stream.Header(1, 4000).U64(0).U64(0).U64(0).U64(2);
       return MetadataPageWith(id, generation, 0, stream);
     },
     "length 4000 overruns descriptor_bytes 36"},
    {"DescriptorHeaderOverrunsTheStream",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().U16(2));
     },
     "header overruns descriptor_bytes 38"},
    {"FlagsTooShort",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       Stream stream;
       stream.Header(1, 24).U64(0).U64(0).U64(2);
       return MetadataPageWith(id, generation, 0, stream);
     },
     "FLAGS length 24 is not 32"},
    {"NoFlags",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return MetadataPageWith(id, generation, 0, Stream());
     },
     "no FLAGS descriptor"},
    {"FlagsNotFirst",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       Stream stream;
       stream.Xattr("name", 1, 0, "v").Flags(0, 0, 0, 2);
       return MetadataPageWith(id, generation, 0, stream);
     },
     "not FLAGS"},
    {"SecondFlags",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Flags(0, 0, 0, 2));
     },
     "a second FLAGS"},
    {"UnknownDescriptorType",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Header(9, 4).U32(0));
     },
     "unknown descriptor type 9"},
    {"ExtentsNotAMultipleOfARun",
     [](uint64_t id, uint64_t generation, const ExtentRun& run) {
       Stream stream;
       stream.Header(2, 30).Run(0, run.physical, 1).Text("0123456789");
       return AfterFlags(id, generation, stream);
     },
     "EXTENTS length 30 is not a nonzero multiple of 20"},
    {"ExtentsEmpty",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Header(2, 0));
     },
     "EXTENTS length 0"},
    {"ExtentRunOfZeroClusters",
     [](uint64_t id, uint64_t generation, const ExtentRun& run) {
       return AfterFlags(id, generation, Stream().Extents({{0, run.physical, 0}}));
     },
     "count 0"},
    {"ExtentRunPastNumClusters",
     [](uint64_t id, uint64_t generation, const ExtentRun& run) {
       return AfterFlags(id, generation, Stream().Extents({{1, run.physical, 2}}));
     },
     "ends past num_clusters 2"},
    {"ExtentRunPastTheDevice",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Extents({{0, kTotalClusters - 1, 2}}));
     },
     "ends past total_clusters 128"},
    {"ExtentRunFarPastTheDevice",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Extents({{0, UINT64_MAX - 1, 2}}));
     },
     "ends past total_clusters 128"},
    {"ExtentRunsUnsorted",
     [](uint64_t id, uint64_t generation, const ExtentRun& run) {
       return AfterFlags(id, generation,
                         Stream().Extents({{1, run.physical + 1, 1}, {0, run.physical, 1}}));
     },
     "does not follow the previous run"},
    {"ExtentRunsOverlapping",
     [](uint64_t id, uint64_t generation, const ExtentRun& run) {
       return AfterFlags(id, generation,
                         Stream().Extents({{0, run.physical, 2}, {1, run.physical + 5, 1}}));
     },
     "does not follow the previous run"},
    {"XattrShorterThanItsHeader",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Header(3, 8).U64(0));
     },
     "shorter than its 12-byte header"},
    {"XattrNameOverruns",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       Stream stream;
       stream.Header(3, 16).U16(200).U16(0).U32(0).U32(0).Text("name");
       return AfterFlags(id, generation, stream);
     },
     "name_length 200 overruns"},
    {"XattrEmptyName",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Xattr("", 1, 0, "v"));
     },
     "name_length 0"},
    {"XattrNameWithNul",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Xattr(std::string_view("a\0b", 3), 1, 0, "v"));
     },
     "NUL"},
    {"XattrReservedNotZero",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       Stream stream;
       stream.Header(3, 12 + 4 + 1).U16(4).U16(7).U32(1).U32(0).Text("name").Text("v");
       return AfterFlags(id, generation, stream);
     },
     "reserved 7"},
    {"XattrValueTooLong",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Xattr("name", 65537, 0, "v"));
     },
     "value_length 65537 exceeds"},
    {"XattrFragmentPastItsValue",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Xattr("name", 3, 0, "abcdef"));
     },
     "runs past value_length 3"},
    {"XattrFragmentOffsetHuge",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Xattr("name", 10, UINT32_MAX, "abcdef"));
     },
     "runs past value_length 10"},
    {"XattrFirstFragmentNotAtZero",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Xattr("name", 10, 5, "abcde"));
     },
     "first fragment at fragment_offset 5"},
    {"XattrIncomplete",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Xattr("name", 10, 0, "abcde"));
     },
     "is incomplete: 5 of its 10 bytes"},
    {"XattrFragmentsWithAGap",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation,
                         Stream().Xattr("name", 10, 0, "abc").Xattr("name", 10, 5, "fghij"));
     },
     "fragment_offset 5, expected 3"},
    {"XattrFragmentsDisagreeOnLength",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation,
                         Stream().Xattr("name", 10, 0, "abc").Xattr("name", 12, 3, "defghij"));
     },
     "value_length 12 differs"},
    {"XattrTwice",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation,
                         Stream().Xattr("name", 1, 0, "a").Xattr("name", 1, 0, "b"));
     },
     "appears twice"},
    {"XattrAfterExtents",
     [](uint64_t id, uint64_t generation, const ExtentRun& run) {
       Stream stream;
       stream.Extents({run}).Xattr("name", 1, 0, "a");
       return AfterFlags(id, generation, stream);
     },
     "an xattr after EXTENTS"},
    {"InternalXattrEmptyFragment",
     [](uint64_t id, uint64_t generation, const ExtentRun&) {
       return AfterFlags(id, generation, Stream().Xattr("inode", 4, 0, "", /*type=*/4));
     },
     "empty fragment"},
};

class DescriptorDamageTest : public BlobStoreCorruptionTest,
                             public ::testing::WithParamInterface<DescriptorDamage> {};

// BUG (blob/blob_store_load.cc, RecoverFromMetadataRegion, pass 1): the first two cases —
// damage to the page layout itself (descriptor_bytes > 4064, bytes after descriptor_bytes not
// zero) under a valid CRC — fail the dirty-load half: the scan drops every page that
// ParseMetadataPage refuses as if it were free space or a torn write, so this root, whose CRC is
// valid and which is a root by FORMAT.md's definition, is skipped and the blob vanishes silently
// (its clusters return to the free pool) instead of the load failing with EUCLEAN. Only a CRC
// mismatch may mean "not a page"; the test asserts the behaviour FORMAT.md "Loading" asks for.
TEST_P(DescriptorDamageTest, IsNamedByOpenAndByTheDirtyLoad) {
  MakeScene(false);
  const DescriptorDamage& damage = GetParam();
  disk_.WriteMd(
      root_, damage.page(victim_, victim_metadata_.sync_generation, victim_metadata_.extents[0]));
  CleanLoadThenOpenFails(EUCLEAN, {PageName(root_), damage.field});
  CrashThenDirtyLoadFails({PageName(root_), damage.field});
}

INSTANTIATE_TEST_SUITE_P(Damages, DescriptorDamageTest, ::testing::ValuesIn(kDescriptorDamages),
                         [](const ::testing::TestParamInfo<DescriptorDamage>& param_info) {
                           return std::string(param_info.param.name);
                         });

// The codecs' own sanity: an undamaged crafted page loads (so the cases above fail for their
// damage, not for the way they were made).
TEST_F(BlobStoreCorruptionTest, CraftedPagesLoadWhenUndamaged) {
  MakeScene(false);
  const ExtentRun run = victim_metadata_.extents[0];
  disk_.WriteMd(
      root_,
      AfterFlags(
          victim_, victim_metadata_.sync_generation,
          Stream().Xattr("name", 10, 0, "abc").Xattr("name", 10, 3, "defghij").Extents({run})));
  ASSERT_OK(h_.Load());
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(victim_));
  EXPECT_EQ(h_.Run(blob->GetXattr("name")).value(), "abcdefghij");
  EXPECT_EQ(blob->num_clusters(), 2u);
  ASSERT_OK(h_.Close(blob));
  h_.Crash();
  ASSERT_OK(h_.Load());
  EXPECT_TRUE(h_.store().recovered());
  ASSERT_ASSIGN_OR_FAIL(blob, h_.Open(victim_));
  EXPECT_EQ(h_.Run(blob->GetXattr("name")).value(), "abcdefghij");
  ASSERT_OK(h_.Close(blob));
}

// --- Chains: links and headers of the pages after the root --------------------------------------

TEST_F(BlobStoreCorruptionTest, NextOutsideTheMetadataRegion) {
  MakeScene(true);
  const uint32_t p1 = chain_[1];
  disk_.EditMd(p1, [](std::span<std::byte> page) { StoreLe32(page, kNextOffset, kMdPages + 7); });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(p1), "next 71", "outside the metadata region"});
  CrashThenDirtyLoadFails({PageName(p1), "next 71", "outside the metadata region"});
}

TEST_F(BlobStoreCorruptionTest, RootNextAtTheLargestIndex) {
  MakeScene(true);
  disk_.EditMd(root_, [](std::span<std::byte> page) { StoreLe32(page, kNextOffset, 0xFFFFFFFE); });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(root_), "outside the metadata region"});
  CrashThenDirtyLoadFails({PageName(root_), "outside the metadata region"});
}

TEST_F(BlobStoreCorruptionTest, ChainLoopingBackToTheRoot) {
  MakeScene(true);
  const uint32_t last = chain_[2];
  disk_.EditMd(last, [&](std::span<std::byte> page) { StoreLe32(page, kNextOffset, root_); });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(last), "loops back"});
  CrashThenDirtyLoadFails(
      {PageName(root_), "do not continue the chain", "from page " + std::to_string(last)});
}

TEST_F(BlobStoreCorruptionTest, ChainPageLinkingToItself) {
  MakeScene(true);
  const uint32_t p1 = chain_[1];
  disk_.EditMd(p1, [&](std::span<std::byte> page) { StoreLe32(page, kNextOffset, p1); });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(p1), "loops back"});
  CrashThenDirtyLoadFails({PageName(p1), "do not continue the chain"});
}

TEST_F(BlobStoreCorruptionTest, ChainLoopingBackToItsMiddle) {
  MakeScene(true);
  const uint32_t last = chain_[2];
  disk_.EditMd(last, [&](std::span<std::byte> page) { StoreLe32(page, kNextOffset, chain_[1]); });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(last), "loops back"});
  CrashThenDirtyLoadFails({PageName(chain_[1]), "do not continue the chain"});
}

TEST_F(BlobStoreCorruptionTest, NextNamingAFreePage) {
  MakeScene(true);
  const uint32_t p1 = chain_[1];
  const uint32_t free_page = kMdPages - 1;
  disk_.EditMd(p1, [&](std::span<std::byte> page) { StoreLe32(page, kNextOffset, free_page); });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(p1), "used page mask calls free"});
  CrashThenDirtyLoadFails({PageName(p1), "names a page that is not valid"});
}

TEST_F(BlobStoreCorruptionTest, NextNamingAnotherBlobsRoot) {
  MakeScene(true);
  const uint32_t p1 = chain_[1];
  const uint32_t other = *RootOfBlobId(bystander_);
  disk_.EditMd(p1, [&](std::span<std::byte> page) { StoreLe32(page, kNextOffset, other); });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(other), "differs from the root's"});
  CrashThenDirtyLoadFails({PageName(other), "do not continue the chain"});
}

// The chain ends a page early: the xattr spread over it is left incomplete.
TEST_F(BlobStoreCorruptionTest, ChainEndingEarly) {
  MakeScene(true);
  const uint32_t p1 = chain_[1];
  disk_.EditMd(p1, [](std::span<std::byte> page) { StoreLe32(page, kNextOffset, kNoPageIndex); });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(p1), "incomplete"});
  CrashThenDirtyLoadFails({PageName(p1), "incomplete"});
}

TEST_F(BlobStoreCorruptionTest, ChainPageOfAnotherBlob) {
  MakeScene(true);
  const uint32_t p1 = chain_[1];
  disk_.EditMd(p1, [&](std::span<std::byte> page) { StoreLe64(page, kBlobIdOffset, bystander_); });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(p1), "blob_id", "differs from the root's"});
  CrashThenDirtyLoadFails({PageName(p1), "do not continue the chain"});
}

TEST_F(BlobStoreCorruptionTest, ChainPageOfAnotherGeneration) {
  MakeScene(true);
  const uint32_t p1 = chain_[1];
  disk_.EditMd(p1, [](std::span<std::byte> page) {
    StoreLe64(page, kSyncGenerationOffset, LoadLe64(page, kSyncGenerationOffset) + 1);
  });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(p1), "sync_generation", "differs from the root's"});
  CrashThenDirtyLoadFails({PageName(p1), "sync_generation", "do not continue the chain"});
}

TEST_F(BlobStoreCorruptionTest, ChainPageOutOfSequence) {
  MakeScene(true);
  const uint32_t p1 = chain_[1];
  disk_.EditMd(p1, [](std::span<std::byte> page) { StoreLe32(page, kSequenceOffset, 2); });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(p1), "sequence 2, expected 1"});
  CrashThenDirtyLoadFails({PageName(p1), "sequence 2", "do not continue the chain"});
}

TEST_F(BlobStoreCorruptionTest, ZeroedPageInTheMiddleOfAChain) {
  MakeScene(true);
  const uint32_t p1 = chain_[1];
  disk_.WriteMd(p1, Bytes(kPageSize));
  CleanLoadThenOpenFails(EUCLEAN, {PageName(p1), "crc"});
  CrashThenDirtyLoadFails(
      {PageName(root_), "next " + std::to_string(p1), "names a page that is not valid"});
}

TEST_F(BlobStoreCorruptionTest, ChainPageWithBadCrc) {
  MakeScene(true);
  const uint32_t last = chain_[2];
  Bytes page = disk_.ReadMd(last);
  page[200] ^= std::byte{0x10};
  disk_.WriteMd(last, page);
  CleanLoadThenOpenFails(EUCLEAN, {PageName(last), "crc"});
  CrashThenDirtyLoadFails({"next " + std::to_string(last), "names a page that is not valid"});
}

// --- Extents ----------------------------------------------------------------------------------

// Two blobs claiming one cluster: the dirty load, which claims every blob's clusters, names it.
// A clean load trusts the cluster mask and reads a chain only at open; it cannot see a cluster
// claimed twice (both claims find the cluster used), so the test asks nothing of it.
TEST_F(BlobStoreCorruptionTest, ExtentsOverlappingBetweenTwoBlobs) {
  MakeScene(false);
  const uint64_t shared = disk_.Metadata(bystander_).extents[0].physical;
  // The victim's root is after the bystander's, so the dirty load meets the victim's claim second.
  ASSERT_GT(root_, *RootOfBlobId(bystander_));
  disk_.EditMetadata(victim_, [&](BlobMetadata& metadata) {
    metadata.extents = {{0, shared, 1}, {1, victim_metadata_.extents[0].physical + 1, 1}};
  });
  h_.Crash();
  disk_.EditSuper([](std::span<std::byte> page) { page[40] = std::byte{0}; });  // not clean
  EXPECT_ERROR(h_.Load(), EUCLEAN, PageName(root_), "cluster " + std::to_string(shared),
               "already in use");
}

// What a store loaded cleanly does with a cluster two blobs claim — which it cannot see — must
// still not bring the process down: deleting both blobs releases the cluster twice.
// BUG (blob/blob_store_blobs.cc, DoDeleteBlob's AfterCommit -> ClusterAllocator::Release, and
// the same for clusters a shrink gives up, DoCommit): Release CHECK-fails on a cluster that is
// already free ("Check failed: !free_cluster releasing clusters [5, +1): cluster 5 is free"), so
// a CRC-valid but inconsistent store aborts the process. The scenario runs in a child process
// (a death test that expects a normal exit) so that the abort fails this test only.
TEST_F(BlobStoreCorruptionTest, DeletingTwoBlobsThatShareAClusterDoesNotAbort) {
  MakeScene(false);
  const uint64_t shared = disk_.Metadata(bystander_).extents[0].physical;
  disk_.EditMetadata(victim_, [&](BlobMetadata& metadata) {
    metadata.extents = {{0, shared, 1}, {1, victim_metadata_.extents[0].physical + 1, 1}};
  });
  ASSERT_OK(h_.Load());
  EXPECT_EXIT(
      {
        const int first = ErrCode(h_.Run(h_.store().DeleteBlob(bystander_)));
        const int second = ErrCode(h_.Run(h_.store().DeleteBlob(victim_)));
        h_.Stats();
        std::_Exit(first == 0 && (second == 0 || second == EUCLEAN) ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

// A blob whose extents name the clusters of the super block, masks and metadata region: a dirty
// load refuses it (those clusters are reserved); opening it after a clean load must refuse it too,
// since writing its data would overwrite the store's own metadata.
// BUG (blob/blob_store_blobs.cc, CheckClustersClaimed via DoOpenBlob): the clean-load open only
// checks that the clusters are marked used in the cluster mask — which the metadata clusters
// always are — so it opens the blob, and a write at its offset 0 overwrites the super block. The
// test asserts the refusal.
TEST_F(BlobStoreCorruptionTest, ExtentsInTheMetadataClusters) {
  MakeScene(false);
  disk_.EditMetadata(victim_, [](BlobMetadata& metadata) { metadata.extents = {{0, 0, 2}}; });
  CleanLoadThenOpenFails(EUCLEAN, {"cluster 0"});
  CrashThenDirtyLoadFails({PageName(root_), "cluster 0", "already in use"});
}

TEST_F(BlobStoreCorruptionTest, ExtentsLeavingTheDevice) {
  MakeScene(false);
  disk_.EditMetadata(victim_, [](BlobMetadata& metadata) {
    metadata.extents = {{0, kTotalClusters - 1, 2}};
  });
  CleanLoadThenOpenFails(EUCLEAN, {PageName(root_), "EXTENTS", "ends past total_clusters 128"});
  CrashThenDirtyLoadFails({PageName(root_), "EXTENTS", "ends past total_clusters 128"});
}

// --- Masks ------------------------------------------------------------------------------------

struct MaskDamage {
  const char* name;
  MaskKind kind;
  std::function<void(std::span<std::byte> first_page)> damage;
};

std::ostream& operator<<(std::ostream& out, const MaskDamage& damage) { return out << damage.name; }

const MaskDamage kMaskDamages[] = {
    {"UsedPagesBadCrc", MaskKind::kUsedPages,
     [](std::span<std::byte> page) { page[kMaskBitsOffset] ^= std::byte{0x80}; }},
    {"UsedClustersBadCrc", MaskKind::kUsedClusters,
     [](std::span<std::byte> page) { page[kMaskBitsOffset + 3] ^= std::byte{0x01}; }},
    {"UsedBlobIdsBadCrc", MaskKind::kUsedBlobIds,
     [](std::span<std::byte> page) { page[kMaskBitsOffset] ^= std::byte{0x20}; }},
    {"UsedPagesWrongKind", MaskKind::kUsedPages,
     [](std::span<std::byte> page) { StoreLe32(page, kMaskKindOffset, 3); }},
    {"UsedClustersWrongBitCount", MaskKind::kUsedClusters,
     [](std::span<std::byte> page) { StoreLe64(page, kMaskBitCountOffset, kTotalClusters * 2); }},
    {"UsedBlobIdsHugeBitCount", MaskKind::kUsedBlobIds,
     [](std::span<std::byte> page) { StoreLe64(page, kMaskBitCountOffset, UINT64_MAX); }},
    {"UsedClustersTrailingGarbage", MaskKind::kUsedClusters,
     [](std::span<std::byte> page) { page[kPageSize - 1] = std::byte{1}; }},
    {"UsedPagesZeroed", MaskKind::kUsedPages,
     [](std::span<std::byte> page) { std::fill(page.begin(), page.end(), std::byte{0}); }},
};

class MaskDamageTest : public BlobStoreCorruptionTest,
                       public ::testing::WithParamInterface<MaskDamage> {};

// A mask that fails its checks on a clean store: the load falls back to the dirty path and finds
// exactly the blobs (and the free space) there are.
TEST_P(MaskDamageTest, FallsBackToTheDirtyLoad) {
  MakeScene(true);
  ASSERT_OK(h_.Load());
  const BlobStoreStats before = h_.Stats();
  ASSERT_OK(h_.Unload());
  const MaskDamage& damage = GetParam();
  const uint64_t start = disk_.MaskStart(damage.kind);
  Bytes page = disk_.ReadPage(start);
  damage.damage(page);
  disk_.WritePage(start, page);

  ASSERT_OK(h_.Load());
  EXPECT_TRUE(h_.store().recovered());
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), (std::vector<uint64_t>{bystander_, victim_}));
  const BlobStoreStats after = h_.Stats();
  EXPECT_EQ(after.free_clusters, before.free_clusters);
  EXPECT_EQ(after.md_pages_used, before.md_pages_used);
  EXPECT_EQ(after.blobs, before.blobs);
  ExpectBystanderIntact();
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(victim_));
  EXPECT_EQ(h_.Run(blob->GetXattr("big")).value(), std::string(9000, 'b'));
  ASSERT_OK(h_.Close(blob));
  // The rebuilt masks hold: a new blob takes none of the old ones' clusters, and all survive a
  // clean unload and load.
  ASSERT_ASSIGN_OR_FAIL(blob, h_.Create({.num_clusters = 3, .xattrs = {{"name", "new"}}}));
  ASSERT_OK(h_.Close(blob));
  ASSERT_OK(h_.Unload());
  ASSERT_OK(h_.Load());
  EXPECT_FALSE(h_.store().recovered());
  EXPECT_EQ(h_.Stats().free_clusters, before.free_clusters - 3);
  h_.Crash();
  ASSERT_OK(h_.Load());  // the dirty load agrees: no cluster claimed twice
  EXPECT_EQ(h_.Stats().free_clusters, before.free_clusters - 3);
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()).size(), 3u);
}

INSTANTIATE_TEST_SUITE_P(Damages, MaskDamageTest, ::testing::ValuesIn(kMaskDamages),
                         [](const ::testing::TestParamInfo<MaskDamage>& param_info) {
                           return std::string(param_info.param.name);
                         });

// Masks whose checks pass but which contradict each other: the load falls back as well.
TEST_F(BlobStoreCorruptionTest, BlobIdMaskNamingAFreePageFallsBack) {
  MakeScene(false);
  Bytes ids = disk_.MaskBits(MaskKind::kUsedBlobIds);
  ids[(kMdPages - 1) / 8] |= std::byte{0x80};  // id of page 63, which is free
  disk_.WriteMask(MaskKind::kUsedBlobIds, ids);
  ASSERT_OK(h_.Load());
  EXPECT_TRUE(h_.store().recovered());
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), (std::vector<uint64_t>{bystander_, victim_}));
}

TEST_F(BlobStoreCorruptionTest, ClusterMaskFreeingTheMetadataClustersFallsBack) {
  MakeScene(false);
  Bytes clusters = disk_.MaskBits(MaskKind::kUsedClusters);
  clusters[0] &= std::byte{0xFE};
  disk_.WriteMask(MaskKind::kUsedClusters, clusters);
  ASSERT_OK(h_.Load());
  EXPECT_TRUE(h_.store().recovered());
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), (std::vector<uint64_t>{bystander_, victim_}));
}

// Masks that pass every check but lie about one blob: the clean load trusts them, and opening the
// blob finds the lie.
TEST_F(BlobStoreCorruptionTest, ClusterMaskCallingABlobsClusterFree) {
  MakeScene(false);
  const uint64_t cluster = victim_metadata_.extents[0].physical + 1;
  Bytes clusters = disk_.MaskBits(MaskKind::kUsedClusters);
  clusters[cluster / 8] &= ~std::byte(1u << (cluster % 8));
  disk_.WriteMask(MaskKind::kUsedClusters, clusters);
  CleanLoadThenOpenFails(EUCLEAN,
                         {"cluster " + std::to_string(cluster), "free in the cluster mask"});
  // The dirty load rebuilds the mask from the chains: nothing is wrong there.
  h_.Crash();
  ASSERT_OK(h_.Load());
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(victim_));
  ASSERT_OK(h_.Close(blob));
}

// A verifying load (fsck) rebuilds the masks from the chains even on a clean store and lists
// where the masks on disk differ: here a blob's cluster marked free and a cluster no blob holds
// marked used.
TEST_F(BlobStoreCorruptionTest, VerifyingLoadListsMaskDifferences) {
  MakeScene(false);
  ASSERT_OK(h_.Load({.read_only = true, .verify = true}));
  EXPECT_FALSE(h_.store().recovered());
  EXPECT_THAT(h_.store().mask_differences(), ::testing::IsEmpty());
  ASSERT_OK(h_.Unload());

  const auto [held, leaked] = MisMarkTwoClusters();
  ASSERT_OK(h_.Load({.read_only = true, .verify = true}));
  EXPECT_THAT(h_.store().mask_differences(),
              ::testing::ElementsAre(
                  "1 clusters marked used on disk belong to no blob (the first: " +
                      std::to_string(leaked) + ")",
                  "1 clusters held by blobs are marked free on disk (the first: " +
                      std::to_string(held) + ")"));
}

// A dirty store is verified without a comparison (its masks on disk are stale by design).
TEST_F(BlobStoreCorruptionTest, VerifyingLoadSkipsStaleMasks) {
  MakeScene(false);
  ASSERT_OK(h_.Load());
  h_.Crash();
  ASSERT_OK(h_.Load({.read_only = true, .verify = true}));
  EXPECT_TRUE(h_.store().recovered());
  EXPECT_THAT(h_.store().mask_differences(), ::testing::IsEmpty());
}

// fsck's repairs load read-write and verifying: the masks rebuilt from the chains are the ones the
// unload writes, so a leaked cluster is free again and a held one marked used.
TEST_F(BlobStoreCorruptionTest, ReadWriteVerifyingLoadWritesTheRebuiltMasks) {
  MakeScene(false);
  const auto [held, leaked] = MisMarkTwoClusters();
  ASSERT_OK(h_.Load({.verify = true}));
  EXPECT_EQ(h_.store().mask_differences().size(), 2u);
  ASSERT_OK(h_.Unload());
  const Bytes rewritten = disk_.MaskBits(MaskKind::kUsedClusters);
  EXPECT_EQ(rewritten[leaked / 8] & std::byte(1u << (leaked % 8)), std::byte{0});
  EXPECT_NE(rewritten[held / 8] & std::byte(1u << (held % 8)), std::byte{0});
  ASSERT_OK(h_.Load({.read_only = true, .verify = true}));
  EXPECT_THAT(h_.store().mask_differences(), ::testing::IsEmpty());
}

// Deleting that blob must not bring the process down either (opening it is refused, deleting it
// may succeed or be refused, the store lives on).
// BUG (blob/blob_store_blobs.cc, DoDeleteBlob): unlike DoOpenBlob, it does not check the blob's
// clusters against the cluster mask (CheckClustersClaimed) before committing, and its AfterCommit
// releases them: ClusterAllocator::Release CHECK-fails on the cluster the mask calls free
// ("Check failed: !free_cluster releasing clusters [..]: cluster N is free"). Found by
// blob_store_load_fuzz. Runs in a child process (a death test that expects a normal exit).
TEST_F(BlobStoreCorruptionTest, DeletingABlobWhoseClusterTheMaskCallsFreeDoesNotAbort) {
  MakeScene(false);
  const uint64_t cluster = victim_metadata_.extents[0].physical;
  Bytes clusters = disk_.MaskBits(MaskKind::kUsedClusters);
  clusters[cluster / 8] &= ~std::byte(1u << (cluster % 8));
  disk_.WriteMask(MaskKind::kUsedClusters, clusters);
  ASSERT_OK(h_.Load());
  EXPECT_EXIT(
      {
        const int deleted = ErrCode(h_.Run(h_.store().DeleteBlob(victim_)));
        h_.Stats();
        std::_Exit(deleted == 0 || deleted == EUCLEAN ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST_F(BlobStoreCorruptionTest, PageMaskCallingAChainPageFree) {
  MakeScene(true);
  const uint32_t p1 = chain_[1];
  Bytes pages = disk_.MaskBits(MaskKind::kUsedPages);
  pages[p1 / 8] &= ~std::byte(1u << (p1 % 8));
  disk_.WriteMask(MaskKind::kUsedPages, pages);
  CleanLoadThenOpenFails(
      EUCLEAN, {PageName(root_), "next " + std::to_string(p1), "used page mask calls free"});
  h_.Crash();
  ASSERT_OK(h_.Load());
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(victim_));
  ASSERT_OK(h_.Close(blob));
}

// --- Flags of a blob --------------------------------------------------------------------------

// An unknown invalid_flags bit: the loaders keep the blob (and its clusters), opening it is
// refused.
TEST_F(BlobStoreCorruptionTest, UnknownInvalidFlagRefusesTheOpen) {
  MakeScene(false);
  disk_.EditMetadata(victim_, [](BlobMetadata& metadata) { metadata.invalid_flags |= 0x10; });
  CleanLoadThenOpenFails(EOPNOTSUPP, {"invalid_flags 0x10"});
  const BlobStoreStats clean = h_.Stats();
  h_.Crash();
  ASSERT_OK(h_.Load());
  EXPECT_TRUE(h_.store().recovered());
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), (std::vector<uint64_t>{bystander_, victim_}));
  EXPECT_EQ(h_.Stats().free_clusters, clean.free_clusters);
  EXPECT_ERROR(h_.Open(victim_), EOPNOTSUPP, "invalid_flags 0x10");
  EXPECT_EQ(h_.Stats().open_blobs, 0u);
}

// An unknown data_ro_flags bit opens the blob read-only (data and metadata); the flags are kept.
TEST_F(BlobStoreCorruptionTest, UnknownDataReadOnlyFlagOpensReadOnly) {
  bystander_ = MakeBlob({.num_clusters = 1, .xattrs = {{"name", "bystander"}}});
  const std::vector<std::byte> data = Pattern(2 * kCluster, 5);
  {
    ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.num_clusters = 2}));
    victim_ = blob->id();
    ASSERT_OK(h_.Write(blob, 0, data));
    ASSERT_OK(h_.Close(blob));
  }
  ASSERT_OK(h_.Unload());
  disk_.EditMetadata(victim_, [](BlobMetadata& metadata) { metadata.data_ro_flags |= 0x80; });
  for (bool dirty : {false, true}) {
    SCOPED_TRACE(dirty ? "dirty load" : "clean load");
    ASSERT_OK(h_.Load());
    EXPECT_EQ(h_.store().recovered(), dirty);
    ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(victim_));
    EXPECT_TRUE(blob->read_only());
    ASSERT_ASSIGN_OR_FAIL(std::vector<std::byte> back, h_.Read(blob, 0, data.size()));
    EXPECT_TRUE(SameBytes(back, data));
    EXPECT_EQ(ErrCode(h_.Write(blob, 0, Pattern(512, 6))), EROFS);
    EXPECT_EQ(ErrCode(h_.Run(blob->WriteZeroes(h_.channel(), 0, 512))), EROFS);
    EXPECT_EQ(ErrCode(h_.Run(blob->SetXattr("k", "v"))), EROFS);
    EXPECT_EQ(ErrCode(h_.Run(blob->Resize(1))), EROFS);
    ASSERT_OK(h_.Close(blob));
    if (dirty) {
      ASSERT_OK(h_.Unload());
    } else {
      h_.Crash();
    }
  }
  EXPECT_EQ(disk_.Metadata(victim_).data_ro_flags, 0x80u);
  // The data is untouched.
  ASSERT_OK(h_.Load());
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(victim_));
  ASSERT_ASSIGN_OR_FAIL(std::vector<std::byte> back, h_.Read(blob, 0, data.size()));
  ASSERT_OK(h_.Close(blob));
  EXPECT_TRUE(SameBytes(back, data));
}

// An unknown md_ro_flags bit makes the metadata read-only; the data stays writable.
TEST_F(BlobStoreCorruptionTest, UnknownMetadataReadOnlyFlagFreezesTheMetadata) {
  MakeScene(false);
  disk_.EditMetadata(victim_, [](BlobMetadata& metadata) { metadata.md_ro_flags |= 0x4; });
  ASSERT_OK(h_.Load());
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(victim_));
  EXPECT_FALSE(blob->read_only());
  const std::vector<std::byte> data = Pattern(kCluster, 8);
  EXPECT_OK(h_.Write(blob, kCluster, data));
  EXPECT_EQ(ErrCode(h_.Run(blob->SetXattr("k", "v"))), EROFS);
  EXPECT_EQ(ErrCode(h_.Run(blob->RemoveXattr("name"))), EROFS);
  EXPECT_EQ(ErrCode(h_.Run(blob->Resize(4))), EROFS);
  ASSERT_OK(h_.Close(blob));
  ASSERT_OK(h_.Unload());
  const BlobMetadata after = disk_.Metadata(victim_);
  EXPECT_EQ(after.md_ro_flags, 0x4u);
  EXPECT_EQ(after.xattrs, victim_metadata_.xattrs);
}

}  // namespace
}  // namespace blobfs
