#include "blob/cluster_allocator.h"

#include <algorithm>
#include <cerrno>
#include <queue>
#include <utility>

#include "glog/logging.h"

namespace blobfs {

ClusterAllocator::ClusterAllocator(uint64_t total_clusters) : used_(total_clusters) {}

ClusterAllocator::ClusterAllocator(BitArray used) : used_(std::move(used)) {}

void ClusterAllocator::Reserve(ClusterRun run) {
  const Status marked = MarkUsed(run);
  CHECK(marked.ok()) << "reserving clusters " << run << ": " << marked.error().ToString();
}

Status ClusterAllocator::MarkUsed(ClusterRun run) {
  if (run.start > total_clusters() || run.count > total_clusters() - run.start) {
    return MakeError(EUCLEAN, "clusters [%d, +%d) lie outside the store's %d clusters", run.start,
                     run.count, total_clusters());
  }
  if (const std::optional<uint64_t> taken = used_.FindFirstSet(run.start, run.end())) {
    return MakeError(EUCLEAN, "cluster %d (of clusters [%d, +%d)) is already in use", *taken,
                     run.start, run.count);
  }
  used_.SetRange(run.start, run.count);
  return OkStatus();
}

Status ClusterAllocator::CheckFree(uint64_t count) const {
  if (count > free_clusters()) {
    return MakeError(ENOSPC, "%d clusters wanted, %d of %d free", count, free_clusters(),
                     total_clusters());
  }
  return OkStatus();
}

Result<std::vector<ClusterRun>> ClusterAllocator::Allocate(uint64_t count,
                                                           std::optional<uint64_t> hint) {
  RETURN_IF_ERROR(CheckFree(count));
  std::vector<ClusterRun> runs;
  if (count > 0) Take(count, hint.value_or(cursor_), runs);
  return runs;
}

Result<std::vector<ClusterRun>> ClusterAllocator::AllocateNear(uint64_t count,
                                                               uint64_t physical_hint) {
  RETURN_IF_ERROR(CheckFree(count));
  std::vector<ClusterRun> runs;
  uint64_t next = physical_hint;
  if (count > 0 && physical_hint < total_clusters()) {
    const uint64_t limit = physical_hint + std::min(count, total_clusters() - physical_hint);
    next = used_.FindFirstSet(physical_hint, limit).value_or(limit);
    if (next > physical_hint) {
      Commit({physical_hint, next - physical_hint}, runs);
      count -= next - physical_hint;
    }
  }
  if (count > 0) Take(count, next, runs);
  return runs;
}

void ClusterAllocator::Take(uint64_t count, uint64_t from, std::vector<ClusterRun>& runs) {
  if (from >= total_clusters()) from = 0;
  std::optional<uint64_t> start = used_.FindClearRun(from, count);
  if (!start && from > 0) start = used_.FindClearRun(0, count);
  if (start) {
    Commit({*start, count}, runs);
    return;
  }
  for (const ClusterRun& run : LargestFreeRuns(count)) Commit(run, runs);
}

std::vector<ClusterRun> ClusterAllocator::LargestFreeRuns(uint64_t count) const {
  // A min-heap of the largest runs seen so far, dropping its smallest while the rest still hold
  // `count`: memory stays proportional to the runs returned, not to the free runs on the device.
  // Among equal counts the later run is dropped first.
  auto smaller = [](const ClusterRun& a, const ClusterRun& b) {
    return a.count != b.count ? a.count > b.count : a.start < b.start;
  };
  std::priority_queue<ClusterRun, std::vector<ClusterRun>, decltype(smaller)> kept(smaller);
  uint64_t kept_clusters = 0;
  uint64_t position = 0;
  while (const std::optional<uint64_t> start = used_.FindFirstClear(position)) {
    const uint64_t end = used_.FindFirstSet(*start).value_or(total_clusters());
    kept.push({*start, end - *start});
    kept_clusters += end - *start;
    while (kept_clusters - kept.top().count >= count) {
      kept_clusters -= kept.top().count;
      kept.pop();
    }
    position = end;
  }
  CHECK_GE(kept_clusters, count);
  std::vector<ClusterRun> runs;
  runs.reserve(kept.size());
  ClusterRun smallest = kept.top();
  kept.pop();
  smallest.count -= kept_clusters - count;
  runs.push_back(smallest);
  for (; !kept.empty(); kept.pop()) runs.push_back(kept.top());
  std::sort(runs.begin(), runs.end(),
            [](const ClusterRun& a, const ClusterRun& b) { return a.start < b.start; });
  return runs;
}

void ClusterAllocator::Commit(ClusterRun run, std::vector<ClusterRun>& runs) {
  used_.SetRange(run.start, run.count);
  runs.push_back(run);
  cursor_ = run.end();
}

void ClusterAllocator::Release(ClusterRun run) {
  CHECK(run.start <= total_clusters() && run.count <= total_clusters() - run.start)
      << "releasing clusters " << run << " outside the store's " << total_clusters();
  const std::optional<uint64_t> free_cluster = used_.FindFirstClear(run.start, run.end());
  CHECK(!free_cluster) << "releasing clusters " << run << ": cluster " << *free_cluster
                       << " is free";
  used_.ClearRange(run.start, run.count);
}

}  // namespace blobfs
