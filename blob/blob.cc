// Blob: construction, snapshots and the metadata methods (the data path is in blob_io.cc).
#include "blob/blob.h"

#include <utility>

#include "blob/blob_store.h"
#include "blob/format/blob_id.h"
#include "blob/format/descriptor.h"

namespace blobfs {

Blob::Blob(BlobStore& store, const BlobMetadata& metadata, ExtentMap extents,
           std::vector<uint32_t> chain)
    : store_(&store),
      id_(metadata.blob_id),
      root_index_(*RootOfBlobId(metadata.blob_id)),
      invalid_flags_(metadata.invalid_flags),
      data_ro_flags_(metadata.data_ro_flags),
      md_ro_flags_(metadata.md_ro_flags),
      xattrs_(metadata.xattrs),
      internal_xattrs_(metadata.internal_xattrs),
      sync_generation_(metadata.sync_generation),
      chain_(std::move(chain)) {
  // FORMAT.md: an unknown data_ro bit opens the blob read-only, an unknown md_ro bit makes its
  // metadata read-only; a read-only blob's metadata is read-only too.
  const bool data_read_only = data_ro_flags_ != 0 || store.read_only();
  metadata_read_only_ = data_read_only || (md_ro_flags_ & ~kKnownMetadataReadOnlyFlags) != 0;
  data_read_only_.store(data_read_only, std::memory_order_release);
  num_clusters_.store(metadata.num_clusters, std::memory_order_release);
  extents_.store(std::make_shared<const ExtentMap>(std::move(extents)));
}

uint64_t Blob::size_bytes() const {
  const uint64_t clusters = num_clusters();
  const uint64_t cluster_size = store_->cluster_size();
  // A (thin) blob may claim more clusters than bytes can count: it ends at 2^64 - 1 then.
  return clusters > UINT64_MAX / cluster_size ? UINT64_MAX : clusters * cluster_size;
}

BlobMetadata Blob::Snapshot() const {
  BlobMetadata metadata;
  metadata.blob_id = id_;
  metadata.sync_generation = sync_generation_;
  metadata.invalid_flags = invalid_flags_;
  metadata.data_ro_flags = data_ro_flags_;
  metadata.md_ro_flags = md_ro_flags_;
  metadata.num_clusters = num_clusters();
  const std::shared_ptr<const ExtentMap> extents = extents_.load();
  for (const Extent& extent : *extents) {
    // EXTENTS counts are 32-bit: longer runs are written as several.
    for (uint64_t done = 0; done < extent.count;) {
      const uint64_t count = std::min<uint64_t>(extent.count - done, UINT32_MAX);
      metadata.extents.push_back(
          {extent.logical + done, extent.physical + done, static_cast<uint32_t>(count)});
      done += count;
    }
  }
  metadata.xattrs = xattrs_;
  metadata.internal_xattrs = internal_xattrs_;
  return metadata;
}

void Blob::PublishExtents(ExtentMap map) {
  extents_.store(std::make_shared<const ExtentMap>(std::move(map)));
}

Status Blob::CheckMetadataWritable() const {
  if (store_->read_only()) {
    return MakeError(EROFS, "blob 0x%x: the blob store is loaded read-only", id_);
  }
  if (metadata_read_only_) return MakeError(EROFS, "blob 0x%x: its metadata is read-only", id_);
  return OkStatus();
}

Status Blob::CheckXattr(std::string_view name, size_t value_size) {
  if (name.empty() || name.size() > kMaxXattrNameLength ||
      name.find('\0') != std::string_view::npos) {
    return MakeError(EINVAL, "xattr name %s: names are 1 to %u bytes without NUL",
                     QuotedXattrName(name), kMaxXattrNameLength);
  }
  if (value_size > kMaxXattrValueLength) {
    return MakeError(EINVAL, "xattr %s: a value of %u bytes is over the limit of %u",
                     QuotedXattrName(name), value_size, kMaxXattrValueLength);
  }
  return OkStatus();
}

Task<Status> Blob::Resize(uint64_t num_clusters) {
  return store_->OnMetadataReactor(DoResize(num_clusters));
}

Task<Status> Blob::DoResize(uint64_t num_clusters) {
  CO_RETURN_IF_ERROR(CheckMetadataWritable());
  const uint64_t current = this->num_clusters();
  if (num_clusters == current) co_return OkStatus();
  ExtentMap map = *extents_.load();
  ClusterAllocator& clusters = *store_->clusters_;
  if (num_clusters > current) {
    if (!thin()) {
      if (num_clusters - current > clusters.total_clusters()) {
        co_return MakeError(ENOSPC, "resize blob 0x%x to %u clusters: the store has %u in all", id_,
                            num_clusters, clusters.total_clusters());
      }
      // Continue the last run when the clusters after it are free.
      const std::optional<Extent> last = map.Last();
      Result<std::vector<ClusterRun>> runs =
          last.has_value() ? clusters.AllocateNear(num_clusters - current, last->physical_end())
                           : clusters.Allocate(num_clusters - current);
      if (!runs.ok()) {
        co_return runs.error().WithContext(absl::StrFormat("resize blob 0x%x", id_));
      }
      uint64_t logical = current;
      for (const ClusterRun& run : *runs) {
        CHECK_OK(map.Insert(logical, run.start, run.count));
        logical += run.count;
      }
    }
  } else {
    std::vector<ClusterRun> released = map.RemoveFrom(num_clusters);
    released_clusters_.insert(released_clusters_.end(), released.begin(), released.end());
  }
  num_clusters_.store(num_clusters, std::memory_order_release);
  PublishExtents(std::move(map));
  MarkDirty();
  co_return OkStatus();
}

Task<Status> Blob::Deallocate(uint64_t first, uint64_t count) {
  return store_->OnMetadataReactor(DoDeallocate(first, count));
}

Task<Status> Blob::DoDeallocate(uint64_t first, uint64_t count) {
  CO_RETURN_IF_ERROR(CheckMetadataWritable());
  if (!thin()) {
    co_return MakeError(EINVAL, "deallocate in blob 0x%x: only thin blobs have holes", id_);
  }
  if (first > num_clusters() || count > num_clusters() - first) {
    co_return MakeError(EINVAL, "deallocate clusters [%u, +%u) of blob 0x%x of %u clusters", first,
                        count, id_, num_clusters());
  }
  ExtentMap map = *extents_.load();
  std::vector<ClusterRun> released = map.Remove(first, count);
  if (released.empty()) co_return OkStatus();
  released_clusters_.insert(released_clusters_.end(), released.begin(), released.end());
  PublishExtents(std::move(map));
  MarkDirty();
  co_return OkStatus();
}

Task<Status> Blob::SetXattr(std::string name, std::string value, XattrKind kind) {
  return store_->OnMetadataReactor(DoSetXattr(std::move(name), std::move(value), kind));
}

Task<Status> Blob::DoSetXattr(std::string name, std::string value, XattrKind kind) {
  CO_RETURN_IF_ERROR(CheckMetadataWritable());
  CO_RETURN_IF_ERROR(CheckXattr(name, value.size()));
  XattrsOf(kind).insert_or_assign(std::move(name), std::move(value));
  MarkDirty();
  co_return OkStatus();
}

Task<Result<std::string>> Blob::GetXattr(std::string name, XattrKind kind) {
  return store_->OnMetadataReactor(DoGetXattr(std::move(name), kind));
}

Task<Result<std::string>> Blob::DoGetXattr(std::string name, XattrKind kind) {
  const auto& xattrs = XattrsOf(kind);
  auto it = xattrs.find(name);
  if (it == xattrs.end()) {
    co_return MakeError(ENOENT, "blob 0x%x has no xattr %s", id_, QuotedXattrName(name));
  }
  co_return it->second;
}

Task<Status> Blob::RemoveXattr(std::string name, XattrKind kind) {
  return store_->OnMetadataReactor(DoRemoveXattr(std::move(name), kind));
}

Task<Status> Blob::DoRemoveXattr(std::string name, XattrKind kind) {
  CO_RETURN_IF_ERROR(CheckMetadataWritable());
  if (XattrsOf(kind).erase(name) == 0) {
    co_return MakeError(ENOENT, "blob 0x%x has no xattr %s", id_, QuotedXattrName(name));
  }
  MarkDirty();
  co_return OkStatus();
}

Task<std::vector<std::string>> Blob::ListXattrs(XattrKind kind) {
  return store_->OnMetadataReactor(DoListXattrs(kind));
}

Task<std::vector<std::string>> Blob::DoListXattrs(XattrKind kind) {
  std::vector<std::string> names;
  for (const auto& entry : XattrsOf(kind)) names.push_back(entry.first);
  co_return names;
}

Task<Status> Blob::SetReadOnly() { return store_->OnMetadataReactor(DoSetReadOnly()); }

Task<Status> Blob::DoSetReadOnly() {
  CO_RETURN_IF_ERROR(CheckMetadataWritable());
  data_ro_flags_ |= kDataReadOnlyFlag;
  data_read_only_.store(true, std::memory_order_release);
  MarkDirty();
  std::vector<Blob*> blobs(1, this);  // GCC 12 cannot co_await with an initializer list inside.
  std::vector<Blob*> no_deletions;
  Status status = co_await store_->DoCommit(std::move(blobs), std::move(no_deletions));
  if (status.ok()) {
    metadata_read_only_ = true;
  } else {
    data_ro_flags_ &= ~kDataReadOnlyFlag;
    data_read_only_.store(false, std::memory_order_release);
  }
  co_return status;
}

uint64_t Blob::xattr_bytes(XattrKind kind) const {
  const auto& xattrs = kind == XattrKind::kUser ? xattrs_ : internal_xattrs_;
  uint64_t bytes = 0;
  for (const auto& [name, value] : xattrs) bytes += name.size() + value.size();
  return bytes;
}

bool Blob::has_xattr(const std::string& name, XattrKind kind) const {
  const auto& xattrs = kind == XattrKind::kUser ? xattrs_ : internal_xattrs_;
  return xattrs.contains(name);
}

Task<Status> Blob::Sync() {
  return store_->OnMetadataReactor(store_->DoCommit(std::vector<Blob*>(1, this), {}));
}

}  // namespace blobfs
