// ClusterAllocator: which of a store's clusters are in use, and the choice of clusters for blobs.
//
// Contract:
//  - The state is one bit per cluster (the used-cluster mask of FORMAT.md); used() exposes it for
//    writing the mask at a clean unload, and the BitArray constructor takes it back at a clean
//    load.
//  - Allocation keeps blobs in few extents. Allocate first looks for one free run of the whole
//    count (next-fit: from the hint, or from where the previous allocation ended, wrapping once);
//    when no such run exists it takes the fewest, largest free runs that cover the count.
//    AllocateNear first extends the run that ends just before its hint, so a blob growing
//    sequentially stays one run. A one-cluster allocation costs O(1) amortized.
//  - Allocation is all-or-nothing: ENOSPC, with nothing changed, when fewer clusters are free than
//    asked for. The runs returned are disjoint and their counts sum to the count asked for; the
//    caller maps them, in order, to consecutive logical clusters.
//  - MarkUsed (rebuilding the state from blobs' extents at a dirty load) returns EUCLEAN when a run
//    leaves the device or names a cluster already in use — a cluster claimed twice — and then
//    changes nothing.
//  - Reserve (the metadata area at format or load) and Release (clusters a blob gave up) are told
//    about clusters by the store itself: a run outside the device, reserving a used cluster or
//    releasing a free one is a programming error and CHECK-fails.
//  - Single-threaded: the blob store's metadata reactor owns it.
#ifndef BLOBFS_BLOB_CLUSTER_ALLOCATOR_H_
#define BLOBFS_BLOB_CLUSTER_ALLOCATOR_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "blob/bit_array.h"
#include "blob/cluster_run.h"
#include "common/error.h"

namespace blobfs {

class ClusterAllocator {
 public:
  // All `total_clusters` clusters free.
  explicit ClusterAllocator(uint64_t total_clusters);
  // The clusters set in `used` (one bit per cluster of the store) in use.
  explicit ClusterAllocator(BitArray used);

  uint64_t total_clusters() const { return used_.size(); }
  uint64_t free_clusters() const { return used_.size() - used_.count(); }
  uint64_t used_clusters() const { return used_.count(); }
  const BitArray& used() const { return used_; }

  void Reserve(ClusterRun run);
  Status MarkUsed(ClusterRun run);

  // `count` clusters, contiguous when possible. `hint` is the cluster where the search for a
  // contiguous run starts; without one it starts where the previous allocation ended.
  Result<std::vector<ClusterRun>> Allocate(uint64_t count,
                                           std::optional<uint64_t> hint = std::nullopt);
  // `count` clusters for a blob whose last physical cluster is `physical_hint - 1`: as many as are
  // free from `physical_hint` on come first, the rest as Allocate(rest, end of those) gives them.
  Result<std::vector<ClusterRun>> AllocateNear(uint64_t count, uint64_t physical_hint);

  void Release(ClusterRun run);

 private:
  Status CheckFree(uint64_t count) const;
  // Allocates `count` > 0 clusters, searching from `from`; at least `count` clusters are free.
  void Take(uint64_t count, uint64_t from, std::vector<ClusterRun>& runs);
  // The fewest free runs, largest first, that hold `count` clusters (the last one cut to fit),
  // sorted by start; at least `count` clusters are free.
  std::vector<ClusterRun> LargestFreeRuns(uint64_t count) const;
  // Marks `run` used, appends it to `runs` and moves the next-fit cursor past it.
  void Commit(ClusterRun run, std::vector<ClusterRun>& runs);

  BitArray used_;
  // Where the next search without a hint starts.
  uint64_t cursor_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_CLUSTER_ALLOCATOR_H_
