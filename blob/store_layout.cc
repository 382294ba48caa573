#include "blob/store_layout.h"

#include <algorithm>

#include "blob/format/mask.h"
#include "blob/format/page.h"
#include "common/rounding.h"
#include "common/uuid.h"

namespace blobfs {
namespace {

constexpr uint64_t kMinDefaultMetadataPages = 64;

bool IsPowerOfTwo(uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

}  // namespace

uint64_t DefaultJournalPages(uint64_t total_pages) {
  // At least 256 pages (a transaction of 127), unless that is more than an eighth of the store.
  const uint64_t least = std::max<uint64_t>(std::min<uint64_t>(256, total_pages / 8), 64);
  return std::clamp<uint64_t>(total_pages / 64, least, 8192);
}

uint64_t MetadataClusters(const SuperBlock& super) {
  const uint64_t md_end = std::max({super.md_start + super.md_len,
                                    super.journal_start + super.journal_len,
                                    super.used_page_mask_start + super.used_page_mask_len,
                                    super.used_cluster_mask_start + super.used_cluster_mask_len,
                                    super.used_blobid_mask_start + super.used_blobid_mask_len});
  return DivideRoundingUp(md_end, super.cluster_size / kPageSize);
}

PageRange JournalArea(const SuperBlock& super) {
  return {super.journal_start, super.journal_len};
}

std::vector<PageRange> JournaledPages(const SuperBlock& super) {
  const uint64_t data_start = MetadataClusters(super) * (super.cluster_size / kPageSize);
  return {{0, 1}, {super.md_start, super.md_len}, {data_start, super.total_pages() - data_start}};
}

Result<SuperBlock> PlanLayout(const LayoutRequest& request) {
  if (request.block_size > kPageSize || !IsPowerOfTwo(request.block_size) ||
      request.block_size < 512) {
    return MakeError(EINVAL, "block size %u: the store needs 512, 1024, 2048 or 4096",
                     request.block_size);
  }
  if (!IsPowerOfTwo(request.cluster_size) || request.cluster_size < kPageSize ||
      request.cluster_size > (uint32_t{1} << 30)) {
    return MakeError(EINVAL, "cluster size %u is not a power of two from 4 KiB to 1 GiB",
                     request.cluster_size);
  }
  if (request.bstype.size() > 16) {
    return MakeError(EINVAL, "bstype '%s' is longer than 16 bytes", request.bstype);
  }
  SuperBlock super;
  super.io_unit_size = request.block_size;
  super.cluster_size = request.cluster_size;
  super.total_clusters = request.device_bytes / request.cluster_size;
  const uint64_t total_pages = super.total_clusters * (request.cluster_size / kPageSize);

  uint64_t md_pages = request.md_pages;
  if (md_pages == 0) {
    md_pages = std::clamp(super.total_clusters, kMinDefaultMetadataPages,
                          std::max<uint64_t>(total_pages / 4, 1));
  }
  if (md_pages > kMaxMetadataPages) {
    return MakeError(EINVAL, "%u metadata pages: at most %u", md_pages, kMaxMetadataPages);
  }
  super.md_len = md_pages;
  uint64_t next_page = 1;
  auto place = [&next_page](uint64_t length, uint64_t& start, uint64_t& length_field) {
    start = next_page;
    length_field = length;
    next_page += length;
  };
  place(MaskPages(md_pages), super.used_page_mask_start, super.used_page_mask_len);
  place(MaskPages(super.total_clusters), super.used_cluster_mask_start,
        super.used_cluster_mask_len);
  place(MaskPages(md_pages), super.used_blobid_mask_start, super.used_blobid_mask_len);
  place(md_pages, super.md_start, super.md_len);
  const uint64_t journal_pages =
      request.journal_pages != 0 ? request.journal_pages : DefaultJournalPages(total_pages);
  if (journal_pages < SuperBlock::kMinJournalPages) {
    return MakeError(EINVAL, "a journal of %u pages: at least %u", journal_pages,
                     SuperBlock::kMinJournalPages);
  }
  super.incompat_features |= SuperBlock::kIncompatJournal;
  place(journal_pages, super.journal_start, super.journal_len);
  if (super.total_clusters == 0 || MetadataClusters(super) >= super.total_clusters) {
    return MakeError(ENOSPC,
                     "a device of %u bytes cannot hold the metadata (%u pages) and a data cluster "
                     "of %u bytes",
                     request.device_bytes, next_page, request.cluster_size);
  }
  std::copy(request.bstype.begin(), request.bstype.end(), super.bstype.begin());
  super.uuid = Uuid::Random();
  RETURN_IF_ERROR(super.Validate());
  return super;
}

}  // namespace blobfs
