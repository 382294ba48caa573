// fsdevperf: operations per second through the fsdev API (no FUSE), on the blobfs module and the
// passthrough module side by side, so a module's own cost is known before the kernel's is added.
//
// Contract: `fsdevperf [--modules=blobfs,passthrough] [--dir=DIR] [--files=N] [--ops=N]`. blobfs
// runs on a uring image file in DIR (made and removed here), passthrough over a fresh directory
// in DIR. Each module: N creates (+ release), N lookups, N getattrs, and N 4 KiB writes and reads
// of one file; one line per figure. Exit 0 when every module ran, 1 when an operation failed (the
// error is printed), 2 for bad flags.
#include <fcntl.h>
#include <sys/stat.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bdev/registry.h"
#include "bdev/uring_bdev.h"
#include "blob/blob_store.h"
#include "blobfs/filesystem.h"
#include "blobfs/format/fs_super.h"
#include "common/clock.h"
#include "common/sync_bridge.h"
#include "fsdev/blobfs_fsdev.h"
#include "fsdev/passthrough_fsdev.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/blobperf_report.h"

DEFINE_string(modules, "blobfs,passthrough", "modules to measure, comma separated");
DEFINE_string(dir, "/tmp", "where the image file and the passthrough directory go");
DEFINE_uint64(files, 10000, "files to create, look up and stat (each looked-up passthrough file holds a descriptor)");
DEFINE_uint64(ops, 50000, "4 KiB reads and writes");

namespace blobfs {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitBadFlags = 2;

Task<Result<std::unique_ptr<FileSystem>>> MountBlobfs(BdevRegistry& registry) {
  CO_ASSIGN_OR_RETURN(auto device, registry.Open("image", OpenMode::kReadWrite));
  BlobStoreInitOptions init{.cluster_size = 4096, .bstype = std::string(FsSuper::kBstype)};
  CO_ASSIGN_OR_RETURN(auto store, co_await BlobStore::Init(std::move(device), std::move(init)));
  MkfsOptions mkfs;
  CO_RETURN_IF_ERROR(co_await FileSystem::Mkfs(*store, std::move(mkfs)));
  MountOptions mount;
  co_return co_await FileSystem::Mount(std::move(store), mount);
}

void Rate(const std::string& module, const std::string& what, uint64_t count, int64_t start) {
  const double seconds = (MonotonicNanos() - start) / 1e9;
  PrintFigure(absl::StrCat(module, ": ", what), absl::StrCat(WithCommas(count / seconds), " ops/s"));
}

// --ops writes or reads of `buffers` at scattered block offsets of `file`, over 64 MiB so that
// they are not all of one block.
Task<Status> Transfers(FsdevChannel& channel, const FsdevContext& ctx, const FsdevCreateReply& file,
                       std::span<const iovec> buffers, bool write) {
  constexpr uint64_t kSpanBlocks = 16384;
  for (uint64_t i = 0; i < FLAGS_ops; ++i) {
    const uint64_t offset = (i * 7919 % kSpanBlocks) * 4096;
    Result<size_t> done = size_t{0};
    if (write) {
      done = co_await channel.Write(ctx, file.entry.node_id, file.open.handle, offset, buffers);
    } else {
      done = co_await channel.Read(ctx, file.entry.node_id, file.open.handle, offset, buffers);
    }
    CO_RETURN_IF_ERROR(done.status());
  }
  co_return Status();
}

// The measurements on one module, on the caller's reactor.
Task<Status> Measure(const std::string& module, Fsdev& dev) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<FsdevChannel> channel, dev.OpenChannel());
  const FsdevContext ctx;
  const uint64_t root = dev.root_id();
  const std::string dir_name = "bench";
  CO_ASSIGN_OR_RETURN(FsdevEntry dir, co_await channel->MkDir(ctx, root, dir_name, 0755, 0));
  std::vector<std::string> names(FLAGS_files);
  for (uint64_t i = 0; i < FLAGS_files; ++i) names[i] = absl::StrCat("file-", i);

  int64_t start = MonotonicNanos();
  std::vector<uint64_t> ids(FLAGS_files);
  for (uint64_t i = 0; i < FLAGS_files; ++i) {
    CO_ASSIGN_OR_RETURN(FsdevCreateReply created,
                        co_await channel->Create(ctx, dir.node_id, names[i], S_IFREG | 0644,
                                                 O_RDWR | O_CREAT, 0));
    CO_RETURN_IF_ERROR(co_await channel->Release(ctx, created.entry.node_id, created.open.handle));
    ids[i] = created.entry.node_id;
    // The kernel forgets what it does not use; a held reference would pin the object.
    co_await channel->Forget(created.entry.node_id, 1);
  }
  Rate(module, "create + release", FLAGS_files, start);

  // Lookups keep their reference until the getattrs are done, as a kernel holding the entries.
  start = MonotonicNanos();
  for (uint64_t i = 0; i < FLAGS_files; ++i) {
    CO_ASSIGN_OR_RETURN(FsdevEntry entry, co_await channel->Lookup(ctx, dir.node_id, names[i]));
    ids[i] = entry.node_id;
  }
  Rate(module, "lookup", FLAGS_files, start);

  start = MonotonicNanos();
  for (uint64_t i = 0; i < FLAGS_files; ++i) {
    CO_RETURN_IF_ERROR((co_await channel->GetAttr(ctx, ids[i], std::nullopt)).status());
  }
  Rate(module, "getattr", FLAGS_files, start);
  for (uint64_t id : ids) co_await channel->Forget(id, 1);

  const std::string data_name = "data";
  CO_ASSIGN_OR_RETURN(FsdevCreateReply file,
                      co_await channel->Create(ctx, dir.node_id, data_name, S_IFREG | 0644,
                                               O_RDWR | O_CREAT, 0));
  std::vector<char> block(4096, 'b');
  iovec iov{block.data(), block.size()};
  const std::span<const iovec> buffers(&iov, 1);
  start = MonotonicNanos();
  CO_RETURN_IF_ERROR(co_await Transfers(*channel, ctx, file, buffers, true));
  Rate(module, "write 4 KiB", FLAGS_ops, start);
  start = MonotonicNanos();
  CO_RETURN_IF_ERROR(co_await Transfers(*channel, ctx, file, buffers, false));
  Rate(module, "read 4 KiB", FLAGS_ops, start);
  co_return co_await channel->Release(ctx, file.entry.node_id, file.open.handle);
}

int Main() {
  std::vector<std::string> modules = absl::StrSplit(FLAGS_modules, ',', absl::SkipEmpty());
  for (const std::string& module : modules) {
    if (module != "blobfs" && module != "passthrough") {
      std::fprintf(stderr, "fsdevperf: --modules: \"%s\" is neither blobfs nor passthrough\n",
                   module.c_str());
      return kExitBadFlags;
    }
  }
  auto reactor = ReactorThread::Start();
  if (!reactor.ok()) {
    std::fprintf(stderr, "fsdevperf: %s\n", reactor.error().ToString().c_str());
    return kExitFailed;
  }
  for (const std::string& module : modules) {
    std::error_code ignored;
    const std::filesystem::path work =
        std::filesystem::path(FLAGS_dir) / absl::StrCat("fsdevperf-", getpid(), "-", module);
    std::filesystem::create_directories(work / "root");
    BdevRegistry registry;
    std::shared_ptr<Fsdev> dev;
    Status status;
    if (module == "blobfs") {
      status = CreateUringBdev(registry, "image", {.path = (work / "image").string(),
                                                   .block_size = 4096,
                                                   .create_size = uint64_t{4} << 30})
                   .status();
      if (status.ok()) {
        auto fs = (*reactor)->BlockOn(MountBlobfs(registry));
        status = fs.status();
        if (status.ok()) dev = MakeBlobfsFsdev(std::move(*fs), BlobfsFsdevOptions{});
      }
    } else {
      auto made = MakePassthroughFsdev({.root = (work / "root").string()});
      status = made.status();
      if (status.ok()) dev = *made;
    }
    if (status.ok()) status = (*reactor)->BlockOn(Measure(module, *dev));
    if (dev != nullptr) {
      Status closed = (*reactor)->BlockOn(dev->Close());
      if (status.ok()) status = closed;
      dev.reset();
    }
    std::filesystem::remove_all(work, ignored);
    if (!status.ok()) {
      std::fprintf(stderr, "fsdevperf: %s: %s\n", module.c_str(), status.error().ToString().c_str());
      return kExitFailed;
    }
  }
  return 0;
}

}  // namespace
}  // namespace blobfs

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  gflags::SetUsageMessage("fsdevperf [--modules=blobfs,passthrough] [--dir=DIR] [--files=N]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return blobfs::Main();
}
