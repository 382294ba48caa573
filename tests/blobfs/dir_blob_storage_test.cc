// DirBlobStorage: directory blocks kept dirty in memory and written back into a thin blob — many
// blocks at once (more than one request can carry), released blocks, reads of every state.
#include "blobfs/dir_blob_storage.h"

#include <cstring>
#include <vector>

#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"
#include "tests/blob/blob_store_test_util.h"

namespace blobfs {
namespace {

std::vector<std::byte> BlockOf(uint64_t index) {
  std::vector<std::byte> block(4096);
  for (size_t i = 0; i < block.size(); ++i) block[i] = std::byte(static_cast<uint8_t>(index * 7 + i));
  return block;
}

TEST(DirBlobStorageTest, WritesBackThousandsOfContiguousBlocksAndReadsEveryState) {
  blob_test::StoreHarness harness(64 << 20, 4096);
  BlobStoreInitOptions init{.cluster_size = 4096};
  ASSERT_OK(harness.Init(init));
  BlobCreateOptions options{.thin = true};
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, harness.Create(options));
  DirBlobStorage storage(*blob, harness.channel(), 4096);
  constexpr uint64_t kBlocks = 3000;  // More than IOV_MAX buffers in one contiguous run.
  for (uint64_t i = 0; i < kBlocks; ++i) {
    std::vector<std::byte> block = BlockOf(i);
    ASSERT_OK(harness.Run(storage.WriteBlock(i, block)));
  }
  EXPECT_TRUE(storage.dirty());
  ASSERT_OK(harness.Run(storage.WriteBack()));
  EXPECT_FALSE(storage.dirty());
  ASSERT_OK(harness.Run(storage.ReleaseBlock(5)));
  std::vector<std::byte> newer = BlockOf(99999);
  ASSERT_OK(harness.Run(storage.WriteBlock(6, newer)));
  std::vector<std::byte> out(4096);
  ASSERT_OK(harness.Run(storage.ReadBlock(5, out)));  // Released: zeroes.
  EXPECT_EQ(out, std::vector<std::byte>(4096));
  ASSERT_OK(harness.Run(storage.ReadBlock(6, out)));  // Dirty: the newest.
  EXPECT_EQ(out, newer);
  ASSERT_OK(harness.Run(storage.ReadBlock(kBlocks + 10, out)));  // Past the blob: zeroes.
  EXPECT_EQ(out, std::vector<std::byte>(4096));
  ASSERT_OK(harness.Run(storage.WriteBack()));
  EXPECT_EQ(blob->extents()->Lookup(5), std::nullopt);  // Its cluster went back.
  for (uint64_t i : {uint64_t{0}, uint64_t{1023}, uint64_t{1024}, uint64_t{2999}}) {
    ASSERT_OK(harness.Run(storage.ReadBlock(i, out)));
    EXPECT_EQ(out, BlockOf(i)) << i;
  }
  ASSERT_OK(harness.Close(blob));
}

}  // namespace
}  // namespace blobfs
