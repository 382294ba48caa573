// BlobStore::Load: the super block checks, the clean path (masks) and the dirty path (a scan of the
// metadata region that rebuilds the masks), as FORMAT.md "Loading" describes.
#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "blob/blob_store.h"
#include "blob/format/mask.h"
#include "blob/format/metadata_page.h"
#include "blob/format/page.h"
#include "blob/journal_replay.h"
#include "blob/store_layout.h"
#include "common/when_all.h"

namespace blobfs {
namespace {

// Pages the dirty load reads at once.
constexpr uint64_t kScanPages = 256;

// What the dirty load keeps of each valid page while it scans.
struct ScannedPage {
  bool valid = false;
  uint64_t blob_id = 0;
  uint64_t sync_generation = 0;
  uint32_t sequence = 0;
  uint32_t next = kNoPageIndex;
};

}  // namespace

Task<Result<std::unique_ptr<BlobStore>>> BlobStore::DoLoad(std::unique_ptr<BdevDescriptor> device,
                                                           BlobStoreLoadOptions options) {
  Reactor* reactor = Reactor::Current();
  CHECK(reactor != nullptr) << "BlobStore::Load runs on a reactor";
  if (!options.read_only && !device->writable()) {
    co_return MakeError(EBADF, "blob store load: bdev %s is open read-only; load read-only",
                        device->bdev().name());
  }
  std::unique_ptr<BlobStore> store(new BlobStore(std::move(device), *reactor));
  store->read_only_ = options.read_only;
  CO_ASSIGN_OR_RETURN(store->md_channel_, store->device_->OpenChannel());
  CO_ASSIGN_OR_RETURN(AlignedBuffer page, co_await store->ReadPages(0, 1));
  Result<SuperBlock> decoded = SuperBlock::Decode(page.span());
  if (!decoded.ok()) {
    // Torn while written in place: the journal holds it whole until that write is durable.
    CO_ASSIGN_OR_RETURN(page, co_await store->SuperBlockFromJournal(page.span(), decoded.error()));
    decoded = SuperBlock::Decode(page.span());
  }
  CO_ASSIGN_OR_RETURN(store->super_, std::move(decoded));
  SuperBlock& super = store->super_;

  const std::string_view found = super.bstype_text();
  if (!options.bstype.empty() && options.bstype != found) {
    co_return MakeError(EMEDIUMTYPE, "blob store load: the store's bstype is '%s', not '%s'", found,
                        options.bstype);
  }
  if (super.read_only_required() && !options.read_only) {
    co_return MakeError(EROFS,
                        "blob store load: ro_compat_features 0x%x has bits this blobfs does not "
                        "know; the store can only be loaded read-only",
                        super.ro_compat_features);
  }
  const BdevGeometry& geometry = store->device_->geometry();
  if (geometry.block_size > super.io_unit_size) {
    co_return MakeError(EINVAL,
                        "blob store load: bdev block size %u is larger than the store's io unit %u",
                        geometry.block_size, super.io_unit_size);
  }
  if (geometry.size_bytes() / super.cluster_size < super.total_clusters) {
    co_return MakeError(EINVAL,
                        "blob store load: the bdev has %u bytes but the store spans %u clusters of "
                        "%u bytes",
                        geometry.size_bytes(), super.total_clusters, super.cluster_size);
  }

  if (super.has_journal()) {
    Status replayed = co_await store->ReplayJournal();
    if (!replayed.ok()) co_return replayed.error().WithContext("blob store load");
  } else if (!options.read_only) {
    co_return MakeError(EROFS,
                        "blob store load: the store has no journal (it was made by an older "
                        "blobfs) and loads only read-only; copy its files to a new store");
  }

  bool loaded = false;
  if (super.clean() && !options.verify) {
    Status masks = co_await store->LoadMasks();
    if (masks.ok()) {
      loaded = true;
    } else if (masks.error().code() != EUCLEAN) {
      co_return masks.error().WithContext("blob store load");
    } else {
      LOG(WARNING) << "blob store load: " << masks.error().ToString()
                   << "; rebuilding the masks from the metadata region";
    }
  }
  if (!loaded) {
    // A verifying load scans every store; only a store that was not clean is recovered.
    store->recovered_ = !options.verify || !super.clean();
    Status recovered = co_await store->RecoverFromMetadataRegion();
    if (!recovered.ok()) co_return recovered.error().WithContext("blob store load");
  }
  if (options.verify && super.clean()) {
    CO_RETURN_IF_ERROR(co_await store->CompareMasksWithDisk());
  }
  if (!store->read_only_) {
    super.state &= ~SuperBlock::kStateClean;
    ++super.mount_count;
    CO_RETURN_IF_ERROR(co_await store->WriteSuperBlock());
  }
  co_return store;
}

Task<Result<AlignedBuffer>> BlobStore::ReadJournalArea(uint64_t start, uint64_t length) {
  AlignedBuffer log(length * kPageSize, kPageSize);
  for (uint64_t first = 0; first < length; first += kScanPages) {
    const uint64_t count = std::min<uint64_t>(kScanPages, length - first);
    CO_RETURN_IF_ERROR(co_await md_channel_->Read(
        (start + first) * kPageSize, log.span().subspan(first * kPageSize, count * kPageSize)));
  }
  co_return log;
}

Task<Result<AlignedBuffer>> BlobStore::SuperBlockFromJournal(std::span<const std::byte> page,
                                                             Error decode_error) {
  std::optional<SuperBlock::JournalPlace> place = SuperBlock::PeekJournal(page);
  if (!place.has_value() || decode_error.code() != EUCLEAN) co_return decode_error;
  CO_ASSIGN_OR_RETURN(AlignedBuffer log, co_await ReadJournalArea(place->start, place->len));
  // Only the super block's image is taken; the replay proper checks every target against the
  // layout that image gives.
  const PageRange page0[] = {{0, 1}};
  Result<JournalReplay> replay = ParseJournal(log.span(), place->uuid, page0);
  if (!replay.ok() || !replay->images.contains(0)) co_return decode_error;
  LOG(WARNING) << "blob store load: " << decode_error.ToString()
               << "; taking the super block from the journal";
  co_return std::move(replay->images.at(0));
}

Task<Status> BlobStore::ReplayJournal() {
  CO_ASSIGN_OR_RETURN(AlignedBuffer log,
                      co_await ReadJournalArea(super_.journal_start, super_.journal_len));
  const std::vector<PageRange> journaled = JournaledPages(super_);
  CO_ASSIGN_OR_RETURN(JournalReplay replay, ParseJournal(log.span(), super_.uuid, journaled));
  if (auto it = replay.images.find(0); it != replay.images.end()) {
    // Committed after page 0 was last written in place, so newer; the layout never changes.
    CO_ASSIGN_OR_RETURN(SuperBlock newer, SuperBlock::Decode(it->second.span()));
    if (newer.uuid != super_.uuid || newer.total_clusters != super_.total_clusters ||
        newer.cluster_size != super_.cluster_size || newer.md_start != super_.md_start ||
        newer.md_len != super_.md_len || newer.journal_start != super_.journal_start ||
        newer.journal_len != super_.journal_len) {
      co_return MakeError(EUCLEAN,
                          "journal: its super block has another layout than page 0's");
    }
    super_ = newer;
  }
  journal_replayed_ = replay.images.empty() ? 0 : replay.transactions;
  if (!replay.images.empty()) {
    LOG(INFO) << "blob store load: the journal has " << replay.transactions
              << " transactions to replay (" << replay.images.size() << " pages)"
              << (read_only_ ? ", replayed in memory only" : "");
  }
  if (read_only_) {
    read_overlay_ = std::move(replay.images);
    co_return OkStatus();
  }
  if (!replay.images.empty()) {
    std::vector<Task<Status>> writes;
    for (const auto& [target, image] : replay.images) {
      writes.push_back(md_channel_->Write(target * kPageSize, image.span()));
    }
    CO_RETURN_IF_ERROR(co_await WhenAll(std::move(writes)));
    CO_RETURN_IF_ERROR(co_await md_channel_->Flush());
  }
  journal_ = std::make_unique<MetadataJournal>(
      *md_channel_, MetadataJournal::Options{JournalArea(super_), super_.uuid, journaled}, replay);
  co_return OkStatus();
}

Task<Result<BlobStore::DiskMasks>> BlobStore::ReadMasks() {
  auto read_mask = [this](MaskKind kind, uint64_t start, uint64_t length,
                          uint64_t bit_count) -> Task<Result<BitArray>> {
    CO_ASSIGN_OR_RETURN(AlignedBuffer pages, co_await ReadPages(start, length));
    CO_ASSIGN_OR_RETURN(std::span<const std::byte> bits,
                        DecodeMask(pages.span(), kind, bit_count));
    co_return BitArray::FromBytes(bits, bit_count);
  };
  CO_ASSIGN_OR_RETURN(BitArray pages,
                      co_await read_mask(MaskKind::kUsedPages, super_.used_page_mask_start,
                                         super_.used_page_mask_len, super_.md_len));
  CO_ASSIGN_OR_RETURN(BitArray ids,
                      co_await read_mask(MaskKind::kUsedBlobIds, super_.used_blobid_mask_start,
                                         super_.used_blobid_mask_len, super_.md_len));
  CO_ASSIGN_OR_RETURN(BitArray clusters,
                      co_await read_mask(MaskKind::kUsedClusters, super_.used_cluster_mask_start,
                                         super_.used_cluster_mask_len, super_.total_clusters));
  co_return DiskMasks{std::move(pages), std::move(ids), std::move(clusters)};
}

Task<Status> BlobStore::LoadMasks() {
  CO_ASSIGN_OR_RETURN(DiskMasks masks, co_await ReadMasks());
  const uint64_t md_clusters = MetadataClusters(super_);
  if (masks.clusters.FindFirstClear(0, md_clusters).has_value()) {
    co_return MakeError(EUCLEAN, "used cluster mask: the metadata clusters [0, %u) are not all used",
                        md_clusters);
  }
  CO_ASSIGN_OR_RETURN(md_space_,
                      MetadataSpace::FromMasks(std::move(masks.pages), std::move(masks.ids)));
  clusters_ = std::make_unique<ClusterAllocator>(std::move(masks.clusters));
  co_return OkStatus();
}

namespace {

// One line per direction in which `on_disk` differs from `scanned` (bits of `what`), or none.
void DescribeMaskDifference(const char* what, const BitArray& on_disk, const BitArray& scanned,
                            std::vector<std::string>& out) {
  uint64_t extra = 0, missing = 0;
  std::optional<uint64_t> first_extra, first_missing;
  for (uint64_t i = 0; i < scanned.size(); ++i) {
    const bool disk = on_disk.Get(i), found = scanned.Get(i);
    if (disk && !found) {
      ++extra;
      if (!first_extra) first_extra = i;
    } else if (!disk && found) {
      ++missing;
      if (!first_missing) first_missing = i;
    }
  }
  if (extra > 0) {
    out.push_back(absl::StrFormat("%u %s marked used on disk belong to no blob (the first: %u)",
                                  extra, what, *first_extra));
  }
  if (missing > 0) {
    out.push_back(absl::StrFormat("%u %s held by blobs are marked free on disk (the first: %u)",
                                  missing, what, *first_missing));
  }
}

}  // namespace

Task<Status> BlobStore::CompareMasksWithDisk() {
  Result<DiskMasks> masks = co_await ReadMasks();
  if (!masks.ok()) {
    if (masks.error().code() != EUCLEAN) co_return masks.error();
    mask_differences_.push_back(masks.error().ToString());
    co_return OkStatus();
  }
  DescribeMaskDifference("clusters", masks->clusters, clusters_->used(), mask_differences_);
  DescribeMaskDifference("metadata pages", masks->pages, md_space_.used_pages_mask(),
                         mask_differences_);
  DescribeMaskDifference("blob ids", masks->ids, md_space_.used_ids_mask(), mask_differences_);
  co_return OkStatus();
}

Status BlobStore::ClaimRecoveredBlob(const BlobMetadata& metadata,
                                     std::span<const uint32_t> chain) {
  for (const ExtentRun& run : metadata.extents) {
    Status claimed = clusters_->MarkUsed({run.physical, run.count});
    if (!claimed.ok()) {
      return claimed.error().WithContext(
          absl::StrFormat("metadata page %u (blob 0x%x)", chain[0], metadata.blob_id));
    }
  }
  for (uint32_t page : chain) md_space_.MarkPage(page);
  md_space_.MarkId(chain[0]);
  return OkStatus();
}

Task<Status> BlobStore::RecoverFromMetadataRegion() {
  clusters_ = std::make_unique<ClusterAllocator>(super_.total_clusters);
  clusters_->Reserve({0, MetadataClusters(super_)});
  md_space_ = MetadataSpace(super_.md_len);
  const uint32_t md_len = static_cast<uint32_t>(super_.md_len);

  // Pass 1: read the region in large pieces, note every page with a valid CRC, and take the
  // blobs whose chain is their root alone at once.
  std::vector<ScannedPage> scanned(md_len);
  std::vector<uint32_t> chained_roots;
  for (uint64_t first = 0; first < md_len; first += kScanPages) {
    const uint64_t count = std::min<uint64_t>(kScanPages, md_len - first);
    CO_ASSIGN_OR_RETURN(AlignedBuffer pages, co_await ReadPages(super_.md_start + first, count));
    for (uint64_t i = 0; i < count; ++i) {
      const uint32_t index = static_cast<uint32_t>(first + i);
      std::span<const std::byte> bytes = pages.span().subspan(i * kPageSize, kPageSize);
      // A page whose CRC fails belongs to no chain: free space, or a torn write.
      if (!MetadataPageCrcMatches(bytes)) continue;
      Result<MetadataPage> page = ParseMetadataPage(bytes, index);
      if (!page.ok()) {
        // Written whole yet malformed: corruption when it is a root (a chain page is judged by
        // the chain that reaches it, if any does).
        if (IsRootPage(PeekMetadataPageHeader(bytes), index)) co_return page.error();
        continue;
      }
      const MetadataPageHeader& header = page->header;
      scanned[index] = {true, header.blob_id, header.sync_generation, header.sequence, header.next};
      if (!IsRootPage(header, index) || header.next != kNoPageIndex) {
        if (IsRootPage(header, index)) chained_roots.push_back(index);
        continue;
      }
      const ChainPage root{index, bytes};
      CO_ASSIGN_OR_RETURN(BlobMetadata metadata,
                          ParseChain(std::span<const ChainPage>(&root, 1), super_.total_clusters));
      const uint32_t chain[] = {index};
      CO_RETURN_IF_ERROR(ClaimRecoveredBlob(metadata, chain));
    }
  }

  // Pass 2: follow the longer chains through the headers noted, then read and parse them.
  for (uint32_t root : chained_roots) {
    std::vector<uint32_t> chain = {root};
    for (uint32_t index = root; scanned[index].next != kNoPageIndex;) {
      const ScannedPage& previous = scanned[index];
      const uint32_t next = previous.next;
      if (next >= md_len) {
        co_return MakeError(EUCLEAN,
                            "metadata page %u: next %u is outside the metadata region of %u pages",
                            index, next, md_len);
      }
      const ScannedPage& page = scanned[next];
      if (!page.valid) {
        co_return MakeError(EUCLEAN,
                            "metadata page %u: next %u names a page that is not valid (blob 0x%x)",
                            index, next, previous.blob_id);
      }
      // Each page has one sequence number, so requiring it to grow by one also rules out loops.
      if (page.blob_id != previous.blob_id || page.sync_generation != previous.sync_generation ||
          page.sequence != previous.sequence + 1) {
        co_return MakeError(EUCLEAN,
                            "metadata page %u: blob_id 0x%x, sync_generation %u, sequence %u do not "
                            "continue the chain of blob 0x%x from page %u",
                            next, page.blob_id, page.sync_generation, page.sequence,
                            previous.blob_id, index);
      }
      chain.push_back(next);
      index = next;
    }
    std::vector<AlignedBuffer> buffers;
    std::vector<ChainPage> pages;
    buffers.reserve(chain.size());
    for (uint32_t index : chain) {
      CO_ASSIGN_OR_RETURN(AlignedBuffer buffer, co_await ReadPages(super_.md_start + index, 1));
      buffers.push_back(std::move(buffer));
      pages.push_back({index, buffers.back().span()});
    }
    CO_ASSIGN_OR_RETURN(BlobMetadata metadata, ParseChain(pages, super_.total_clusters));
    CO_RETURN_IF_ERROR(ClaimRecoveredBlob(metadata, chain));
  }
  co_return OkStatus();
}

}  // namespace blobfs
