// libFuzzer target: blobfs on an image damaged through the blob store's own calls
// (filesystem_fuzz_input.h), so every store checksum holds and the damage reaches blobfs's
// decoders: inode records, inline data, symlink targets, directory blocks, the super record. Each
// input then goes through what a user and an administrator do: fsck (CheckFileSystem on a
// read-only load), mount, a walk of the tree (readdirplus, lookup, stat, read, readlink, xattrs),
// changes in every directory reached (create, write, truncate, rename, unlink, mkdir, rmdir),
// syncfs and unmount. Any error is a fine outcome — one bad inode is one error; crashes, CHECK
// failures, hangs and sanitizer reports are bugs.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_format.h"
#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "blob/blob_store.h"
#include "blobfs/file_data.h"
#include "blobfs/filesystem.h"
#include "blobfs/format/fs_super.h"
#include "blobfs/format/inode_record.h"
#include "blobfs/fs_check.h"
#include "common/sync_bridge.h"
#include "glog/logging.h"
#include "tests/fuzz/filesystem_fuzz_input.h"

namespace blobfs::fuzz {
namespace {

constexpr const char* kBdev = "base";
constexpr uint64_t kDeviceBytes = uint64_t{16} << 20;
// A walk visits at most this many inodes, and lists at most this many entries of a directory.
constexpr size_t kMaxInodes = 64;
constexpr size_t kMaxEntries = 48;
const Credentials kRoot{};

Task<Status> DeviceIo(BdevRegistry& registry, std::span<std::byte> image, bool write) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> descriptor,
                      registry.Open(kBdev, write ? OpenMode::kReadWrite : OpenMode::kReadOnly));
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevChannel> channel, descriptor->OpenChannel());
  co_return write ? co_await channel->Write(0, image) : co_await channel->Read(0, image);
}

Task<Result<std::unique_ptr<BlobStore>>> LoadStore(BdevRegistry& registry, bool read_only) {
  CO_ASSIGN_OR_RETURN(auto device,
                      registry.Open(kBdev, read_only ? OpenMode::kReadOnly : OpenMode::kReadWrite));
  co_return co_await BlobStore::Load(std::move(device),
                                     {.bstype = std::string(FsSuper::kBstype),
                                      .read_only = read_only});
}

Task<Status> WriteFile(FileSystem& fs, uint64_t handle, uint64_t offset, size_t length, char fill) {
  std::string data(length, fill);
  iovec iov{data.data(), data.size()};
  CO_ASSIGN_OR_RETURN(size_t written,
                      co_await fs.Write(kRoot, handle, offset, std::span<const iovec>(&iov, 1)));
  if (written != length) co_return MakeError(EIO, "short write");
  co_return Status();
}

Task<Status> MakeFile(FileSystem& fs, uint64_t dir, std::string_view name,
                      std::vector<std::pair<uint64_t, size_t>> extents) {
  CO_ASSIGN_OR_RETURN(FileSystem::Created file,
                      co_await fs.Create(kRoot, dir, name, 0644, O_RDWR | O_CREAT));
  for (const auto& [offset, length] : extents) {
    CO_RETURN_IF_ERROR(co_await WriteFile(fs, file.handle, offset, length, 'f'));
  }
  co_return co_await fs.Release(file.handle);
}

// The base image: an inline file with an xattr, a file of clusters with a hole, a directory of
// 150 entries (several index blocks) with a subdirectory, a symlink, a FIFO and an orphan-to-be.
Task<Status> BuildBase(BdevRegistry& registry) {
  CO_ASSIGN_OR_RETURN(auto device, registry.Open(kBdev, OpenMode::kReadWrite));
  CO_ASSIGN_OR_RETURN(auto store,
                      co_await BlobStore::Init(std::move(device),
                                               {.cluster_size = 4096,
                                                .bstype = std::string(FsSuper::kBstype)}));
  CO_RETURN_IF_ERROR(co_await FileSystem::Mkfs(*store, MkfsOptions{}));
  CO_ASSIGN_OR_RETURN(auto fs, co_await FileSystem::Mount(std::move(store), MountOptions{}));
  const uint64_t root = fs->root_ino();
  CO_RETURN_IF_ERROR(co_await MakeFile(*fs, root, "small", {{0, 100}}));
  CO_ASSIGN_OR_RETURN(InodeAttr small, co_await fs->Lookup(kRoot, root, "small"));
  CO_RETURN_IF_ERROR(co_await fs->SetXattr(kRoot, small.ino, "user.note", "value", 0));
  CO_RETURN_IF_ERROR(co_await MakeFile(*fs, root, "big", {{0, 12288}, {40960, 5000}}));
  CO_ASSIGN_OR_RETURN(InodeAttr dir, co_await fs->MkDir(kRoot, root, "d", 0755));
  for (int i = 0; i < 150; ++i) {
    CO_RETURN_IF_ERROR(co_await MakeFile(*fs, dir.ino, absl::StrFormat("entry-%03d", i), {}));
  }
  CO_RETURN_IF_ERROR((co_await fs->MkDir(kRoot, dir.ino, "sub", 0755)).status());
  CO_RETURN_IF_ERROR((co_await fs->Symlink(kRoot, root, "link", "small")).status());
  CO_RETURN_IF_ERROR((co_await fs->MkNod(kRoot, root, "fifo", S_IFIFO | 0644, 0)).status());
  co_return co_await fs->Unmount();
}

// --- The edits ----------------------------------------------------------------------------------

Task<Result<std::string>> InternalXattr(Blob& blob, std::string_view name) {
  Result<std::string> value = co_await blob.GetXattr(std::string(name), XattrKind::kInternal);
  if (!value.ok() && value.error().code() == ENOENT) co_return std::string();
  co_return value;
}

std::string Patched(std::string value, size_t offset, std::string_view payload) {
  if (value.size() < offset + payload.size()) value.resize(offset + payload.size(), '\0');
  value.replace(offset, payload.size(), payload);
  return value;
}

Task<Status> ApplyEdit(BlobStore& store, Blob& blob, const Edit& edit) {
  const std::string record(InodeRecord::kXattrName);
  switch (edit.kind) {
    case EditKind::kPatchRecord: {
      CO_ASSIGN_OR_RETURN(std::string value, co_await InternalXattr(blob, record));
      const size_t at = value.empty() ? 0 : edit.offset % value.size();
      co_return co_await blob.SetXattr(record, Patched(value, at, edit.payload),
                                       XattrKind::kInternal);
    }
    case EditKind::kResizeRecord: {
      CO_ASSIGN_OR_RETURN(std::string value, co_await InternalXattr(blob, record));
      const size_t size = edit.offset % 160;
      if (size <= value.size()) {
        value.resize(size);
      } else {
        value += edit.payload;
        value.resize(size, '\0');
      }
      co_return co_await blob.SetXattr(record, value, XattrKind::kInternal);
    }
    case EditKind::kPatchInline: {
      const std::string name(FileData::kInlineXattr);
      CO_ASSIGN_OR_RETURN(std::string value, co_await InternalXattr(blob, name));
      co_return co_await blob.SetXattr(name, Patched(value, edit.offset % 4096, edit.payload),
                                       XattrKind::kInternal);
    }
    case EditKind::kSetSymlink:
      co_return co_await blob.SetXattr("l", edit.payload, XattrKind::kInternal);
    case EditKind::kRemoveInternal: {
      static constexpr std::string_view kNames[] = {InodeRecord::kXattrName,
                                                    FileData::kInlineXattr, "l",
                                                    FsSuper::kXattrName};
      Status removed = co_await blob.RemoveXattr(std::string(kNames[edit.offset % 4]),
                                                 XattrKind::kInternal);
      co_return removed.ok() || removed.error().code() == ENOENT ? Status() : removed;
    }
    case EditKind::kPatchData: {
      const uint64_t size = blob.size_bytes();
      if (size == 0 || edit.payload.empty()) co_return Status();
      const uint64_t at = std::min<uint64_t>(uint64_t{edit.offset} * 16, size - 1);
      const size_t length = std::min<uint64_t>(edit.payload.size(), size - at);
      CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store.OpenChannel());
      co_return co_await blob.Write(
          *channel, at, std::as_bytes(std::span(edit.payload.data(), length)));
    }
    case EditKind::kResizeBlob:
      co_return co_await blob.Resize(edit.offset % 8);
    case EditKind::kPatchSuper: {
      const std::string name(FsSuper::kXattrName);
      CO_ASSIGN_OR_RETURN(std::string value, co_await InternalXattr(blob, name));
      if (value.empty()) co_return Status();  // Not the super blob.
      co_return co_await blob.SetXattr(name, Patched(value, edit.offset % 192, edit.payload),
                                       XattrKind::kInternal);
    }
  }
  co_return Status();
}

Task<void> ApplyEdits(BdevRegistry& registry, std::string_view input) {
  Result<std::unique_ptr<BlobStore>> store = co_await LoadStore(registry, false);
  CHECK(store.ok()) << "the base image does not load: " << store.error();
  std::vector<uint64_t> ids = co_await (*store)->ListBlobs();
  CHECK(!ids.empty());
  std::vector<Blob*> opened;
  Edit edit;
  for (int count = 0; count < 16 && DecodeEdit(input, edit); ++count) {
    Result<Blob*> blob = co_await (*store)->OpenBlob(ids[edit.blob % ids.size()]);
    if (!blob.ok()) continue;
    if (std::find(opened.begin(), opened.end(), *blob) == opened.end()) {
      opened.push_back(*blob);
    } else {
      (void)co_await (*store)->CloseBlob(*blob);  // One reference per blob is kept.
    }
    (void)co_await ApplyEdit(**store, **blob, edit);
  }
  (void)co_await (*store)->Commit(opened);
  for (Blob* blob : opened) (void)co_await (*store)->CloseBlob(blob);
  (void)co_await (*store)->Unload();
}

// --- What users and administrators do next ---------------------------------------------------------

Task<void> Check(BdevRegistry& registry) {
  Result<std::unique_ptr<BlobStore>> store = co_await LoadStore(registry, true);
  if (!store.ok()) co_return;
  (void)co_await CheckFileSystem(**store);
  (void)co_await (*store)->Unload();
}

Task<void> UseFile(FileSystem& fs, uint64_t ino) {
  Result<uint64_t> handle = co_await fs.Open(kRoot, ino, O_RDWR);
  if (!handle.ok()) co_return;
  std::string buffer(65536, '\0');
  iovec iov{buffer.data(), buffer.size()};
  (void)co_await fs.Read(*handle, 0, std::span<const iovec>(&iov, 1));
  (void)co_await fs.Read(*handle, 40000, std::span<const iovec>(&iov, 1));
  (void)co_await fs.Lseek(*handle, 0, SEEK_DATA);
  (void)co_await fs.Lseek(*handle, 0, SEEK_HOLE);
  (void)co_await WriteFile(fs, *handle, 10, 20, 'w');
  (void)co_await WriteFile(fs, *handle, 9000, 100, 'x');
  (void)co_await fs.Fallocate(kRoot, *handle, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                              4096);
  (void)co_await fs.SetAttr(kRoot, ino, {.valid = SetAttrRequest::kSize, .size = 3000}, *handle);
  (void)co_await fs.Fsync(*handle, false);
  (void)co_await fs.Release(*handle);
}

// Lists `dir` (the entries it took: names and inode numbers), with their attributes.
Task<std::vector<std::pair<std::string, uint64_t>>> List(FileSystem& fs, uint64_t dir) {
  std::vector<std::pair<std::string, uint64_t>> entries;
  Result<uint64_t> handle = co_await fs.OpenDir(kRoot, dir);
  if (!handle.ok()) co_return entries;
  (void)co_await fs.ReadDirPlus(*handle, 0, [&](const DirListEntry& entry, const InodeAttr&) {
    if (entries.size() >= kMaxEntries) return false;
    entries.emplace_back(std::string(entry.name), entry.ino);
    return true;
  });
  (void)co_await fs.ReleaseDir(*handle);
  for (const auto& [name, ino] : entries) {
    if (name != "." && name != "..") co_await fs.Forget(ino, 1);
  }
  co_return entries;
}

Task<void> ChangeDirectory(FileSystem& fs, uint64_t dir,
                           const std::vector<std::pair<std::string, uint64_t>>& entries) {
  Result<FileSystem::Created> made = co_await fs.Create(kRoot, dir, "fuzz-new", 0644,
                                                        O_RDWR | O_CREAT);
  if (made.ok()) {
    (void)co_await WriteFile(fs, made->handle, 0, 5000, 'n');
    (void)co_await fs.Release(made->handle);
  }
  (void)co_await fs.MkDir(kRoot, dir, "fuzz-dir", 0755);
  (void)co_await fs.RmDir(kRoot, dir, "fuzz-dir");
  std::vector<std::string> names;
  for (const auto& [name, ino] : entries) {
    if (name != "." && name != ".." && name != "fuzz-new") names.push_back(name);
  }
  if (!names.empty()) (void)co_await fs.Rename(kRoot, dir, names[0], dir, "fuzz-renamed", 0);
  if (names.size() > 1) (void)co_await fs.Unlink(kRoot, dir, names[1]);
  if (names.size() > 2) (void)co_await fs.RmDir(kRoot, dir, names[2]);
  (void)co_await fs.Unlink(kRoot, dir, "fuzz-new");
}

Task<void> Walk(FileSystem& fs) {
  std::deque<uint64_t> dirs{fs.root_ino()};
  std::set<uint64_t> seen{fs.root_ino()};
  while (!dirs.empty() && seen.size() < kMaxInodes) {
    const uint64_t dir = dirs.front();
    dirs.pop_front();
    std::vector<std::pair<std::string, uint64_t>> entries = co_await List(fs, dir);
    for (const auto& [name, listed] : entries) {
      if (name == "." || name == ".." || seen.size() >= kMaxInodes) continue;
      Result<InodeAttr> attr = co_await fs.Lookup(kRoot, dir, name);
      if (!attr.ok() || !seen.insert(attr->ino).second) {
        if (attr.ok()) co_await fs.Forget(attr->ino, 1);
        continue;
      }
      (void)co_await fs.GetAttr(attr->ino);
      Result<std::vector<std::string>> xattrs = co_await fs.ListXattr(kRoot, attr->ino);
      if (xattrs.ok()) {
        for (const std::string& xattr : *xattrs) (void)co_await fs.GetXattr(kRoot, attr->ino, xattr);
      }
      if (S_ISDIR(attr->mode)) {
        dirs.push_back(attr->ino);
      } else if (S_ISREG(attr->mode)) {
        co_await UseFile(fs, attr->ino);
      } else if (S_ISLNK(attr->mode)) {
        (void)co_await fs.ReadLink(attr->ino);
      }
      co_await fs.Forget(attr->ino, 1);
    }
    co_await ChangeDirectory(fs, dir, entries);
  }
}

Task<void> MountAndUse(BdevRegistry& registry) {
  Result<std::unique_ptr<BlobStore>> store = co_await LoadStore(registry, false);
  if (!store.ok()) co_return;
  Result<std::unique_ptr<FileSystem>> fs =
      co_await FileSystem::Mount(std::move(*store), {.cache_bytes = uint64_t{4} << 20});
  if (!fs.ok()) co_return;
  co_await Walk(**fs);
  (void)co_await (*fs)->StatFs();
  (void)co_await (*fs)->SyncFs();
  (void)co_await (*fs)->Unmount();
}

struct Env {
  Env() : reactor(std::move(ReactorThread::Start()).value()), image(kDeviceBytes) {
    CHECK_OK(CreateMallocBdev(registry, kBdev, {.size_bytes = kDeviceBytes}).status());
    CHECK_OK(reactor->BlockOn(BuildBase(registry)));
    CHECK_OK(reactor->BlockOn(DeviceIo(registry, image, false)));
  }
  std::unique_ptr<ReactorThread> reactor;
  BdevRegistry registry;
  std::vector<std::byte> image;
};

Task<void> RunInput(Env& env, std::string_view input) {
  std::vector<std::byte> image = env.image;
  CHECK_OK(co_await DeviceIo(env.registry, image, true));
  co_await ApplyEdits(env.registry, input);
  co_await Check(env.registry);
  co_await MountAndUse(env.registry);
}

}  // namespace
}  // namespace blobfs::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Built once; every input starts from its image.
  static blobfs::fuzz::Env* env = new blobfs::fuzz::Env();
  env->reactor->BlockOn(blobfs::fuzz::RunInput(
      *env, std::string_view(reinterpret_cast<const char*>(data), size)));
  return 0;
}
