// The blobcli commands that go through the blob store (see blobcli_commands.h).
#include "tools/blobcli_commands.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "blob/format/page.h"
#include "common/aligned_buffer.h"
#include "common/rounding.h"
#include "tools/blobcli_common.h"
#include "tools/blobcli_dump.h"

namespace blobfs {
namespace {

// Bytes of blob data that write and read move per I/O.
constexpr uint64_t kChunkBytes = 1 << 20;

enum class Access { kReadOnly, kReadWrite };

using StoreOpener =
    absl::FunctionRef<Task<Result<std::unique_ptr<BlobStore>>>(std::unique_ptr<BdevDescriptor>)>;
using StoreBody = absl::FunctionRef<Task<Status>(BlobStore&)>;
using BlobBody = absl::FunctionRef<Task<Status>(Blob&)>;

Error SystemError(int code, const std::string& what) {
  return MakeError(code, "%s: %s", what, std::strerror(code));
}

struct FileCloser {
  void operator()(std::FILE* file) const { std::fclose(file); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

Result<FilePtr> OpenFile(const std::string& path, const char* mode) {
  std::FILE* file = std::fopen(path.c_str(), mode);
  if (file == nullptr) return SystemError(errno, path);
  return FilePtr(file);
}

// Makes the store of `target` with `open`, runs `body` on it and, for kReadWrite, unloads it
// cleanly unless target.unload is false. The first error is returned.
Status RunOnStore(const StoreTarget& target, Access access, StoreOpener open, StoreBody body) {
  ASSIGN_OR_RETURN(std::unique_ptr<CliDevice> device, CliDevice::Create(target.device));
  const bool read_only = access == Access::kReadOnly;
  ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> descriptor,
                   device->Open(read_only ? OpenMode::kReadOnly : OpenMode::kReadWrite));
  ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> store, device->Run(open(std::move(descriptor))));
  if (store->recovered()) {
    std::fprintf(stderr,
                 "blobcli: note: the store was not unloaded cleanly; its masks were rebuilt from "
                 "the metadata region%s\n",
                 read_only ? " in memory (loaded read-only: nothing was written)" : "");
  }
  Status status = device->Run(body(*store));
  if (!read_only && target.unload) {
    Status unloaded = device->Run(store->Unload());
    if (status.ok()) status = std::move(unloaded);
  }
  return status;
}

Status WithStore(const StoreTarget& target, Access access, StoreBody body) {
  const BlobStoreLoadOptions options{.bstype = target.bstype,
                                     .read_only = access == Access::kReadOnly};
  return RunOnStore(
      target, access,
      [&options](std::unique_ptr<BdevDescriptor> descriptor) {
        return BlobStore::Load(std::move(descriptor), options);
      },
      body);
}

// Opens blob `blob_id`, runs `body` on it and closes it, which commits what `body` changed.
Task<Status> WithBlob(BlobStore& store, uint64_t blob_id, BlobBody body) {
  CO_ASSIGN_OR_RETURN(Blob * blob, co_await store.OpenBlob(blob_id));
  Status status = co_await body(*blob);
  Status closed = co_await store.CloseBlob(blob);
  co_return status.ok() ? closed : status;
}

// WithStore and WithBlob together: the commands that act on one blob.
Status WithStoreBlob(const StoreTarget& target, Access access, uint64_t blob_id, BlobBody body) {
  return WithStore(target, access,
                   [blob_id, body](BlobStore& store) { return WithBlob(store, blob_id, body); });
}

// The flags are those stored: Blob::read_only() is true for every blob of a read-only store.
Task<Status> PrintBlob(BlobStore& store, Blob& blob) {
  const Blob::Flags stored = blob.flags();
  std::vector<std::string> flags;
  if (blob.thin()) flags.push_back("thin");
  if (stored.data_ro != 0) flags.push_back("ro");
  if (stored.md_ro != 0) flags.push_back("md_ro");
  if (blob.id() == store.super_blob()) flags.push_back("super");
  std::printf("%s clusters=%lu bytes=%lu allocated=%lu flags=%s\n", BlobIdText(blob.id()).c_str(),
              blob.num_clusters(), blob.size_bytes(), blob.extents()->allocated_clusters(),
              flags.empty() ? "-" : absl::StrJoin(flags, ",").c_str());
  for (XattrKind kind : {XattrKind::kUser, XattrKind::kInternal}) {
    const std::vector<std::string> names = co_await blob.ListXattrs(kind);
    for (const std::string& name : names) {
      CO_ASSIGN_OR_RETURN(std::string value, co_await blob.GetXattr(name, kind));
      std::printf("  xattr%s %s=%s\n", kind == XattrKind::kInternal ? " (internal)" : "",
                  Printable(name).c_str(), Printable(value).c_str());
    }
  }
  co_return OkStatus();
}

// Writes `size` bytes of `file` (named `path`) at `offset` of `blob`, zero-padded to the io unit.
Task<Status> WriteFromFile(Blob& blob, uint64_t offset, std::FILE* file, uint64_t size,
                           const std::string& path, bool grow) {
  BlobStore& store = blob.store();
  const uint64_t io_unit = store.io_unit_size();
  if (offset % io_unit != 0) {
    co_return MakeError(EINVAL, "write blob 0x%x: offset %u is not a multiple of the io unit %u",
                        blob.id(), offset, io_unit);
  }
  const uint64_t padded = RoundUp(size, io_unit);
  if (offset > UINT64_MAX - padded) {
    co_return MakeError(EINVAL, "write blob 0x%x: %u bytes at offset %u overflow", blob.id(),
                        padded, offset);
  }
  const uint64_t end = offset + padded;
  const uint64_t old_clusters = blob.num_clusters();
  if (end > blob.size_bytes()) {
    if (!grow) {
      co_return MakeError(EINVAL,
                          "write blob 0x%x: %u bytes at offset %u run past its end (%u bytes); "
                          "--grow resizes it first",
                          blob.id(), padded, offset, blob.size_bytes());
    }
    CO_RETURN_IF_ERROR(
        co_await blob.Resize(RoundUp(end, store.cluster_size()) / store.cluster_size()));
  }
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store.OpenChannel());
  AlignedBuffer buffer(std::min(kChunkBytes, padded), kPageSize);
  for (uint64_t done = 0; done < padded;) {
    const uint64_t length = std::min(kChunkBytes, padded - done);
    const uint64_t from_file = std::min(length, size - done);
    if (std::fread(buffer.data(), 1, from_file, file) != from_file) {
      co_return std::ferror(file) ? SystemError(errno, path)
                                  : MakeError(EIO, "%s: shorter than its %u bytes", path, size);
    }
    std::memset(buffer.data() + from_file, 0, length - from_file);
    CO_RETURN_IF_ERROR(co_await blob.Write(*channel, offset + done, buffer.span().first(length)));
    done += length;
  }
  CO_RETURN_IF_ERROR(co_await channel->Flush());
  std::printf("wrote %lu bytes at offset %lu of blob %s", size, offset,
              BlobIdText(blob.id()).c_str());
  if (padded != size) std::printf(" (%lu with zero padding)", padded);
  if (blob.num_clusters() != old_clusters) {
    std::printf("; grew it from %lu to %lu clusters", old_clusters, blob.num_clusters());
  }
  std::printf("\n");
  co_return OkStatus();
}

// Writes [offset, offset + length) of `blob` (length 0: to its end) to a new file at `path`.
Task<Status> ReadToFile(Blob& blob, uint64_t offset, uint64_t length, const std::string& path) {
  const uint64_t blob_bytes = blob.size_bytes();
  if (offset > blob_bytes || length > blob_bytes - offset) {
    co_return MakeError(EINVAL, "read blob 0x%x: [%u, +%u) is outside the blob of %u bytes",
                        blob.id(), offset, length, blob_bytes);
  }
  if (length == 0) length = blob_bytes - offset;
  CO_ASSIGN_OR_RETURN(FilePtr file, OpenFile(path, "wb"));
  BlobStore& store = blob.store();
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store.OpenChannel());
  // The blob's size is a multiple of the io unit, so the io units around the range are inside it.
  const uint64_t io_unit = store.io_unit_size();
  const uint64_t end = offset + length;
  const uint64_t first = offset / io_unit * io_unit;
  const uint64_t last = RoundUp(end, io_unit);
  AlignedBuffer buffer(std::min(kChunkBytes, last - first), kPageSize);
  for (uint64_t at = first; at < last;) {
    const uint64_t chunk = std::min(kChunkBytes, last - at);
    CO_RETURN_IF_ERROR(co_await blob.Read(*channel, at, buffer.span().first(chunk)));
    const uint64_t from = std::max(at, offset);
    const uint64_t to = std::min(at + chunk, end);
    if (std::fwrite(buffer.data() + (from - at), 1, to - from, file.get()) != to - from) {
      co_return SystemError(errno, path);
    }
    at += chunk;
  }
  if (std::fclose(file.release()) != 0) co_return SystemError(errno, path);
  std::printf("read %lu bytes at offset %lu of blob %s into %s\n", length, offset,
              BlobIdText(blob.id()).c_str(), path.c_str());
  co_return OkStatus();
}

}  // namespace

Status InitCommand(const StoreTarget& target, BlobStoreInitOptions options) {
  options.bstype = target.bstype;
  return RunOnStore(
      target, Access::kReadWrite,
      [&options](std::unique_ptr<BdevDescriptor> descriptor) {
        return BlobStore::Init(std::move(descriptor), options);
      },
      [](BlobStore& store) -> Task<Status> {
        const BlobStoreStats stats = co_await store.GetStats();
        std::printf(
            "initialized: uuid=%s bstype='%s' cluster_size=%u io_unit_size=%u clusters=%lu "
            "(%lu free) md_pages=%lu\n",
            store.super_block().uuid.ToString().c_str(), BstypeText(store.super_block()).c_str(),
            stats.cluster_size, stats.io_unit_size, stats.total_clusters, stats.free_clusters,
            stats.md_pages);
        co_return OkStatus();
      });
}

Status ListCommand(const StoreTarget& target) {
  return WithStore(target, Access::kReadOnly, [](BlobStore& store) -> Task<Status> {
    const std::vector<uint64_t> blob_ids = co_await store.ListBlobs();
    for (uint64_t blob_id : blob_ids) {
      CO_RETURN_IF_ERROR(
          co_await WithBlob(store, blob_id, [&](Blob& blob) { return PrintBlob(store, blob); }));
    }
    co_return OkStatus();
  });
}

Status StatsCommand(const StoreTarget& target) {
  return WithStore(target, Access::kReadOnly, [](BlobStore& store) -> Task<Status> {
    const BlobStoreStats stats = co_await store.GetStats();
    const SuperBlock& super = store.super_block();
    const char* state = super.clean()       ? "clean"
                        : store.recovered() ? "not clean (masks rebuilt from the metadata region)"
                                            : "not clean";
    std::printf("uuid           %s\n", super.uuid.ToString().c_str());
    std::printf("bstype         '%s'\n", BstypeText(super).c_str());
    std::printf("state          %s\n", state);
    std::printf("mount_count    %lu\n", super.mount_count);
    std::printf("super_blob     %s\n", BlobIdText(store.super_blob()).c_str());
    std::printf("cluster_size   %u\n", stats.cluster_size);
    std::printf("io_unit_size   %u\n", stats.io_unit_size);
    std::printf("clusters       %lu total, %lu free, %lu used\n", stats.total_clusters,
                stats.free_clusters, stats.total_clusters - stats.free_clusters);
    std::printf("md_pages       %lu total, %lu used\n", stats.md_pages, stats.md_pages_used);
    std::printf("blobs          %lu\n", stats.blobs);
    co_return OkStatus();
  });
}

Status CreateCommand(const StoreTarget& target, BlobCreateOptions options) {
  return WithStore(target, Access::kReadWrite, [&options](BlobStore& store) -> Task<Status> {
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store.CreateBlob(std::move(options)));
    const uint64_t blob_id = blob->id();
    CO_RETURN_IF_ERROR(co_await store.CloseBlob(blob));
    std::printf("%s\n", BlobIdText(blob_id).c_str());
    co_return OkStatus();
  });
}

Status DeleteCommand(const StoreTarget& target, uint64_t blob_id) {
  return WithStore(target, Access::kReadWrite, [blob_id](BlobStore& store) -> Task<Status> {
    CO_RETURN_IF_ERROR(co_await store.DeleteBlob(blob_id));
    std::printf("deleted blob %s\n", BlobIdText(blob_id).c_str());
    co_return OkStatus();
  });
}

Status ResizeCommand(const StoreTarget& target, uint64_t blob_id, uint64_t num_clusters) {
  return WithStoreBlob(target, Access::kReadWrite, blob_id,
                       [num_clusters](Blob& blob) -> Task<Status> {
                         const uint64_t old_clusters = blob.num_clusters();
                         CO_RETURN_IF_ERROR(co_await blob.Resize(num_clusters));
                         std::printf("resized blob %s from %lu to %lu clusters\n",
                                     BlobIdText(blob.id()).c_str(), old_clusters, num_clusters);
                         co_return OkStatus();
                       });
}

Status SetXattrCommand(const StoreTarget& target, uint64_t blob_id, XattrKind kind,
                       std::string name, std::string value) {
  return WithStoreBlob(target, Access::kReadWrite, blob_id, [&](Blob& blob) {
    return blob.SetXattr(std::move(name), std::move(value), kind);
  });
}

Status GetXattrCommand(const StoreTarget& target, uint64_t blob_id, XattrKind kind,
                       std::string name) {
  return WithStoreBlob(target, Access::kReadOnly, blob_id, [&](Blob& blob) -> Task<Status> {
    CO_ASSIGN_OR_RETURN(std::string value, co_await blob.GetXattr(std::move(name), kind));
    std::printf("%s\n", Printable(value).c_str());
    co_return OkStatus();
  });
}

Status RemoveXattrCommand(const StoreTarget& target, uint64_t blob_id, XattrKind kind,
                          std::string name) {
  return WithStoreBlob(target, Access::kReadWrite, blob_id,
                       [&](Blob& blob) { return blob.RemoveXattr(std::move(name), kind); });
}

Status WriteCommand(const StoreTarget& target, uint64_t blob_id, uint64_t offset,
                    const std::string& path, bool grow) {
  // The file is checked before the store is touched.
  ASSIGN_OR_RETURN(FilePtr file, OpenFile(path, "rb"));
  struct stat st;
  if (fstat(fileno(file.get()), &st) != 0) return SystemError(errno, path);
  if (!S_ISREG(st.st_mode)) return MakeError(EINVAL, "%s: not a regular file", path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  return WithStoreBlob(target, Access::kReadWrite, blob_id, [&](Blob& blob) {
    return WriteFromFile(blob, offset, file.get(), size, path, grow);
  });
}

Status ReadCommand(const StoreTarget& target, uint64_t blob_id, uint64_t offset, uint64_t length,
                   const std::string& path) {
  return WithStoreBlob(target, Access::kReadOnly, blob_id,
                       [&](Blob& blob) { return ReadToFile(blob, offset, length, path); });
}

}  // namespace blobfs
