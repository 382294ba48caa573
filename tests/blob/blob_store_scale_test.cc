// BlobStore at scale: 100,000 blobs (clean load reads the masks, not every page; dirty load finds
// them all) and a sparse blob of a terabyte on a small device.
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"
#include "tests/blob/blob_store_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h
using blob_test::StoreHarness;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kGiB = kMiB << 10;

// Creates `count` blobs with an xattr each, committing them in batches; returns their ids.
Task<Result<std::vector<uint64_t>>> CreateMany(BlobStore* store, uint64_t count) {
  std::vector<uint64_t> ids;
  std::vector<Blob*> batch;
  for (uint64_t i = 0; i < count; ++i) {
    BlobCreateOptions options;  // GCC 12 cannot co_await with an initializer list inside.
    options.xattrs.emplace("n", std::to_string(i));
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store->CreateBlob(std::move(options)));
    ids.push_back(blob->id());
    batch.push_back(blob);
    if (batch.size() == 1000 || i + 1 == count) {
      CO_RETURN_IF_ERROR(co_await store->Commit(batch));
      for (Blob* done : batch) CO_RETURN_IF_ERROR(co_await store->CloseBlob(done));
      batch.clear();
    }
  }
  co_return ids;
}

TEST(BlobStoreScaleTest, HundredThousandBlobsLoadCleanWithoutReadingEveryPage) {
  constexpr uint64_t kBlobs = 100'000;
  StoreHarness h(512 * kMiB);
  ASSERT_OK(h.Init({.cluster_size = 1 << 20, .md_pages = 110'000}));
  ASSERT_ASSIGN_OR_FAIL(std::vector<uint64_t> ids, h.Run(CreateMany(&h.store(), kBlobs)));
  ASSERT_OK(h.Unload());

  Bdev& device = *h.registry().Find("dev");
  const uint64_t read_before = device.GetStats()[IoType::kRead].bytes;
  ASSERT_OK(h.Load());
  const uint64_t load_read = device.GetStats()[IoType::kRead].bytes - read_before;
  EXPECT_FALSE(h.store().recovered());
  // The super block, three masks and the journal (which every load scans): well under 1 MiB
  // besides the journal, against 430 MB of metadata pages.
  EXPECT_LT(load_read, 1 * kMiB + h.store().super_block().journal_len * kPageSize);
  EXPECT_EQ(h.Run(h.store().ListBlobs()), ids);
  EXPECT_EQ(h.Stats().blobs, kBlobs);
  for (uint64_t i : {uint64_t{0}, uint64_t{4321}, kBlobs - 1}) {
    ASSERT_ASSIGN_OR_FAIL(Blob * blob, h.Open(ids[i]));
    EXPECT_EQ(h.Run(blob->GetXattr("n")).value(), std::to_string(i));
    ASSERT_OK(h.Close(blob));
  }

  h.Crash();
  ASSERT_OK(h.Load());
  EXPECT_TRUE(h.store().recovered());
  EXPECT_EQ(h.Run(h.store().ListBlobs()), ids);
}

TEST(BlobStoreScaleTest, TerabyteSparseBlobOnASmallDevice) {
  StoreHarness h(256 * kMiB);
  ASSERT_OK(h.Init({.cluster_size = 1 << 20}));
  const uint64_t clusters = 1024 * 1024;  // 1 TiB of 1 MiB clusters
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h.Create({.num_clusters = clusters, .thin = true}));
  const uint64_t id = blob->id();
  EXPECT_EQ(blob->size_bytes(), 1024 * kGiB);
  const std::vector<uint64_t> offsets = {0, 3 * kGiB + 4096, 700 * kGiB, 1024 * kGiB - 8192};
  for (size_t i = 0; i < offsets.size(); ++i) {
    ASSERT_OK(h.Write(blob, offsets[i], Pattern(8192, static_cast<uint32_t>(i))));
  }
  EXPECT_EQ(blob->extents()->allocated_clusters(), offsets.size());
  ASSERT_OK(h.Close(blob));
  ASSERT_OK(h.Unload());
  ASSERT_OK(h.Load());
  ASSERT_ASSIGN_OR_FAIL(blob, h.Open(id));
  EXPECT_EQ(blob->num_clusters(), clusters);
  EXPECT_EQ(blob->extents()->allocated_clusters(), offsets.size());
  for (size_t i = 0; i < offsets.size(); ++i) {
    ASSERT_ASSIGN_OR_FAIL(std::vector<std::byte> back, h.Read(blob, offsets[i], 8192));
    EXPECT_TRUE(SameBytes(back, Pattern(8192, static_cast<uint32_t>(i)))) << offsets[i];
  }
  ASSERT_ASSIGN_OR_FAIL(std::vector<std::byte> hole, h.Read(blob, 512 * kGiB, 1 << 20));
  EXPECT_TRUE(AllZero(hole));
  // Shrinking to 1 GiB frees everything past it.
  ASSERT_OK(h.Run(blob->Resize(1024)));
  ASSERT_OK(h.Run(blob->Sync()));
  EXPECT_EQ(blob->extents()->allocated_clusters(), 1u);
  ASSERT_OK(h.Close(blob));
}

}  // namespace
}  // namespace blobfs
