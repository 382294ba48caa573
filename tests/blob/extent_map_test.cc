// ExtentMap: merge rules, lookups at run edges, refused overlaps, truncation in the middle of a
// run, SEEK_DATA/SEEK_HOLE helpers, memory in runs (a contiguous 1 TiB blob is one run), and random
// workloads against a per-cluster reference map.
#include "blob/extent_map.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using Mapping = ExtentMap::Mapping;

std::vector<Extent> Runs(const ExtentMap& map) { return {map.begin(), map.end()}; }

void MustInsert(ExtentMap& map, uint64_t logical, uint64_t physical, uint64_t count) {
  Status inserted = map.Insert(logical, physical, count);
  ASSERT_TRUE(inserted.ok()) << inserted.error().ToString();
}

TEST(ExtentMapTest, EmptyMapIsAllHoles) {
  ExtentMap map;
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.run_count(), 0u);
  EXPECT_EQ(map.allocated_clusters(), 0u);
  EXPECT_EQ(map.Lookup(0), std::nullopt);
  EXPECT_EQ(map.NextMapped(0), std::nullopt);
  EXPECT_EQ(map.NextUnmapped(7), 7u);
  EXPECT_THAT(map.RemoveFrom(0), IsEmpty());
  EXPECT_THAT(Runs(map), IsEmpty());
}

TEST(ExtentMapTest, MergesWhenLogicallyAndPhysicallyContiguous) {
  ExtentMap map;
  MustInsert(map, 0, 100, 10);
  MustInsert(map, 20, 120, 10);
  EXPECT_EQ(map.run_count(), 2u);
  // Fills the gap exactly: one run with both neighbours.
  MustInsert(map, 10, 110, 10);
  EXPECT_THAT(Runs(map), ElementsAre(Extent{0, 100, 30}));
  // Merges with the following run only.
  MustInsert(map, 50, 300, 5);
  MustInsert(map, 45, 295, 5);
  EXPECT_THAT(Runs(map), ElementsAre(Extent{0, 100, 30}, Extent{45, 295, 10}));
  EXPECT_EQ(map.allocated_clusters(), 40u);
}

TEST(ExtentMapTest, DoesNotMergeWhenOnlyOneSideIsContiguous) {
  ExtentMap map;
  MustInsert(map, 0, 100, 10);
  MustInsert(map, 10, 200, 5);  // logically next, physically elsewhere
  MustInsert(map, 30, 205, 5);  // physically next, logically elsewhere
  MustInsert(map, 15, 205 + 100, 5);
  EXPECT_THAT(Runs(map), ElementsAre(Extent{0, 100, 10}, Extent{10, 200, 5}, Extent{15, 305, 5},
                                     Extent{30, 205, 5}));
  EXPECT_EQ(map.allocated_clusters(), 25u);
}

TEST(ExtentMapTest, LookupAtRunEdges) {
  ExtentMap map;
  MustInsert(map, 10, 100, 5);
  MustInsert(map, 15, 500, 3);
  EXPECT_EQ(map.Lookup(9), std::nullopt);
  EXPECT_EQ(map.Lookup(10), (Mapping{100, 5}));
  EXPECT_EQ(map.Lookup(12), (Mapping{102, 3}));
  // The contiguous length stops where the physical clusters stop, even with no logical gap.
  EXPECT_EQ(map.Lookup(14), (Mapping{104, 1}));
  EXPECT_EQ(map.Lookup(15), (Mapping{500, 3}));
  EXPECT_EQ(map.Lookup(17), (Mapping{502, 1}));
  EXPECT_EQ(map.Lookup(18), std::nullopt);
}

TEST(ExtentMapTest, InsertRefusesOverlapsAndBadRuns) {
  ExtentMap map;
  MustInsert(map, 10, 100, 10);
  MustInsert(map, 30, 300, 10);
  const std::vector<Extent> before = Runs(map);
  struct Bad {
    uint64_t logical, physical, count;
  };
  for (const Bad& bad : {Bad{5, 0, 6},                  // overlaps the start
                         Bad{19, 0, 2},                 // overlaps the end
                         Bad{12, 0, 3},                 // inside
                         Bad{0, 0, 100},                // covers both runs
                         Bad{20, 0, 11},                // fills the gap and one cluster more
                         Bad{50, 0, 0},                 // empty
                         Bad{~uint64_t{0} - 2, 0, 4},   // logical wraps
                         Bad{100, ~uint64_t{0}, 2}}) {  // physical wraps
    Status refused = map.Insert(bad.logical, bad.physical, bad.count);
    ASSERT_FALSE(refused.ok()) << bad.logical << " +" << bad.count;
    EXPECT_EQ(refused.error().code(), EUCLEAN);
  }
  EXPECT_THAT(map.Insert(15, 0, 1).error().message(),
              HasSubstr("logical clusters [15, +1) overlap mapped logical [10, +10) -> physical "
                        "100"));
  EXPECT_EQ(Runs(map), before);
  EXPECT_EQ(map.allocated_clusters(), 20u);
  // A run may end at 2^64 - 1, the largest cluster number.
  MustInsert(map, ~uint64_t{0} - 3, 1000, 3);
  EXPECT_EQ(map.Lookup(~uint64_t{0} - 1), (Mapping{1002, 1}));
  EXPECT_EQ(map.NextUnmapped(~uint64_t{0} - 3), ~uint64_t{0});
}

TEST(ExtentMapTest, RemoveFromTruncatesInTheMiddleOfARun) {
  ExtentMap map;
  MustInsert(map, 0, 100, 10);
  MustInsert(map, 20, 200, 10);
  MustInsert(map, 40, 400, 1);
  EXPECT_THAT(map.RemoveFrom(5),
              ElementsAre(ClusterRun{105, 5}, ClusterRun{200, 10}, ClusterRun{400, 1}));
  EXPECT_THAT(Runs(map), ElementsAre(Extent{0, 100, 5}));
  EXPECT_EQ(map.allocated_clusters(), 5u);
  EXPECT_THAT(map.RemoveFrom(5), IsEmpty());
  EXPECT_THAT(map.RemoveFrom(100), IsEmpty());
  // Growing back in place merges again.
  MustInsert(map, 5, 105, 2);
  EXPECT_THAT(Runs(map), ElementsAre(Extent{0, 100, 7}));
  // Truncating at a run's first cluster removes it whole.
  EXPECT_THAT(map.RemoveFrom(0), ElementsAre(ClusterRun{100, 7}));
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.allocated_clusters(), 0u);
}

TEST(ExtentMapTest, RemoveFromInAHole) {
  ExtentMap map;
  MustInsert(map, 0, 100, 10);
  MustInsert(map, 20, 200, 10);
  EXPECT_THAT(map.RemoveFrom(15), ElementsAre(ClusterRun{200, 10}));
  EXPECT_THAT(Runs(map), ElementsAre(Extent{0, 100, 10}));
}

TEST(ExtentMapTest, RemovePunchesHolesInsideAndAcrossRuns) {
  ExtentMap map;
  MustInsert(map, 0, 100, 10);
  MustInsert(map, 20, 200, 10);
  // Inside one run: it splits in two.
  EXPECT_THAT(map.Remove(3, 2), ElementsAre(ClusterRun{103, 2}));
  EXPECT_THAT(Runs(map), ElementsAre(Extent{0, 100, 3}, Extent{5, 105, 5}, Extent{20, 200, 10}));
  // Across a hole and into the next run.
  EXPECT_THAT(map.Remove(8, 15), ElementsAre(ClusterRun{108, 2}, ClusterRun{200, 3}));
  EXPECT_THAT(Runs(map), ElementsAre(Extent{0, 100, 3}, Extent{5, 105, 3}, Extent{23, 203, 7}));
  EXPECT_EQ(map.allocated_clusters(), 13u);
  // Only holes: nothing.
  EXPECT_THAT(map.Remove(10, 10), IsEmpty());
  // To the end of the address space.
  EXPECT_THAT(map.Remove(0, UINT64_MAX),
              ElementsAre(ClusterRun{100, 3}, ClusterRun{105, 3}, ClusterRun{203, 7}));
  EXPECT_TRUE(map.empty());
  EXPECT_EQ(map.allocated_clusters(), 0u);
}

TEST(ExtentMapTest, NextMappedAndNextUnmapped) {
  ExtentMap map;
  MustInsert(map, 10, 100, 5);
  MustInsert(map, 15, 300, 5);  // touches the first run logically only
  MustInsert(map, 30, 400, 2);
  EXPECT_EQ(map.NextMapped(0), 10u);
  EXPECT_EQ(map.NextMapped(10), 10u);
  EXPECT_EQ(map.NextMapped(19), 19u);
  EXPECT_EQ(map.NextMapped(20), 30u);
  EXPECT_EQ(map.NextMapped(31), 31u);
  EXPECT_EQ(map.NextMapped(32), std::nullopt);
  EXPECT_EQ(map.NextUnmapped(0), 0u);
  EXPECT_EQ(map.NextUnmapped(10), 20u);  // across both touching runs
  EXPECT_EQ(map.NextUnmapped(17), 20u);
  EXPECT_EQ(map.NextUnmapped(20), 20u);
  EXPECT_EQ(map.NextUnmapped(30), 32u);
}

TEST(ExtentMapTest, ClusterByClusterSequentialWritesStayOneRun) {
  constexpr uint64_t kClusters = 100000;
  std::vector<uint64_t> order(kClusters);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 random(3);
  std::vector<uint64_t> reversed(order.rbegin(), order.rend());
  std::vector<uint64_t> shuffled = order;
  std::shuffle(shuffled.begin(), shuffled.end(), random);
  for (const std::vector<uint64_t>* logicals : {&order, &reversed, &shuffled}) {
    ExtentMap map;
    for (uint64_t logical : *logicals) MustInsert(map, logical, 7000 + logical, 1);
    EXPECT_THAT(Runs(map), ElementsAre(Extent{0, 7000, kClusters}));
    EXPECT_EQ(map.allocated_clusters(), kClusters);
  }
}

TEST(ExtentMapTest, ATebibyteBlobOfFourKibClustersIsOneRun) {
  constexpr uint64_t kClusters = (uint64_t{1} << 40) / 4096;
  constexpr uint64_t kChunk = uint64_t{1} << 20;  // grown 4 GiB at a time
  constexpr uint64_t kPhysical = 1024;
  ExtentMap map;
  for (uint64_t logical = 0; logical < kClusters; logical += kChunk) {
    MustInsert(map, logical, kPhysical + logical, kChunk);
  }
  EXPECT_EQ(map.run_count(), 1u);
  EXPECT_EQ(map.allocated_clusters(), kClusters);
  // One lookup yields the whole rest of the blob: the data path can cover it in one I/O.
  EXPECT_EQ(map.Lookup(kClusters / 2), (Mapping{kPhysical + kClusters / 2, kClusters / 2}));
  EXPECT_EQ(map.NextUnmapped(0), kClusters);
  EXPECT_THAT(map.RemoveFrom(kClusters / 2),
              ElementsAre(ClusterRun{kPhysical + kClusters / 2, kClusters / 2}));
  EXPECT_EQ(map.run_count(), 1u);
}

TEST(ExtentMapTest, MatchesAPerClusterReferenceUnderRandomOperations) {
  std::mt19937_64 random(23);
  constexpr uint64_t kLogicalSpace = 400;
  ExtentMap map;
  std::map<uint64_t, uint64_t> reference;  // logical -> physical, one entry per cluster
  uint64_t next_physical = 0;

  for (int step = 0; step < 5000; ++step) {
    if (random() % 12 == 0) {
      const uint64_t from = random() % (kLogicalSpace + 10);
      std::vector<uint64_t> expected;
      for (auto it = reference.lower_bound(from); it != reference.end();) {
        expected.push_back(it->second);
        it = reference.erase(it);
      }
      std::vector<uint64_t> released;
      for (const ClusterRun& run : map.RemoveFrom(from)) {
        ASSERT_GT(run.count, 0u);
        for (uint64_t c = run.start; c < run.end(); ++c) released.push_back(c);
      }
      ASSERT_EQ(released, expected) << "RemoveFrom(" << from << ")";
    } else if (random() % 12 == 0) {
      const uint64_t from = random() % (kLogicalSpace + 10);
      const uint64_t count = 1 + random() % 40;
      std::vector<uint64_t> expected;
      for (auto it = reference.lower_bound(from); it != reference.end() && it->first < from + count;) {
        expected.push_back(it->second);
        it = reference.erase(it);
      }
      std::vector<uint64_t> released;
      for (const ClusterRun& run : map.Remove(from, count)) {
        ASSERT_GT(run.count, 0u);
        for (uint64_t c = run.start; c < run.end(); ++c) released.push_back(c);
      }
      ASSERT_EQ(released, expected) << "Remove(" << from << ", " << count << ")";
    } else {
      const uint64_t logical = random() % kLogicalSpace;
      const uint64_t count = 1 + random() % 12;
      // Often physically right after the previous insert, so that runs can merge.
      const uint64_t physical = random() % 3 == 0 ? random() % 10000 : next_physical;
      const bool overlaps = reference.lower_bound(logical) != reference.end() &&
                            reference.lower_bound(logical)->first < logical + count;
      Status inserted = map.Insert(logical, physical, count);
      if (overlaps) {
        ASSERT_FALSE(inserted.ok());
        ASSERT_EQ(inserted.error().code(), EUCLEAN);
      } else {
        ASSERT_TRUE(inserted.ok()) << inserted.error().ToString();
        for (uint64_t i = 0; i < count; ++i) reference[logical + i] = physical + i;
        next_physical = physical + count;
      }
    }

    ASSERT_EQ(map.allocated_clusters(), reference.size());
    // The runs are sorted, disjoint and maximal.
    std::optional<Extent> previous;
    for (const Extent& run : map) {
      ASSERT_GT(run.count, 0u);
      if (previous) {
        ASSERT_LE(previous->logical_end(), run.logical) << *previous << " then " << run;
        ASSERT_FALSE(previous->logical_end() == run.logical &&
                     previous->physical_end() == run.physical)
            << *previous << " and " << run << " should be one run";
      }
      previous = run;
    }
    for (uint64_t logical = 0; logical < kLogicalSpace + 15; ++logical) {
      auto found = reference.find(logical);
      std::optional<Mapping> expected;
      if (found != reference.end()) {
        uint64_t length = 1;
        for (auto next = std::next(found);
             next != reference.end() && next->first == logical + length &&
             next->second == found->second + length;
             ++next) {
          ++length;
        }
        expected = Mapping{found->second, length};
      }
      ASSERT_EQ(map.Lookup(logical), expected) << "logical " << logical;
      auto mapped = reference.lower_bound(logical);
      ASSERT_EQ(map.NextMapped(logical),
                mapped == reference.end() ? std::nullopt : std::optional<uint64_t>(mapped->first));
      uint64_t unmapped = logical;
      while (reference.contains(unmapped)) ++unmapped;
      ASSERT_EQ(map.NextUnmapped(logical), unmapped);
    }
  }
}

}  // namespace
}  // namespace blobfs
