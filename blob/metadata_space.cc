#include "blob/metadata_space.h"

#include <utility>

#include "glog/logging.h"

namespace blobfs {

Result<MetadataSpace> MetadataSpace::FromMasks(BitArray used_pages, BitArray used_ids) {
  CHECK_EQ(used_pages.size(), used_ids.size());
  for (std::optional<uint64_t> id = used_ids.FindFirstSet(0); id.has_value();
       id = used_ids.FindFirstSet(*id + 1)) {
    if (!used_pages.Get(*id)) {
      return MakeError(EUCLEAN, "used blob id mask: blob id of page %u is in use but its page is not",
                       *id);
    }
  }
  MetadataSpace space;
  space.used_pages_ = std::move(used_pages);
  space.used_ids_ = std::move(used_ids);
  return space;
}

std::optional<uint32_t> MetadataSpace::NextId(uint64_t from) const {
  if (from >= used_ids_.size()) return std::nullopt;
  std::optional<uint64_t> next = used_ids_.FindFirstSet(from);
  if (!next.has_value()) return std::nullopt;
  return static_cast<uint32_t>(*next);
}

Result<uint32_t> MetadataSpace::ClaimRoot() {
  ASSIGN_OR_RETURN(std::vector<uint32_t> pages, ClaimPages(1));
  used_ids_.Set(pages[0]);
  return pages[0];
}

Result<std::vector<uint32_t>> MetadataSpace::ClaimPages(uint64_t count) {
  if (count > used_pages_.size() - used_pages_.count()) {
    return MakeError(ENOSPC, "metadata region full: %u pages wanted, %u of %u free", count,
                     used_pages_.size() - used_pages_.count(), used_pages_.size());
  }
  std::vector<uint32_t> pages;
  pages.reserve(count);
  while (pages.size() < count) {
    std::optional<uint64_t> page = used_pages_.FindFirstClear(cursor_);
    if (!page.has_value()) page = used_pages_.FindFirstClear(0);
    CHECK(page.has_value()) << "free page count is wrong";
    used_pages_.Set(*page);
    pages.push_back(static_cast<uint32_t>(*page));
    cursor_ = *page + 1 == used_pages_.size() ? 0 : *page + 1;
  }
  return pages;
}

void MetadataSpace::ReleasePage(uint32_t index) {
  CHECK(used_pages_.Get(index)) << "metadata page " << index << " released twice";
  used_pages_.Clear(index);
}

void MetadataSpace::ReleaseId(uint32_t root_index) {
  CHECK(used_ids_.Get(root_index)) << "blob id of page " << root_index << " released twice";
  used_ids_.Clear(root_index);
}

}  // namespace blobfs
