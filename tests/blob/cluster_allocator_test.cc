// ClusterAllocator: large allocations stay contiguous, fragmentation falls back to few runs,
// ENOSPC changes nothing, released clusters are reused, MarkUsed detects clusters claimed twice,
// and random workloads match a simple model without ever handing a cluster out twice.
#include "blob/cluster_allocator.h"

#include <cerrno>
#include <cstdint>
#include <random>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Allocation results, failing the test on an error.
std::vector<ClusterRun> MustAllocate(ClusterAllocator& allocator, uint64_t count,
                                     std::optional<uint64_t> hint = std::nullopt) {
  Result<std::vector<ClusterRun>> runs = allocator.Allocate(count, hint);
  EXPECT_TRUE(runs.ok()) << runs.error().ToString();
  return runs.ok() ? *runs : std::vector<ClusterRun>{};
}

std::vector<ClusterRun> MustAllocateNear(ClusterAllocator& allocator, uint64_t count,
                                         uint64_t physical_hint) {
  Result<std::vector<ClusterRun>> runs = allocator.AllocateNear(count, physical_hint);
  EXPECT_TRUE(runs.ok()) << runs.error().ToString();
  return runs.ok() ? *runs : std::vector<ClusterRun>{};
}

// An allocator of `total` clusters in which only `free_runs` are free.
ClusterAllocator WithFreeRuns(uint64_t total, const std::vector<ClusterRun>& free_runs) {
  BitArray used(total);
  used.SetRange(0, total);
  for (const ClusterRun& run : free_runs) used.ClearRange(run.start, run.count);
  return ClusterAllocator(std::move(used));
}

TEST(ClusterAllocatorTest, CountsAndReserve) {
  ClusterAllocator allocator(1000);
  EXPECT_EQ(allocator.total_clusters(), 1000u);
  EXPECT_EQ(allocator.free_clusters(), 1000u);
  allocator.Reserve({0, 40});
  EXPECT_EQ(allocator.free_clusters(), 960u);
  EXPECT_EQ(allocator.used_clusters(), 40u);
  // The reserved metadata area is never handed out.
  EXPECT_THAT(MustAllocate(allocator, 10), ElementsAre(ClusterRun{40, 10}));
  EXPECT_THAT(MustAllocate(allocator, 5, 0), ElementsAre(ClusterRun{50, 5}));
  EXPECT_TRUE(MustAllocate(allocator, 0).empty());
  EXPECT_EQ(allocator.free_clusters(), 945u);
}

TEST(ClusterAllocatorTest, LargeAllocationsAreContiguous) {
  ClusterAllocator allocator(10000);
  allocator.Reserve({0, 100});
  EXPECT_THAT(MustAllocate(allocator, 5000), ElementsAre(ClusterRun{100, 5000}));
  EXPECT_THAT(MustAllocate(allocator, 1), ElementsAre(ClusterRun{5100, 1}));
  // A hole too small for the next request is skipped, not filled piecemeal.
  allocator.Release({1000, 50});
  EXPECT_THAT(MustAllocate(allocator, 100, 900), ElementsAre(ClusterRun{5101, 100}));
  EXPECT_THAT(MustAllocate(allocator, 50, 900), ElementsAre(ClusterRun{1000, 50}));
}

TEST(ClusterAllocatorTest, NextFitWrapsOnce) {
  ClusterAllocator allocator(100);
  EXPECT_THAT(MustAllocate(allocator, 60), ElementsAre(ClusterRun{0, 60}));
  EXPECT_THAT(MustAllocate(allocator, 30), ElementsAre(ClusterRun{60, 30}));
  allocator.Release({0, 60});
  // From the cursor (90) only 10 clusters remain: the search wraps to the start.
  EXPECT_THAT(MustAllocate(allocator, 20), ElementsAre(ClusterRun{0, 20}));
  EXPECT_THAT(MustAllocate(allocator, 10), ElementsAre(ClusterRun{20, 10}));
  // A hint at or past the end wraps as well.
  EXPECT_THAT(MustAllocate(allocator, 5, 100), ElementsAre(ClusterRun{30, 5}));
}

TEST(ClusterAllocatorTest, SingleClusterAllocationsFollowTheCursor) {
  // A million one-cluster allocations: each is O(1) amortized, so this runs in well under a second
  // (a scan from the start each time would take minutes).
  constexpr uint64_t kTotal = uint64_t{1} << 20;
  ClusterAllocator allocator(kTotal);
  for (uint64_t i = 0; i < kTotal; ++i) {
    Result<std::vector<ClusterRun>> runs = allocator.Allocate(1);
    ASSERT_TRUE(runs.ok()) << runs.error().ToString();
    ASSERT_THAT(*runs, ElementsAre(ClusterRun{i, 1}));
  }
  EXPECT_EQ(allocator.free_clusters(), 0u);
}

TEST(ClusterAllocatorTest, AllocateNearExtendsTheLastRun) {
  ClusterAllocator allocator(1000);
  std::vector<ClusterRun> blob = MustAllocate(allocator, 1);
  ASSERT_THAT(blob, ElementsAre(ClusterRun{0, 1}));
  // Growing one cluster at a time right after the last one keeps the blob in one run.
  for (uint64_t end = 1; end < 20; ++end) {
    EXPECT_THAT(MustAllocateNear(allocator, 1, end), ElementsAre(ClusterRun{end, 1}));
  }
  // Another blob takes [25, 30): the next growth extends in place up to it, then goes elsewhere.
  allocator.Reserve({25, 5});
  EXPECT_THAT(MustAllocateNear(allocator, 10, 20),
              ElementsAre(ClusterRun{20, 5}, ClusterRun{30, 5}));
  // When the cluster after the blob is taken, the whole request is one run elsewhere.
  EXPECT_THAT(MustAllocateNear(allocator, 8, 25), ElementsAre(ClusterRun{35, 8}));
  // A hint past the end of the store is only a starting point.
  EXPECT_THAT(MustAllocateNear(allocator, 3, 1000), ElementsAre(ClusterRun{43, 3}));
}

TEST(ClusterAllocatorTest, FragmentationFallsBackToTheLargestRuns) {
  ClusterAllocator allocator =
      WithFreeRuns(200, {{10, 20}, {40, 50}, {100, 5}, {110, 30}, {150, 10}});
  ASSERT_EQ(allocator.free_clusters(), 115u);
  // No run of 75: the 50 and the front 25 of the 30 (two runs, not five).
  EXPECT_THAT(MustAllocate(allocator, 75), ElementsAre(ClusterRun{40, 50}, ClusterRun{110, 25}));
  EXPECT_EQ(allocator.free_clusters(), 40u);
  // Left: 20, 5, 5 and 10; 40 needs them all, returned in physical order.
  EXPECT_THAT(MustAllocate(allocator, 40), ElementsAre(ClusterRun{10, 20}, ClusterRun{100, 5},
                                                       ClusterRun{135, 5}, ClusterRun{150, 10}));
  EXPECT_EQ(allocator.free_clusters(), 0u);
}

TEST(ClusterAllocatorTest, FragmentationPrefersFewRunsOverEarlyOnes) {
  // Many small runs first, one big one last: a request larger than every run takes the big one
  // and a single other piece.
  std::vector<ClusterRun> free_runs;
  for (uint64_t start = 0; start < 1000; start += 10) free_runs.push_back({start, 4});
  free_runs.push_back({2000, 500});
  ClusterAllocator allocator = WithFreeRuns(3000, free_runs);
  EXPECT_THAT(MustAllocate(allocator, 503), ElementsAre(ClusterRun{0, 3}, ClusterRun{2000, 500}));
}

TEST(ClusterAllocatorTest, EnospcChangesNothing) {
  ClusterAllocator allocator = WithFreeRuns(100, {{10, 4}, {50, 4}, {90, 2}});
  const BitArray before = allocator.used();
  for (Result<std::vector<ClusterRun>> failed :
       {allocator.Allocate(11), allocator.Allocate(11, 50), allocator.AllocateNear(11, 10)}) {
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code(), ENOSPC);
    EXPECT_THAT(failed.error().message(), HasSubstr("10 of 100 free"));
  }
  EXPECT_EQ(allocator.used(), before);
  EXPECT_EQ(allocator.free_clusters(), 10u);
  EXPECT_THAT(MustAllocate(allocator, 10),
              ElementsAre(ClusterRun{10, 4}, ClusterRun{50, 4}, ClusterRun{90, 2}));
}

TEST(ClusterAllocatorTest, ReleasedClustersAreReused) {
  ClusterAllocator allocator(64);
  EXPECT_THAT(MustAllocate(allocator, 64), ElementsAre(ClusterRun{0, 64}));
  allocator.Release({20, 8});
  EXPECT_EQ(allocator.free_clusters(), 8u);
  EXPECT_THAT(MustAllocate(allocator, 8), ElementsAre(ClusterRun{20, 8}));
  allocator.Release({0, 1});
  allocator.Release({63, 1});
  EXPECT_THAT(MustAllocate(allocator, 2), ElementsAre(ClusterRun{0, 1}, ClusterRun{63, 1}));
}

TEST(ClusterAllocatorTest, MarkUsedDetectsClustersClaimedTwice) {
  ClusterAllocator allocator(100);
  allocator.Reserve({0, 10});
  ASSERT_TRUE(allocator.MarkUsed({20, 5}).ok());
  ASSERT_TRUE(allocator.MarkUsed({25, 5}).ok());
  EXPECT_EQ(allocator.used_clusters(), 20u);

  Status twice = allocator.MarkUsed({28, 5});
  ASSERT_FALSE(twice.ok());
  EXPECT_EQ(twice.error().code(), EUCLEAN);
  EXPECT_THAT(twice.error().message(), HasSubstr("cluster 28 (of clusters [28, +5)) is already"));
  // Nothing of the refused run was marked.
  EXPECT_EQ(allocator.used_clusters(), 20u);
  EXPECT_FALSE(allocator.used().Get(30));

  Status metadata = allocator.MarkUsed({5, 2});
  ASSERT_FALSE(metadata.ok());
  EXPECT_EQ(metadata.error().code(), EUCLEAN);

  Status outside = allocator.MarkUsed({98, 3});
  ASSERT_FALSE(outside.ok());
  EXPECT_EQ(outside.error().code(), EUCLEAN);
  EXPECT_THAT(outside.error().message(), HasSubstr("outside the store's 100 clusters"));
  EXPECT_EQ(allocator.used_clusters(), 20u);
}

TEST(ClusterAllocatorTest, RestoresFromItsMask) {
  ClusterAllocator allocator(300);
  allocator.Reserve({0, 3});
  ASSERT_EQ(MustAllocate(allocator, 100).size(), 1u);
  allocator.Release({50, 10});
  std::vector<std::byte> mask(allocator.used().byte_size());
  allocator.used().ToBytes(mask);

  Result<BitArray> loaded = BitArray::FromBytes(mask, 300);
  ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
  ClusterAllocator restored(std::move(loaded).value());
  EXPECT_EQ(restored.total_clusters(), 300u);
  EXPECT_EQ(restored.free_clusters(), allocator.free_clusters());
  EXPECT_EQ(restored.used(), allocator.used());
}

TEST(ClusterAllocatorTest, ATebibyteBlobOfFourKibClustersIsOneRun) {
  constexpr uint64_t kBlobClusters = (uint64_t{1} << 40) / 4096;
  ClusterAllocator allocator(kBlobClusters + 1024);
  allocator.Reserve({0, 1024});
  EXPECT_THAT(MustAllocate(allocator, kBlobClusters), ElementsAre(ClusterRun{1024, kBlobClusters}));
  EXPECT_EQ(allocator.free_clusters(), 0u);
}

TEST(ClusterAllocatorTest, MatchesAReferenceModelUnderRandomOperations) {
  std::mt19937_64 random(11);
  constexpr uint64_t kTotal = 2000;
  ClusterAllocator allocator(kTotal);
  std::vector<bool> used(kTotal);  // the model
  uint64_t model_free = kTotal;
  std::vector<ClusterRun> owned;  // runs handed out and not yet released

  // Checks a successful allocation against the model and records it.
  auto take = [&](const std::vector<ClusterRun>& runs, uint64_t count) {
    uint64_t total = 0;
    for (const ClusterRun& run : runs) {
      ASSERT_GT(run.count, 0u);
      ASSERT_LE(run.end(), kTotal);
      for (uint64_t c = run.start; c < run.end(); ++c) {
        ASSERT_FALSE(used[c]) << "cluster " << c << " handed out twice";
        used[c] = true;
      }
      total += run.count;
      owned.push_back(run);
    }
    ASSERT_EQ(total, count);
    model_free -= count;
  };

  for (int step = 0; step < 20000; ++step) {
    const uint64_t choice = random() % 10;
    if (choice < 4 || owned.empty()) {
      const uint64_t count = random() % 4 == 0 ? random() % 300 : 1 + random() % 8;
      const bool near = random() % 2 == 0;
      const uint64_t hint = random() % (kTotal + 10);
      const BitArray before = allocator.used();
      Result<std::vector<ClusterRun>> runs =
          near ? allocator.AllocateNear(count, hint)
               : allocator.Allocate(count,
                                    random() % 2 ? std::optional<uint64_t>(hint) : std::nullopt);
      if (count > model_free) {
        ASSERT_FALSE(runs.ok());
        ASSERT_EQ(runs.error().code(), ENOSPC);
        ASSERT_EQ(allocator.used(), before);
      } else {
        ASSERT_TRUE(runs.ok()) << runs.error().ToString();
        take(*runs, count);
        if (near && hint < kTotal && !before.Get(hint) && count > 0) {
          ASSERT_EQ((*runs)[0].start, hint) << "AllocateNear did not extend in place";
        }
      }
    } else {
      // Release a random owned run, sometimes only part of it.
      const size_t index = random() % owned.size();
      ClusterRun run = owned[index];
      owned[index] = owned.back();
      owned.pop_back();
      if (run.count > 1 && random() % 2 == 0) {
        const uint64_t keep = 1 + random() % (run.count - 1);
        owned.push_back({run.start, keep});
        run = {run.start + keep, run.count - keep};
      }
      allocator.Release(run);
      for (uint64_t c = run.start; c < run.end(); ++c) used[c] = false;
      model_free += run.count;
    }
    ASSERT_EQ(allocator.free_clusters(), model_free);
  }
  for (uint64_t c = 0; c < kTotal; ++c) ASSERT_EQ(allocator.used().Get(c), used[c]) << c;
}

TEST(ClusterAllocatorDeathTest, MisuseIsAProgrammingError) {
  ClusterAllocator allocator(100);
  allocator.Reserve({0, 10});
  EXPECT_DEATH(allocator.Reserve({5, 10}), "reserving clusters \\[5, \\+10\\)");
  EXPECT_DEATH(allocator.Release({20, 1}), "cluster 20 is free");
  EXPECT_DEATH(allocator.Release({95, 10}), "outside the store's 100");
}

}  // namespace
}  // namespace blobfs
