// DirNodeCache: one least-recently-used bound over the nodes of many owners, owners that never
// see each other's nodes, and a fresh owner that sees nothing cached before it.
#include "blobfs/dir_node_cache.h"

#include <memory>

#include "gtest/gtest.h"

namespace blobfs {
namespace {

DirNodeCache::NodePtr Leaf(uint64_t ino) {
  auto node = std::make_shared<DirNode>();
  node->entries.push_back(DirEntry{.cookie = 256, .ino = ino, .type = 8, .name = "x"});
  return node;
}

uint64_t InoOf(const DirNodeCache::NodePtr& node) { return node->entries.at(0).ino; }

TEST(DirNodeCacheTest, OwnersShareOneBoundAndTheLeastRecentlyUsedGoesFirst) {
  DirNodeCache cache(3);
  const uint64_t a = cache.NewOwner();
  const uint64_t b = cache.NewOwner();
  cache.Put(a, 1, Leaf(11));
  cache.Put(b, 1, Leaf(21));
  cache.Put(a, 2, Leaf(12));
  ASSERT_NE(cache.Find(a, 1), nullptr);  // Now the most recently used.
  cache.Put(b, 2, Leaf(22));             // Over the bound: (b, 1) goes.
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.Find(b, 1), nullptr);
  EXPECT_EQ(InoOf(cache.Find(a, 1)), 11u);
  EXPECT_EQ(InoOf(cache.Find(a, 2)), 12u);
  EXPECT_EQ(InoOf(cache.Find(b, 2)), 22u);
}

TEST(DirNodeCacheTest, PutReplacesAndEraseRemovesOneOwnersNode) {
  DirNodeCache cache(4);
  const uint64_t owner = cache.NewOwner();
  const uint64_t other = cache.NewOwner();
  cache.Put(owner, 5, Leaf(1));
  cache.Put(other, 5, Leaf(9));
  cache.Put(owner, 5, Leaf(2));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(InoOf(cache.Find(owner, 5)), 2u);
  cache.Erase(owner, 5);
  EXPECT_EQ(cache.Find(owner, 5), nullptr);
  EXPECT_EQ(InoOf(cache.Find(other, 5)), 9u) << "the same block of another owner stays";
}

TEST(DirNodeCacheTest, ANewOwnerFindsNothingOfAnEarlierOne) {
  DirNodeCache cache(4);
  const uint64_t before = cache.NewOwner();
  cache.Put(before, 1, Leaf(1));
  const uint64_t after = cache.NewOwner();
  EXPECT_NE(after, before);
  EXPECT_EQ(cache.Find(after, 1), nullptr);
  // The earlier owner's node ages out like any other.
  for (uint64_t block = 1; block <= 4; ++block) cache.Put(after, block, Leaf(block));
  EXPECT_EQ(cache.Find(before, 1), nullptr);
  EXPECT_EQ(cache.size(), 4u);
}

}  // namespace
}  // namespace blobfs
