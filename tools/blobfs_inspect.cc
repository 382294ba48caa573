// blobfs-inspect: looks inside a blobfs image without mounting it (read-only; works on an image
// that was not unmounted cleanly, and leaves it so).
//
// Contract: `blobfs-inspect IMAGE COMMAND [TARGET]`, TARGET an absolute path (symlinks are not
// followed) or an inode number (decimal or 0x hex):
//   super          the blob store's geometry and the filesystem super record;
//   stat TARGET    the inode record field by field, the blob's clusters and extents, where the
//                  data lives (inline, clusters, symlink target) and the user xattrs;
//   ls TARGET      a directory's entries: cookie, inode, type, name; and its index's shape;
//   cat TARGET     a regular file's bytes (or a symlink's target) to stdout;
//   orphans        the orphan list: inodes to reclaim at the next read-write mount.
// Exit 0 on success; 1 when the image cannot be read or the target is not found or of the wrong
// type (the error is printed); 2 for bad usage. The image is locked like fsck.blobfs does, so
// it cannot change underneath (a mounted image is refused).
#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "bdev/registry.h"
#include "blob/blob_store.h"
#include "blobfs/blob_file_system.h"
#include "blobfs/file_data.h"
#include "blobfs/offline_reader.h"
#include "common/aligned_buffer.h"
#include "glog/logging.h"
#include "tools/offline_image.h"

namespace blobfs {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr char kUsage[] =
    "usage: blobfs-inspect IMAGE super | stat TARGET | ls TARGET | cat TARGET | orphans\n"
    "  TARGET: an absolute path in the filesystem, or an inode number";
// Bytes `cat` reads at once.
constexpr uint64_t kCatChunk = 1 << 20;

struct Command {
  std::string name;
  std::string target;
};

std::string FormatTime(const Timestamp& time) {
  const time_t seconds = static_cast<time_t>(time.sec);
  tm utc{};
  gmtime_r(&seconds, &utc);
  char text[64];
  std::strftime(text, sizeof(text), "%Y-%m-%d %H:%M:%S", &utc);
  return absl::StrFormat("%s.%09u UTC", text, time.nsec);
}

const char* TypeName(uint32_t mode) {
  switch (mode & S_IFMT) {
    case S_IFREG: return "regular file";
    case S_IFDIR: return "directory";
    case S_IFLNK: return "symbolic link";
    case S_IFCHR: return "character device";
    case S_IFBLK: return "block device";
    case S_IFIFO: return "FIFO";
    case S_IFSOCK: return "socket";
  }
  return "unknown";
}

const char* DirentTypeName(uint8_t type) {
  switch (type) {
    case DT_REG: return "file";
    case DT_DIR: return "dir";
    case DT_LNK: return "symlink";
    case DT_CHR: return "chardev";
    case DT_BLK: return "blockdev";
    case DT_FIFO: return "fifo";
    case DT_SOCK: return "socket";
  }
  return "unknown";
}

class Inspector {
 public:
  explicit Inspector(BlobStore& store) : store_(store) {}

  Task<Status> Run(const Command& command) {
    CO_ASSIGN_OR_RETURN(reader_, co_await OfflineReader::Open(store_));
    if (command.name == "super") co_return co_await Super();
    if (command.name == "orphans") co_return co_await List(reader_->super().orphan_ino);
    CO_ASSIGN_OR_RETURN(uint64_t ino, co_await Target(command.target));
    if (command.name == "stat") co_return co_await Stat(ino);
    if (command.name == "ls") co_return co_await List(ino);
    co_return co_await Cat(ino);
  }

 private:
  Task<Result<uint64_t>> Target(const std::string& target) {
    if (!target.empty() && target[0] == '/') co_return co_await reader_->Resolve(target);
    uint64_t ino = 0;
    const bool hex = target.rfind("0x", 0) == 0;
    if (hex ? absl::SimpleHexAtoi(target.substr(2), &ino) : absl::SimpleAtoi(target, &ino)) {
      co_return ino;
    }
    co_return MakeError(EINVAL, "target \"%s\" is neither an absolute path nor an inode number",
                        target);
  }

  // Opens the blob of `ino`, runs `body` on it with its record, and closes it.
  Task<Status> WithInode(uint64_t ino,
                         std::function<Task<Status>(Blob&, const InodeRecord&)> body) {
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store_.OpenBlob(ino));
    Result<InodeRecord> record = co_await OfflineReader::ReadRecord(*blob);
    Status status;
    if (record.ok()) {
      status = co_await body(*blob, *record);
    } else {
      status = record.error().WithContext(absl::StrFormat("inode 0x%x", ino));
    }
    (void)co_await store_.CloseBlob(blob);
    co_return status;
  }

  Task<Status> Super() {
    const SuperBlock& store = store_.super_block();
    const BlobStoreStats stats = co_await store_.GetStats();
    const FsSuper& fs = reader_->super();
    std::printf("blob store: format %u, bstype \"%s\", %s\n", SuperBlock::kVersion,
                std::string(store.bstype_text()).c_str(),
                store_.recovered() ? "not unmounted cleanly" : "clean");
    std::printf("  clusters: %llu of %u bytes, %llu free\n",
                static_cast<unsigned long long>(stats.total_clusters), stats.cluster_size,
                static_cast<unsigned long long>(stats.free_clusters));
    std::printf("  metadata pages (inodes): %llu, %llu used; blobs: %llu; io unit %u\n",
                static_cast<unsigned long long>(stats.md_pages),
                static_cast<unsigned long long>(stats.md_pages_used),
                static_cast<unsigned long long>(stats.blobs), stats.io_unit_size);
    std::printf("  journal: %llu KiB at page %llu; %llu committed transactions not yet in place\n",
                static_cast<unsigned long long>(store.journal_len * 4),
                static_cast<unsigned long long>(store.journal_start),
                static_cast<unsigned long long>(store_.journal_transactions_replayed()));
    std::printf("filesystem: uuid %s, label \"%s\", created %s\n", fs.uuid.ToString().c_str(),
                absl::CHexEscape(fs.label).c_str(), FormatTime(fs.created).c_str());
    std::printf("  features: compat 0x%llx, ro_compat 0x%llx, incompat 0x%llx\n",
                static_cast<unsigned long long>(fs.compat_features),
                static_cast<unsigned long long>(fs.ro_compat_features),
                static_cast<unsigned long long>(fs.incompat_features));
    std::printf("  block size %u, inline_max %u, mounts %llu\n", fs.block_size, fs.inline_max,
                static_cast<unsigned long long>(fs.mount_count));
    std::printf("  root inode 0x%llx, orphan directory 0x%llx, super blob 0x%llx\n",
                static_cast<unsigned long long>(fs.root_ino),
                static_cast<unsigned long long>(fs.orphan_ino),
                static_cast<unsigned long long>(store_.super_blob()));
    co_return OkStatus();
  }

  Task<Status> Stat(uint64_t ino) {
    std::function<Task<Status>(Blob&, const InodeRecord&)> print =
        [ino](Blob& blob, const InodeRecord& record) -> Task<Status> {
      std::printf("inode 0x%llx: %s, mode 0%o\n", static_cast<unsigned long long>(ino),
                  TypeName(record.mode), record.mode & 07777);
      std::printf("  uid %u, gid %u, nlink %u, size %llu, flags 0x%x\n", record.uid, record.gid,
                  record.nlink, static_cast<unsigned long long>(record.size), record.flags);
      if (S_ISCHR(record.mode) || S_ISBLK(record.mode)) {
        std::printf("  rdev %u:%u\n", major(record.rdev), minor(record.rdev));
      }
      std::printf("  generation 0x%llx, parent 0x%llx\n",
                  static_cast<unsigned long long>(record.generation),
                  static_cast<unsigned long long>(record.parent));
      std::printf("  atime %s\n  mtime %s\n  ctime %s\n  btime %s\n",
                  FormatTime(record.atime).c_str(), FormatTime(record.mtime).c_str(),
                  FormatTime(record.ctime).c_str(), FormatTime(record.btime).c_str());
      const auto extents = blob.extents();
      uint64_t mapped = 0;
      for (const Extent& extent : *extents) mapped += extent.count;
      std::printf("  blob: %llu clusters (%llu allocated)%s, %zu extents\n",
                  static_cast<unsigned long long>(blob.num_clusters()),
                  static_cast<unsigned long long>(mapped), blob.thin() ? ", thin" : "",
                  extents->run_count());
      for (const Extent& extent : *extents) {
        std::printf("    logical %llu +%llu -> physical %llu\n",
                    static_cast<unsigned long long>(extent.logical),
                    static_cast<unsigned long long>(extent.count),
                    static_cast<unsigned long long>(extent.physical));
      }
      if (record.is_regular()) {
        Result<std::string> inline_data = co_await blob.GetXattr(
            std::string(FileData::kInlineXattr), XattrKind::kInternal);
        if (inline_data.ok()) {
          std::printf("  data: inline, %zu bytes\n", inline_data->size());
        } else {
          std::printf("  data: in the blob's clusters\n");
        }
      } else if (record.is_symlink()) {
        CO_ASSIGN_OR_RETURN(std::string target,
                            co_await blob.GetXattr(std::string(BlobFileSystem::kSymlinkXattr),
                                                   XattrKind::kInternal));
        std::printf("  target: \"%s\"\n", absl::CHexEscape(target).c_str());
      }
      for (const std::string& name : co_await blob.ListXattrs(XattrKind::kUser)) {
        CO_ASSIGN_OR_RETURN(std::string value, co_await blob.GetXattr(name, XattrKind::kUser));
        std::printf("  xattr %s: %zu bytes\n", absl::CHexEscape(name).c_str(), value.size());
      }
      co_return OkStatus();
    };
    co_return co_await WithInode(ino, print);
  }

  Task<Status> List(uint64_t ino) {
    std::function<Task<Status>(Blob&, const InodeRecord&)> print =
        [this, ino](Blob& blob, const InodeRecord& record) -> Task<Status> {
      if (!record.is_dir()) co_return MakeError(ENOTDIR, "inode 0x%x is no directory", ino);
      CO_ASSIGN_OR_RETURN(std::unique_ptr<OfflineDirectory> directory,
                          co_await reader_->OpenDirectory(blob));
      DirTree& tree = *directory->tree;
      std::printf("directory 0x%llx: %llu entries, index depth %u, %llu blocks in use\n",
                  static_cast<unsigned long long>(ino),
                  static_cast<unsigned long long>(tree.size()), tree.depth(),
                  static_cast<unsigned long long>(tree.blocks_in_use()));
      std::function<bool(const DirEntry&)> emit = [](const DirEntry& entry) {
        std::printf("  %016llx  0x%-12llx %-8s %s\n",
                    static_cast<unsigned long long>(entry.cookie),
                    static_cast<unsigned long long>(entry.ino), DirentTypeName(entry.type),
                    absl::CHexEscape(entry.name).c_str());
        return true;
      };
      co_return co_await tree.List(0, emit);
    };
    co_return co_await WithInode(ino, print);
  }

  Task<Status> Cat(uint64_t ino) {
    std::function<Task<Status>(Blob&, const InodeRecord&)> copy =
        [this, ino](Blob& blob, const InodeRecord& record) -> Task<Status> {
      if (record.is_symlink()) {
        CO_ASSIGN_OR_RETURN(std::string target,
                            co_await blob.GetXattr(std::string(BlobFileSystem::kSymlinkXattr),
                                                   XattrKind::kInternal));
        co_return Write(target.data(), target.size());
      }
      if (!record.is_regular()) co_return MakeError(EINVAL, "inode 0x%x is no regular file", ino);
      Result<std::string> inline_data =
          co_await blob.GetXattr(std::string(FileData::kInlineXattr), XattrKind::kInternal);
      if (inline_data.ok()) co_return Write(inline_data->data(), inline_data->size());
      AlignedBuffer buffer(kCatChunk, store_.io_unit_size());
      for (uint64_t offset = 0; offset < record.size; offset += kCatChunk) {
        const uint64_t length = std::min(kCatChunk, record.size - offset);
        // Bytes past the blob's end read as zeroes (FORMAT.md, "File data").
        const uint64_t stored =
            offset >= blob.size_bytes() ? 0 : std::min(length, blob.size_bytes() - offset);
        std::memset(buffer.data(), 0, kCatChunk);
        if (stored > 0) {
          const uint64_t aligned = (stored + store_.io_unit_size() - 1) /
                                   store_.io_unit_size() * store_.io_unit_size();
          CO_RETURN_IF_ERROR(
              co_await blob.Read(reader_->channel(), offset, buffer.span().first(aligned)));
        }
        CO_RETURN_IF_ERROR(Write(buffer.data(), length));
      }
      co_return OkStatus();
    };
    co_return co_await WithInode(ino, copy);
  }

  static Status Write(const void* data, size_t length) {
    if (length > 0 && std::fwrite(data, 1, length, stdout) != length) {
      return MakeError(EIO, "writing to stdout failed");
    }
    return OkStatus();
  }

  BlobStore& store_;
  std::unique_ptr<OfflineReader> reader_;
};

Task<Status> Inspect(BdevRegistry& registry, const Command& command) {
  CO_ASSIGN_OR_RETURN(auto device, registry.Open(OfflineImage::kBdevName, OpenMode::kReadOnly));
  BlobStoreLoadOptions load{.bstype = std::string(FsSuper::kBstype), .read_only = true};
  CO_ASSIGN_OR_RETURN(auto store, co_await BlobStore::Load(std::move(device), std::move(load)));
  Inspector inspector(*store);
  Status status = co_await inspector.Run(command);
  Status unloaded = co_await store->Unload();  // Read-only: writes nothing.
  CO_RETURN_IF_ERROR(status);
  co_return unloaded;
}

int Main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "%s\n", kUsage);
    return kExitUsage;
  }
  const std::string path = argv[1];
  Command command{.name = argv[2], .target = argc == 4 ? argv[3] : ""};
  const bool takes_target =
      command.name == "stat" || command.name == "ls" || command.name == "cat";
  const bool known = takes_target || command.name == "super" || command.name == "orphans";
  if (!known || takes_target != (argc == 4)) {
    std::fprintf(stderr, "%s\n", kUsage);
    return kExitUsage;
  }
  auto fail = [&](const std::string& what) {
    std::fflush(stdout);
    std::fprintf(stderr, "blobfs-inspect: %s: %s\n", path.c_str(), what.c_str());
    return kExitFailed;
  };
  auto image = OfflineImage::Open(path);
  if (!image.ok()) return fail(image.error().message());
  Status status = (*image)->reactor->BlockOn(Inspect((*image)->registry, command));
  if (!status.ok()) return fail(status.error().ToString());
  return std::fflush(stdout) == 0 ? 0 : fail("writing to stdout failed");
}

}  // namespace
}  // namespace blobfs

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return blobfs::Main(argc, argv);
}
