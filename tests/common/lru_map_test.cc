// LruMap: the least recently used entry goes first once the bound is passed, Find and Put both
// count as a use, Put replaces in place, Erase forgets, and capacity 0 holds nothing.
#include "common/lru_map.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"

namespace blobfs {
namespace {

TEST(LruMapTest, EvictsTheLeastRecentlyUsedOncePastItsCapacity) {
  LruMap<int, std::string> map(3);
  map.Put(1, "one");
  map.Put(2, "two");
  map.Put(3, "three");
  ASSERT_NE(map.Find(1), nullptr);  // 1 is now the most recently used; 2 the least.
  map.Put(4, "four");
  EXPECT_EQ(map.size(), 3u);
  EXPECT_EQ(map.Find(2), nullptr);
  map.Put(3, "THREE");  // A replacement is a use too: 1 is now the least recently used.
  map.Put(5, "five");
  EXPECT_EQ(map.Find(1), nullptr);
  ASSERT_NE(map.Find(3), nullptr);
  EXPECT_EQ(*map.Find(3), "THREE");
  EXPECT_EQ(*map.Find(4), "four");
  EXPECT_EQ(*map.Find(5), "five");
}

TEST(LruMapTest, PutReturnsTheStoredValueAndEraseForgetsIt) {
  LruMap<int, std::unique_ptr<int>> map(2);
  int* stored = map.Put(7, std::make_unique<int>(70))->get();
  EXPECT_EQ(map.Find(7)->get(), stored) << "a move-only value is stored, not copied";
  map.Erase(7);
  map.Erase(8);  // Absent: nothing happens.
  EXPECT_EQ(map.Find(7), nullptr);
  EXPECT_EQ(map.size(), 0u);
}

TEST(LruMapTest, CapacityZeroHoldsNothing) {
  LruMap<int, int> map(0);
  EXPECT_EQ(map.Put(1, 10), nullptr);
  EXPECT_EQ(map.Find(1), nullptr);
  EXPECT_EQ(map.size(), 0u);
}

}  // namespace
}  // namespace blobfs
