// PlanLayout: where a new store puts its regions, the defaults, and the options it refuses.
#include "blob/store_layout.h"

#include "blob/format/mask.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h

constexpr uint64_t kMiB = 1 << 20;

TEST(StoreLayoutTest, RegionsFollowTheSuperBlockInOrder) {
  ASSERT_ASSIGN_OR_FAIL(SuperBlock super, PlanLayout({.device_bytes = 1024 * kMiB + 12345,
                                                      .block_size = 512,
                                                      .cluster_size = 1 << 20,
                                                      .md_pages = 5000,
                                                      .bstype = "blobfs"}));
  EXPECT_EQ(super.total_clusters, 1024u);  // the partial cluster at the end is not used
  EXPECT_EQ(super.io_unit_size, 512u);
  EXPECT_EQ(super.used_page_mask_start, 1u);
  EXPECT_EQ(super.used_page_mask_len, MaskPages(5000));
  EXPECT_EQ(super.used_cluster_mask_start, super.used_page_mask_start + super.used_page_mask_len);
  EXPECT_EQ(super.used_blobid_mask_start,
            super.used_cluster_mask_start + super.used_cluster_mask_len);
  EXPECT_EQ(super.md_start, super.used_blobid_mask_start + super.used_blobid_mask_len);
  EXPECT_EQ(super.md_len, 5000u);
  EXPECT_FALSE(super.clean());
  EXPECT_EQ(super.super_blob, kNoBlobId);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(super.bstype.data()), 6), "blobfs");
  // The journal follows, 1/64 of the store.
  EXPECT_TRUE(super.has_journal());
  EXPECT_EQ(super.journal_start, super.md_start + 5000);
  EXPECT_EQ(super.journal_len, 4096u);
  // 9104 pages of 4 KiB need 36 clusters of 1 MiB.
  EXPECT_EQ(MetadataClusters(super), (super.journal_start + 4096 + 255) / 256);
  EXPECT_OK(super.Validate());
}

TEST(StoreLayoutTest, DefaultMetadataIsOnePagePerCluster) {
  ASSERT_ASSIGN_OR_FAIL(SuperBlock super, PlanLayout({.device_bytes = 4096 * kMiB,
                                                      .block_size = 4096,
                                                      .cluster_size = 1 << 20}));
  EXPECT_EQ(super.md_len, 4096u);
  ASSERT_ASSIGN_OR_FAIL(SuperBlock tiny, PlanLayout({.device_bytes = 4 * kMiB,
                                                     .block_size = 4096,
                                                     .cluster_size = 1 << 20}));
  EXPECT_EQ(tiny.md_len, 64u);  // at least 64 pages
}

TEST(StoreLayoutTest, RefusesWhatTheFormatCannotHold) {
  const LayoutRequest good{.device_bytes = 64 * kMiB, .block_size = 512, .cluster_size = 65536};
  ASSERT_OK(PlanLayout(good));
  LayoutRequest bad = good;
  bad.cluster_size = 65536 + 4096;
  EXPECT_EQ(ErrCode(PlanLayout(bad)), EINVAL);
  bad = good;
  bad.cluster_size = 2048;
  EXPECT_EQ(ErrCode(PlanLayout(bad)), EINVAL);
  bad = good;
  bad.block_size = 8192;
  EXPECT_EQ(ErrCode(PlanLayout(bad)), EINVAL);
  bad = good;
  bad.bstype = "seventeen-bytes!!";
  EXPECT_EQ(ErrCode(PlanLayout(bad)), EINVAL);
  bad = good;
  bad.md_pages = uint64_t{1} << 33;
  EXPECT_EQ(ErrCode(PlanLayout(bad)), EINVAL);
  bad = good;
  bad.device_bytes = 65536;  // one cluster: no room for data after the metadata
  EXPECT_EQ(ErrCode(PlanLayout(bad)), ENOSPC);
  bad = good;
  bad.md_pages = 16384;  // the metadata fills the device
  EXPECT_EQ(ErrCode(PlanLayout(bad)), ENOSPC);
}

}  // namespace
}  // namespace blobfs
