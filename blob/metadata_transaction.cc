#include "blob/metadata_transaction.h"

#include <algorithm>
#include <utility>


namespace blobfs {

void MetadataTransaction::AddPageWrite(uint64_t device_page, AlignedBuffer pages, Order order) {
  CHECK(pages.size() != 0 && pages.size() % kPageSize == 0) << "metadata writes are whole pages";
  writes_.insert_or_assign(device_page, PageWrite{std::move(pages), order});
}

void MetadataTransaction::ForEachWrittenPage(
    absl::FunctionRef<void(uint64_t device_page)> visit) const {
  for (const auto& [device_page, write] : writes_) {
    for (uint64_t i = 0; i < write.pages.size() / kPageSize; ++i) visit(device_page + i);
  }
}

void MetadataTransaction::UnmapAfterCommit(uint64_t offset, uint64_t length) {
  unmaps_.push_back({offset, length});
}

void MetadataTransaction::AfterCommit(absl::AnyInvocable<void() &&> release) {
  releases_.push_back(std::move(release));
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

Task<void> MetadataTransaction::Finish(BdevChannel& channel) {
  std::vector<absl::AnyInvocable<void() &&>> releases = std::move(releases_);
  releases_.clear();
  std::vector<Unmap> unmaps = std::move(unmaps_);
  unmaps_.clear();
  writes_.clear();
  if (channel.bdev().Supports(IoType::kUnmap)) {
    for (const Unmap& unmap : Coalesced(std::move(unmaps))) {
      // Advisory: the clusters are free either way, and reads of free clusters mean nothing.
      (void)co_await channel.Unmap(unmap.offset, unmap.length);
    }
  }
  for (auto& release : releases) std::move(release)();
}

}  // namespace blobfs
