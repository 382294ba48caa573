// MetadataSpace: root and chain page claims, ids, masks from a clean load, ENOSPC.
#include "blob/metadata_space.h"

#include <set>
#include <vector>

#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h

TEST(MetadataSpaceTest, RootsClaimTheirPageAndId) {
  MetadataSpace space(8);
  ASSERT_ASSIGN_OR_FAIL(uint32_t root, space.ClaimRoot());
  EXPECT_TRUE(space.PageInUse(root));
  EXPECT_TRUE(space.IdInUse(root));
  EXPECT_EQ(space.blob_count(), 1u);
  ASSERT_ASSIGN_OR_FAIL(std::vector<uint32_t> pages, space.ClaimPages(3));
  EXPECT_EQ(space.used_pages(), 4u);
  EXPECT_EQ(space.blob_count(), 1u);
  for (uint32_t page : pages) EXPECT_FALSE(space.IdInUse(page));
  EXPECT_EQ(space.NextId(0), root);
  EXPECT_EQ(space.NextId(root + 1), std::nullopt);
  space.ReleaseId(root);
  EXPECT_TRUE(space.PageInUse(root));  // until the page is released too
  space.ReleasePage(root);
  EXPECT_EQ(space.used_pages(), 3u);
}

TEST(MetadataSpaceTest, ClaimsAreAllOrNothing) {
  MetadataSpace space(4);
  ASSERT_OK(space.ClaimPages(3));
  EXPECT_EQ(ErrCode(space.ClaimPages(2)), ENOSPC);
  EXPECT_EQ(space.used_pages(), 3u);
  ASSERT_OK(space.ClaimRoot());
  EXPECT_EQ(ErrCode(space.ClaimRoot()), ENOSPC);
  EXPECT_EQ(space.blob_count(), 1u);
}

TEST(MetadataSpaceTest, ClaimsWrapAroundAndNeverRepeat) {
  MetadataSpace space(16);
  std::set<uint32_t> held;
  for (int round = 0; round < 40; ++round) {
    ASSERT_ASSIGN_OR_FAIL(std::vector<uint32_t> pages, space.ClaimPages(5));
    for (uint32_t page : pages) EXPECT_TRUE(held.insert(page).second) << page;
    // Give back the oldest few so that the cursor has to wrap to find room.
    while (held.size() > 10) {
      space.ReleasePage(*held.begin());
      held.erase(held.begin());
    }
  }
  EXPECT_EQ(space.used_pages(), held.size());
}

TEST(MetadataSpaceTest, MasksWithAnIdWhosePageIsFreeAreCorrupt) {
  BitArray pages(8), ids(8);
  pages.Set(2);
  ids.Set(2);
  ASSERT_ASSIGN_OR_FAIL(MetadataSpace space, MetadataSpace::FromMasks(pages, ids));
  EXPECT_TRUE(space.IdInUse(2));
  ids.Set(5);
  Result<MetadataSpace> bad = MetadataSpace::FromMasks(pages, ids);
  EXPECT_EQ(ErrCode(bad), EUCLEAN);
  EXPECT_NE(ErrText(bad).find("page 5"), std::string::npos) << ErrText(bad);
}

}  // namespace
}  // namespace blobfs
