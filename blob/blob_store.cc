// BlobStore lifecycle: format, load, unload, the super block, statistics and channels. Blob
// operations are in blob_store_blobs.cc, the load paths in blob_store_load.cc.
#include "blob/blob_store.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "glog/logging.h"
#include "blob/format/mask.h"
#include "blob/format/page.h"
#include "blob/store_layout.h"
#include "common/iov.h"

namespace blobfs {

BlobStore::BlobStore(std::unique_ptr<BdevDescriptor> device, Reactor& md_reactor)
    : device_(std::move(device)), md_reactor_(&md_reactor) {}

BlobStore::~BlobStore() {
  CHECK(Reactor::Current() == md_reactor_ || Reactor::Current() == nullptr)
      << "a blob store is destroyed on its metadata reactor's thread";
  open_blobs_.clear();
  journal_.reset();
  md_channel_.reset();
}

Task<Result<std::unique_ptr<BlobStore>>> BlobStore::Init(std::unique_ptr<BdevDescriptor> device,
                                                         BlobStoreInitOptions options) {
  return DoInit(std::move(device), std::move(options));
}

Task<Result<std::unique_ptr<BlobStore>>> BlobStore::DoInit(std::unique_ptr<BdevDescriptor> device,
                                                           BlobStoreInitOptions options) {
  Reactor* reactor = Reactor::Current();
  CHECK(reactor != nullptr) << "BlobStore::Init runs on a reactor";
  if (!device->writable()) {
    co_return MakeError(EBADF, "blob store init: bdev %s is open read-only", device->bdev().name());
  }
  const BdevGeometry& geometry = device->geometry();
  CO_ASSIGN_OR_RETURN(SuperBlock super, PlanLayout({.device_bytes = geometry.size_bytes(),
                                                    .block_size = geometry.block_size,
                                                    .cluster_size = options.cluster_size,
                                                    .md_pages = options.md_pages,
                                                    .journal_pages = options.journal_pages,
                                                    .bstype = options.bstype}));
  std::unique_ptr<BlobStore> store(new BlobStore(std::move(device), *reactor));
  CO_ASSIGN_OR_RETURN(store->md_channel_, store->device_->OpenChannel());
  BdevChannel& channel = *store->md_channel_;

  // Zero the masks, the metadata region and the journal, so that no page of an earlier store
  // there can pass for a blob at a dirty load or for a transaction to replay; then trim the data
  // area.
  const uint64_t md_clusters = MetadataClusters(super);
  const uint64_t journal_end = super.journal_start + super.journal_len;
  CO_RETURN_IF_ERROR(co_await channel.WriteZeroes(kPageSize, (journal_end - 1) * kPageSize));
  const uint64_t data_start = md_clusters * super.cluster_size;
  const uint64_t store_end = super.total_clusters * super.cluster_size;
  if (options.trim && channel.bdev().Supports(IoType::kUnmap) && data_start < store_end) {
    // Advisory, like every unmap.
    (void)co_await channel.Unmap(data_start, store_end - data_start);
  }

  store->super_ = super;
  store->clusters_ = std::make_unique<ClusterAllocator>(super.total_clusters);
  store->clusters_->Reserve({0, md_clusters});
  store->md_space_ = MetadataSpace(super.md_len);
  store->super_.mount_count = 1;
  store->journal_ = std::make_unique<MetadataJournal>(
      channel,
      MetadataJournal::Options{JournalArea(super), super.uuid, JournaledPages(super)},
      JournalReplay{});
  CO_RETURN_IF_ERROR(co_await store->WriteSuperBlock());
  co_return store;
}

Task<Result<std::unique_ptr<BlobStore>>> BlobStore::Load(std::unique_ptr<BdevDescriptor> device,
                                                         BlobStoreLoadOptions options) {
  return DoLoad(std::move(device), std::move(options));
}

Task<Result<AlignedBuffer>> BlobStore::ReadPages(uint64_t device_page, uint64_t count) {
  AlignedBuffer buffer(count * kPageSize, kPageSize);
  CO_RETURN_IF_ERROR(co_await md_channel_->Read(device_page * kPageSize, buffer.span()));
  for (auto it = read_overlay_.lower_bound(device_page);
       it != read_overlay_.end() && it->first < device_page + count; ++it) {
    std::memcpy(buffer.data() + (it->first - device_page) * kPageSize, it->second.data(),
                kPageSize);
  }
  co_return buffer;
}

void BlobStore::PatchFromReadOverlay(const ExtentMap& map, uint64_t offset, uint64_t length,
                                     std::span<const iovec> iov) const {
  if (read_overlay_.empty() || length == 0) return;
  const uint64_t cluster_size = super_.cluster_size;
  IovecList piece;
  for (uint64_t page_start = offset / kPageSize * kPageSize; page_start < offset + length;
       page_start += kPageSize) {
    std::optional<ExtentMap::Mapping> mapping = map.Lookup(page_start / cluster_size);
    if (!mapping.has_value()) continue;
    const uint64_t device_page =
        (mapping->physical * cluster_size + page_start % cluster_size) / kPageSize;
    auto it = read_overlay_.find(device_page);
    if (it == read_overlay_.end()) continue;
    const uint64_t from = std::max(page_start, offset);
    const uint64_t to = std::min(page_start + kPageSize, offset + length);
    piece.clear();
    IovSlice(iov, from - offset, to - from, piece);
    IovCopyFromBuffer(piece, it->second.data() + (from - page_start), to - from);
  }
}

Task<Result<AlignedBuffer>> BlobStore::ReadMetadataPage(uint32_t index) {
  AlignedBuffer page(kPageSize, kPageSize);
  if (md_cache_.Lookup(index, page.span())) co_return page;
  // Blobs made together sit on neighbouring pages: read the window and cache its used pages.
  const uint64_t first = index / kMetadataReadWindowPages * kMetadataReadWindowPages;
  const uint64_t count = std::min<uint64_t>(kMetadataReadWindowPages, md_space_.pages() - first);
  const uint64_t epoch = md_cache_.epoch();
  CO_ASSIGN_OR_RETURN(AlignedBuffer window, co_await ReadPages(super_.md_start + first, count));
  for (uint64_t i = 0; i < count; ++i) {
    const auto at = static_cast<uint32_t>(first + i);
    std::span<const std::byte> bytes = window.span().subspan(i * kPageSize, kPageSize);
    if (at == index) std::memcpy(page.data(), bytes.data(), kPageSize);
    if (at == index || md_space_.PageInUse(at)) md_cache_.Insert(at, bytes, epoch);
  }
  co_return page;
}

Task<Status> BlobStore::WriteSuperBlock() {
  AlignedBuffer page(kPageSize, kPageSize);
  super_.Encode(page.span());
  MetadataTransaction transaction;
  transaction.AddPageWrite(0, std::move(page), MetadataTransaction::Order::kCommitPoint);
  co_return co_await CommitTransaction(transaction);
}

Task<Status> BlobStore::CommitTransaction(MetadataTransaction& transaction) {
  const uint64_t md_start = super_.md_start;
  const uint64_t md_end = super_.md_start + super_.md_len;
  std::vector<uint32_t> written;
  transaction.ForEachWrittenPage([&](uint64_t device_page) {
    if (device_page >= md_start && device_page < md_end) {
      written.push_back(static_cast<uint32_t>(device_page - md_start));
    }
  });
  for (uint32_t index : written) md_cache_.Invalidate(index);
  Status status = co_await journal_->Commit(transaction);
  if (!status.ok()) commit_failed_ = true;
  // Again, now that the pages are in place: a window read that raced the writes may have cached
  // a page as it was.
  for (uint32_t index : written) md_cache_.Invalidate(index);
  co_return status;
}

uint64_t BlobStore::max_atomic_commit_pages() const {
  // Less one for the super block.
  return journal_ == nullptr ? 0 : journal_->max_transaction_pages() - 1;
}

Status BlobStore::CheckWritable() const {
  if (read_only_) return MakeError(EROFS, "the blob store is loaded read-only");
  return OkStatus();
}

Task<Status> BlobStore::Unload() { return OnMetadataReactor(DoUnload()); }

Task<Status> BlobStore::DoUnload() {
  if (!open_blobs_.empty() || !busy_ids_.empty()) {
    co_return MakeError(EBUSY, "blob store unload: %u blobs are open", open_blobs_.size());
  }
  if (read_only_) co_return OkStatus();
  if (commit_failed_) {
    co_return MakeError(EIO,
                        "blob store unload: a metadata commit failed earlier; the store is left "
                        "unclean so that the next load rebuilds its masks");
  }
  MetadataTransaction transaction;
  auto add_mask = [&transaction](MaskKind kind, const BitArray& bits, uint64_t start,
                                 uint64_t length) {
    AlignedBuffer pages(length * kPageSize, kPageSize);
    std::vector<std::byte> bytes(bits.byte_size());
    bits.ToBytes(bytes);
    EncodeMask(kind, bytes, bits.size(), pages.span());
    transaction.AddPageWrite(start, std::move(pages), MetadataTransaction::Order::kBeforeCommitPoint);
  };
  add_mask(MaskKind::kUsedPages, md_space_.used_pages_mask(), super_.used_page_mask_start,
           super_.used_page_mask_len);
  add_mask(MaskKind::kUsedClusters, clusters_->used(), super_.used_cluster_mask_start,
           super_.used_cluster_mask_len);
  add_mask(MaskKind::kUsedBlobIds, md_space_.used_ids_mask(), super_.used_blobid_mask_start,
           super_.used_blobid_mask_len);
  SuperBlock clean = super_;
  clean.state |= SuperBlock::kStateClean;
  AlignedBuffer page(kPageSize, kPageSize);
  clean.Encode(page.span());
  transaction.AddPageWrite(0, std::move(page), MetadataTransaction::Order::kCommitPoint);
  CO_RETURN_IF_ERROR(co_await CommitTransaction(transaction));
  // Everything in place: the next load replays nothing.
  CO_RETURN_IF_ERROR(co_await journal_->Checkpoint());
  super_ = clean;
  // Anything written now would go unnoticed by the next load.
  read_only_ = true;
  co_return OkStatus();
}

Task<BlobStoreStats> BlobStore::GetStats() {
  co_return co_await OnMetadataReactor([](BlobStore* store) -> Task<BlobStoreStats> {
    co_return BlobStoreStats{.cluster_size = store->super_.cluster_size,
                             .io_unit_size = store->super_.io_unit_size,
                             .total_clusters = store->clusters_->total_clusters(),
                             .free_clusters = store->clusters_->free_clusters(),
                             .metadata_clusters = MetadataClusters(store->super_),
                             .md_pages = store->md_space_.pages(),
                             .md_pages_used = store->md_space_.used_pages(),
                             .blobs = store->md_space_.blob_count(),
                             .open_blobs = store->open_blobs_.size()};
  }(this));
}

Result<std::unique_ptr<BlobChannel>> BlobStore::OpenChannel() {
  ASSIGN_OR_RETURN(std::unique_ptr<BdevChannel> channel, device_->OpenChannel());
  return std::make_unique<BlobChannel>(std::move(channel));
}

Task<Status> BlobStore::SetSuperBlob(uint64_t blob_id) {
  return OnMetadataReactor([](BlobStore* store, uint64_t id) -> Task<Status> {
    CO_RETURN_IF_ERROR(store->CheckWritable());
    if (id != kNoBlobId) {
      std::optional<uint32_t> root = RootOfBlobId(id);
      if (!root.has_value() || *root >= store->md_space_.pages() ||
          !store->md_space_.IdInUse(*root)) {
        co_return MakeError(ENOENT, "super blob: no blob 0x%x", id);
      }
    }
    const uint64_t previous = store->super_.super_blob;
    store->super_.super_blob = id;
    Status status = co_await store->WriteSuperBlock();
    if (!status.ok()) store->super_.super_blob = previous;
    co_return status;
  }(this, blob_id));
}

}  // namespace blobfs
