#include "blob/metadata_transaction.h"

#include <algorithm>
#include <utility>

#include "common/when_all.h"

namespace blobfs {

void MetadataTransaction::AddPageWrite(uint64_t device_page, AlignedBuffer pages, Order order) {
  CHECK(pages.size() != 0 && pages.size() % kPageSize == 0) << "metadata writes are whole pages";
  writes_.insert_or_assign(device_page, PageWrite{std::move(pages), order});
}

void MetadataTransaction::ForEachWrittenPage(
    absl::FunctionRef<void(uint64_t device_page)> visit) const {
  for (const auto& [device_page, write] : writes_) {
    for (uint64_t i = 0; i < write.page.size() / kPageSize; ++i) visit(device_page + i);
  }
}

void MetadataTransaction::UnmapAfterCommit(uint64_t offset, uint64_t length) {
  unmaps_.push_back({offset, length});
}

void MetadataTransaction::AfterCommit(absl::AnyInvocable<void() &&> release) {
  releases_.push_back(std::move(release));
}

Task<Status> MetadataTransaction::WritePages(BdevChannel& channel, Order order) {
  std::vector<Task<Status>> writes;
  for (auto& [device_page, write] : writes_) {
    if (write.order != order) continue;
    writes.push_back(channel.Write(device_page * kPageSize, write.page.span()));
  }
  if (writes.empty()) co_return OkStatus();
  co_return co_await WhenAll(std::move(writes));
}

std::vector<MetadataTransaction::Unmap> MetadataTransaction::Coalesced(
    std::vector<Unmap> unmaps) {
  std::sort(unmaps.begin(), unmaps.end(),
            [](const Unmap& a, const Unmap& b) { return a.offset < b.offset; });
  std::vector<Unmap> merged;
  for (const Unmap& unmap : unmaps) {
    if (!merged.empty() && unmap.offset <= merged.back().offset + merged.back().length) {
      Unmap& last = merged.back();
      last.length = std::max(last.offset + last.length, unmap.offset + unmap.length) - last.offset;
    } else {
      merged.push_back(unmap);
    }
  }
  return merged;
}

Task<Status> MetadataTransaction::Commit(BdevChannel& channel) {
  std::vector<absl::AnyInvocable<void() &&>> releases = std::move(releases_);
  releases_.clear();
  std::vector<Unmap> unmaps = std::move(unmaps_);
  unmaps_.clear();
  auto has = [this](Order order) {
    return std::any_of(writes_.begin(), writes_.end(),
                       [order](const auto& w) { return w.second.order == order; });
  };
  const bool needs_barrier =
      (barrier_required_ || has(Order::kBeforeCommitPoint)) && has(Order::kCommitPoint);
  barrier_required_ = false;
  Status status = co_await WritePages(channel, Order::kBeforeCommitPoint);
  // The pages a commit point references must be durable before it is (a no-op without a cache).
  if (status.ok() && needs_barrier) status = co_await channel.Flush();
  if (status.ok()) status = co_await WritePages(channel, Order::kCommitPoint);
  if (status.ok() && !writes_.empty()) status = co_await channel.Flush();
  writes_.clear();
  if (!status.ok()) co_return status.error().WithContext("metadata commit");
  if (channel.bdev().Supports(IoType::kUnmap)) {
    for (const Unmap& unmap : Coalesced(std::move(unmaps))) {
      // Advisory: the clusters are free either way, and reads of free clusters mean nothing.
      (void)co_await channel.Unmap(unmap.offset, unmap.length);
    }
  }
  for (auto& release : releases) std::move(release)();
  co_return OkStatus();
}

}  // namespace blobfs
