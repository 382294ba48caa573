// blobfs at scale, through the FileSystem API on an image file: one directory of
// BLOBFS_FS_SCALE_ENTRIES files (default 1,000,000), each its own inode — created, the filesystem
// remounted (which must not load every inode), looked up cold, listed, and deleted. Prints the
// timing of every phase; asserts only behaviour.
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "common/clock.h"
#include "tests/blobfs/fs_harness.h"

namespace blobfs::fs_test {
namespace {

using bdev_test::ErrCode;

uint64_t ScaleEntries() {
  const char* value = std::getenv("BLOBFS_FS_SCALE_ENTRIES");
  return value != nullptr ? std::strtoull(value, nullptr, 10) : 1'000'000;
}

std::string EntryName(uint64_t i) { return absl::StrFormat("file-%07d", i); }

class FsScaleTest : public FsTest {
 protected:
  // One metadata page per inode (a thin image file: only what is written takes space), with room
  // for the directory's own blocks.
  uint64_t device_size() const override { return (entries_ + 8192) * 4096 * 2; }
  uint64_t md_pages() const override { return entries_ + 4096; }

  void Report(const char* phase, uint64_t count, int64_t start_ns) {
    double seconds = (MonotonicNanos() - start_ns) / 1e9;
    std::printf("%-44s %9.0f/s  (%llu in %.2f s)\n", phase, count / seconds,
                static_cast<unsigned long long>(count), seconds);
    std::fflush(stdout);
  }

  const uint64_t entries_ = ScaleEntries();
};

TEST_P(FsScaleTest, OneDirectoryOfAMillionInodes) {
  ASSERT_ASSIGN_OR_FAIL(FsStats empty, Run(fs_->StatFs()));
  const std::string big = "big";
  ASSERT_ASSIGN_OR_FAIL(InodeAttr dir, Run(fs_->MkDir(root_caller_, root(), big, 0755)));

  int64_t start = MonotonicNanos();
  std::vector<uint64_t> inos(entries_);
  for (uint64_t i = 0; i < entries_; ++i) {
    ASSERT_ASSIGN_OR_FAIL(InodeAttr file,
                          Run(fs_->MkNod(root_caller_, dir.ino, EntryName(i), S_IFREG | 0644, 0)));
    inos[i] = file.ino;
    Run(fs_->Forget(file.ino, 1));
  }
  ASSERT_OK(Run(fs_->SyncFs()));
  Report("create (mknod) + syncfs", entries_, start);
  ASSERT_ASSIGN_OR_FAIL(FsStats full, Run(fs_->StatFs()));
  EXPECT_EQ(empty.free_inodes - full.free_inodes, entries_ + 1);

  // A clean mount reads the store's masks, its journal and the filesystem's three fixed inodes,
  // not the million others.
  ASSERT_OK(Run(fs_->Unmount()));
  fs_.reset();
  const uint64_t read_before = injector_->bytes_read();
  start = MonotonicNanos();
  Mount();
  const double mount_ms = (MonotonicNanos() - start) / 1e6;
  const uint64_t read_bytes = injector_->bytes_read() - read_before;
  std::printf("%-44s %9.1f ms, %llu KiB read\n", "mount (clean)", mount_ms,
              static_cast<unsigned long long>(read_bytes >> 10));
  // The used-page and used-id masks are 2 bits per inode, and the journal is read whole (16 MiB at
  // most); the inodes' pages would be 4 KiB each.
  EXPECT_LT(read_bytes, entries_ * 64 + (uint64_t{20} << 20));

  // Cold lookups of a random sample, and of names that are absent.
  ASSERT_ASSIGN_OR_FAIL(dir, Lookup(root(), big));
  std::vector<uint64_t> sample(std::min<uint64_t>(entries_, 50'000));
  std::mt19937_64 random(5);
  for (uint64_t& index : sample) index = random() % entries_;
  start = MonotonicNanos();
  for (uint64_t index : sample) {
    ASSERT_ASSIGN_OR_FAIL(InodeAttr file, Lookup(dir.ino, EntryName(index)));
    ASSERT_EQ(file.ino, inos[index]);
    Run(fs_->Forget(file.ino, 1));
  }
  Report("lookup (cold, random)", sample.size(), start);
  EXPECT_EQ(ErrCode(Lookup(dir.ino, EntryName(entries_))), ENOENT);

  // Listing in pieces, as getdents does: every name exactly once.
  start = MonotonicNanos();
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->OpenDir(root_caller_, dir.ino)));
  std::vector<bool> seen(entries_);
  uint64_t listed = 0;
  uint64_t cookie = 0;
  for (bool more = true; more;) {
    size_t taken = 0;
    FileSystem::DirEmitter emit = [&](const DirListEntry& entry) {
      if (taken == 500) return false;
      ++taken;
      cookie = entry.cookie;
      if (entry.name == "." || entry.name == "..") return true;
      uint64_t index = std::strtoull(std::string(entry.name).substr(5).c_str(), nullptr, 10);
      EXPECT_LT(index, entries_);
      if (index < entries_) {
        EXPECT_FALSE(seen[index]) << entry.name;
        seen[index] = true;
      }
      ++listed;
      return true;
    };
    ASSERT_OK(Run(fs_->ReadDir(handle, cookie, emit)));
    more = taken == 500;
  }
  ASSERT_OK(Run(fs_->ReleaseDir(handle)));
  Report("readdir (500 per call)", listed, start);
  EXPECT_EQ(listed, entries_);

  // Delete every file, in an order unrelated to the index's.
  std::vector<uint64_t> order(entries_);
  for (uint64_t i = 0; i < entries_; ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), random);
  start = MonotonicNanos();
  for (uint64_t index : order) ASSERT_OK(Run(fs_->Unlink(root_caller_, dir.ino, EntryName(index))));
  ASSERT_OK(Run(fs_->SyncFs()));
  Report("unlink (random order) + syncfs", entries_, start);
  ASSERT_ASSIGN_OR_FAIL(FsStats after, Run(fs_->StatFs()));
  // Every inode's page is back but for "big"'s (a directory blob's extent list may keep a chain
  // page more after growing this far).
  EXPECT_LE(after.free_inodes, empty.free_inodes - 1);
  EXPECT_GE(after.free_inodes + 2, empty.free_inodes - 1);
  EXPECT_EQ(ErrCode(Lookup(dir.ino, EntryName(0))), ENOENT);
  Remount();
  ASSERT_ASSIGN_OR_FAIL(dir, Lookup(root(), big));
  EXPECT_EQ(List(dir.ino).size(), 2u);  // "." and ".."
  // The emptied index shrank back to its header and one leaf.
  EXPECT_LE(dir.blocks * 512, uint64_t{2} * 4096);
  ASSERT_OK(Run(fs_->RmDir(root_caller_, root(), big)));
}

INSTANTIATE_TEST_SUITE_P(Uring, FsScaleTest, ::testing::Values(Backing::kUring), BackingName);

}  // namespace
}  // namespace blobfs::fs_test
