// The blob data path: requests split at cluster boundaries onto the bdev, holes of thin blobs, and
// allocation on first write (BlobStore::WriteAllocating).
#include <algorithm>
#include <deque>
#include <utility>
#include <vector>

#include "common/iov.h"
#include "blob/blob.h"
#include "blob/blob_store.h"
#include "common/when_all.h"

namespace blobfs {

Status Blob::CheckRange(const char* operation, uint64_t offset, uint64_t length) const {
  const uint64_t io_unit = store_->io_unit_size();
  const uint64_t size = size_bytes();
  if (offset % io_unit != 0 || length % io_unit != 0) {
    return MakeError(EINVAL, "%s blob 0x%x: offset %u and length %u must be multiples of %u",
                     operation, id_, offset, length, io_unit);
  }
  if (offset > size || length > size - offset) {
    return MakeError(EINVAL, "%s blob 0x%x: [%u, +%u) is outside the blob of %u bytes", operation,
                     id_, offset, length, size);
  }
  return OkStatus();
}

bool Blob::FullyMapped(const ExtentMap& map, uint64_t offset, uint64_t length) const {
  if (length == 0) return true;
  const uint64_t cluster_size = store_->cluster_size();
  const uint64_t first = offset / cluster_size;
  const uint64_t end = (offset + length - 1) / cluster_size + 1;
  return map.NextUnmapped(first) >= end;
}

Task<Status> Blob::SubmitPiece(BdevChannel& channel, DataOp op, uint64_t device_offset,
                               uint64_t length, std::span<const iovec> iov) {
  switch (op) {
    case DataOp::kRead:
      return channel.Readv(device_offset, iov);
    case DataOp::kWrite:
      return channel.Writev(device_offset, iov);
    case DataOp::kWriteZeroes:
      return channel.WriteZeroes(device_offset, length);
    case DataOp::kUnmap:
      return channel.Unmap(device_offset, length);
  }
  __builtin_unreachable();
}

Task<Status> Blob::SubmitData(BdevChannel& channel, const ExtentMap& map, DataOp op,
                              uint64_t offset, uint64_t length, std::span<const iovec> iov) {
  const uint64_t cluster_size = store_->cluster_size();
  const bool has_data = op == DataOp::kRead || op == DataOp::kWrite;
  std::deque<IovecList> slices;  // Stable addresses for the pieces' iovecs.
  std::vector<Task<Status>> pieces;
  for (uint64_t done = 0; done < length;) {
    const uint64_t position = offset + done;
    const uint64_t cluster = position / cluster_size;
    const uint64_t within = position % cluster_size;
    std::optional<ExtentMap::Mapping> mapping = map.Lookup(cluster);
    uint64_t piece;
    if (mapping.has_value()) {
      piece = std::min(length - done, mapping->count * cluster_size - within);
      // The common case, one piece for the whole request, needs no copy of the iovecs.
      std::span<const iovec> piece_iov = iov;
      if (has_data && piece != length) {
        IovSlice(iov, done, piece, slices.emplace_back());
        piece_iov = slices.back();
      }
      const uint64_t device_offset = mapping->physical * cluster_size + within;
      if (piece == length) co_return co_await SubmitPiece(channel, op, device_offset, piece, iov);
      pieces.push_back(SubmitPiece(channel, op, device_offset, piece, piece_iov));
    } else {
      std::optional<uint64_t> next = map.NextMapped(cluster);
      const uint64_t hole_end = next.has_value() && *next <= UINT64_MAX / cluster_size
                                    ? *next * cluster_size
                                    : UINT64_MAX;
      piece = std::min(length - done, hole_end - position);
      CHECK(op != DataOp::kWrite) << "a write reached an unmapped cluster";
      if (op == DataOp::kRead) {
        IovecList hole;
        IovSlice(iov, done, piece, hole);
        IovZero(hole, piece);
      }
    }
    done += piece;
  }
  if (pieces.empty()) co_return OkStatus();
  co_return co_await WhenAll(std::move(pieces));
}

Task<Status> Blob::Read(BlobChannel& channel, uint64_t offset, std::span<std::byte> buffer) {
  const iovec iov{buffer.data(), buffer.size()};
  co_return co_await Readv(channel, offset, std::span<const iovec>(&iov, 1));
}

Task<Status> Blob::Write(BlobChannel& channel, uint64_t offset, std::span<const std::byte> buffer) {
  const iovec iov{const_cast<std::byte*>(buffer.data()), buffer.size()};
  co_return co_await Writev(channel, offset, std::span<const iovec>(&iov, 1));
}

Task<Status> Blob::Readv(BlobChannel& channel, uint64_t offset, std::span<const iovec> iov) {
  const uint64_t length = IovLength(iov);
  CO_RETURN_IF_ERROR(CheckRange("read", offset, length));
  const std::shared_ptr<const ExtentMap> map = extents_.load();
  CO_RETURN_IF_ERROR(
      co_await SubmitData(channel.device(), *map, DataOp::kRead, offset, length, iov));
  store_->PatchFromReadOverlay(*map, offset, length, iov);
  co_return OkStatus();
}

Task<Status> Blob::Writev(BlobChannel& channel, uint64_t offset, std::span<const iovec> iov) {
  const uint64_t length = IovLength(iov);
  CO_RETURN_IF_ERROR(CheckRange("write", offset, length));
  if (read_only()) co_return MakeError(EROFS, "write blob 0x%x: the blob is read-only", id_);
  std::shared_ptr<const ExtentMap> map = extents_.load();
  if (!FullyMapped(*map, offset, length)) {
    CO_ASSIGN_OR_RETURN(bool written, co_await store_->OnMetadataReactor(
                                          store_->WriteAllocating(*this, offset, iov)));
    if (written) co_return OkStatus();
    map = extents_.load();
  }
  co_return co_await SubmitData(channel.device(), *map, DataOp::kWrite, offset, length, iov);
}

Task<Status> Blob::WriteZeroes(BlobChannel& channel, uint64_t offset, uint64_t length) {
  CO_RETURN_IF_ERROR(CheckRange("write_zeroes", offset, length));
  if (read_only()) co_return MakeError(EROFS, "write_zeroes blob 0x%x: the blob is read-only", id_);
  const std::shared_ptr<const ExtentMap> map = extents_.load();
  co_return co_await SubmitData(channel.device(), *map, DataOp::kWriteZeroes, offset, length, {});
}

Task<Status> Blob::Unmap(BlobChannel& channel, uint64_t offset, uint64_t length) {
  CO_RETURN_IF_ERROR(CheckRange("unmap", offset, length));
  if (read_only()) co_return MakeError(EROFS, "unmap blob 0x%x: the blob is read-only", id_);
  const std::shared_ptr<const ExtentMap> map = extents_.load();
  co_return co_await SubmitData(channel.device(), *map, DataOp::kUnmap, offset, length, {});
}

Task<Result<bool>> BlobStore::WriteAllocating(Blob& blob, uint64_t offset,
                                              std::span<const iovec> iov) {
  const uint64_t length = IovLength(iov);
  const uint64_t cluster_size = super_.cluster_size;
  const uint64_t first = offset / cluster_size;
  const uint64_t end = (offset + length - 1) / cluster_size + 1;
  CO_RETURN_IF_ERROR(CheckWritable());

  // Wait until no other write is allocating clusters of this range, then take the holes left.
  std::shared_ptr<const ExtentMap> map;
  for (;;) {
    std::shared_ptr<AsyncEvent> busy;
    for (uint64_t cluster = first; cluster < end && busy == nullptr; ++cluster) {
      if (auto it = blob.allocating_.find(cluster); it != blob.allocating_.end()) busy = it->second;
    }
    if (busy == nullptr) break;
    co_await busy->Wait();
  }
  map = blob.extents_.load();
  if (blob.FullyMapped(*map, offset, length)) co_return false;
  if (end > blob.num_clusters()) {
    co_return MakeError(EINVAL, "write blob 0x%x: the blob shrank under the write", blob.id());
  }

  // The holes of the range, and clusters for them near the mapped cluster before the first.
  struct Piece {
    uint64_t logical;
    uint64_t count;
  };
  std::vector<Piece> holes;
  uint64_t hole_clusters = 0;
  for (uint64_t cluster = map->NextUnmapped(first); cluster < end;) {
    std::optional<uint64_t> mapped = map->NextMapped(cluster);
    const uint64_t hole_end = std::min(end, mapped.value_or(end));
    holes.push_back({cluster, hole_end - cluster});
    hole_clusters += hole_end - cluster;
    cluster = hole_end < end ? map->NextUnmapped(hole_end) : end;
  }
  std::optional<ExtentMap::Mapping> before =
      holes[0].logical > 0 ? map->Lookup(holes[0].logical - 1) : std::nullopt;
  Result<std::vector<ClusterRun>> runs =
      before.has_value() ? clusters_->AllocateNear(hole_clusters, before->physical + 1)
                         : clusters_->Allocate(hole_clusters);
  if (!runs.ok()) {
    co_return runs.error().WithContext(absl::StrFormat("write blob 0x%x", blob.id()));
  }
  // Lay the runs over the holes in order.
  ExtentMap written = *map;
  std::vector<Extent> added;
  {
    size_t run = 0;
    uint64_t used_of_run = 0;
    for (const Piece& hole : holes) {
      for (uint64_t done = 0; done < hole.count;) {
        const ClusterRun& from = (*runs)[run];
        const uint64_t count = std::min(hole.count - done, from.count - used_of_run);
        added.push_back({hole.logical + done, from.start + used_of_run, count});
        CHECK_OK(written.Insert(hole.logical + done, from.start + used_of_run, count));
        done += count;
        used_of_run += count;
        if (used_of_run == from.count) {
          ++run;
          used_of_run = 0;
        }
      }
    }
  }
  auto allocating = std::make_shared<AsyncEvent>();
  for (const Piece& hole : holes) {
    for (uint64_t c = hole.logical; c < hole.logical + hole.count; ++c) {
      blob.allocating_.emplace(c, allocating);
    }
  }

  // Zero what the write leaves of its first and last cluster when those are new, then write the
  // whole request: nobody can read the new clusters before both are done.
  std::vector<Task<Status>> io;
  const uint64_t write_end = offset + length;
  for (const Extent& extent : added) {
    const uint64_t start = extent.logical * cluster_size;
    const uint64_t stop = extent.logical_end() * cluster_size;
    const uint64_t device = extent.physical * cluster_size;
    if (start < offset) io.push_back(md_channel_->WriteZeroes(device, offset - start));
    if (write_end < stop) {
      io.push_back(md_channel_->WriteZeroes(device + (write_end - start), stop - write_end));
    }
  }
  Status status = OkStatus();  // GCC 12 miscompiles co_await inside ?:
  if (!io.empty()) status = co_await WhenAll(std::move(io));
  if (status.ok()) {
    status = co_await blob.SubmitData(*md_channel_, written, Blob::DataOp::kWrite, offset, length,
                                      iov);
  }

  // Publish into the map as it is now (other allocations may have landed meanwhile), unless the
  // blob shrank below the new clusters in the meantime.
  ExtentMap current = *blob.extents_.load();
  bool published = false;
  for (const Extent& extent : added) {
    if (status.ok() && extent.logical_end() <= blob.num_clusters()) {
      CHECK_OK(current.Insert(extent.logical, extent.physical, extent.count));
      published = true;
    } else {
      clusters_->Release({extent.physical, extent.count});
    }
  }
  if (published) {
    blob.PublishExtents(std::move(current));
    blob.mapped_since_commit_ = true;
    blob.MarkDirty();
  }
  for (const Piece& hole : holes) {
    for (uint64_t c = hole.logical; c < hole.logical + hole.count; ++c) blob.allocating_.erase(c);
  }
  allocating->Set();
  if (!status.ok()) co_return status.error();
  co_return true;
}

}  // namespace blobfs
