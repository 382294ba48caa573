// fsperf: figures for the blobfs library (no FUSE): small-file creation and the space it takes,
// stat and delete rates, remount time, a large sequential file's throughput and extent count, and
// a directory of many entries.
//
// Contract: `fsperf --bdev=SPEC [--test=all|smallfiles|bigfile|bigdir] ...` (flags below). Every
// test formats the bdev afresh (destroying what it held) with --cluster_size and --md_pages, runs
// mkfs and mounts. Figures go to stdout, one line each. Exit status 0 when every test ran, 1 when
// an operation failed (the error is printed), 2 for bad flags.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "bdev/registry.h"
#include "bdev/spec.h"
#include "blob/blob_store.h"
#include "blobfs/filesystem.h"
#include "blobfs/format/fs_super.h"
#include "common/clock.h"
#include "common/reactor.h"
#include "common/sync_bridge.h"
#include "common/units.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/blobperf_report.h"
#include "tools/flag_syntax.h"

DEFINE_string(bdev, "", "the device: a bdev spec such as malloc:4G or uring:/tmp/fs.img,size=8G");
DEFINE_string(test, "all", "smallfiles, bigfile, bigdir or all");
DEFINE_uint64(files, 100000, "smallfiles: files to create");
DEFINE_uint64(file_size, 1024, "smallfiles: bytes per file");
DEFINE_uint64(files_per_dir, 1000, "smallfiles: files per directory");
DEFINE_string(big_size, "1G", "bigfile: bytes to write sequentially (k/M/G suffixes)");
DEFINE_uint64(entries, 100000, "bigdir: entries of the one directory");
DEFINE_string(cluster_size, "4k", "cluster size of the stores the tests format");
DEFINE_uint64(md_pages, 0, "metadata pages (inodes) of the stores; 0: the blob store's default");

namespace blobfs {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitBadFlags = 2;

struct Env {
  BdevRegistry& registry;
  std::string bdev_name;
  uint32_t cluster_size;
};

double Seconds(int64_t start) { return (MonotonicNanos() - start) / 1e9; }

void Figure(const std::string& name, double value, const char* unit) {
  std::printf("%-40s %14.1f %s\n", name.c_str(), value, unit);
  std::fflush(stdout);
}

Task<Result<std::unique_ptr<FileSystem>>> FormatAndMount(Env& env) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> device,
                      env.registry.Open(env.bdev_name, OpenMode::kReadWrite));
  BlobStoreInitOptions init{.cluster_size = env.cluster_size,
                            .md_pages = FLAGS_md_pages,
                            .bstype = std::string(FsSuper::kBstype)};
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> store,
                      co_await BlobStore::Init(std::move(device), std::move(init)));
  MkfsOptions mkfs;
  CO_RETURN_IF_ERROR(co_await FileSystem::Mkfs(*store, std::move(mkfs)));
  MountOptions mount;
  co_return co_await FileSystem::Mount(std::move(store), mount);
}

Task<Result<std::unique_ptr<FileSystem>>> Remount(Env& env, std::unique_ptr<FileSystem> fs) {
  CO_RETURN_IF_ERROR(co_await fs->Unmount());
  fs.reset();
  int64_t start = MonotonicNanos();
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> device,
                      env.registry.Open(env.bdev_name, OpenMode::kReadWrite));
  BlobStoreLoadOptions load;
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> store,
                      co_await BlobStore::Load(std::move(device), std::move(load)));
  MountOptions mount;
  CO_ASSIGN_OR_RETURN(std::unique_ptr<FileSystem> mounted,
                      co_await FileSystem::Mount(std::move(store), mount));
  Figure("mount (clean), ms", Seconds(start) * 1e3, "ms");
  co_return mounted;
}

Task<Result<uint64_t>> UsedBytes(FileSystem& fs) {
  CO_ASSIGN_OR_RETURN(FsStats stats, co_await fs.StatFs());
  co_return (stats.total_blocks - stats.free_blocks) * stats.block_size;
}

Task<Status> SmallFiles(Env& env, std::unique_ptr<FileSystem>& fs) {
  Credentials root;
  CO_ASSIGN_OR_RETURN(uint64_t used_before, co_await UsedBytes(*fs));
  std::string content(FLAGS_file_size, 'x');
  iovec iov{content.data(), content.size()};
  std::vector<uint64_t> dirs;
  int64_t start = MonotonicNanos();
  for (uint64_t i = 0; i < FLAGS_files; ++i) {
    if (i % FLAGS_files_per_dir == 0) {
      std::string dir_name = absl::StrFormat("d%d", dirs.size());
      CO_ASSIGN_OR_RETURN(InodeAttr dir, co_await fs->MkDir(root, fs->root_ino(), dir_name, 0755));
      dirs.push_back(dir.ino);
    }
    std::string name = absl::StrFormat("f%d", i);
    CO_ASSIGN_OR_RETURN(FileSystem::Created file,
                        co_await fs->Create(root, dirs.back(), name, 0644,
                                            O_WRONLY | O_CREAT | O_EXCL));
    if (!content.empty()) {
      CO_RETURN_IF_ERROR(
          (co_await fs->Write(root, file.handle, 0, std::span<const iovec>(&iov, 1))).status());
    }
    CO_RETURN_IF_ERROR(co_await fs->Release(file.handle));
  }
  CO_RETURN_IF_ERROR(co_await fs->SyncFs());
  double create_seconds = Seconds(start);
  Figure(absl::StrFormat("create+write+release %s files", BinaryBytes(FLAGS_file_size)),
         FLAGS_files / create_seconds, "files/s");
  CO_ASSIGN_OR_RETURN(uint64_t used_after, co_await UsedBytes(*fs));
  Figure("space used per file (statfs)", double(used_after - used_before) / FLAGS_files, "bytes");
  Figure("space used, total (statfs)", double(used_after - used_before) / (1 << 20), "MiB");

  CO_ASSIGN_OR_RETURN(fs, co_await Remount(env, std::move(fs)));
  start = MonotonicNanos();
  for (uint64_t i = 0; i < FLAGS_files; ++i) {
    uint64_t dir_index = i / FLAGS_files_per_dir;
    std::string dir_name = absl::StrFormat("d%d", dir_index);
    std::string name = absl::StrFormat("f%d", i);
    CO_ASSIGN_OR_RETURN(InodeAttr dir, co_await fs->Lookup(root, fs->root_ino(), dir_name));
    CO_ASSIGN_OR_RETURN(InodeAttr file, co_await fs->Lookup(root, dir.ino, name));
    if (file.size != FLAGS_file_size) {
      co_return MakeError(EIO, "f%d has %d bytes after remount, not %d", i, file.size,
                          FLAGS_file_size);
    }
    co_await fs->Forget(file.ino, 1);
    co_await fs->Forget(dir.ino, 1);
  }
  Figure("lookup after remount (cold)", FLAGS_files / Seconds(start), "files/s");
  start = MonotonicNanos();
  for (uint64_t i = 0; i < FLAGS_files; ++i) {
    std::string name = absl::StrFormat("f%d", i);
    CO_RETURN_IF_ERROR(co_await fs->Unlink(root, dirs[i / FLAGS_files_per_dir], name));
  }
  CO_RETURN_IF_ERROR(co_await fs->SyncFs());
  Figure("unlink", FLAGS_files / Seconds(start), "files/s");
  CO_ASSIGN_OR_RETURN(uint64_t used_end, co_await UsedBytes(*fs));
  Figure("space still used after unlink", double(used_end - used_before) / (1 << 20), "MiB");
  co_return OkStatus();
}

Task<Status> BigFile(Env& env, std::unique_ptr<FileSystem>& fs, uint64_t bytes) {
  Credentials root;
  const std::string big_name = "big";
  CO_ASSIGN_OR_RETURN(FileSystem::Created file,
                      co_await fs->Create(root, fs->root_ino(), big_name, 0644, O_RDWR | O_CREAT));
  std::vector<char> chunk(1 << 20, 'b');
  iovec iov{chunk.data(), chunk.size()};
  int64_t start = MonotonicNanos();
  for (uint64_t offset = 0; offset < bytes; offset += chunk.size()) {
    CO_RETURN_IF_ERROR(
        (co_await fs->Write(root, file.handle, offset, std::span<const iovec>(&iov, 1))).status());
  }
  CO_RETURN_IF_ERROR(co_await fs->Fsync(file.handle, false));
  Figure("sequential 1 MiB writes + fsync", bytes / Seconds(start) / (1 << 20), "MiB/s");
  uint64_t ino = file.attr.ino;
  // Extents: the data segments SEEK_DATA/SEEK_HOLE see, then the blob's own runs.
  CO_RETURN_IF_ERROR(co_await fs->Release(file.handle));
  CO_ASSIGN_OR_RETURN(fs, co_await Remount(env, std::move(fs)));
  CO_ASSIGN_OR_RETURN(uint64_t handle, co_await fs->Open(root, ino, O_RDONLY));
  start = MonotonicNanos();
  for (uint64_t offset = 0; offset < bytes; offset += chunk.size()) {
    CO_RETURN_IF_ERROR(
        (co_await fs->Read(handle, offset, std::span<const iovec>(&iov, 1))).status());
  }
  Figure("sequential 1 MiB reads (cold)", bytes / Seconds(start) / (1 << 20), "MiB/s");
  CO_RETURN_IF_ERROR(co_await fs->Release(handle));
  CO_RETURN_IF_ERROR(co_await fs->Unmount());
  fs.reset();
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> device,
                      env.registry.Open(env.bdev_name, OpenMode::kReadWrite));
  BlobStoreLoadOptions load;
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> store,
                      co_await BlobStore::Load(std::move(device), std::move(load)));
  CO_ASSIGN_OR_RETURN(Blob * blob, co_await store->OpenBlob(ino));
  Figure(absl::StrFormat("extents of the %s file", BinaryBytes(bytes)),
         blob->extents()->run_count(), "runs");
  CO_RETURN_IF_ERROR(co_await store->CloseBlob(blob));
  co_return co_await store->Unload();
}

Task<Status> BigDir(Env& env, std::unique_ptr<FileSystem>& fs) {
  Credentials root;
  const std::string big_name = "big";
  CO_ASSIGN_OR_RETURN(InodeAttr dir, co_await fs->MkDir(root, fs->root_ino(), big_name, 0755));
  int64_t start = MonotonicNanos();
  for (uint64_t i = 0; i < FLAGS_entries; ++i) {
    std::string name = absl::StrFormat("entry-%d", i);
    CO_ASSIGN_OR_RETURN(InodeAttr node, co_await fs->MkNod(root, dir.ino, name, S_IFIFO | 0644, 0));
    co_await fs->Forget(node.ino, 1);
  }
  CO_RETURN_IF_ERROR(co_await fs->SyncFs());
  Figure(absl::StrFormat("mknod into one directory (%d)", FLAGS_entries),
         FLAGS_entries / Seconds(start), "entries/s");
  CO_ASSIGN_OR_RETURN(fs, co_await Remount(env, std::move(fs)));
  CO_ASSIGN_OR_RETURN(dir, co_await fs->Lookup(root, fs->root_ino(), big_name));
  start = MonotonicNanos();
  for (uint64_t i = 0; i < FLAGS_entries; ++i) {
    std::string name = absl::StrFormat("entry-%d", i);
    CO_ASSIGN_OR_RETURN(InodeAttr node, co_await fs->Lookup(root, dir.ino, name));
    co_await fs->Forget(node.ino, 1);
  }
  Figure("lookup in the big directory (cold)", FLAGS_entries / Seconds(start), "lookups/s");
  CO_ASSIGN_OR_RETURN(uint64_t handle, co_await fs->OpenDir(root, dir.ino));
  start = MonotonicNanos();
  uint64_t listed = 0;
  uint64_t cookie = 0;
  while (true) {
    uint64_t batch = 0;
    FileSystem::DirEmitter count = [&](const DirListEntry& entry) {
      if (batch == 128) return false;  // A FUSE reply buffer's worth: not taken.
      cookie = entry.cookie;
      ++batch;
      return true;
    };
    CO_RETURN_IF_ERROR(co_await fs->ReadDir(handle, cookie, count));
    if (batch == 0) break;
    listed += batch;
  }
  Figure("readdir in batches of 128", listed / Seconds(start), "entries/s");
  CO_RETURN_IF_ERROR(co_await fs->ReleaseDir(handle));
  if (listed != FLAGS_entries + 2) {
    co_return MakeError(EIO, "readdir listed %d entries, expected %d", listed, FLAGS_entries + 2);
  }
  start = MonotonicNanos();
  for (uint64_t i = 0; i < FLAGS_entries; ++i) {
    std::string name = absl::StrFormat("entry-%d", i);
    CO_RETURN_IF_ERROR(co_await fs->Unlink(root, dir.ino, name));
  }
  CO_RETURN_IF_ERROR(co_await fs->SyncFs());
  Figure("unlink from the big directory", FLAGS_entries / Seconds(start), "entries/s");
  co_await fs->Forget(dir.ino, 1);
  co_return OkStatus();
}

using FsTest = std::function<Task<Status>(std::unique_ptr<FileSystem>&)>;

// Runs `test` on a fresh filesystem and unmounts it; after a failure the mount is abandoned
// instead, so no commit of it outlives it.
Task<Status> WithFreshFs(Env& env, const FsTest& test) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<FileSystem> fs, co_await FormatAndMount(env));
  Status status = co_await test(fs);
  if (fs != nullptr) {
    if (status.ok()) {
      status = co_await fs->Unmount();
    } else {
      co_await fs->Abandon();
    }
  }
  co_return status;
}

Task<Status> RunTests(Env& env, uint64_t big_size) {
  bool all = FLAGS_test == "all";
  FsTest small_files = [&](std::unique_ptr<FileSystem>& fs) { return SmallFiles(env, fs); };
  FsTest big_file = [&](std::unique_ptr<FileSystem>& fs) { return BigFile(env, fs, big_size); };
  FsTest big_dir = [&](std::unique_ptr<FileSystem>& fs) { return BigDir(env, fs); };
  if (all || FLAGS_test == "smallfiles") CO_RETURN_IF_ERROR(co_await WithFreshFs(env, small_files));
  if (all || FLAGS_test == "bigfile") CO_RETURN_IF_ERROR(co_await WithFreshFs(env, big_file));
  if (all || FLAGS_test == "bigdir") CO_RETURN_IF_ERROR(co_await WithFreshFs(env, big_dir));
  co_return OkStatus();
}

int Run() {
  if (FLAGS_test != "all" && FLAGS_test != "smallfiles" && FLAGS_test != "bigfile" &&
      FLAGS_test != "bigdir") {
    std::fprintf(stderr, "fsperf: --test=%s is none of all, smallfiles, bigfile, bigdir\n",
                 FLAGS_test.c_str());
    return kExitBadFlags;
  }
  Result<uint64_t> cluster_size = ParseSize(FLAGS_cluster_size);
  Result<uint64_t> big_size = ParseSize(FLAGS_big_size);
  if (!cluster_size.ok() || !big_size.ok() || FLAGS_files_per_dir == 0) {
    std::fprintf(stderr, "fsperf: bad --cluster_size, --big_size or --files_per_dir\n");
    return kExitBadFlags;
  }
  BdevRegistry registry;
  Result<std::shared_ptr<Bdev>> created = CreateBdevFromSpec(registry, FLAGS_bdev);
  if (!created.ok()) {
    std::fprintf(stderr, "fsperf: %s\n", created.error().ToString().c_str());
    return kExitFailed;
  }
  Result<std::unique_ptr<Reactor>> reactor = Reactor::Create();
  if (!reactor.ok()) {
    std::fprintf(stderr, "fsperf: %s\n", reactor.error().ToString().c_str());
    return kExitFailed;
  }
  std::printf("fsperf: bdev=%s (%s) cluster_size=%s\n", (*created)->name().c_str(),
              BinaryBytes((*created)->geometry().size_bytes()).c_str(),
              BinaryBytes(*cluster_size).c_str());
  Env env{.registry = registry,
          .bdev_name = (*created)->name(),
          .cluster_size = static_cast<uint32_t>(*cluster_size)};
  Status status = RunSync(**reactor, RunTests(env, *big_size));
  if (!status.ok()) {
    std::fprintf(stderr, "fsperf: %s\n", status.error().ToString().c_str());
    return kExitFailed;
  }
  return 0;
}

}  // namespace
}  // namespace blobfs

int main(int argc, char** argv) {
  FLAGS_logtostderr = true;
  gflags::SetUsageMessage("figures for blobfs: fsperf --bdev=SPEC [--test=all|smallfiles|bigfile|bigdir]");
  if (blobfs::Status syntax = blobfs::CheckFlagSyntax(argc, argv); !syntax.ok()) {
    std::fprintf(stderr, "fsperf: %s\n", syntax.error().message().c_str());
    return blobfs::kExitBadFlags;
  }
  gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
  google::InitGoogleLogging(argv[0]);
  if (argc > 1) {
    std::fprintf(stderr, "fsperf: unexpected argument '%s'\n", argv[1]);
    return blobfs::kExitBadFlags;
  }
  return blobfs::Run();
}
