// fusebench: the figures of a mounted filesystem, through ordinary system calls and the tools
// people use — so blobfs can be compared with any other filesystem on the same machine
// (tools/bench/fusebench.sh runs it on blobfs, the passthrough daemon, fuse2fs and ext4 in one go).
//
// Contract: `fusebench --dir=DIR [--big_mb=2048] [--files=50000] [--cold_reads=5]
// [--iops_seconds=10] [--tarball=FILE] [--label=NAME]`. In DIR (which it empties of what it
// made): a sequential 1 MiB write of --big_mb then fsync, --cold_reads cold reads of it (each
// after the page cache was dropped: needs root; the figure is their median),
// 4 KiB O_DIRECT random reads and writes of it for --iops_seconds each (one at a time; the
// writes end with fsync), create/stat/unlink of --files empty files in one directory, the latency
// of --fsyncs fsyncs (after a 4 KiB overwrite of one file; after a new file's 4 KiB write), and
// `tar -xf` of --tarball then `rm -rf` of the result. One line per figure, prefixed by --label.
// `fusebench --side_by_side=NAME=DIR,NAME=DIR... [--big_mb] [--cold_reads]` measures cold reads
// alone, on several filesystems in turns: it writes the file in each DIR, then reads each file
// once per round (each read after the page cache was dropped; the order reverses every round),
// and prints each filesystem's reads and their median. Run this way, a machine whose memory
// changes speed over time (a virtual machine's free pages go back to the host, and the first
// touch of such a page is slow) slows every filesystem's reads alike.
// Exit 0, or 1 when an operation failed (named with its errno).
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/clock.h"
#include "common/error.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/blobperf_report.h"

DEFINE_string(dir, "", "the directory to measure in (on the filesystem under test)");
DEFINE_uint64(big_mb, 2048, "size of the sequentially written file, MiB");
DEFINE_uint64(files, 50000, "empty files created, stat'ed and unlinked");
DEFINE_uint64(cold_reads, 5,
              "cold reads of the written file, one after the other; the figure is their median");
DEFINE_uint64(iops_seconds, 10, "seconds of 4 KiB random reads, and of random writes");
DEFINE_uint64(fsyncs, 1000, "fsyncs timed after a 4 KiB overwrite, and after a new file's write");
DEFINE_string(tarball, "", "a tar file to extract and remove (skipped when empty)");
DEFINE_string(label, "", "prefix of every figure");
DEFINE_string(side_by_side, "",
              "NAME=DIR,NAME=DIR,...: only cold reads, of a file in each DIR, in turns "
              "(see the contract above); --dir is then not used");

namespace blobfs {
namespace {

constexpr size_t kMiB = 1 << 20;
constexpr size_t kBlock = 4096;

Status Errno(const std::string& what) {
  return MakeError(errno, "%s: %s", what, std::strerror(errno));
}

double Seconds(int64_t start) { return (MonotonicNanos() - start) / 1e9; }

// `what`, prefixed by --label.
std::string Labeled(const std::string& what) {
  return absl::StrCat(FLAGS_label, FLAGS_label.empty() ? "" : ": ", what);
}

void Figure(const std::string& what, double value, const std::string& unit) {
  PrintFigure(Labeled(what), absl::StrCat(WithCommas(value), " ", unit));
}

// Entries (files, directories, links) under `dir`, itself excluded.
uint64_t CountEntries(const std::string& dir) {
  static uint64_t count;
  count = 0;
  nftw(dir.c_str(), [](const char*, const struct stat*, int, FTW*) { ++count; return 0; }, 64,
       FTW_PHYS);
  return count - 1;
}

Status DropCaches() {
  sync();
  const int fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
  if (fd < 0) return Errno("open /proc/sys/vm/drop_caches (cold reads need root)");
  const bool ok = write(fd, "3", 1) == 1;
  close(fd);
  return ok ? Status() : Errno("drop caches");
}

// Writes --big_mb MiB to `path` in 1 MiB writes, then fsyncs; returns MiB/s.
Result<double> WriteBigFile(const std::string& path) {
  std::vector<char> buffer(kMiB);
  std::mt19937_64 random(42);
  for (size_t i = 0; i < buffer.size(); i += 8) {
    const uint64_t word = random();
    std::memcpy(&buffer[i], &word, 8);
  }
  int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) return Errno("create " + path).error();
  const int64_t start = MonotonicNanos();
  for (uint64_t i = 0; i < FLAGS_big_mb; ++i) {
    buffer[0] = static_cast<char>(i);  // No two megabytes alike.
    if (write(fd, buffer.data(), buffer.size()) != static_cast<ssize_t>(buffer.size())) {
      close(fd);
      return Errno("write " + path).error();
    }
  }
  if (fsync(fd) != 0) return Errno("fsync " + path).error();
  close(fd);
  return FLAGS_big_mb / Seconds(start);
}

Status SequentialWrite(const std::string& path) {
  ASSIGN_OR_RETURN(const double rate, WriteBigFile(path));
  Figure("sequential write 1 MiB (+fsync)", rate, "MiB/s");
  return Status();
}

// One read of the whole file in 1 MiB reads right after the page cache was dropped, in MiB/s.
Result<double> ColdRead(const std::string& path) {
  RETURN_IF_ERROR(DropCaches());
  const int fd = open(path.c_str(), O_RDONLY);
  if (fd < 0) return Errno("open " + path).error();
  std::vector<char> buffer(kMiB);
  const int64_t start = MonotonicNanos();
  uint64_t total = 0;
  for (ssize_t got; (got = read(fd, buffer.data(), buffer.size())) > 0;) total += got;
  close(fd);
  if (total != FLAGS_big_mb * kMiB) {
    return MakeError(EIO, "read %llu bytes back", (unsigned long long)total);
  }
  return FLAGS_big_mb / Seconds(start);
}

// Prints the median of `rates` (MiB/s, one or more) as `what`, then each of them in order.
void PrintReads(const std::string& what, std::vector<double> rates) {
  std::vector<std::string> each;
  for (const double rate : rates) each.push_back(WithCommas(rate));
  std::sort(rates.begin(), rates.end());
  PrintFigure(absl::StrFormat("%s (median of %d)", what, rates.size()),
              absl::StrCat(WithCommas(rates[rates.size() / 2]), " MiB/s"));
  PrintFigure(absl::StrCat(what, ", in order"), absl::StrCat(absl::StrJoin(each, " / "), " MiB/s"));
}

// --cold_reads cold reads one after the other; the figure is their median. A page-cache page
// costs far more when the memory behind it is new to the host (a virtual machine's free pages go
// back to it), so one read alone can land anywhere between the cost of fresh and of reused pages.
Status ColdReads(const std::string& path) {
  std::vector<double> rates;
  for (uint64_t round = 0; round < std::max<uint64_t>(FLAGS_cold_reads, 1); ++round) {
    ASSIGN_OR_RETURN(const double rate, ColdRead(path));
    rates.push_back(rate);
  }
  PrintReads(Labeled("cold sequential read 1 MiB"), std::move(rates));
  return Status();
}

// --side_by_side: a big file on each filesystem, then cold reads of them in turns.
Status SideBySide() {
  struct Target {
    std::string name;
    std::string path;
    std::vector<double> rates;
  };
  std::vector<Target> targets;
  for (absl::string_view item : absl::StrSplit(FLAGS_side_by_side, ',', absl::SkipEmpty())) {
    const std::pair<std::string, std::string> name_dir =
        absl::StrSplit(item, absl::MaxSplits('=', 1));
    if (name_dir.first.empty() || name_dir.second.empty()) {
      return MakeError(EINVAL, "--side_by_side: '%s' is not NAME=DIR", std::string(item));
    }
    targets.push_back({name_dir.first, name_dir.second + "/fusebench-side-by-side", {}});
  }
  if (targets.size() < 2) return MakeError(EINVAL, "--side_by_side needs two NAME=DIR or more");
  for (Target& target : targets) {
    ASSIGN_OR_RETURN(const double rate, WriteBigFile(target.path));
    PrintFigure(absl::StrCat(target.name, ": sequential write 1 MiB (+fsync)"),
                absl::StrCat(WithCommas(rate), " MiB/s"));
  }
  for (uint64_t round = 0; round < std::max<uint64_t>(FLAGS_cold_reads, 1); ++round) {
    for (size_t i = 0; i < targets.size(); ++i) {
      Target& target = targets[round % 2 == 0 ? i : targets.size() - 1 - i];
      ASSIGN_OR_RETURN(const double rate, ColdRead(target.path));
      target.rates.push_back(rate);
    }
  }
  for (Target& target : targets) {
    PrintReads(absl::StrCat(target.name, ": cold read 1 MiB, side by side"), target.rates);
    if (unlink(target.path.c_str()) != 0) return Errno("unlink " + target.path);
  }
  return Status();
}

// O_DIRECT, so that the kernel's page cache serves neither (a daemon's own cache still may).
Status RandomIo(const std::string& path, bool writes) {
  const int fd = open(path.c_str(), (writes ? O_WRONLY : O_RDONLY) | O_DIRECT);
  if (fd < 0) return Errno("open " + path + " with O_DIRECT");
  void* memory = nullptr;
  if (posix_memalign(&memory, kBlock, kBlock) != 0) return MakeError(ENOMEM, "posix_memalign");
  std::unique_ptr<char, decltype(&std::free)> block(static_cast<char*>(memory), &std::free);
  std::memset(block.get(), 'r', kBlock);
  std::mt19937_64 random(writes ? 7 : 9);
  const uint64_t blocks = FLAGS_big_mb * kMiB / kBlock;
  const int64_t start = MonotonicNanos();
  const int64_t end = start + static_cast<int64_t>(FLAGS_iops_seconds) * 1'000'000'000;
  uint64_t done = 0;
  while (MonotonicNanos() < end) {
    const off_t offset = static_cast<off_t>(random() % blocks * kBlock);
    const ssize_t moved = writes ? pwrite(fd, block.get(), kBlock, offset)
                                 : pread(fd, block.get(), kBlock, offset);
    if (moved != static_cast<ssize_t>(kBlock)) {
      close(fd);
      return Errno(writes ? "pwrite" : "pread");
    }
    ++done;
  }
  if (writes && fsync(fd) != 0) return Errno("fsync");
  close(fd);
  Figure(writes ? "random write 4 KiB O_DIRECT (+fsync)" : "random read 4 KiB O_DIRECT",
         done / Seconds(start), "IOPS");
  return Status();
}

Status ManyFiles(const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) != 0) return Errno("mkdir " + dir);
  std::vector<std::string> names(FLAGS_files);
  for (uint64_t i = 0; i < FLAGS_files; ++i) names[i] = absl::StrCat(dir, "/file-", i);
  int64_t start = MonotonicNanos();
  for (const std::string& name : names) {
    const int fd = open(name.c_str(), O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0) return Errno("create " + name);
    close(fd);
  }
  Figure("create", FLAGS_files / Seconds(start), "files/s");
  RETURN_IF_ERROR(DropCaches());
  start = MonotonicNanos();
  struct stat st;
  for (const std::string& name : names) {
    if (stat(name.c_str(), &st) != 0) return Errno("stat " + name);
  }
  Figure("stat (cold)", FLAGS_files / Seconds(start), "files/s");
  start = MonotonicNanos();
  for (const std::string& name : names) {
    if (unlink(name.c_str()) != 0) return Errno("unlink " + name);
  }
  Figure("unlink", FLAGS_files / Seconds(start), "files/s");
  if (rmdir(dir.c_str()) != 0) return Errno("rmdir " + dir);
  return Status();
}

// Runs a command, failing unless it exits 0.
Status Run(const std::vector<std::string>& argv) {
  const pid_t child = fork();
  if (child < 0) return Errno("fork");
  if (child == 0) {
    std::vector<char*> args;
    for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(child, &status, 0) < 0) return Errno("waitpid");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return MakeError(EIO, "%s failed (status %d)", argv[0], status);
  }
  return Status();
}

// Prints the median and 99th percentile of `micros`.
void LatencyFigure(const std::string& what, std::vector<double> micros) {
  std::sort(micros.begin(), micros.end());
  const double median = micros[micros.size() / 2];
  const double p99 = micros[std::min(micros.size() - 1, micros.size() * 99 / 100)];
  PrintFigure(Labeled(what), absl::StrFormat("%s us median, %s us p99", WithCommas(median),
                                             WithCommas(p99)));
}

// Writes 4 KiB at `offset` of `fd` (`name`), then fsyncs it: the fsync's microseconds.
Result<double> WriteThenTimeFsync(int fd, const std::string& name, off_t offset) {
  static const std::string block(kBlock, 'f');
  if (pwrite(fd, block.data(), kBlock, offset) != static_cast<ssize_t>(kBlock)) {
    return Errno("pwrite " + name).error();
  }
  const int64_t start = MonotonicNanos();
  if (fsync(fd) != 0) return Errno("fsync " + name).error();
  return (MonotonicNanos() - start) / 1e3;
}

// fsync latency: after a 4 KiB overwrite of one file (no new block, no new name), and after a
// new file's 4 KiB write (a new name, a new block).
Status FsyncLatency(const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) != 0) return Errno("mkdir " + dir);
  std::vector<double> overwrite;
  std::vector<double> fresh;
  for (uint64_t i = 0; i <= 2 * FLAGS_fsyncs; ++i) {
    // File 0 is written once, then overwritten; each of the others is new.
    const bool first_pass = i <= FLAGS_fsyncs;
    const std::string name = absl::StrCat(dir, "/file-", first_pass ? 0 : i);
    const int fd = open(name.c_str(), O_CREAT | O_WRONLY, 0644);
    if (fd < 0) return Errno("open " + name);
    Result<double> micros = WriteThenTimeFsync(fd, name, 0);
    close(fd);
    RETURN_IF_ERROR(micros.status());
    if (i == 0) continue;
    (first_pass ? overwrite : fresh).push_back(*micros);
  }
  LatencyFigure("fsync after a 4 KiB overwrite", overwrite);
  LatencyFigure("fsync of a new file's 4 KiB", fresh);
  return Run({"rm", "-rf", dir});
}

Status UntarAndRemove(const std::string& dir) {
  if (mkdir(dir.c_str(), 0755) != 0) return Errno("mkdir " + dir);
  RETURN_IF_ERROR(Run({"sync"}));
  int64_t start = MonotonicNanos();
  RETURN_IF_ERROR(Run({"tar", "-xf", FLAGS_tarball, "-C", dir}));
  const double untar_seconds = Seconds(start);
  const uint64_t entries = CountEntries(dir);
  Figure(absl::StrFormat("untar (%d entries)", entries), entries / untar_seconds, "entries/s");
  RETURN_IF_ERROR(Run({"sync"}));
  start = MonotonicNanos();
  RETURN_IF_ERROR(Run({"rm", "-rf", dir}));
  Figure("rm -rf", entries / Seconds(start), "entries/s");
  return Status();
}

Status Measure() {
  const std::string big = FLAGS_dir + "/fusebench-big";
  RETURN_IF_ERROR(SequentialWrite(big));
  RETURN_IF_ERROR(ColdReads(big));
  RETURN_IF_ERROR(RandomIo(big, false));
  RETURN_IF_ERROR(RandomIo(big, true));
  if (unlink(big.c_str()) != 0) return Errno("unlink " + big);
  RETURN_IF_ERROR(ManyFiles(FLAGS_dir + "/fusebench-files"));
  RETURN_IF_ERROR(FsyncLatency(FLAGS_dir + "/fusebench-fsync"));
  if (!FLAGS_tarball.empty()) RETURN_IF_ERROR(UntarAndRemove(FLAGS_dir + "/fusebench-untar"));
  return Status();
}

}  // namespace
}  // namespace blobfs

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  gflags::SetUsageMessage(
      "fusebench --dir=DIR [--big_mb=2048] [--files=50000] [--tarball=FILE]\n"
      "fusebench --side_by_side=NAME=DIR,NAME=DIR... [--big_mb=2048] [--cold_reads=5]");
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (FLAGS_dir.empty() && FLAGS_side_by_side.empty()) {
    std::fprintf(stderr, "fusebench: --dir or --side_by_side is required\n");
    return 2;
  }
  blobfs::Status status =
      FLAGS_side_by_side.empty() ? blobfs::Measure() : blobfs::SideBySide();
  if (!status.ok()) {
    std::fprintf(stderr, "fusebench: %s\n", status.error().ToString().c_str());
    return 1;
  }
  return 0;
}
