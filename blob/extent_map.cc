#include "blob/extent_map.h"

#include <algorithm>
#include <cerrno>
#include <iterator>
#include <limits>

namespace blobfs {

std::map<uint64_t, Extent>::const_iterator ExtentMap::Find(uint64_t logical) const {
  auto after = runs_.upper_bound(logical);
  if (after == runs_.begin()) return runs_.end();
  auto run = std::prev(after);
  return logical < run->second.logical_end() ? run : runs_.end();
}

std::optional<ExtentMap::Mapping> ExtentMap::Lookup(uint64_t logical) const {
  auto run = Find(logical);
  if (run == runs_.end()) return std::nullopt;
  const Extent& extent = run->second;
  const uint64_t offset = logical - extent.logical;
  return Mapping{extent.physical + offset, extent.count - offset};
}

Status ExtentMap::Insert(uint64_t logical, uint64_t physical, uint64_t count) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  if (count == 0) {
    return MakeError(EUCLEAN, "an empty run at logical cluster %d", logical);
  }
  if (count > kMax - logical || count > kMax - physical) {
    return MakeError(EUCLEAN, "logical clusters [%d, +%d) -> physical %d run past 2^64 - 1",
                     logical, count, physical);
  }
  auto next = runs_.lower_bound(logical);
  auto prev = next == runs_.begin() ? runs_.end() : std::prev(next);
  for (auto neighbour : {prev, next}) {
    if (neighbour == runs_.end()) continue;
    const Extent& mapped = neighbour->second;
    if (mapped.logical < logical + count && logical < mapped.logical_end()) {
      return MakeError(EUCLEAN,
                       "logical clusters [%d, +%d) overlap mapped logical [%d, +%d) -> physical %d",
                       logical, count, mapped.logical, mapped.count, mapped.physical);
    }
  }
  allocated_clusters_ += count;

  Extent added{logical, physical, count};
  if (next != runs_.end() && added.logical_end() == next->second.logical &&
      added.physical_end() == next->second.physical) {
    added.count += next->second.count;
    next = runs_.erase(next);
  }
  if (prev != runs_.end() && prev->second.logical_end() == logical &&
      prev->second.physical_end() == physical) {
    prev->second.count += added.count;
  } else {
    runs_.emplace_hint(next, logical, added);
  }
  return OkStatus();
}

std::vector<ClusterRun> ExtentMap::RemoveFrom(uint64_t logical) {
  std::vector<ClusterRun> released;
  auto first_removed = runs_.lower_bound(logical);
  if (first_removed != runs_.begin()) {
    Extent& cut = std::prev(first_removed)->second;
    if (cut.logical_end() > logical) {
      const uint64_t kept = logical - cut.logical;
      released.push_back({cut.physical + kept, cut.count - kept});
      allocated_clusters_ -= cut.count - kept;
      cut.count = kept;
    }
  }
  for (auto run = first_removed; run != runs_.end(); ++run) {
    released.push_back({run->second.physical, run->second.count});
    allocated_clusters_ -= run->second.count;
  }
  runs_.erase(first_removed, runs_.end());
  return released;
}

std::vector<ClusterRun> ExtentMap::Remove(uint64_t logical, uint64_t count) {
  const uint64_t end = count > std::numeric_limits<uint64_t>::max() - logical
                           ? std::numeric_limits<uint64_t>::max()
                           : logical + count;
  std::vector<ClusterRun> released;
  auto run = Find(logical);
  if (run == runs_.end()) run = runs_.lower_bound(logical);
  while (run != runs_.end() && run->second.logical < end) {
    const Extent extent = run->second;
    run = runs_.erase(run);
    allocated_clusters_ -= extent.count;
    const uint64_t cut_start = std::max(extent.logical, logical);
    const uint64_t cut_end = std::min(extent.logical_end(), end);
    released.push_back({extent.physical + (cut_start - extent.logical), cut_end - cut_start});
    // The parts outside the hole stay mapped; they were maximal runs, so nothing merges.
    if (extent.logical < cut_start) {
      runs_.emplace(extent.logical, Extent{extent.logical, extent.physical,
                                           cut_start - extent.logical});
      allocated_clusters_ += cut_start - extent.logical;
    }
    if (cut_end < extent.logical_end()) {
      run = runs_.emplace(cut_end, Extent{cut_end, extent.physical + (cut_end - extent.logical),
                                          extent.logical_end() - cut_end})
                .first;
      allocated_clusters_ += extent.logical_end() - cut_end;
      ++run;
    }
  }
  return released;
}

std::optional<uint64_t> ExtentMap::NextMapped(uint64_t logical) const {
  if (Find(logical) != runs_.end()) return logical;
  auto after = runs_.upper_bound(logical);
  if (after == runs_.end()) return std::nullopt;
  return after->second.logical;
}

uint64_t ExtentMap::NextUnmapped(uint64_t logical) const {
  auto run = Find(logical);
  if (run == runs_.end()) return logical;
  // Runs that touch logically but not physically are separate: walk across them.
  uint64_t end = run->second.logical_end();
  for (++run; run != runs_.end() && run->second.logical == end; ++run) {
    end = run->second.logical_end();
  }
  return end;
}

}  // namespace blobfs
