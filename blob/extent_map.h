// ExtentMap: a blob's map from logical clusters (its own, from 0) to the physical clusters of the
// store that hold them.
//
// Contract:
//  - The map is a set of runs {logical, physical, count}: logical clusters [logical, logical +
//    count) live in physical clusters [physical, physical + count). Memory and time grow with the
//    number of runs, never with the number of clusters: a contiguous 1 TiB blob is one run.
//  - Runs are kept sorted by logical cluster, disjoint and maximal: two runs that touch both
//    logically and physically are always one, so a blob written sequentially into consecutive
//    clusters stays one run however it was built.
//  - Logical clusters no run covers are unmapped (holes of a thin blob).
//  - Insert returns EUCLEAN (and changes nothing) for a run that overlaps a mapped cluster, is
//    empty, or wraps around 2^64, so it serves both the data path and a loader reading EXTENTS
//    descriptors from disk.
//  - Single-threaded, like the rest of a blob's metadata.
#ifndef BLOBFS_BLOB_EXTENT_MAP_H_
#define BLOBFS_BLOB_EXTENT_MAP_H_

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <ostream>
#include <vector>

#include "blob/cluster_run.h"
#include "common/error.h"

namespace blobfs {

struct Extent {
  uint64_t logical = 0;
  uint64_t physical = 0;
  uint64_t count = 0;

  uint64_t logical_end() const { return logical + count; }
  uint64_t physical_end() const { return physical + count; }
  friend bool operator==(const Extent&, const Extent&) = default;
  // "logical [l, +count) -> physical p", for test failures and logs.
  friend std::ostream& operator<<(std::ostream& out, const Extent& extent) {
    return out << "logical [" << extent.logical << ", +" << extent.count << ") -> physical "
               << extent.physical;
  }
};

class ExtentMap {
 public:
  // Where a mapped logical cluster lives: `physical`, and `count` clusters from there (to the end
  // of its run) that are mapped contiguously — what one I/O may cover.
  struct Mapping {
    uint64_t physical = 0;
    uint64_t count = 0;
    friend bool operator==(const Mapping&, const Mapping&) = default;
  };

  // Iterates the runs in logical order.
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Extent;
    using difference_type = std::ptrdiff_t;
    using pointer = const Extent*;
    using reference = const Extent&;

    const_iterator() = default;
    reference operator*() const { return it_->second; }
    pointer operator->() const { return &it_->second; }
    const_iterator& operator++() {
      ++it_;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++it_;
      return old;
    }
    friend bool operator==(const const_iterator&, const const_iterator&) = default;

   private:
    friend class ExtentMap;
    explicit const_iterator(std::map<uint64_t, Extent>::const_iterator it) : it_(it) {}
    std::map<uint64_t, Extent>::const_iterator it_;
  };

  // The mapping of `logical`, or nullopt when it is unmapped.
  std::optional<Mapping> Lookup(uint64_t logical) const;

  // Maps logical [logical, logical + count) to physical [physical, physical + count), merging with
  // the runs before and after when they continue it both logically and physically.
  Status Insert(uint64_t logical, uint64_t physical, uint64_t count);

  // Unmaps every logical cluster >= `logical` (truncating a blob to `logical` clusters) and returns
  // the physical runs that held them, in logical order.
  std::vector<ClusterRun> RemoveFrom(uint64_t logical);

  // Unmaps logical clusters [logical, logical + count) (a hole punched in a thin blob) and returns
  // the physical runs that held them, in logical order.
  std::vector<ClusterRun> Remove(uint64_t logical, uint64_t count);

  // The first mapped logical cluster >= `logical`, or nullopt when there is none.
  std::optional<uint64_t> NextMapped(uint64_t logical) const;
  // The first unmapped logical cluster >= `logical`.
  uint64_t NextUnmapped(uint64_t logical) const;

  // The run with the highest logical clusters, or nullopt when nothing is mapped.
  std::optional<Extent> Last() const {
    if (runs_.empty()) return std::nullopt;
    return runs_.rbegin()->second;
  }
  // Mapped clusters, summed over the runs.
  uint64_t allocated_clusters() const { return allocated_clusters_; }
  size_t run_count() const { return runs_.size(); }
  bool empty() const { return runs_.empty(); }
  const_iterator begin() const { return const_iterator(runs_.begin()); }
  const_iterator end() const { return const_iterator(runs_.end()); }

 private:
  // The run that covers `logical`, or runs_.end().
  std::map<uint64_t, Extent>::const_iterator Find(uint64_t logical) const;

  // Keyed by Extent::logical.
  std::map<uint64_t, Extent> runs_;
  uint64_t allocated_clusters_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_EXTENT_MAP_H_
