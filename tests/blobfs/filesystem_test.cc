// blobfs end to end through its API, on malloc and on an image file: namespace operations and
// their errors, rename, links, readdir stability, data and holes, xattrs, orphans, persistence.
#include "blobfs/filesystem.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "blobfs/fs_check.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"
#include "tests/blobfs/fs_harness.h"

namespace blobfs {
namespace {

using bdev_test::ErrCode;
using fs_test::Backing;
using fs_test::FsTest;

TEST_P(FsTest, FilesPersistAcrossRemount) {
  ASSERT_ASSIGN_OR_FAIL(auto dir, Run(fs_->MkDir(root_caller_, root(), "dir", 0750)));
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(dir.ino, "small"));
  ASSERT_ASSIGN_OR_FAIL(size_t written, Write(file.handle, 0, "hello world"));
  EXPECT_EQ(written, 11u);
  ASSERT_ASSIGN_OR_FAIL(auto big, Create(dir.ino, "big"));
  std::string pattern;
  for (int i = 0; i < 300000; ++i) pattern += static_cast<char>('a' + i % 23);
  ASSERT_ASSIGN_OR_FAIL(written, Write(big.handle, 12345, pattern));
  EXPECT_EQ(Read(big.handle, 12345, pattern.size()), pattern);
  ASSERT_OK(Run(fs_->Release(file.handle)));
  ASSERT_OK(Run(fs_->Release(big.handle)));
  Remount();
  ASSERT_ASSIGN_OR_FAIL(auto dir_again, Lookup(root(), "dir"));
  EXPECT_EQ(dir_again.ino, dir.ino);
  EXPECT_EQ(dir_again.mode, S_IFDIR | 0750);
  EXPECT_EQ(dir_again.nlink, 2u);
  ASSERT_ASSIGN_OR_FAIL(auto small, Lookup(dir.ino, "small"));
  EXPECT_EQ(small.size, 11u);
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->Open(root_caller_, small.ino, O_RDONLY)));
  EXPECT_EQ(Read(handle, 0, 100), "hello world");
  ASSERT_OK(Run(fs_->Release(handle)));
  ASSERT_ASSIGN_OR_FAIL(auto big_again, Lookup(dir.ino, "big"));
  EXPECT_EQ(big_again.size, 12345 + pattern.size());
  ASSERT_ASSIGN_OR_FAIL(handle, Run(fs_->Open(root_caller_, big_again.ino, O_RDONLY)));
  EXPECT_EQ(Read(handle, 0, 12345), std::string(12345, '\0'));
  EXPECT_EQ(Read(handle, 12345, pattern.size() + 10), pattern);
  ASSERT_OK(Run(fs_->Release(handle)));
  std::vector<std::string> names = List(dir.ino);
  std::sort(names.begin() + 2, names.end());  // After "." and "..", entries come in hash order.
  EXPECT_EQ(names, (std::vector<std::string>{".", "..", "big", "small"}));
}

TEST_P(FsTest, NamespaceErrors) {
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "f"));
  ASSERT_OK(Run(fs_->Release(file.handle)));
  EXPECT_EQ(ErrCode(Create(root(), "f", O_EXCL)), EEXIST);
  EXPECT_EQ(ErrCode(Run(fs_->MkDir(root_caller_, root(), "f", 0755))), EEXIST);
  EXPECT_EQ(ErrCode(Lookup(root(), "missing")), ENOENT);
  EXPECT_EQ(ErrCode(Lookup(file.attr.ino, "x")), ENOTDIR);
  EXPECT_EQ(ErrCode(Create(root(), std::string(256, 'n'))), ENAMETOOLONG);
  ASSERT_ASSIGN_OR_FAIL(auto longest, Create(root(), std::string(255, 'n')));
  ASSERT_OK(Run(fs_->Release(longest.handle)));
  EXPECT_EQ(ErrCode(Create(root(), "a/b")), EINVAL);
  EXPECT_EQ(ErrCode(Create(root(), "")), EINVAL);
  ASSERT_ASSIGN_OR_FAIL(auto dir, Run(fs_->MkDir(root_caller_, root(), "d", 0755)));
  ASSERT_ASSIGN_OR_FAIL(auto inner, Create(dir.ino, "inner"));
  ASSERT_OK(Run(fs_->Release(inner.handle)));
  EXPECT_EQ(ErrCode(Run(fs_->RmDir(root_caller_, root(), "d"))), ENOTEMPTY);
  EXPECT_EQ(ErrCode(Run(fs_->RmDir(root_caller_, root(), "f"))), ENOTDIR);
  EXPECT_EQ(ErrCode(Run(fs_->Unlink(root_caller_, root(), "d"))), EISDIR);
  EXPECT_EQ(ErrCode(Run(fs_->Link(root_caller_, dir.ino, root(), "dirlink"))), EPERM);
  EXPECT_EQ(ErrCode(Run(fs_->Open(root_caller_, dir.ino, O_RDWR))), EISDIR);
  EXPECT_EQ(ErrCode(Run(fs_->GetAttr(0x123456789))), ESTALE);
  EXPECT_EQ(ErrCode(Run(fs_->Symlink(root_caller_, root(), "s", std::string(4096, 't')))),
            ENAMETOOLONG);
  ASSERT_ASSIGN_OR_FAIL(auto link, Run(fs_->Symlink(root_caller_, root(), "s", std::string(4095, 't'))));
  EXPECT_EQ(link.size, 4095u);
  ASSERT_ASSIGN_OR_FAIL(std::string target, Run(fs_->ReadLink(link.ino)));
  EXPECT_EQ(target, std::string(4095, 't'));
  ASSERT_ASSIGN_OR_FAIL(auto device, Run(fs_->MkNod(root_caller_, root(), "dev", S_IFCHR | 0600, 0x0801)));
  EXPECT_EQ(device.rdev, 0x0801u);
  ASSERT_OK(Run(fs_->Unlink(root_caller_, dir.ino, "inner")));
  ASSERT_OK(Run(fs_->RmDir(root_caller_, root(), "d")));
  EXPECT_EQ(ErrCode(Lookup(root(), "d")), ENOENT);
}

TEST_P(FsTest, RenameRulesAndLinkCounts) {
  ASSERT_ASSIGN_OR_FAIL(auto a, Run(fs_->MkDir(root_caller_, root(), "a", 0755)));
  ASSERT_ASSIGN_OR_FAIL(auto b, Run(fs_->MkDir(root_caller_, root(), "b", 0755)));
  ASSERT_ASSIGN_OR_FAIL(auto sub, Run(fs_->MkDir(root_caller_, a.ino, "sub", 0755)));
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(a.ino, "file"));
  ASSERT_OK(Run(fs_->Release(file.handle)));
  // A directory into its own subtree.
  EXPECT_EQ(ErrCode(Run(fs_->Rename(root_caller_, root(), "a", sub.ino, "x", 0))), EINVAL);
  // Hard links: counts through link, rename over, unlink.
  ASSERT_ASSIGN_OR_FAIL(auto linked, Run(fs_->Link(root_caller_, file.attr.ino, b.ino, "hard")));
  EXPECT_EQ(linked.nlink, 2u);
  ASSERT_ASSIGN_OR_FAIL(auto other, Create(b.ino, "other"));
  ASSERT_OK(Run(fs_->Release(other.handle)));
  EXPECT_EQ(ErrCode(Run(fs_->Rename(root_caller_, b.ino, "hard", b.ino, "other", RENAME_NOREPLACE))),
            EEXIST);
  ASSERT_OK(Run(fs_->Rename(root_caller_, b.ino, "hard", b.ino, "other", 0)));
  EXPECT_EQ(ErrCode(Lookup(b.ino, "hard")), ENOENT);
  ASSERT_ASSIGN_OR_FAIL(auto replaced, Lookup(b.ino, "other"));
  EXPECT_EQ(replaced.ino, file.attr.ino);
  EXPECT_EQ(replaced.nlink, 2u);
  // Two names of one inode: nothing happens.
  ASSERT_OK(Run(fs_->Rename(root_caller_, a.ino, "file", b.ino, "other", 0)));
  EXPECT_OK(Lookup(a.ino, "file"));
  // Moving a directory across parents fixes ".." and both parents' links.
  ASSERT_ASSIGN_OR_FAIL(auto a_before, Run(fs_->GetAttr(a.ino)));
  EXPECT_EQ(a_before.nlink, 3u);
  ASSERT_OK(Run(fs_->Rename(root_caller_, a.ino, "sub", b.ino, "moved", 0)));
  ASSERT_ASSIGN_OR_FAIL(auto dotdot, Lookup(sub.ino, ".."));
  EXPECT_EQ(dotdot.ino, b.ino);
  EXPECT_EQ(Run(fs_->GetAttr(a.ino))->nlink, 2u);
  EXPECT_EQ(Run(fs_->GetAttr(b.ino))->nlink, 3u);
  // Directory over file and file over directory.
  EXPECT_EQ(ErrCode(Run(fs_->Rename(root_caller_, b.ino, "moved", b.ino, "other", 0))), ENOTDIR);
  EXPECT_EQ(ErrCode(Run(fs_->Rename(root_caller_, b.ino, "other", b.ino, "moved", 0))), EISDIR);
  // Exchange a file and a directory across parents.
  ASSERT_OK(Run(fs_->Rename(root_caller_, a.ino, "file", b.ino, "moved", RENAME_EXCHANGE)));
  EXPECT_EQ(Lookup(a.ino, "file")->ino, sub.ino);
  EXPECT_EQ(Lookup(b.ino, "moved")->ino, file.attr.ino);
  EXPECT_EQ(Lookup(sub.ino, "..")->ino, a.ino);
  EXPECT_EQ(Run(fs_->GetAttr(a.ino))->nlink, 3u);
  EXPECT_EQ(Run(fs_->GetAttr(b.ino))->nlink, 2u);
  EXPECT_EQ(ErrCode(Run(fs_->Rename(root_caller_, a.ino, "nope", b.ino, "moved", RENAME_EXCHANGE))),
            ENOENT);
  // Over an empty directory: it goes; a non-empty one stays.
  ASSERT_ASSIGN_OR_FAIL(auto empty, Run(fs_->MkDir(root_caller_, root(), "empty", 0755)));
  ASSERT_OK(Run(fs_->Rename(root_caller_, root(), "b", root(), "empty", 0)));
  EXPECT_EQ(Lookup(root(), "empty")->ino, b.ino);
  EXPECT_EQ(ErrCode(Run(fs_->Rename(root_caller_, root(), "a", root(), "empty", 0))), ENOTEMPTY);
  (void)empty;
  Remount();
  EXPECT_EQ(Lookup(Lookup(root(), "a")->ino, "file")->ino, sub.ino);
  EXPECT_EQ(Run(fs_->GetAttr(root()))->nlink, 4u);
}

TEST_P(FsTest, ReadDirResumesExactlyOnceWhileTheDirectoryChanges) {
  ASSERT_ASSIGN_OR_FAIL(auto dir, Run(fs_->MkDir(root_caller_, root(), "d", 0755)));
  std::set<std::string> stable;
  for (int i = 0; i < 1500; ++i) {
    std::string name = "stable-" + std::to_string(i);
    ASSERT_OK(Run(fs_->MkNod(root_caller_, dir.ino, name, S_IFIFO | 0644, 0)));
    stable.insert(name);
  }
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->OpenDir(root_caller_, dir.ino)));
  std::map<std::string, int> seen;
  uint64_t cookie = 0;
  int churn = 0;
  while (true) {
    int taken = 0;
    FileSystem::DirEmitter collect = [&](const DirListEntry& entry) {
      if (taken == 40) return false;
      ++seen[std::string(entry.name)];
      cookie = entry.cookie;
      ++taken;
      return true;
    };
    ASSERT_OK(Run(fs_->ReadDir(handle, cookie, collect)));
    if (taken == 0) break;
    // Between batches, other names come and go (splitting and emptying leaves).
    for (int i = 0; i < 30; ++i, ++churn) {
      ASSERT_OK(Run(fs_->MkNod(root_caller_, dir.ino, "churn-" + std::to_string(churn),
                               S_IFIFO | 0644, 0)));
    }
    for (int i = churn - 30; i < churn - 10; ++i) {
      ASSERT_OK(Run(fs_->Unlink(root_caller_, dir.ino, "churn-" + std::to_string(i))));
    }
  }
  ASSERT_OK(Run(fs_->ReleaseDir(handle)));
  for (const std::string& name : stable) EXPECT_EQ(seen[name], 1) << name;
  EXPECT_EQ(seen["."], 1);
  EXPECT_EQ(seen[".."], 1);
  for (const auto& [name, count] : seen) EXPECT_EQ(count, 1) << name;
}

TEST_P(FsTest, SparseFilesHolesAndSeek) {
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "sparse"));
  const uint64_t tib = uint64_t{1} << 40;
  ASSERT_OK(Write(file.handle, tib - 4096, std::string(4096, 'z')));
  ASSERT_ASSIGN_OR_FAIL(auto attr, Run(fs_->GetAttr(file.attr.ino)));
  EXPECT_EQ(attr.size, tib);
  EXPECT_EQ(Read(file.handle, 1 << 30, 8192), std::string(8192, '\0'));
  EXPECT_EQ(Run(fs_->Lseek(file.handle, 0, SEEK_DATA)).value(), tib - 4096);
  EXPECT_EQ(Run(fs_->Lseek(file.handle, 0, SEEK_HOLE)).value(), 0u);
  EXPECT_EQ(ErrCode(Run(fs_->Lseek(file.handle, tib, SEEK_DATA))), ENXIO);
  ASSERT_OK(Run(fs_->Fsync(file.handle, false)));
  EXPECT_LE(Run(fs_->GetAttr(file.attr.ino))->blocks, 64u);
  // Punch the data away: it reads as zeroes and the space comes back.
  ASSERT_OK(Run(fs_->Fallocate(root_caller_, file.handle, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                               tib - 4096, 4096)));
  EXPECT_EQ(Read(file.handle, tib - 4096, 4096), std::string(4096, '\0'));
  EXPECT_EQ(ErrCode(Run(fs_->Lseek(file.handle, 0, SEEK_DATA))), ENXIO);
  // Truncate down then up: the old bytes do not come back.
  ASSERT_OK(Write(file.handle, 0, std::string(10000, 'q')));
  SetAttrRequest shrink{.valid = SetAttrRequest::kSize, .size = 100};
  ASSERT_OK(Run(fs_->SetAttr(root_caller_, file.attr.ino, shrink, file.handle)));
  SetAttrRequest grow{.valid = SetAttrRequest::kSize, .size = 20000};
  ASSERT_OK(Run(fs_->SetAttr(root_caller_, file.attr.ino, grow, file.handle)));
  EXPECT_EQ(Read(file.handle, 0, 100), std::string(100, 'q'));
  EXPECT_EQ(Read(file.handle, 100, 19900), std::string(19900, '\0'));
  // Allocation keeps the size with KEEP_SIZE and extends it without.
  ASSERT_OK(Run(fs_->Fallocate(root_caller_, file.handle, FALLOC_FL_KEEP_SIZE, 0, 1 << 20)));
  EXPECT_EQ(Run(fs_->GetAttr(file.attr.ino))->size, 20000u);
  ASSERT_OK(Run(fs_->Fallocate(root_caller_, file.handle, 0, 0, 1 << 20)));
  EXPECT_EQ(Run(fs_->GetAttr(file.attr.ino))->size, uint64_t{1} << 20);
  EXPECT_GE(Run(fs_->GetAttr(file.attr.ino))->blocks, uint64_t{(1 << 20) / 512});
  ASSERT_OK(Run(fs_->Release(file.handle)));
}

TEST_P(FsTest, UnlinkedOpenFilesLiveUntilReleaseAndOrphansAreReclaimed) {
  ASSERT_ASSIGN_OR_FAIL(auto before, Run(fs_->StatFs()));
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "doomed"));
  ASSERT_OK(Write(file.handle, 0, std::string(100000, 'd')));
  ASSERT_OK(Run(fs_->Unlink(root_caller_, root(), "doomed")));
  EXPECT_EQ(ErrCode(Lookup(root(), "doomed")), ENOENT);
  EXPECT_EQ(Read(file.handle, 99990, 100), std::string(10, 'd'));
  ASSERT_OK(Write(file.handle, 100000, "more"));
  EXPECT_EQ(Run(fs_->GetAttr(file.attr.ino))->nlink, 0u);
  // The daemon dies with the file open: the next mount reclaims it.
  CrashAfterSync();
  ASSERT_ASSIGN_OR_FAIL(auto after, Run(fs_->StatFs()));
  EXPECT_EQ(after.free_inodes, before.free_inodes);
  EXPECT_EQ(after.free_blocks, before.free_blocks);
  EXPECT_EQ(ErrCode(Run(fs_->GetAttr(file.attr.ino))), ESTALE);
  // Without a crash: released and forgotten, it goes at once.
  ASSERT_ASSIGN_OR_FAIL(auto second, Create(root(), "second"));
  ASSERT_OK(Write(second.handle, 0, std::string(50000, 's')));
  ASSERT_OK(Run(fs_->Unlink(root_caller_, root(), "second")));
  ASSERT_OK(Run(fs_->Release(second.handle)));
  Run(fs_->Forget(second.attr.ino, 1));
  ASSERT_OK(Run(fs_->SyncFs()));
  ASSERT_ASSIGN_OR_FAIL(auto end, Run(fs_->StatFs()));
  EXPECT_EQ(end.free_inodes, before.free_inodes);
  // O_TMPFILE: anonymous, then linked, then it stays.
  ASSERT_ASSIGN_OR_FAIL(auto tmp, Run(fs_->TmpFile(root_caller_, root(), 0600, O_RDWR)));
  ASSERT_OK(Write(tmp.handle, 0, "tmp"));
  ASSERT_OK(Run(fs_->Link(root_caller_, tmp.attr.ino, root(), "named")));
  ASSERT_OK(Run(fs_->Release(tmp.handle)));
  CrashAfterSync();
  ASSERT_ASSIGN_OR_FAIL(auto named, Lookup(root(), "named"));
  EXPECT_EQ(named.size, 3u);
  EXPECT_EQ(named.nlink, 1u);
}

// The kernel drops the FORGETs it still has queued when it unmounts: unmount itself reclaims the
// files nothing links (O_TMPFILE files closed but never forgotten, unlinked files still open),
// so the image is left with no orphans for the next mount to reclaim.
TEST_P(FsTest, UnmountReclaimsWhatNothingLinksEvenWithLookupsAndHandlesLeft) {
  ASSERT_ASSIGN_OR_FAIL(auto before, Run(fs_->StatFs()));
  for (int i = 0; i < 200; ++i) {
    ASSERT_ASSIGN_OR_FAIL(auto tmp, Run(fs_->TmpFile(root_caller_, root(), 0600, O_RDWR)));
    ASSERT_OK(Write(tmp.handle, 0, std::string(5000, 't')));
    ASSERT_OK(Run(fs_->Release(tmp.handle)));
  }
  ASSERT_ASSIGN_OR_FAIL(auto open, Create(root(), "open"));
  ASSERT_OK(Write(open.handle, 0, std::string(70000, 'o')));
  ASSERT_OK(Run(fs_->Unlink(root_caller_, root(), "open")));
  ASSERT_ASSIGN_OR_FAIL(auto kept, Create(root(), "kept"));
  ASSERT_OK(Write(kept.handle, 0, "kept"));
  ASSERT_OK(Run(fs_->Unmount()));
  fs_.reset();
  {
    auto device = registry_.Open("dev", OpenMode::kReadOnly);
    ASSERT_OK(device.status());
    auto store = Run(BlobStore::Load(std::move(*device), {.read_only = true}));
    ASSERT_OK(store.status());
    ASSERT_ASSIGN_OR_FAIL(FsCheckReport report, Run(CheckFileSystem(**store)));
    EXPECT_TRUE(report.clean());
    EXPECT_EQ(report.orphans, 0u);
    EXPECT_EQ(report.regular_files, 1u);
    ASSERT_OK(Run((*store)->Unload()));
  }
  Mount();
  ASSERT_ASSIGN_OR_FAIL(auto after, Run(fs_->StatFs()));
  EXPECT_EQ(after.free_inodes + 1, before.free_inodes);  // "kept" alone.
  EXPECT_EQ(List(root()).size(), 3u);  // ".", "..", "kept".
  ASSERT_ASSIGN_OR_FAIL(auto found, Lookup(root(), "kept"));
  EXPECT_EQ(found.size, 4u);
}

// A deleted file's unwritten data is dropped once nothing holds the file: its clusters are free
// again at once (statfs), not two commits later with its blob; only its inode's page waits.
TEST_P(FsTest, ADeletedFilesUnwrittenDataIsFreeAtOnce) {
  ASSERT_OK(Run(fs_->SyncFs()));
  ASSERT_ASSIGN_OR_FAIL(auto before, Run(fs_->StatFs()));
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "scratch"));
  ASSERT_OK(Write(file.handle, 0, std::string(1 << 20, 's')));
  ASSERT_ASSIGN_OR_FAIL(auto written, Run(fs_->StatFs()));
  EXPECT_LE(written.free_blocks + (1 << 20) / 4096, before.free_blocks);
  ASSERT_OK(Run(fs_->Unlink(root_caller_, root(), "scratch")));
  // Still open: still readable.
  EXPECT_EQ(Read(file.handle, (1 << 20) - 3, 3), "sss");
  ASSERT_OK(Run(fs_->Release(file.handle)));
  Run(fs_->Forget(file.attr.ino, 1));
  ASSERT_ASSIGN_OR_FAIL(auto dropped, Run(fs_->StatFs()));
  EXPECT_GE(dropped.free_blocks + 1, before.free_blocks);
  // The deletion that follows leaves everything as before.
  ASSERT_OK(Run(fs_->SyncFs()));
  ASSERT_ASSIGN_OR_FAIL(auto end, Run(fs_->StatFs()));
  EXPECT_EQ(end.free_blocks, before.free_blocks);
  EXPECT_EQ(ErrCode(Run(fs_->GetAttr(file.attr.ino))), ESTALE);
}

TEST_P(FsTest, ExtendedAttributes) {
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "x"));
  ASSERT_OK(Run(fs_->Release(file.handle)));
  uint64_t ino = file.attr.ino;
  std::string big(65536, 'v');
  ASSERT_OK(Run(fs_->SetXattr(root_caller_, ino, "user.big", big, 0)));
  ASSERT_OK(Run(fs_->SetXattr(root_caller_, ino, "user.empty", "", 0)));
  ASSERT_OK(Run(fs_->SetXattr(root_caller_, ino, "system.posix_acl_access",
                              std::string("\x02\0\0\0\x01\0\x06\0", 8), 0)));
  ASSERT_OK(Run(fs_->SetXattr(root_caller_, ino, "trusted.t", "t", 0)));
  ASSERT_OK(Run(fs_->SetXattr(root_caller_, ino, "security.s", "s", 0)));
  EXPECT_EQ(ErrCode(Run(fs_->SetXattr(root_caller_, ino, "user.big", "x", XATTR_CREATE))), EEXIST);
  EXPECT_EQ(ErrCode(Run(fs_->SetXattr(root_caller_, ino, "user.no", "x", XATTR_REPLACE))), ENODATA);
  EXPECT_EQ(ErrCode(Run(fs_->SetXattr(root_caller_, ino, "user.huge", std::string(65537, 'h'), 0))),
            E2BIG);
  EXPECT_EQ(ErrCode(Run(fs_->SetXattr(root_caller_, ino, "weird.name", "x", 0))), EOPNOTSUPP);
  EXPECT_EQ(ErrCode(Run(fs_->GetXattr(root_caller_, ino, "user.none"))), ENODATA);
  Credentials user{.uid = 1000, .gid = 1000};
  EXPECT_EQ(ErrCode(Run(fs_->SetXattr(user, ino, "user.mine", "x", 0))), EACCES);
  Remount();
  EXPECT_EQ(Run(fs_->GetXattr(root_caller_, ino, "user.big")).value(), big);
  EXPECT_EQ(Run(fs_->GetXattr(root_caller_, ino, "user.empty")).value(), "");
  EXPECT_EQ(Run(fs_->GetXattr(root_caller_, ino, "system.posix_acl_access")).value(),
            std::string("\x02\0\0\0\x01\0\x06\0", 8));
  EXPECT_EQ(Run(fs_->ListXattr(root_caller_, ino)).value(),
            (std::vector<std::string>{"security.s", "system.posix_acl_access", "trusted.t",
                                      "user.big", "user.empty"}));
  EXPECT_EQ(Run(fs_->ListXattr(user, ino)).value().size(), 4u);
  ASSERT_OK(Run(fs_->RemoveXattr(root_caller_, ino, "user.big")));
  EXPECT_EQ(ErrCode(Run(fs_->RemoveXattr(root_caller_, ino, "user.big"))), ENODATA);
}

TEST_P(FsTest, TimestampsAndOwnershipRules) {
  ASSERT_ASSIGN_OR_FAIL(auto dir, Run(fs_->MkDir(root_caller_, root(), "d", 0777)));
  ASSERT_ASSIGN_OR_FAIL(auto before, Run(fs_->GetAttr(dir.ino)));
  usleep(2000);
  Credentials user{.uid = 1000, .gid = 1000};
  ASSERT_ASSIGN_OR_FAIL(auto created,
                        Run(fs_->Create(user, dir.ino, "f", 06755, O_RDWR | O_CREAT)));
  EXPECT_EQ(created.attr.uid, 1000u);
  EXPECT_EQ(created.attr.btime, created.attr.ctime);
  ASSERT_ASSIGN_OR_FAIL(auto after, Run(fs_->GetAttr(dir.ino)));
  EXPECT_GT(after.mtime, before.mtime);
  EXPECT_GT(after.ctime, before.ctime);
  // A write by the non-root owner drops setuid and (group-executable) setgid.
  iovec iov{const_cast<char*>("w"), 1};
  ASSERT_OK(Run(fs_->Write(user, created.handle, 0, std::span<const iovec>(&iov, 1))));
  EXPECT_EQ(Run(fs_->GetAttr(created.attr.ino))->mode & 07777, 0755u);
  // chown by a non-root caller is refused; chmod by another user too.
  SetAttrRequest chown{.valid = SetAttrRequest::kUid, .uid = 0};
  EXPECT_EQ(ErrCode(Run(fs_->SetAttr(user, created.attr.ino, chown, std::nullopt))), EPERM);
  Credentials other{.uid = 2000, .gid = 2000};
  SetAttrRequest chmod{.valid = SetAttrRequest::kMode, .mode = 0600};
  EXPECT_EQ(ErrCode(Run(fs_->SetAttr(other, created.attr.ino, chmod, std::nullopt))), EPERM);
  // Explicit times with nanoseconds are kept; rename stamps the moved inode's ctime.
  SetAttrRequest times{.valid = SetAttrRequest::kAtime | SetAttrRequest::kMtime,
                       .atime = {1000, 123456789},
                       .mtime = {2000, 987654321}};
  ASSERT_ASSIGN_OR_FAIL(auto stamped, Run(fs_->SetAttr(user, created.attr.ino, times, std::nullopt)));
  EXPECT_EQ(stamped.atime, (Timestamp{1000, 123456789}));
  EXPECT_EQ(stamped.mtime, (Timestamp{2000, 987654321}));
  usleep(2000);
  ASSERT_OK(Run(fs_->Rename(user, dir.ino, "f", dir.ino, "g", 0)));
  EXPECT_GT(Run(fs_->GetAttr(created.attr.ino))->ctime, stamped.ctime);
  ASSERT_OK(Run(fs_->Release(created.handle)));
  // The sticky bit: another user may not remove what it does not own.
  SetAttrRequest sticky{.valid = SetAttrRequest::kMode, .mode = 01777};
  ASSERT_OK(Run(fs_->SetAttr(root_caller_, dir.ino, sticky, std::nullopt)));
  EXPECT_EQ(ErrCode(Run(fs_->Unlink(other, dir.ino, "g"))), EPERM);
  EXPECT_EQ(ErrCode(Run(fs_->MkDir(other, root(), "nope", 0755))), EACCES);
  ASSERT_OK(Run(fs_->Unlink(user, dir.ino, "g")));
}

TEST_P(FsTest, ReadDirPlusCountsLookupsAndForgetReleasesThem) {
  ASSERT_ASSIGN_OR_FAIL(auto start, Run(fs_->StatFs()));
  ASSERT_ASSIGN_OR_FAIL(auto dir, Run(fs_->MkDir(root_caller_, root(), "d", 0755)));
  for (int i = 0; i < 300; ++i) {
    ASSERT_ASSIGN_OR_FAIL(auto node, Run(fs_->MkNod(root_caller_, dir.ino, absl::StrCat("n", i),
                                                    S_IFREG | 0644, 0)));
    Run(fs_->Forget(node.ino, 1));  // MkNod's own reference.
  }
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->OpenDir(root_caller_, dir.ino)));
  std::map<uint64_t, int> referenced;
  uint64_t cookie = 0;
  int refused = 0;
  while (true) {
    int taken = 0;
    FileSystem::DirPlusEmitter collect = [&](const DirListEntry& entry, const InodeAttr& attr) {
      if (taken == 64) {
        ++refused;
        return false;  // Not taken: no reference for it.
      }
      EXPECT_EQ(attr.ino, entry.ino);
      if (entry.name != "." && entry.name != "..") ++referenced[entry.ino];
      cookie = entry.cookie;
      ++taken;
      return true;
    };
    ASSERT_OK(Run(fs_->ReadDirPlus(handle, cookie, collect)));
    if (taken == 0) break;
  }
  ASSERT_OK(Run(fs_->ReleaseDir(handle)));
  EXPECT_EQ(referenced.size(), 300u);
  EXPECT_GT(refused, 0);
  // Unlinked while referenced: the inodes stay until their last lookup is forgotten.
  for (int i = 0; i < 300; ++i) {
    ASSERT_OK(Run(fs_->Unlink(root_caller_, dir.ino, absl::StrCat("n", i))));
  }
  ASSERT_OK(Run(fs_->SyncFs()));
  for (const auto& [ino, count] : referenced) {
    ASSERT_ASSIGN_OR_FAIL(auto attr, Run(fs_->GetAttr(ino)));
    EXPECT_EQ(attr.nlink, 0u);
    Run(fs_->Forget(ino, count));
  }
  ASSERT_OK(Run(fs_->SyncFs()));
  for (const auto& [ino, count] : referenced) EXPECT_EQ(ErrCode(Run(fs_->GetAttr(ino))), ESTALE);
  ASSERT_OK(Run(fs_->RmDir(root_caller_, root(), "d")));
  Run(fs_->Forget(dir.ino, 1));
  ASSERT_OK(Run(fs_->SyncFs()));
  ASSERT_ASSIGN_OR_FAIL(auto end, Run(fs_->StatFs()));
  EXPECT_EQ(end.free_inodes, start.free_inodes);
}

INSTANTIATE_TEST_SUITE_P(Backings, FsTest, ::testing::Values(Backing::kMalloc, Backing::kUring),
                         fs_test::BackingName);

}  // namespace
}  // namespace blobfs
