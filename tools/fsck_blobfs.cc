// fsck.blobfs: the consistency check and repair of a blobfs image or device, in e2fsck's manner.
//
// Contract: `fsck.blobfs [-n|-p|-a|-y] [-fvr] [-C FD] DEVICE|IMAGE`, as fsck(8) and boot scripts
// run it. The image is locked against a concurrent mount (image_lock.h) for the whole run.
//  - Without -p/-a/-y (or with -n) it checks only: the image is opened read-only and nothing is
//    written (a journal with transactions to replay is applied in memory).
//  - -p (-a, the same) repairs what is safe unattended, -y everything it can (blobfs/fs_repair.h
//    says which is which): the image is opened read-write, the journal replayed in place, the
//    allocation masks rebuilt from the metadata region (leaked clusters and pages come back), and
//    the filesystem repaired in rounds, each repair one commit, printed naming the inode.
//  - Two passes are checked either way: the blob store, loaded verifying (the super block, every
//    metadata chain, every cluster owned by at most one blob, the masks as on disk), then the
//    filesystem (blobfs/fs_check.h: records, file and symlink data, directory indexes, link
//    counts, reachability). The check is always whole; -f is accepted for fsck(8)'s sake.
//  - -C FD writes the progress of each pass to file descriptor FD (0: standard output); -v adds
//    the notes and the counts; -r is accepted and changes nothing.
// Exit codes as e2fsck's: 0 no problems; 1 problems found and all repaired (or the image changed
// by a journal replay or a mask rebuild); 4 problems left; 8 the check could not run (no such
// file, in use, I/O error, not a blobfs); 16 usage.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "bdev/registry.h"
#include "blob/blob_store.h"
#include "blobfs/format/fs_super.h"
#include "blobfs/fs_check.h"
#include "blobfs/fs_repair.h"
#include "glog/logging.h"
#include "tools/offline_image.h"

namespace blobfs {
namespace {

constexpr int kExitClean = 0;
constexpr int kExitCorrected = 1;
constexpr int kExitUncorrected = 4;
constexpr int kExitOperational = 8;
constexpr int kExitUsage = 16;

constexpr char kUsage[] = "usage: fsck.blobfs [-n|-p|-a|-y] [-fvr] [-C FD] DEVICE|IMAGE";

enum class Mode { kCheck, kRepairSafe, kRepairAll };

struct Options {
  Mode mode = Mode::kCheck;
  bool verbose = false;
  int progress_fd = -1;
  std::string path;
};

struct Outcome {
  BlobStoreStats stats;
  bool was_clean = false;
  uint64_t journal_replayed = 0;
  std::vector<std::string> mask_differences;
  std::vector<std::string> repairs;
  FsCheckReport found;  // before any repair
  FsCheckReport left;   // after them (the same as `found` when checking only)
};

// The progress of a pass on one line, rewritten as it goes.
class ProgressLine {
 public:
  explicit ProgressLine(int fd) : fd_(fd) {}
  void operator()(const char* pass, uint64_t done, uint64_t total) {
    const int percent = total == 0 ? 100 : static_cast<int>(done * 100 / total);
    if (pass == pass_ && percent == percent_) return;
    pass_ = pass;
    percent_ = percent;
    const std::string line = absl::StrFormat("\rfsck.blobfs: %s %u/%u (%d%%)%s", pass, done, total,
                                             percent, done == total ? "\n" : "");
    (void)!write(fd_, line.data(), line.size());
  }

 private:
  const int fd_;
  const char* pass_ = nullptr;
  int percent_ = -1;
};

Task<Result<Outcome>> Run(BdevRegistry& registry, const Options& options) {
  const bool repair = options.mode != Mode::kCheck;
  CO_ASSIGN_OR_RETURN(auto device, registry.Open(OfflineImage::kBdevName,
                                                 repair ? OpenMode::kReadWrite
                                                        : OpenMode::kReadOnly));
  BlobStoreLoadOptions load{.bstype = std::string(FsSuper::kBstype),
                            .read_only = !repair,
                            .verify = true};
  CO_ASSIGN_OR_RETURN(auto store, co_await BlobStore::Load(std::move(device), std::move(load)));
  Outcome outcome;
  outcome.was_clean = !store->recovered();
  outcome.journal_replayed = store->journal_transactions_replayed();
  outcome.mask_differences = store->mask_differences();
  FsCheckProgress progress;
  if (options.progress_fd >= 0) progress = ProgressLine(options.progress_fd);
  Status status;
  if (repair) {
    Result<FsRepairReport> repaired = co_await RepairFileSystem(
        *store, options.mode == Mode::kRepairAll ? FsRepairLevel::kAll : FsRepairLevel::kSafe,
        progress);
    if (repaired.ok()) {
      outcome.repairs = std::move(repaired->repairs);
      outcome.found = std::move(repaired->first_check);
      outcome.left = std::move(repaired->final_check);
    }
    status = repaired.status();
  } else {
    Result<FsCheckReport> report = co_await CheckFileSystem(*store, progress);
    if (report.ok()) outcome.found = outcome.left = std::move(*report);
    status = report.status();
  }
  outcome.stats = co_await store->GetStats();
  // Read-write, the unload writes the rebuilt masks and marks the store clean.
  Status unloaded = co_await store->Unload();
  CO_RETURN_IF_ERROR(status);
  CO_RETURN_IF_ERROR(unloaded);
  co_return outcome;
}

// Corruption found before the filesystem could be walked is a problem with the image; anything
// else (missing file, I/O, another kind of store) kept the check from running.
int ExitCodeFor(const Error& error) {
  return error.code() == EUCLEAN || error.code() == EOPNOTSUPP ? kExitUncorrected
                                                                : kExitOperational;
}

uint64_t ProblemCount(const FsCheckReport& report) {
  return report.problems.size() + report.unlisted_problems;
}

void PrintProblems(const std::string& path, const FsCheckReport& report) {
  for (const std::string& line : report.problems) {
    std::printf("%s: %s\n", path.c_str(), line.c_str());
  }
  if (report.unlisted_problems > 0) {
    std::printf("%s: ... and %llu more problems\n", path.c_str(),
                static_cast<unsigned long long>(report.unlisted_problems));
  }
}

int Report(const Options& options, const Outcome& outcome) {
  const std::string& path = options.path;
  const bool repair = options.mode != Mode::kCheck;
  if (!outcome.was_clean) {
    std::printf(repair ? "%s: not unmounted cleanly; the allocation masks were rebuilt\n"
                       : "%s: not unmounted cleanly; the next mount rebuilds the allocation masks\n",
                path.c_str());
  }
  if (outcome.journal_replayed != 0) {
    if (repair) {
      std::printf("%s: the journal's %llu committed transactions were replayed\n", path.c_str(),
                  static_cast<unsigned long long>(outcome.journal_replayed));
    } else {
      std::printf("%s: checked with the journal's %llu committed transactions applied in memory; "
                  "the next mount writes them in place\n",
                  path.c_str(), static_cast<unsigned long long>(outcome.journal_replayed));
    }
  }
  for (const std::string& line : outcome.mask_differences) {
    std::printf("%s: blob store: %s%s\n", path.c_str(), line.c_str(),
                repair ? " (rebuilt)" : "");
  }
  PrintProblems(path, outcome.found);
  for (const std::string& line : outcome.repairs) {
    std::printf("%s: repaired: %s\n", path.c_str(), line.c_str());
  }
  if (repair && !outcome.repairs.empty() && !outcome.left.clean()) {
    std::printf("%s: left after the repairs:\n", path.c_str());
    PrintProblems(path, outcome.left);
  }
  if (options.verbose) {
    for (const std::string& line : outcome.left.notes) {
      std::printf("%s: note: %s\n", path.c_str(), line.c_str());
    }
  }
  const uint64_t left = ProblemCount(outcome.left) + (repair ? 0 : outcome.mask_differences.size());
  const uint64_t found = ProblemCount(outcome.found) + outcome.mask_differences.size();
  const FsCheckReport& report = outcome.left;
  const BlobStoreStats& stats = outcome.stats;
  std::printf("%s: %s, %llu/%llu inodes, %llu/%llu clusters of %u bytes\n", path.c_str(),
              left > 0 ? "PROBLEMS LEFT" : found > 0 ? "REPAIRED" : "clean",
              static_cast<unsigned long long>(report.inodes),
              static_cast<unsigned long long>(stats.md_pages),
              static_cast<unsigned long long>(stats.total_clusters - stats.free_clusters),
              static_cast<unsigned long long>(stats.total_clusters), stats.cluster_size);
  if (options.verbose) {
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
  if (left > 0) {
    std::printf(repair ? "%s: %llu problems left (-y repairs more; what -y leaves needs the files "
                         "copied out of a read-only mount)\n"
                       : "%s: %llu problems; run fsck.blobfs -p (safe repairs) or -y (all)\n",
                path.c_str(), static_cast<unsigned long long>(left));
    return kExitUncorrected;
  }
  const bool modified = repair && (found > 0 || !outcome.was_clean || outcome.journal_replayed > 0);
  if (modified) {
    std::printf("%s: ***** FILE SYSTEM WAS MODIFIED *****\n", path.c_str());
    return kExitCorrected;
  }
  return kExitClean;
}

// Parses the command line; returns the exit code for a usage error.
std::optional<int> Parse(int argc, char** argv, Options& options) {
  int modes = 0;
  for (int option; (option = getopt(argc, argv, "afnprvyC:")) != -1;) {
    switch (option) {
      case 'n': options.mode = Mode::kCheck; ++modes; break;
      case 'a': case 'p': options.mode = Mode::kRepairSafe; ++modes; break;
      case 'y': options.mode = Mode::kRepairAll; ++modes; break;
      case 'v': options.verbose = true; break;
      case 'f': case 'r': break;
      case 'C': {
        char* end = nullptr;
        const long fd = std::strtol(optarg, &end, 10);
        if (*optarg == '\0' || *end != '\0' || fd < 0) {
          std::fprintf(stderr, "fsck.blobfs: -C wants a file descriptor, not \"%s\"\n", optarg);
          return kExitUsage;
        }
        options.progress_fd = fd == 0 ? STDOUT_FILENO : static_cast<int>(fd);
        break;
      }
      default:
        std::fprintf(stderr, "%s\n", kUsage);
        return kExitUsage;
    }
  }
  if (modes > 1) {
    std::fprintf(stderr, "fsck.blobfs: only one of -n, -p/-a and -y may be given\n%s\n", kUsage);
    return kExitUsage;
  }
  if (optind != argc - 1) {
    std::fprintf(stderr, "%s\n", kUsage);
    return kExitUsage;
  }
  options.path = argv[optind];
  return std::nullopt;
}

int Main(int argc, char** argv) {
  Options options;
  if (std::optional<int> usage = Parse(argc, argv, options)) return *usage;
  auto fail = [&](const std::string& what, int code) {
    std::fprintf(stderr, "fsck.blobfs: %s: %s\n", options.path.c_str(), what.c_str());
    return code;
  };
  auto image = OfflineImage::Open(options.path, /*writable=*/options.mode != Mode::kCheck);
  if (!image.ok()) {
    const std::string hint = image.error().code() == EBUSY ? "; unmount it first" : "";
    return fail(image.error().message() + hint, kExitOperational);
  }
  Result<Outcome> outcome = (*image)->reactor->BlockOn(Run((*image)->registry, options));
  if (!outcome.ok()) return fail(outcome.error().ToString(), ExitCodeFor(outcome.error()));
  return Report(options, *outcome);
}

}  // namespace
}  // namespace blobfs

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  return blobfs::Main(argc, argv);
}
