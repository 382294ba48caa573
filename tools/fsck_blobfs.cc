// fsck.blobfs: the read-only consistency check of a blobfs image or device.
//
// Contract: `fsck.blobfs [-afnprvy] [-C FD] DEVICE|IMAGE`, as fsck(8) runs it. It checks and
// repairs nothing: the repair options (-a, -p, -y) are accepted so that fsck(8) and boot scripts
// can run it, and change nothing. Two passes, both reading only (the image is opened read-only
// and locked against a concurrent mount, image_lock.h):
//  1. the blob store, loaded verifying (BlobStoreLoadOptions::verify): the super block, every
//     metadata chain, every cluster owned by at most one blob, the allocation masks as on disk;
//  2. the filesystem (blobfs/fs_check.h): inode records, file and symlink data, every directory
//     index, link counts and reachability.
// Exit codes as e2fsck's: 0 no problems; 4 problems found and left as they are (the image is
// corrupt); 8 the check could not run (no such file, in use, I/O error, not a blobfs); 16 usage.
// A store that was not unmounted cleanly is no problem in itself (the next mount rebuilds its
// masks), and is said.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bdev/registry.h"
#include "blob/blob_store.h"
#include "blobfs/format/fs_super.h"
#include "blobfs/fs_check.h"
#include "glog/logging.h"
#include "tools/read_only_image.h"

namespace blobfs {
namespace {

constexpr int kExitClean = 0;
constexpr int kExitUncorrected = 4;
constexpr int kExitOperational = 8;
constexpr int kExitUsage = 16;

constexpr char kUsage[] = "usage: fsck.blobfs [-afnprvy] [-C FD] DEVICE|IMAGE";

struct Outcome {
  BlobStoreStats stats;
  bool was_clean = false;
  uint64_t journal_replayed = 0;
  std::vector<std::string> mask_differences;
  FsCheckReport report;
};

Task<Result<Outcome>> Check(BdevRegistry& registry) {
  CO_ASSIGN_OR_RETURN(auto device, registry.Open(ReadOnlyImage::kBdevName, OpenMode::kReadOnly));
  BlobStoreLoadOptions load{.bstype = std::string(FsSuper::kBstype),
                            .read_only = true,
                            .verify = true};
  CO_ASSIGN_OR_RETURN(auto store, co_await BlobStore::Load(std::move(device), std::move(load)));
  Outcome outcome;
  outcome.was_clean = !store->recovered();
  outcome.journal_replayed = store->journal_transactions_replayed();
  outcome.mask_differences = store->mask_differences();
  outcome.stats = co_await store->GetStats();
  Result<FsCheckReport> report = co_await CheckFileSystem(*store);
  Status unloaded = co_await store->Unload();  // Read-only: writes nothing.
  CO_RETURN_IF_ERROR(report.status());
  CO_RETURN_IF_ERROR(unloaded);
  outcome.report = std::move(*report);
  co_return outcome;
}

// Corruption found before the filesystem could be walked is a problem with the image; anything
// else (missing file, I/O, another kind of store) kept the check from running.
int ExitCodeFor(const Error& error) {
  return error.code() == EUCLEAN || error.code() == EOPNOTSUPP ? kExitUncorrected
                                                                : kExitOperational;
}

int Report(const std::string& path, const Outcome& outcome, bool verbose) {
  const FsCheckReport& report = outcome.report;
  if (!outcome.was_clean) {
    std::printf("%s: not unmounted cleanly; the next mount rebuilds the allocation masks\n",
                path.c_str());
  }
  if (outcome.journal_replayed != 0) {
    std::printf("%s: checked with the journal's %llu committed transactions applied in memory; "
                "the next mount writes them in place\n",
                path.c_str(), static_cast<unsigned long long>(outcome.journal_replayed));
  }
  for (const std::string& line : outcome.mask_differences) {
    std::printf("%s: blob store: %s\n", path.c_str(), line.c_str());
  }
  for (const std::string& line : report.problems) {
    std::printf("%s: %s\n", path.c_str(), line.c_str());
  }
  if (report.unlisted_problems > 0) {
    std::printf("%s: ... and %llu more problems\n", path.c_str(),
                static_cast<unsigned long long>(report.unlisted_problems));
  }
  for (const std::string& line : report.notes) {
    if (verbose) std::printf("%s: note: %s\n", path.c_str(), line.c_str());
  }
  const uint64_t problems =
      report.problems.size() + report.unlisted_problems + outcome.mask_differences.size();
  const BlobStoreStats& stats = outcome.stats;
  std::printf("%s: %s, %llu/%llu inodes, %llu/%llu clusters of %u bytes\n", path.c_str(),
              problems == 0 ? "clean" : "PROBLEMS FOUND",
              static_cast<unsigned long long>(report.inodes),
              static_cast<unsigned long long>(stats.md_pages),
              static_cast<unsigned long long>(stats.total_clusters - stats.free_clusters),
              static_cast<unsigned long long>(stats.total_clusters), stats.cluster_size);
  if (verbose) {
    std::printf("%12llu directories\n%12llu regular files\n%12llu symbolic links\n"
                "%12llu device files, FIFOs and sockets\n%12llu directory entries\n"
                "%12llu orphaned inodes awaiting reclaim\n",
                static_cast<unsigned long long>(report.directories),
                static_cast<unsigned long long>(report.regular_files),
                static_cast<unsigned long long>(report.symlinks),
                static_cast<unsigned long long>(report.special_files),
                static_cast<unsigned long long>(report.entries),
                static_cast<unsigned long long>(report.orphans));
  }
  if (problems == 0) return kExitClean;
  std::printf("%s: %llu problems; fsck.blobfs repairs nothing: copy the files out of a read-only "
              "mount and make a new filesystem\n",
              path.c_str(), static_cast<unsigned long long>(problems));
  return kExitUncorrected;
}

int Main(int argc, char** argv) {
  bool verbose = false;
  for (int option; (option = getopt(argc, argv, "afnprvyC:")) != -1;) {
    switch (option) {
      case 'v': verbose = true; break;
      case 'a': case 'f': case 'n': case 'p': case 'r': case 'y': case 'C': break;
      default:
        std::fprintf(stderr, "%s\n", kUsage);
        return kExitUsage;
    }
  }
  if (optind != argc - 1) {
    std::fprintf(stderr, "%s\n", kUsage);
    return kExitUsage;
  }
  const std::string path = argv[optind];
  auto fail = [&](const std::string& what, int code) {
    std::fprintf(stderr, "fsck.blobfs: %s: %s\n", path.c_str(), what.c_str());
    return code;
  };
  auto image = ReadOnlyImage::Open(path);
  if (!image.ok()) {
    const std::string hint = image.error().code() == EBUSY ? "; unmount it first" : "";
    return fail(image.error().message() + hint, kExitOperational);
  }
  Result<Outcome> outcome = (*image)->reactor->BlockOn(Check((*image)->registry));
  if (!outcome.ok()) return fail(outcome.error().ToString(), ExitCodeFor(outcome.error()));
  return Report(path, *outcome, verbose);
}

}  // namespace
}  // namespace blobfs

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return blobfs::Main(argc, argv);
}
