// mkfs.blobfs: formats an image file or block device with a blob store and an empty blobfs.
//
// Contract: `mkfs.blobfs DEVICE|IMAGE [--size=SIZE] [--cluster-size=4k] [--label=L]
// [--inode-ratio=64k] [--root-owner=UID:GID]`. The root directory belongs to whoever runs mkfs
// unless --root-owner says otherwise (as mke2fs), so a user's own image mounts writable. An image file that does not exist is created with --size (required then);
// an existing one is grown to --size when given. The metadata region gets one 4 KiB page per
// --inode-ratio bytes of the device (every file, directory and symlink takes at least one; small
// files keep their data there). The device is locked while formatted (image_lock.h). Prints what
// it made; exit 0 on success, 1 when formatting failed (the error is printed), 2 for bad usage.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

#include "bdev/registry.h"
#include "bdev/uring_bdev.h"
#include "blob/blob_store.h"
#include "blobfs/filesystem.h"
#include "blobfs/format/fs_super.h"
#include "common/sync_bridge.h"
#include "common/units.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/flag_syntax.h"
#include "tools/image_lock.h"

DEFINE_string(size, "", "create the image file with this size, or grow it (k/M/G/T suffixes)");
DEFINE_string(cluster_size, "4k", "bytes per cluster: a power of two from 4k to 1G");
DEFINE_string(label, "", "the filesystem's label (at most 16 bytes)");
DEFINE_string(inode_ratio, "64k",
              "bytes of device per metadata page; each inode takes at least one page");
DEFINE_string(journal_size, "",
              "the metadata journal's size (k/M suffixes; default 1/64 of the device, 1M to 32M)");
DEFINE_string(root_owner, "", "UID:GID of the root directory (default: whoever runs mkfs)");

namespace blobfs {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
constexpr char kUsage[] =
    "mkfs.blobfs DEVICE|IMAGE [--size=SIZE] [--cluster-size=4k] [--label=L] [--inode-ratio=64k] "
    "[--journal-size=SIZE] [--root-owner=UID:GID]";
constexpr uint64_t kMinMetadataPages = 64;

struct MkfsPlan {
  std::string path;
  uint64_t create_size = 0;
  uint32_t cluster_size = 0;
  uint64_t inode_ratio = 0;
  uint64_t journal_pages = 0;  // 0: the store's default
  std::string label;
  uint32_t root_uid = 0;
  uint32_t root_gid = 0;
};

struct MkfsReport {
  uint64_t device_bytes = 0;
  uint64_t md_pages = 0;
  uint64_t journal_bytes = 0;
  BlobStoreStats stats;
};

Task<Result<MkfsReport>> Format(BdevRegistry& registry, const MkfsPlan& plan) {
  CO_ASSIGN_OR_RETURN(auto device, registry.Open("image", OpenMode::kReadWrite));
  MkfsReport report;
  const BdevGeometry& geometry = device->bdev().geometry();
  report.device_bytes = geometry.num_blocks * geometry.block_size;
  report.md_pages = std::max(kMinMetadataPages, report.device_bytes / plan.inode_ratio);
  BlobStoreInitOptions init{.cluster_size = plan.cluster_size,
                            .md_pages = report.md_pages,
                            .bstype = std::string(FsSuper::kBstype),
                            .journal_pages = plan.journal_pages};
  CO_ASSIGN_OR_RETURN(auto store, co_await BlobStore::Init(std::move(device), std::move(init)));
  MkfsOptions mkfs{.label = plan.label, .root_uid = plan.root_uid, .root_gid = plan.root_gid};
  Status made = co_await FileSystem::Mkfs(*store, std::move(mkfs));
  if (made.ok()) report.stats = co_await store->GetStats();
  report.journal_bytes = store->super_block().journal_len * kPageSize;
  Status unloaded = co_await store->Unload();
  CO_RETURN_IF_ERROR(made);
  CO_RETURN_IF_ERROR(unloaded);
  co_return report;
}

int Fail(const std::string& what, int code) {
  std::fprintf(stderr, "mkfs.blobfs: %s\n", what.c_str());
  return code;
}

int Main(int argc, char** argv) {
  if (argc != 2) return Fail(std::string("usage: ") + kUsage, kExitUsage);
  MkfsPlan plan{.path = argv[1], .label = FLAGS_label};
  struct stat st {};
  const bool exists = stat(plan.path.c_str(), &st) == 0;
  if (!FLAGS_size.empty()) {
    Result<uint64_t> size = ParseSize(FLAGS_size);
    if (!size.ok()) return Fail("--size: " + size.error().message(), kExitUsage);
    plan.create_size = *size;
  } else if (!exists) {
    return Fail(plan.path + " does not exist; give --size to create it", kExitUsage);
  }
  Result<uint64_t> cluster = ParseSize(FLAGS_cluster_size);
  if (!cluster.ok() || *cluster < 4096 || *cluster > (uint64_t{1} << 30) ||
      (*cluster & (*cluster - 1)) != 0) {
    return Fail("--cluster-size: a power of two from 4k to 1G, not " + FLAGS_cluster_size,
                kExitUsage);
  }
  plan.cluster_size = static_cast<uint32_t>(*cluster);
  Result<uint64_t> ratio = ParseSize(FLAGS_inode_ratio);
  if (!ratio.ok() || *ratio < 4096) {
    return Fail("--inode-ratio: at least 4k, not " + FLAGS_inode_ratio, kExitUsage);
  }
  plan.inode_ratio = *ratio;
  if (!FLAGS_journal_size.empty()) {
    Result<uint64_t> journal = ParseSize(FLAGS_journal_size);
    if (!journal.ok() || *journal < 64 * kPageSize || *journal % kPageSize != 0) {
      return Fail("--journal-size: a multiple of 4k, at least 256k, not " + FLAGS_journal_size,
                  kExitUsage);
    }
    plan.journal_pages = *journal / kPageSize;
  }
  if (plan.label.size() > 16) return Fail("--label: at most 16 bytes", kExitUsage);
  plan.root_uid = getuid();
  plan.root_gid = getgid();
  if (!FLAGS_root_owner.empty()) {
    const std::vector<std::string> ids = absl::StrSplit(FLAGS_root_owner, ':');
    if (ids.size() != 2 || !absl::SimpleAtoi(ids[0], &plan.root_uid) ||
        !absl::SimpleAtoi(ids[1], &plan.root_gid)) {
      return Fail("--root-owner: UID:GID in numbers, not " + FLAGS_root_owner, kExitUsage);
    }
  }

  if (!exists) {
    // Create the file so that it can be locked before it is formatted.
    std::FILE* created = std::fopen(plan.path.c_str(), "a");
    if (created == nullptr) return Fail("cannot create " + plan.path, kExitFailed);
    std::fclose(created);
  }
  auto lock = ImageLock::Acquire(plan.path, std::chrono::milliseconds(0));
  if (!lock.ok()) return Fail(lock.error().message(), kExitFailed);
  auto reactor = ReactorThread::Start();
  if (!reactor.ok()) return Fail(reactor.error().ToString(), kExitFailed);
  BdevRegistry registry;
  const bool regular = !exists || S_ISREG(st.st_mode);
  auto bdev = CreateUringBdev(registry, "image",
                              {.path = plan.path,
                               .block_size = regular ? 4096u : 0u,
                               .create_size = plan.create_size});
  if (!bdev.ok()) return Fail(bdev.error().ToString(), kExitFailed);
  Result<MkfsReport> report = (*reactor)->BlockOn(Format(registry, plan));
  if (!report.ok()) return Fail(report.error().ToString(), kExitFailed);
  std::printf("%s: blobfs of %llu bytes, %u-byte clusters (%llu), %llu metadata pages (inodes), "
              "a journal of %llu KiB%s%s\n",
              plan.path.c_str(), static_cast<unsigned long long>(report->device_bytes),
              plan.cluster_size,
              static_cast<unsigned long long>(report->stats.total_clusters),
              static_cast<unsigned long long>(report->md_pages),
              static_cast<unsigned long long>(report->journal_bytes >> 10),
              plan.label.empty() ? "" : ", label ", plan.label.c_str());
  return 0;
}

}  // namespace
}  // namespace blobfs

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  blobfs::AcceptDashedFlagNames(argc, argv);
  gflags::SetUsageMessage(blobfs::kUsage);
  if (blobfs::Status syntax = blobfs::CheckFlagSyntax(argc, argv); !syntax.ok()) {
    std::fprintf(stderr, "mkfs.blobfs: %s\n", syntax.error().message().c_str());
    return 2;
  }
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  return blobfs::Main(argc, argv);
}
