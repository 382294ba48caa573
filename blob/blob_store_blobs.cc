// BlobStore's blob operations: create, open, close, delete, list and commit.
#include <algorithm>
#include <cstring>
#include <iterator>
#include <memory>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "blob/blob_store.h"
#include "blob/format/blob_id.h"
#include "blob/format/metadata_page.h"
#include "blob/format/page.h"
#include "blob/store_layout.h"

namespace blobfs {
Task<Result<Blob*>> BlobStore::CreateBlob(BlobCreateOptions options) {
  return OnMetadataReactor(DoCreateBlob(std::move(options)));
}

Task<Result<Blob*>> BlobStore::DoCreateBlob(BlobCreateOptions options) {
  CO_RETURN_IF_ERROR(CheckWritable());
  for (const auto* xattrs : {&options.xattrs, &options.internal_xattrs}) {
    for (const auto& [name, value] : *xattrs) {
      CO_RETURN_IF_ERROR(Blob::CheckXattr(name, value.size()));
    }
  }
  if (options.num_clusters > clusters_->total_clusters() && !options.thin) {
    co_return MakeError(ENOSPC, "create blob: %u clusters asked for, the store has %u in all",
                        options.num_clusters, clusters_->total_clusters());
  }
  CO_ASSIGN_OR_RETURN(uint32_t root, md_space_.ClaimRoot());
  ExtentMap extents;
  if (!options.thin && options.num_clusters > 0) {
    Result<std::vector<ClusterRun>> runs = clusters_->Allocate(options.num_clusters);
    if (!runs.ok()) {
      md_space_.ReleaseId(root);
      md_space_.ReleasePage(root);
      co_return runs.error().WithContext("create blob");
    }
    uint64_t logical = 0;
    for (const ClusterRun& run : *runs) {
      CHECK_OK(extents.Insert(logical, run.start, run.count));
      logical += run.count;
    }
  }
  BlobMetadata metadata;
  metadata.blob_id = BlobIdOfRoot(root);
  metadata.invalid_flags = options.thin ? Blob::kInvalidFlagThin : 0;
  metadata.num_clusters = options.num_clusters;
  metadata.xattrs = std::move(options.xattrs);
  metadata.internal_xattrs = std::move(options.internal_xattrs);
  std::unique_ptr<Blob> blob(new Blob(*this, metadata, std::move(extents), {}));
  blob->MarkDirty();
  blob->open_references_ = 1;
  Blob* result = blob.get();
  open_blobs_.emplace(result->id(), std::move(blob));
  co_return result;
}

Task<Result<Blob*>> BlobStore::OpenBlob(uint64_t blob_id) {
  return OnMetadataReactor(DoOpenBlob(blob_id));
}

Task<Result<Blob*>> BlobStore::DoOpenBlob(uint64_t blob_id) {
  // Wait out a concurrent open (then share its blob) or delete (then find it gone).
  for (auto it = busy_ids_.find(blob_id); it != busy_ids_.end(); it = busy_ids_.find(blob_id)) {
    std::shared_ptr<AsyncEvent> busy = it->second;
    co_await busy->Wait();
  }
  if (auto it = open_blobs_.find(blob_id); it != open_blobs_.end()) {
    ++it->second->open_references_;
    co_return it->second.get();
  }
  auto loading = std::make_shared<AsyncEvent>();
  busy_ids_.emplace(blob_id, loading);
  Result<std::pair<BlobMetadata, std::vector<uint32_t>>> chain = co_await ReadChain(blob_id);
  busy_ids_.erase(blob_id);
  loading->Set();
  if (!chain.ok()) co_return chain.error();
  auto& [metadata, pages] = *chain;
  if (uint64_t unknown = metadata.invalid_flags & ~Blob::kKnownInvalidFlags; unknown != 0) {
    co_return MakeError(EOPNOTSUPP,
                        "open blob 0x%x: invalid_flags 0x%x has bits this blobfs does not know",
                        blob_id, unknown);
  }
  CO_RETURN_IF_ERROR(CheckClustersClaimed(blob_id, metadata.extents));
  ExtentMap extents;
  for (const ExtentRun& run : metadata.extents) {
    Status inserted = extents.Insert(run.logical, run.physical, run.count);
    if (!inserted.ok()) co_return inserted.error().WithContext(absl::StrFormat("blob 0x%x", blob_id));
  }
  std::unique_ptr<Blob> blob(new Blob(*this, metadata, std::move(extents), std::move(pages)));
  blob->open_references_ = 1;
  Blob* result = blob.get();
  open_blobs_.emplace(blob_id, std::move(blob));
  co_return result;
}

Task<Result<std::pair<BlobMetadata, std::vector<uint32_t>>>> BlobStore::ReadChain(
    uint64_t blob_id) {
  std::optional<uint32_t> root = RootOfBlobId(blob_id);
  if (!root.has_value() || *root >= md_space_.pages() || !md_space_.IdInUse(*root)) {
    co_return MakeError(ENOENT, "no blob 0x%x", blob_id);
  }
  std::vector<AlignedBuffer> buffers;
  std::vector<uint32_t> indices;
  absl::flat_hash_set<uint32_t> visited;
  for (uint32_t index = *root;;) {
    CO_ASSIGN_OR_RETURN(AlignedBuffer buffer, co_await ReadMetadataPage(index));
    CO_ASSIGN_OR_RETURN(MetadataPage page, ParseMetadataPage(buffer.span(), index));
    const uint32_t next = page.header.next;
    buffers.push_back(std::move(buffer));
    indices.push_back(index);
    visited.insert(index);
    if (next == kNoPageIndex) break;
    if (next >= md_space_.pages()) {
      co_return MakeError(EUCLEAN, "metadata page %u: next %u is outside the metadata region", index,
                          next);
    }
    if (visited.contains(next)) {
      co_return MakeError(EUCLEAN, "metadata page %u: next %u loops back into the chain", index,
                          next);
    }
    if (!md_space_.PageInUse(next)) {
      co_return MakeError(EUCLEAN, "metadata page %u: next %u is a page the used page mask calls free",
                          index, next);
    }
    index = next;
  }
  std::vector<ChainPage> pages;
  for (size_t i = 0; i < buffers.size(); ++i) pages.push_back({indices[i], buffers[i].span()});
  CO_ASSIGN_OR_RETURN(BlobMetadata metadata, ParseChain(pages, super_.total_clusters));
  co_return std::make_pair(std::move(metadata), std::move(indices));
}

Status BlobStore::CheckClustersClaimed(uint64_t blob_id,
                                       const std::vector<ExtentRun>& extents) const {
  const uint64_t md_clusters = MetadataClusters(super_);
  for (const ExtentRun& run : extents) {
    if (run.physical < md_clusters) {
      return MakeError(EUCLEAN, "blob 0x%x: its extents claim cluster %u of the store's metadata",
                       blob_id, run.physical);
    }
    if (std::optional<uint64_t> free = clusters_->used().FindFirstClear(
            run.physical, run.physical + run.count);
        free.has_value()) {
      return MakeError(EUCLEAN, "blob 0x%x: cluster %u of its extents is free in the cluster mask",
                       blob_id, *free);
    }
  }
  return OkStatus();
}

void BlobStore::ReleaseClusters(ClusterRun run) {
  if (clusters_->used().FindFirstClear(run.start, run.end()).has_value()) {
    // Two blobs held it (masks a clean load trusted were wrong) and the other freed it first.
    LOG(ERROR) << "blob store: clusters " << run
               << " are freed twice; the store is left for recovery at the next load";
    commit_failed_ = true;
    return;
  }
  clusters_->Release(run);
}

Task<Status> BlobStore::CloseBlob(Blob* blob) { return OnMetadataReactor(DoCloseBlob(blob)); }

Task<Status> BlobStore::DoCloseBlob(Blob* blob) {
  auto it = open_blobs_.find(blob->id());
  CHECK(it != open_blobs_.end() && it->second.get() == blob && blob->open_references_ > 0)
      << "closing a blob that is not open";
  if (blob->open_references_ == 1 && !read_only_ && !blob->metadata_read_only_) {
    std::vector<Blob*> blobs(1, blob);  // GCC 12 cannot co_await with an initializer list inside.
    std::vector<Blob*> no_deletions;
    CO_RETURN_IF_ERROR(co_await DoCommit(std::move(blobs), std::move(no_deletions)));
  }
  // The commit may have waited: look again.
  if (--blob->open_references_ == 0) open_blobs_.erase(blob->id());
  co_return OkStatus();
}

Task<Status> BlobStore::DeleteBlob(uint64_t blob_id) {
  return OnMetadataReactor(DoDeleteBlob(blob_id));
}

Task<Status> BlobStore::DoDeleteBlob(uint64_t blob_id) {
  CO_RETURN_IF_ERROR(CheckWritable());
  if (open_blobs_.contains(blob_id) || busy_ids_.contains(blob_id)) {
    co_return MakeError(EBUSY, "delete blob 0x%x: it is open", blob_id);
  }
  auto deleting = std::make_shared<AsyncEvent>();
  busy_ids_.emplace(blob_id, deleting);
  Status status = co_await [](BlobStore* store, uint64_t id) -> Task<Status> {
    CO_ASSIGN_OR_RETURN(auto chain, co_await store->ReadChain(id));
    auto& [metadata, pages] = chain;
    // Freeing clusters the masks do not hold would free another blob's.
    CO_RETURN_IF_ERROR(store->CheckClustersClaimed(id, metadata.extents));
    MetadataTransaction transaction;
    // Zeroing the root is the commit point: from then on no load finds the blob.
    transaction.AddPageWrite(store->super_.md_start + pages[0], AlignedBuffer(kPageSize, kPageSize),
                             MetadataTransaction::Order::kCommitPoint);
    const uint64_t cluster_size = store->super_.cluster_size;
    for (const ExtentRun& run : metadata.extents) {
      transaction.UnmapAfterCommit(run.physical * cluster_size, run.count * cluster_size);
    }
    transaction.AfterCommit([store, metadata = std::move(metadata), pages = std::move(pages)] {
      for (const ExtentRun& run : metadata.extents) {
        store->ReleaseClusters({run.physical, run.count});
      }
      store->md_space_.ReleaseId(pages[0]);
      for (uint32_t page : pages) store->md_space_.ReleasePage(page);
    });
    co_return co_await store->CommitTransaction(transaction);
  }(this, blob_id);
  busy_ids_.erase(blob_id);
  deleting->Set();
  if (super_.super_blob == blob_id && status.ok()) {
    super_.super_blob = kNoBlobId;
    status = co_await WriteSuperBlock();
  }
  co_return status;
}

Task<std::vector<uint64_t>> BlobStore::ListBlobs() {
  return OnMetadataReactor([](BlobStore* store) -> Task<std::vector<uint64_t>> {
    std::vector<uint64_t> ids;
    ids.reserve(store->md_space_.blob_count());
    for (std::optional<uint32_t> root = store->md_space_.NextId(0); root.has_value();
         root = store->md_space_.NextId(uint64_t{*root} + 1)) {
      ids.push_back(BlobIdOfRoot(*root));
    }
    co_return ids;
  }(this));
}

Task<Status> BlobStore::Commit(std::span<Blob* const> blobs, std::span<Blob* const> deletions,
                               std::span<const JournaledWrite> data) {
  return OnMetadataReactor(DoCommit(std::vector<Blob*>(blobs.begin(), blobs.end()),
                                    std::vector<Blob*>(deletions.begin(), deletions.end()), data));
}

Status BlobStore::AddJournaledData(std::span<const JournaledWrite> data,
                                   MetadataTransaction& transaction) {
  const uint64_t cluster_size = super_.cluster_size;
  for (const JournaledWrite& write : data) {
    if (write.offset % kPageSize != 0 || write.bytes.size() % kPageSize != 0) {
      return MakeError(EINVAL, "commit: a journaled write at %d of %d bytes of blob 0x%x is not whole pages",
                       write.offset, write.bytes.size(), write.blob->id());
    }
    const std::shared_ptr<const ExtentMap> map = write.blob->extents();
    for (uint64_t done = 0; done < write.bytes.size(); done += kPageSize) {
      const uint64_t position = write.offset + done;
      std::optional<ExtentMap::Mapping> mapping = map->Lookup(position / cluster_size);
      if (!mapping.has_value()) {
        return MakeError(EINVAL, "commit: journaled write at %d of blob 0x%x: the cluster is not mapped",
                         position, write.blob->id());
      }
      AlignedBuffer page(kPageSize, kPageSize);
      std::memcpy(page.data(), write.bytes.data() + done, kPageSize);
      const uint64_t device_page = (mapping->physical * cluster_size + position % cluster_size) / kPageSize;
      transaction.AddPageWrite(device_page, std::move(page), MetadataTransaction::Order::kCommitPoint);
    }
  }
  return OkStatus();
}

Status BlobStore::CheckDeletable(const Blob& blob) const {
  auto it = open_blobs_.find(blob.id());
  CHECK(it != open_blobs_.end() && it->second.get() == &blob) << "deleting a blob that is not open";
  if (blob.open_references_ != 1 || !blob.allocating_.empty()) {
    return MakeError(EBUSY, "delete blob 0x%x: %d references, %d writes allocating", blob.id(),
                     blob.open_references_, blob.allocating_.size());
  }
  if (blob.metadata_read_only_) {
    return MakeError(EROFS, "delete blob 0x%x: its metadata is read-only", blob.id());
  }
  if (blob.id() == super_.super_blob) {
    return MakeError(EBUSY, "delete blob 0x%x: it is the super blob", blob.id());
  }
  return CheckClustersClaimed(blob.id(), blob.Snapshot().extents);
}

void BlobStore::AddDeletion(Blob& blob, MetadataTransaction& transaction) {
  // Zeroing the root is the commit point: from then on no load finds the blob. Its clusters are
  // those it maps now and those it gave up since its last commit (still allocated).
  transaction.AddPageWrite(super_.md_start + blob.root_index_, AlignedBuffer(kPageSize, kPageSize),
                           MetadataTransaction::Order::kCommitPoint);
  std::vector<ClusterRun> clusters = blob.released_clusters_;
  for (const ExtentRun& run : blob.Snapshot().extents) clusters.push_back({run.physical, run.count});
  const uint64_t cluster_size = super_.cluster_size;
  for (const ClusterRun& run : clusters) {
    transaction.UnmapAfterCommit(run.start * cluster_size, run.count * cluster_size);
  }
  std::vector<uint32_t> pages = blob.released_pages_;
  for (size_t i = 1; i < blob.chain_.size(); ++i) pages.push_back(blob.chain_[i]);
  transaction.AfterCommit([this, root = blob.root_index_, clusters = std::move(clusters),
                           pages = std::move(pages)] {
    for (const ClusterRun& run : clusters) ReleaseClusters(run);
    md_space_.ReleaseId(root);
    md_space_.ReleasePage(root);
    for (uint32_t page : pages) md_space_.ReleasePage(page);
  });
}

Task<Status> BlobStore::DoCommit(std::vector<Blob*> blobs, std::vector<Blob*> deletions,
                                 std::span<const JournaledWrite> data) {
  constexpr size_t kBlobsPerSlice = 64;
  CO_RETURN_IF_ERROR(CheckWritable());
  auto by_id = [](Blob* a, Blob* b) { return a->id() < b->id(); };
  std::sort(blobs.begin(), blobs.end(), by_id);
  blobs.erase(std::unique(blobs.begin(), blobs.end()), blobs.end());
  std::sort(deletions.begin(), deletions.end(), by_id);
  deletions.erase(std::unique(deletions.begin(), deletions.end()), deletions.end());
  for (Blob* blob : deletions) {
    CHECK(!std::binary_search(blobs.begin(), blobs.end(), blob, by_id))
        << "blob 0x" << std::hex << blob->id() << " both committed and deleted";
    CO_RETURN_IF_ERROR(CheckDeletable(*blob));
  }
  // One commit of a blob at a time, taken in id order so that overlapping commits cannot deadlock.
  std::vector<Blob*> locked;
  std::merge(blobs.begin(), blobs.end(), deletions.begin(), deletions.end(),
             std::back_inserter(locked), by_id);
  for (Blob* blob : locked) co_await blob->commit_lock_.Acquire();
  // An open of a blob being deleted waits for the outcome.
  auto deleting = std::make_shared<AsyncEvent>();
  for (Blob* blob : deletions) busy_ids_.emplace(blob->id(), deleting);

  struct Prepared {
    Blob* blob;
    uint64_t version;
    std::vector<uint32_t> chain;
    std::vector<ClusterRun> released;
    bool mapped;  // Clusters were mapped by writes since the previous commit.
  };
  std::vector<Prepared> prepared;
  MetadataTransaction transaction;
  Status status = AddJournaledData(data, transaction);
  for (size_t at = 0; status.ok() && at < blobs.size(); ++at) {
    Blob* blob = blobs[at];
    if (!blob->dirty() && blob->released_clusters_.empty() && blob->released_pages_.empty()) {
      continue;
    }
    // A commit of thousands of blobs serializes for 100-250 ms; requests on this reactor run
    // between slices of it instead of waiting it out. Each blob is snapshotted whole, and what
    // changes a blob meanwhile is left for the next commit, as while the transaction is written.
    if (at % kBlobsPerSlice == kBlobsPerSlice - 1) co_await Reactor::Current()->Yield();
    if (blob->metadata_read_only_) {
      status = MakeError(EROFS, "commit blob 0x%x: its metadata is read-only", blob->id());
      break;
    }
    BlobMetadata metadata = blob->Snapshot();
    metadata.sync_generation = ++blob->sync_generation_;
    std::vector<AlignedBuffer> pages = SerializeBlob(metadata);
    Result<std::vector<uint32_t>> extra = md_space_.ClaimPages(pages.size() - 1);
    if (!extra.ok()) {
      status = extra.error().WithContext(absl::StrFormat("commit blob 0x%x", blob->id()));
      break;
    }
    std::vector<uint32_t> chain = {blob->root_index_};
    chain.insert(chain.end(), extra->begin(), extra->end());
    LinkChain(pages, chain);
    for (size_t i = 0; i < pages.size(); ++i) {
      transaction.AddPageWrite(super_.md_start + chain[i], std::move(pages[i]),
                               i == 0 ? MetadataTransaction::Order::kCommitPoint
                                      : MetadataTransaction::Order::kBeforeCommitPoint);
    }
    if (blob->mapped_since_commit_) transaction.RequireBarrier();
    prepared.push_back({blob, blob->version_, std::move(chain),
                        std::exchange(blob->released_clusters_, {}), blob->mapped_since_commit_});
    blob->mapped_since_commit_ = false;
  }
  if (!status.ok()) {
    // Nothing was written: give back what this commit claimed.
    for (Prepared& p : prepared) {
      for (size_t i = 1; i < p.chain.size(); ++i) md_space_.ReleasePage(p.chain[i]);
      p.blob->released_clusters_.insert(p.blob->released_clusters_.end(), p.released.begin(),
                                        p.released.end());
      p.blob->mapped_since_commit_ |= p.mapped;
    }
  } else if (!prepared.empty() || !deletions.empty() || !data.empty()) {
    for (Blob* blob : deletions) AddDeletion(*blob, transaction);
    const uint64_t cluster_size = super_.cluster_size;
    for (const Prepared& p : prepared) {
      for (const ClusterRun& run : p.released) {
        transaction.UnmapAfterCommit(run.start * cluster_size, run.count * cluster_size);
      }
    }
    status = co_await CommitTransaction(transaction);
    for (Prepared& p : prepared) {
      Blob& blob = *p.blob;
      if (status.ok()) {
        // The old chain (but its root, rewritten in place) and the chains of failed commits are
        // unreachable now.
        for (size_t i = 1; i < blob.chain_.size(); ++i) md_space_.ReleasePage(blob.chain_[i]);
        for (uint32_t page : blob.released_pages_) md_space_.ReleasePage(page);
        blob.released_pages_.clear();
        for (const ClusterRun& run : p.released) ReleaseClusters(run);
        blob.chain_ = std::move(p.chain);
        blob.committed_version_ = p.version;
      } else {
        // Either chain may be on disk now: keep both until a commit succeeds.
        blob.released_pages_.insert(blob.released_pages_.end(), p.chain.begin() + 1, p.chain.end());
        blob.released_clusters_.insert(blob.released_clusters_.end(), p.released.begin(),
                                       p.released.end());
        blob.mapped_since_commit_ |= p.mapped;
      }
    }
  }
  for (Blob* blob : locked) blob->commit_lock_.Release();
  for (Blob* blob : deletions) {
    busy_ids_.erase(blob->id());
    // Deleted: the blob goes with its last reference. Failed: it stays open, as it was.
    if (status.ok()) open_blobs_.erase(blob->id());
  }
  deleting->Set();
  co_return status;
}

}  // namespace blobfs
