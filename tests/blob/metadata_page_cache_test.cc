// MetadataPageCache: lookups, LRU eviction at capacity, invalidation, and reads that raced with
// an invalidation staying out.
#include "blob/metadata_page_cache.h"

#include <vector>

#include "blob/format/page.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

std::vector<std::byte> PageOf(uint8_t fill) { return std::vector<std::byte>(kPageSize, std::byte{fill}); }

uint8_t Cached(MetadataPageCache& cache, uint32_t index) {
  std::vector<std::byte> out(kPageSize);
  if (!cache.Lookup(index, out)) return 0;
  return std::to_integer<uint8_t>(out[kPageSize - 1]);
}

TEST(MetadataPageCacheTest, KeepsTheMostRecentlyUsedPagesUpToItsCapacity) {
  MetadataPageCache cache(3);
  for (uint32_t i = 1; i <= 3; ++i) cache.Insert(i, PageOf(i), cache.epoch());
  EXPECT_EQ(Cached(cache, 1), 1);  // 1 is now the most recently used.
  cache.Insert(4, PageOf(4), cache.epoch());
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(Cached(cache, 2), 0);  // The least recently used went.
  EXPECT_EQ(Cached(cache, 1), 1);
  EXPECT_EQ(Cached(cache, 3), 3);
  EXPECT_EQ(Cached(cache, 4), 4);
  cache.Insert(3, PageOf(33), cache.epoch());  // Replaces in place.
  EXPECT_EQ(Cached(cache, 3), 33);
  EXPECT_EQ(cache.size(), 3u);
}

TEST(MetadataPageCacheTest, InvalidationForgetsAPageAndRefusesReadsIssuedBeforeIt) {
  MetadataPageCache cache(8);
  cache.Insert(5, PageOf(5), cache.epoch());
  const uint64_t before_write = cache.epoch();
  cache.Invalidate(5);
  EXPECT_EQ(Cached(cache, 5), 0);
  // A read issued before the write completes after it: its (possibly old) bytes stay out, for
  // every page it brought, not only the one rewritten.
  cache.Insert(5, PageOf(50), before_write);
  cache.Insert(6, PageOf(60), before_write);
  EXPECT_EQ(Cached(cache, 5), 0);
  EXPECT_EQ(Cached(cache, 6), 0);
  cache.Insert(5, PageOf(51), cache.epoch());
  EXPECT_EQ(Cached(cache, 5), 51);
}

TEST(MetadataPageCacheTest, CapacityZeroCachesNothing) {
  MetadataPageCache cache(0);
  cache.Insert(1, PageOf(1), cache.epoch());
  EXPECT_EQ(Cached(cache, 1), 0);
  EXPECT_EQ(cache.size(), 0u);
}

}  // namespace
}  // namespace blobfs
