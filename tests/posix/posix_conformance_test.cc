// POSIX conformance suite for a mounted filesystem, in the spirit of pjdfstest: each test makes
// real system calls on the mount and checks both the errno of every failure and the attributes
// (lstat mode, uid, gid, nlink, size, mtime, ctime, atime) after every change.
//
// Covered, with the calls' errors and the permission rules for callers other than root:
//   this file                  chmod/fchmod, chown/lchown/fchown, utimensat/futimens,
//                              truncate/ftruncate, open (O_CREAT, O_EXCL, O_TRUNC, O_NOFOLLOW,
//                              O_DIRECTORY, access by mode bits, name lengths) and read/write
//   posix_namespace_test.cc    link, mkdir, mkfifo, mknod, rename, rmdir, symlink/readlink, unlink
//   posix_privileges_test.cc   setuid/setgid and security.capability dropped by writes and chown
//   posix_coherence_test.cc    buffered reads and mappings against direct and other-handle writes
//   posix_test_util.h          the fixture, checked-call macros, forked children, stat helpers
//
// How it runs: as root, against the directory named by $BLOBFS_POSIX_DIR (a mounted filesystem,
// e.g. blobfs; every test is skipped when it is unset, or when not root):
//   BLOBFS_POSIX_DIR=/mnt/blobfs ./posix_conformance_test
// Each test works in its own mkdtemp directory below it (mode 0777, the working directory) and
// removes it at the end. Calls by other users run in a forked child that drops to uid/gid 1000,
// 1001, 1002 or 65534 (posix_test::CallAs); the test process keeps its credentials. Timestamp
// checks sleep a clock tick (30 ms; over a second on a filesystem without sub-second times)
// between the states they compare. tmpfs passes every test and is the reference: a test that
// fails there is wrong (ext4 with 4 KiB blocks passes too; with 1 KiB blocks its symlinks hold
// only 1023 bytes, short of the 4095 tested).
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <string>

#include "posix_test_util.h"

namespace posix_test {
namespace {

using ChmodTest = PosixTest;
using ChownTest = PosixTest;
using UtimensatTest = PosixTest;
using TruncateTest = PosixTest;
using OpenTest = PosixTest;
using ReadWriteTest = PosixTest;

constexpr timespec kTimeA{1'000'000'000, 123'456'789};
constexpr timespec kTimeB{1'200'000'000, 987'654'321};

// ------------------------------------------------------------------------------------------------
// chmod, fchmod

TEST_F(ChmodTest, SetsEveryPermissionBitOfFilesAndDirectories) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_TRUE(MakeDir("d", 0755));
  for (mode_t mode : {00000, 00111, 00640, 00755, 01777, 04755, 02711, 07777}) {
    SCOPED_TRACE("mode " + Octal(mode));
    EXPECT_OK(chmod("f", mode));
    EXPECT_MODE("f", S_IFREG | mode);
    EXPECT_OK(chmod("d", mode));
    EXPECT_MODE("d", S_IFDIR | mode);
  }
}

TEST_F(ChmodTest, ChmodAndFchmodUpdateCtimeButNotMtime) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  const struct stat before = Lstat("f");
  Tick();
  ASSERT_OK(chmod("f", 0600));
  const struct stat after = Lstat("f");
  EXPECT_CTIME_ADVANCED(before, after);
  EXPECT_MTIME_KEPT(before, after);
  EXPECT_EQ(after.st_size, 4);
  const int fd = open("f", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  Tick();
  EXPECT_OK(fchmod(fd, 0751));
  close(fd);
  EXPECT_MODE("f", S_IFREG | 0751);
  EXPECT_CTIME_ADVANCED(after, Lstat("f"));
}

TEST_F(ChmodTest, FollowsSymlinkAndLeavesTheLinkAt0777) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_OK(symlink("f", "l"));
  EXPECT_OK(chmod("l", 0600));
  EXPECT_MODE("f", S_IFREG | 0600);
  EXPECT_MODE("l", S_IFLNK | 0777);
}

TEST_F(ChmodTest, MissingPathFailsWithENOENTAndFileComponentWithENOTDIR) {
  ASSERT_TRUE(MakeFile("f", 0644));
  EXPECT_ERRNO(ENOENT, chmod("missing", 0644));
  EXPECT_ERRNO(ENOENT, chmod("missing/f", 0644));
  EXPECT_ERRNO(ENOTDIR, chmod("f/x", 0644));
  EXPECT_MODE("f", S_IFREG | 0644);
}

TEST_F(ChmodTest, OwnerMayChmodOwnFileAndDirectory) {
  ASSERT_TRUE(MakeFile("f", 0644, kAliceUid, kAliceGid));
  ASSERT_TRUE(MakeDir("d", 0755, kAliceUid, kAliceGid));
  EXPECT_OK_AS(kAlice, chmod("f", 0400));
  EXPECT_MODE("f", S_IFREG | 0400);
  EXPECT_OK_AS(kAlice, chmod("d", 01700));
  EXPECT_MODE("d", S_IFDIR | 01700);
  EXPECT_OK_AS(kAlice, chmod("f", 04700));  // The owner may set setuid on her own file.
  EXPECT_MODE("f", S_IFREG | 04700);
}

TEST_F(ChmodTest, NonOwnerFailsWithEPERMEvenWithWritePermission) {
  ASSERT_TRUE(MakeFile("f", 0666, kAliceUid, kAliceGid));
  ASSERT_TRUE(MakeDir("d", 0777, kAliceUid, kAliceGid));
  const struct stat before = Lstat("f");
  Tick();
  EXPECT_ERRNO_AS(kBob, EPERM, chmod("f", 0600));
  EXPECT_ERRNO_AS(kNobody, EPERM, chmod("f", 0600));
  EXPECT_ERRNO_AS(kBob, EPERM, chmod("d", 0700));
  EXPECT_MODE("f", S_IFREG | 0666);
  EXPECT_MODE("d", S_IFDIR | 0777);
  EXPECT_CTIME_KEPT(before, Lstat("f"));
}

TEST_F(ChmodTest, SetgidBitIsDroppedWhenOwnerIsNotInTheGroup) {
  ASSERT_TRUE(MakeFile("f", 0755, kAliceUid, kForeignGid));
  ASSERT_TRUE(MakeDir("d", 0755, kAliceUid, kForeignGid));
  EXPECT_OK_AS(kAlice, chmod("f", 02755));
  EXPECT_MODE("f", S_IFREG | 0755);
  EXPECT_OK_AS(kAlice, chmod("d", 02775));
  EXPECT_MODE("d", S_IFDIR | 0775);
}

TEST_F(ChmodTest, SetgidBitIsKeptForAGroupMemberAndForRoot) {
  ASSERT_TRUE(MakeFile("primary", 0755, kAliceUid, kAliceGid));
  ASSERT_TRUE(MakeFile("supplementary", 0755, kAliceUid, kSharedGid));
  EXPECT_OK_AS(kAlice, chmod("primary", 02755));
  EXPECT_MODE("primary", S_IFREG | 02755);
  EXPECT_OK_AS(kAlice, chmod("supplementary", 02750));
  EXPECT_MODE("supplementary", S_IFREG | 02750);
  ASSERT_TRUE(MakeFile("foreign", 0755, kAliceUid, kForeignGid));
  EXPECT_OK(chmod("foreign", 02755));
  EXPECT_MODE("foreign", S_IFREG | 02755);
}

// ------------------------------------------------------------------------------------------------
// chown, lchown, fchown

TEST_F(ChownTest, RootSetsOwnerAndGroupAndUpdatesCtimeByPathOrDescriptor) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  const struct stat before = Lstat("f");
  Tick();
  ASSERT_OK(chown("f", kAliceUid, kSharedGid));
  const struct stat after = Lstat("f");
  EXPECT_EQ(after.st_uid, kAliceUid);
  EXPECT_EQ(after.st_gid, kSharedGid);
  EXPECT_CTIME_ADVANCED(before, after);
  EXPECT_MTIME_KEPT(before, after);
  EXPECT_EQ(after.st_size, 4);
  const int fd = open("f", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  EXPECT_OK(fchown(fd, kCarolUid, kCarolGid));
  close(fd);
  EXPECT_EQ(Lstat("f").st_uid, kCarolUid);
  EXPECT_EQ(Lstat("f").st_gid, kCarolGid);
}

TEST_F(ChownTest, MinusOneKeepsOwnerOrGroup) {
  ASSERT_TRUE(MakeFile("f", 0644, kAliceUid, kAliceGid));
  ASSERT_OK(chown("f", static_cast<uid_t>(-1), kSharedGid));
  EXPECT_EQ(Lstat("f").st_uid, kAliceUid);
  EXPECT_EQ(Lstat("f").st_gid, kSharedGid);
  ASSERT_OK(chown("f", kBobUid, static_cast<gid_t>(-1)));
  EXPECT_EQ(Lstat("f").st_uid, kBobUid);
  EXPECT_EQ(Lstat("f").st_gid, kSharedGid);
}

TEST_F(ChownTest, OwnerMayChangeGroupToOneOfHerGroups) {
  ASSERT_TRUE(MakeFile("f", 0644, kAliceUid, kAliceGid));
  EXPECT_OK_AS(kAlice, chown("f", static_cast<uid_t>(-1), kSharedGid));
  EXPECT_EQ(Lstat("f").st_gid, kSharedGid);
  EXPECT_OK_AS(kAlice, chown("f", kAliceUid, kAliceGid));  // Her own uid is no change of owner.
  EXPECT_EQ(Lstat("f").st_uid, kAliceUid);
  EXPECT_EQ(Lstat("f").st_gid, kAliceGid);
}

TEST_F(ChownTest, NonRootCannotGiveAFileAway) {
  ASSERT_TRUE(MakeFile("f", 0644, kAliceUid, kAliceGid));
  const struct stat before = Lstat("f");
  Tick();
  EXPECT_ERRNO_AS(kAlice, EPERM, chown("f", kBobUid, static_cast<gid_t>(-1)));
  EXPECT_ERRNO_AS(kAlice, EPERM, chown("f", 0, kAliceGid));
  const struct stat after = Lstat("f");
  EXPECT_EQ(after.st_uid, kAliceUid);
  EXPECT_EQ(after.st_gid, kAliceGid);
  EXPECT_CTIME_KEPT(before, after);
}

TEST_F(ChownTest, OwnerCannotChangeGroupToAGroupSheIsNotIn) {
  ASSERT_TRUE(MakeFile("f", 0644, kAliceUid, kAliceGid));
  EXPECT_ERRNO_AS(kAlice, EPERM, chown("f", static_cast<uid_t>(-1), kForeignGid));
  EXPECT_ERRNO_AS(kAlice, EPERM, lchown("f", kAliceUid, kBobGid));
  EXPECT_EQ(Lstat("f").st_gid, kAliceGid);
}

TEST_F(ChownTest, NonOwnerCannotChangeGroupEvenToHisOwn) {
  ASSERT_TRUE(MakeFile("f", 0666, kAliceUid, kSharedGid));
  EXPECT_ERRNO_AS(kBob, EPERM, chown("f", static_cast<uid_t>(-1), kBobGid));
  EXPECT_ERRNO_AS(kBob, EPERM, chown("f", static_cast<uid_t>(-1), kAliceGid));
  EXPECT_EQ(Lstat("f").st_uid, kAliceUid);
  EXPECT_EQ(Lstat("f").st_gid, kSharedGid);
}

TEST_F(ChownTest, ChownByRootOrOwnerClearsSetuidAndSetgidOfRegularFile) {
  ASSERT_TRUE(MakeFile("f", 06755));
  ASSERT_OK(chown("f", kAliceUid, kAliceGid));
  EXPECT_MODE("f", S_IFREG | 0755);
  ASSERT_TRUE(MakeFile("g", 06555, kAliceUid, kAliceGid));
  ASSERT_OK_AS(kAlice, chown("g", static_cast<uid_t>(-1), kSharedGid));
  EXPECT_MODE("g", S_IFREG | 0555);
  EXPECT_EQ(Lstat("g").st_gid, kSharedGid);
}

TEST_F(ChownTest, DirectoryKeepsSetgidBit) {
  ASSERT_TRUE(MakeDir("d", 02755));
  ASSERT_OK(chown("d", kAliceUid, kSharedGid));
  EXPECT_MODE("d", S_IFDIR | 02755);
}

TEST_F(ChownTest, LchownChangesTheSymlinkAndChownItsTarget) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_OK(symlink("f", "l"));
  ASSERT_OK(lchown("l", kAliceUid, kAliceGid));
  EXPECT_EQ(Lstat("l").st_uid, kAliceUid);
  EXPECT_EQ(Lstat("l").st_gid, kAliceGid);
  EXPECT_EQ(Lstat("f").st_uid, 0u);
  ASSERT_OK(chown("l", kBobUid, kBobGid));
  EXPECT_EQ(Lstat("f").st_uid, kBobUid);
  EXPECT_EQ(Lstat("f").st_gid, kBobGid);
  EXPECT_EQ(Lstat("l").st_uid, kAliceUid);
}

TEST_F(ChownTest, MissingPathFailsWithENOENTAndFileComponentWithENOTDIR) {
  ASSERT_TRUE(MakeFile("f", 0644));
  EXPECT_ERRNO(ENOENT, chown("missing", kAliceUid, kAliceGid));
  EXPECT_ERRNO(ENOENT, lchown("missing", kAliceUid, kAliceGid));
  EXPECT_ERRNO(ENOTDIR, chown("f/x", kAliceUid, kAliceGid));
  ASSERT_OK(symlink("missing", "dangling"));
  EXPECT_ERRNO(ENOENT, chown("dangling", kAliceUid, kAliceGid));
}

// ------------------------------------------------------------------------------------------------
// utimensat, futimens

TEST_F(UtimensatTest, SetsExplicitTimesToTheNanosecondEvenPast2038AndUpdatesCtime) {
  ASSERT_TRUE(MakeFile("f", 0644));
  const struct stat before = Lstat("f");
  Tick();
  ASSERT_OK(SetTimes("f", kTimeA, kTimeB));
  const struct stat after = Lstat("f");
  EXPECT_TS_EQ(after.st_atim, kTimeA);
  EXPECT_TS_EQ(after.st_mtim, kTimeB);
  EXPECT_CTIME_ADVANCED(before, after);
  constexpr timespec kYear2100{4'102'444'800, 1};
  constexpr timespec kYear2400{13'569'465'600, 999'999'999};
  ASSERT_OK(SetTimes("f", kYear2100, kYear2400));
  EXPECT_TS_EQ(Lstat("f").st_atim, kYear2100);
  EXPECT_TS_EQ(Lstat("f").st_mtim, kYear2400);
}

TEST_F(UtimensatTest, UtimeNowOrNullTimesSetBothTimesToTheCallTime) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_OK(SetTimes("f", kTimeA, kTimeB));
  const timespec from = Now();
  ASSERT_OK(SetTimes("f", kNow, kNow));
  const timespec to = Now();
  const struct stat after = Lstat("f");
  EXPECT_TS_NEAR(after.st_atim, from, to);
  EXPECT_TS_NEAR(after.st_mtim, from, to);
  ASSERT_OK(SetTimes("f", kTimeA, kTimeB));
  const timespec null_from = Now();
  ASSERT_OK(utimensat(AT_FDCWD, "f", nullptr, 0));
  const timespec null_to = Now();
  EXPECT_TS_NEAR(Lstat("f").st_atim, null_from, null_to);
  EXPECT_TS_NEAR(Lstat("f").st_mtim, null_from, null_to);
}

TEST_F(UtimensatTest, UtimeOmitKeepsThatTimeAndBothOmitChangeNothing) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_OK(SetTimes("f", kTimeA, kTimeB));
  ASSERT_OK(SetTimes("f", kOmit, kTimeA));
  EXPECT_TS_EQ(Lstat("f").st_atim, kTimeA);
  EXPECT_TS_EQ(Lstat("f").st_mtim, kTimeA);
  ASSERT_OK(SetTimes("f", kTimeB, kOmit));
  EXPECT_TS_EQ(Lstat("f").st_atim, kTimeB);
  EXPECT_TS_EQ(Lstat("f").st_mtim, kTimeA);
  const timespec from = Now();
  ASSERT_OK(SetTimes("f", kOmit, kNow));
  EXPECT_TS_EQ(Lstat("f").st_atim, kTimeB);
  EXPECT_TS_NEAR(Lstat("f").st_mtim, from, Now());
  ASSERT_OK(SetTimes("f", kTimeA, kTimeB));
  const struct stat before = Lstat("f");
  Tick();
  ASSERT_OK(SetTimes("f", kOmit, kOmit));
  const struct stat after = Lstat("f");
  EXPECT_TS_EQ(after.st_atim, kTimeA);
  EXPECT_TS_EQ(after.st_mtim, kTimeB);
  EXPECT_CTIME_KEPT(before, after);
}

TEST_F(UtimensatTest, SymlinkNofollowSetsTheLinkItself) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_OK(SetTimes("f", kTimeA, kTimeA));
  ASSERT_OK(symlink("f", "l"));
  ASSERT_OK(SetTimes("l", kTimeB, kTimeB, AT_SYMLINK_NOFOLLOW));
  EXPECT_TS_EQ(Lstat("l").st_mtim, kTimeB);
  EXPECT_TS_EQ(Lstat("l").st_atim, kTimeB);
  EXPECT_TS_EQ(Lstat("f").st_mtim, kTimeA);
  ASSERT_OK(SetTimes("l", kTimeB, kTimeB));  // Without the flag: the target.
  EXPECT_TS_EQ(Lstat("f").st_mtim, kTimeB);
}

TEST_F(UtimensatTest, FutimensSetsTimesThroughDescriptor) {
  ASSERT_TRUE(MakeFile("f", 0644));
  const int fd = open("f", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  const timespec times[2] = {kTimeB, kTimeA};
  EXPECT_OK(futimens(fd, times));
  close(fd);
  EXPECT_TS_EQ(Lstat("f").st_atim, kTimeB);
  EXPECT_TS_EQ(Lstat("f").st_mtim, kTimeA);
}

TEST_F(UtimensatTest, InvalidNanosecondsFailWithEINVALAndMissingFileWithENOENT) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_OK(SetTimes("f", kTimeA, kTimeB));
  EXPECT_ERRNO(EINVAL, SetTimes("f", timespec{0, 1'000'000'000}, kTimeB));
  EXPECT_ERRNO(EINVAL, SetTimes("f", kTimeA, timespec{0, -1}));
  EXPECT_ERRNO(ENOENT, SetTimes("missing", kTimeA, kTimeB));
  EXPECT_TS_EQ(Lstat("f").st_mtim, kTimeB);
}

TEST_F(UtimensatTest, NonOwnerWithWritePermissionMayUseNowForBoth) {
  ASSERT_TRUE(MakeFile("f", 0666, kAliceUid, kAliceGid));
  ASSERT_OK(SetTimes("f", kTimeA, kTimeA));
  timespec from = Now();
  EXPECT_OK_AS(kCarol, SetTimes("f", kNow, kNow));
  EXPECT_TS_NEAR(Lstat("f").st_atim, from, Now());
  EXPECT_TS_NEAR(Lstat("f").st_mtim, from, Now());
  ASSERT_OK(SetTimes("f", kTimeA, kTimeA));
  from = Now();
  EXPECT_OK_AS(kCarol, utimensat(AT_FDCWD, "f", nullptr, 0));
  EXPECT_TS_NEAR(Lstat("f").st_mtim, from, Now());
}

TEST_F(UtimensatTest, NonOwnerWithWritePermissionCannotSetAnythingElse) {
  ASSERT_TRUE(MakeFile("f", 0666, kAliceUid, kAliceGid));
  ASSERT_OK(SetTimes("f", kTimeA, kTimeA));
  EXPECT_ERRNO_AS(kCarol, EPERM, SetTimes("f", kTimeB, kTimeB));
  EXPECT_ERRNO_AS(kCarol, EPERM, SetTimes("f", kNow, kTimeB));
  EXPECT_ERRNO_AS(kCarol, EPERM, SetTimes("f", kNow, kOmit));
  EXPECT_ERRNO_AS(kCarol, EPERM, SetTimes("f", kOmit, kNow));
  EXPECT_TS_EQ(Lstat("f").st_atim, kTimeA);
  EXPECT_TS_EQ(Lstat("f").st_mtim, kTimeA);
}

TEST_F(UtimensatTest, NonOwnerWithoutWritePermissionGetsEACCESForNowAndEPERMOtherwise) {
  ASSERT_TRUE(MakeFile("f", 0644, kAliceUid, kAliceGid));
  ASSERT_OK(SetTimes("f", kTimeA, kTimeA));
  EXPECT_ERRNO_AS(kCarol, EACCES, SetTimes("f", kNow, kNow));
  EXPECT_ERRNO_AS(kCarol, EACCES, utimensat(AT_FDCWD, "f", nullptr, 0));
  EXPECT_ERRNO_AS(kCarol, EPERM, SetTimes("f", kTimeB, kTimeB));
  EXPECT_TS_EQ(Lstat("f").st_mtim, kTimeA);
}

TEST_F(UtimensatTest, OwnerMaySetAnyTimesWithoutWritePermission) {
  ASSERT_TRUE(MakeFile("f", 0444, kAliceUid, kAliceGid));
  EXPECT_OK_AS(kAlice, SetTimes("f", kTimeA, kTimeB));
  EXPECT_TS_EQ(Lstat("f").st_atim, kTimeA);
  EXPECT_TS_EQ(Lstat("f").st_mtim, kTimeB);
  const timespec from = Now();
  EXPECT_OK_AS(kAlice, utimensat(AT_FDCWD, "f", nullptr, 0));
  EXPECT_TS_NEAR(Lstat("f").st_mtim, from, Now());
}

// ------------------------------------------------------------------------------------------------
// truncate, ftruncate

TEST_F(TruncateTest, GrowingReadsZeroesPastTheOldEnd) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "abc"));
  ASSERT_OK(truncate("f", 10000));
  EXPECT_EQ(Lstat("f").st_size, 10000);
  EXPECT_EQ(ReadAll("f"), "abc" + std::string(9997, '\0'));
  const int fd = open("f", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  EXPECT_OK(ftruncate(fd, (1 << 20) + 1));
  close(fd);
  EXPECT_EQ(Lstat("f").st_size, (1 << 20) + 1);
  EXPECT_EQ(ReadAll("f"), "abc" + std::string((1 << 20) - 2, '\0'));
}

TEST_F(TruncateTest, ShrinkingDropsTheDataBeyondTheNewSize) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, std::string(20000, 'x')));
  ASSERT_OK(truncate("f", 100));
  EXPECT_EQ(Lstat("f").st_size, 100);
  EXPECT_EQ(ReadAll("f"), std::string(100, 'x'));
  ASSERT_OK(truncate("f", 20000));  // Growing again shows zeroes, not the old bytes.
  EXPECT_EQ(ReadAll("f"), std::string(100, 'x') + std::string(19900, '\0'));
  ASSERT_OK(truncate("f", 0));
  EXPECT_EQ(Lstat("f").st_size, 0);
  EXPECT_EQ(ReadAll("f"), "");
}

TEST_F(TruncateTest, ChangingTheSizeUpdatesMtimeAndCtime) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  EXPECT_UPDATES_MTIME_CTIME("f", truncate("f", 1));
  EXPECT_UPDATES_MTIME_CTIME("f", truncate("f", 5000));
  const int fd = open("f", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  EXPECT_UPDATES_MTIME_CTIME("f", ftruncate(fd, 2));
  EXPECT_UPDATES_MTIME_CTIME("f", ftruncate(fd, 70000));
  close(fd);
}

TEST_F(TruncateTest, DirectoryFailsWithEISDIRMissingWithENOENTFileComponentWithENOTDIR) {
  ASSERT_TRUE(MakeDir("d", 0777));
  ASSERT_TRUE(MakeFile("f", 0644));
  EXPECT_ERRNO(EISDIR, truncate("d", 0));
  EXPECT_ERRNO_AS(kAlice, EISDIR, truncate("d", 0));
  EXPECT_ERRNO(ENOENT, truncate("missing", 0));
  EXPECT_ERRNO(ENOTDIR, truncate("f/x", 0));
}

TEST_F(TruncateTest, NegativeLengthOrReadOnlyDescriptorFailsWithEINVAL) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  EXPECT_ERRNO(EINVAL, truncate("f", -1));
  const int fd = open("f", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  EXPECT_ERRNO(EINVAL, ftruncate(fd, -4096));
  close(fd);
  const int read_only = open("f", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(read_only, 0) << ErrnoName(errno);
  POSIX_EXPECT_(FailedWith("ftruncate(read-only fd, 0)", {EINVAL, EBADF},
                           POSIX_CALL_(ftruncate(read_only, 0))));
  close(read_only);
  EXPECT_EQ(Lstat("f").st_size, 4);
}

TEST_F(TruncateTest, WithoutWritePermissionFailsWithEACCES) {
  ASSERT_TRUE(MakeFile("others", 0644, kAliceUid, kAliceGid, "data"));
  ASSERT_TRUE(MakeFile("own", 0444, kAliceUid, kAliceGid, "data"));
  EXPECT_ERRNO_AS(kCarol, EACCES, truncate("others", 0));
  EXPECT_ERRNO_AS(kAlice, EACCES, truncate("own", 0));  // The owner too: no write bit.
  EXPECT_EQ(Lstat("others").st_size, 4);
  EXPECT_EQ(Lstat("own").st_size, 4);
  ASSERT_OK(chmod("others", 0646));
  EXPECT_OK_AS(kCarol, truncate("others", 1));
  EXPECT_EQ(Lstat("others").st_size, 1);
}

// Creates `path` with `mode` and truncates it to `size` through the same descriptor.
int CreateAndFtruncate(const char* path, mode_t mode, off_t size) {
  const int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  const int ret = ftruncate(fd, size);
  close(fd);
  return ret;
}

// The permission is checked at open: a descriptor opened for writing may truncate a file whose
// mode (set by that same create) has no write bit.
TEST_F(TruncateTest, FtruncateOnWritableDescriptorIgnoresModeBits) {
  EXPECT_OK_AS(kAlice, CreateAndFtruncate("f", 0444, 100));
  EXPECT_MODE("f", S_IFREG | 0444);
  EXPECT_EQ(Lstat("f").st_size, 100);
}

TEST_F(TruncateTest, NonRootTruncateClearsSetuidAndSetgid) {
  ASSERT_TRUE(MakeFile("f", 06775, kAliceUid, kAliceGid, "data"));
  ASSERT_OK_AS(kAlice, truncate("f", 1));
  EXPECT_MODE("f", S_IFREG | 0775);
  EXPECT_EQ(Lstat("f").st_size, 1);
}

// ------------------------------------------------------------------------------------------------
// open

TEST_F(OpenTest, OCreatMakesAnEmptyFileOwnedByTheCallerWithTheMaskedMode) {
  ASSERT_OK_AS(kAlice, TryOpen("f", O_WRONLY | O_CREAT, 0666));
  const struct stat st = Lstat("f");
  EXPECT_MODE("f", S_IFREG | 0644);
  EXPECT_EQ(st.st_uid, kAliceUid);
  EXPECT_EQ(st.st_gid, kAliceGid);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(st.st_size, 0);
  EXPECT_TS_EQ(st.st_mtim, st.st_ctim);
  umask(0);
  ASSERT_OK(TryOpen("g", O_WRONLY | O_CREAT, 0757));
  EXPECT_MODE("g", S_IFREG | 0757);
}

TEST_F(OpenTest, OCreatUpdatesParentMtimeAndCtime) {
  ASSERT_TRUE(MakeDir("d", 0755));
  EXPECT_UPDATES_MTIME_CTIME("d", TryOpen("d/f", O_WRONLY | O_CREAT, 0644));
}

TEST_F(OpenTest, OCreatOExclOnAnyExistingNameFailsWithEEXIST) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_TRUE(MakeDir("d", 0755));
  ASSERT_OK(symlink("f", "link"));
  ASSERT_OK(symlink("missing", "dangling"));
  for (const char* name : {"f", "d", "link", "dangling"}) {
    SCOPED_TRACE(name);
    EXPECT_ERRNO(EEXIST, TryOpen(name, O_WRONLY | O_CREAT | O_EXCL, 0644));
  }
  EXPECT_FALSE(Exists("missing"));
}

TEST_F(OpenTest, OCreatOnExistingFileKeepsModeOwnerAndData) {
  ASSERT_TRUE(MakeFile("f", 0600, kAliceUid, kAliceGid, "data"));
  ASSERT_OK(TryOpen("f", O_RDWR | O_CREAT, 0777));
  EXPECT_MODE("f", S_IFREG | 0600);
  EXPECT_EQ(Lstat("f").st_uid, kAliceUid);
  EXPECT_EQ(ReadAll("f"), "data");
}

TEST_F(OpenTest, OpeningADirectoryForWritingFailsWithEISDIR) {
  ASSERT_TRUE(MakeDir("d", 0777));
  EXPECT_ERRNO(EISDIR, TryOpen("d", O_WRONLY));
  EXPECT_ERRNO(EISDIR, TryOpen("d", O_RDWR));
  EXPECT_ERRNO(EISDIR, TryOpen("d", O_WRONLY | O_CREAT, 0644));
  EXPECT_ERRNO_AS(kAlice, EISDIR, TryOpen("d", O_RDWR));
  EXPECT_OK(TryOpen("d", O_RDONLY));
  EXPECT_OK(TryOpen("d", O_RDONLY | O_DIRECTORY));
}

TEST_F(OpenTest, FileAsDirectoryFailsWithENOTDIRAndMissingNameWithENOENT) {
  ASSERT_TRUE(MakeFile("f", 0644));
  EXPECT_ERRNO(ENOTDIR, TryOpen("f/x", O_RDONLY));
  EXPECT_ERRNO(ENOTDIR, TryOpen("f/x", O_WRONLY | O_CREAT, 0644));
  EXPECT_ERRNO(ENOTDIR, TryOpen("f", O_RDONLY | O_DIRECTORY));
  EXPECT_ERRNO(ENOENT, TryOpen("missing", O_RDONLY));
  EXPECT_ERRNO(ENOENT, TryOpen("missing", O_RDWR | O_TRUNC));
  EXPECT_ERRNO(ENOENT, TryOpen("missing/f", O_WRONLY | O_CREAT, 0644));
  EXPECT_ERRNO(ENOENT, TryOpen("", O_RDONLY));
  EXPECT_FALSE(Exists("missing"));
}

TEST_F(OpenTest, OTruncEmptiesTheFileAndUpdatesMtimeAndCtime) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, std::string(10000, 'x')));
  EXPECT_UPDATES_MTIME_CTIME("f", TryOpen("f", O_WRONLY | O_TRUNC));
  EXPECT_EQ(Lstat("f").st_size, 0);
  EXPECT_EQ(ReadAll("f"), "");
}

TEST_F(OpenTest, OpenWithoutTruncChangesNoTimes) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  ASSERT_OK(SetTimes("f", kTimeA, kTimeB));
  const struct stat before = Lstat("f");
  Tick();
  ASSERT_OK(TryOpen("f", O_RDWR));
  ASSERT_OK(TryOpen("f", O_WRONLY | O_CREAT, 0600));
  const struct stat after = Lstat("f");
  EXPECT_MTIME_KEPT(before, after);
  EXPECT_CTIME_KEPT(before, after);
  EXPECT_EQ(after.st_size, 4);
}

// Sets "f" (Alice's, group kAliceGid) to `mode` and opens it as `who` for reading, for writing
// and for both: each must work exactly when the permission bits of who's class allow it.
void CheckOpenAccess(const User& who, const char* who_name, mode_t mode, bool can_read,
                     bool can_write) {
  SCOPED_TRACE(std::string(who_name) + ", mode " + Octal(mode));
  ASSERT_OK(chmod("f", mode));
  const struct {
    int flags;
    const char* text;
    bool allowed;
  } cases[] = {{O_RDONLY, "open(O_RDONLY)", can_read},
               {O_WRONLY, "open(O_WRONLY)", can_write},
               {O_RDWR, "open(O_RDWR)", can_read && can_write}};
  for (const auto& c : cases) {
    const SysResult result = CallAs(who, [&] { return TryOpen("f", c.flags); });
    if (c.allowed) {
      POSIX_EXPECT_(Succeeded(c.text, result));
    } else {
      POSIX_EXPECT_(FailedWith(c.text, {EACCES}, result));
    }
  }
}

TEST_F(OpenTest, OwnerIsGrantedExactlyTheOwnerBits) {
  ASSERT_TRUE(MakeFile("f", 0, kAliceUid, kAliceGid));
  for (mode_t mode : {0400, 0200, 0600, 0000, 0077, 0500}) {
    CheckOpenAccess(kAlice, "owner", mode, mode & 0400, mode & 0200);
  }
}

TEST_F(OpenTest, GroupMemberIsGrantedExactlyTheGroupBits) {
  ASSERT_TRUE(MakeFile("f", 0, kAliceUid, kAliceGid));
  for (mode_t mode : {0040, 0020, 0060, 0000, 0606, 0707}) {
    CheckOpenAccess(kBob, "group member", mode, mode & 0040, mode & 0020);
  }
}

TEST_F(OpenTest, OtherUserIsGrantedExactlyTheOtherBits) {
  ASSERT_TRUE(MakeFile("f", 0, kAliceUid, kAliceGid));
  for (mode_t mode : {0004, 0002, 0006, 0000, 0660, 0770}) {
    CheckOpenAccess(kCarol, "other", mode, mode & 0004, mode & 0002);
  }
}

TEST_F(OpenTest, RootIgnoresPermissionBits) {
  ASSERT_TRUE(MakeFile("f", 0000, kAliceUid, kAliceGid, "data"));
  EXPECT_OK(TryOpen("f", O_RDWR));
  EXPECT_EQ(ReadAll("f"), "data");
}

TEST_F(OpenTest, NeedsSearchPermissionOnTheParentAndWritePermissionToCreate) {
  ASSERT_TRUE(MakeDir("ro", 0755));
  ASSERT_TRUE(MakeDir("noexec", 0776));
  ASSERT_TRUE(MakeFile("noexec/f", 0666));
  EXPECT_ERRNO_AS(kAlice, EACCES, TryOpen("ro/f", O_WRONLY | O_CREAT, 0644));
  EXPECT_ERRNO_AS(kAlice, EACCES, TryOpen("noexec/g", O_WRONLY | O_CREAT, 0644));
  EXPECT_ERRNO_AS(kAlice, EACCES, TryOpen("noexec/f", O_RDONLY));
  EXPECT_FALSE(Exists("ro/f"));
  EXPECT_FALSE(Exists("noexec/g"));
}

TEST_F(OpenTest, NameOf255BytesWorksAnd256FailsWithENAMETOOLONG) {
  const std::string name255(255, 'n');
  const std::string name256(256, 'n');
  ASSERT_OK(TryOpen(name255.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644));
  EXPECT_MODE(name255, S_IFREG | 0644);
  EXPECT_EQ(ListDir("."), std::vector<std::string>{name255});
  EXPECT_ERRNO(ENAMETOOLONG, TryOpen(name256.c_str(), O_WRONLY | O_CREAT, 0644));
  EXPECT_ERRNO(ENAMETOOLONG, TryOpen(name256.c_str(), O_RDONLY));
  EXPECT_OK(unlink(name255.c_str()));
  EXPECT_TRUE(ListDir(".").empty());
}

TEST_F(OpenTest, ONofollowOnASymlinkFailsWithELOOP) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_OK(symlink("f", "l"));
  EXPECT_ERRNO(ELOOP, TryOpen("l", O_RDONLY | O_NOFOLLOW));
  EXPECT_ERRNO(ELOOP, TryOpen("l", O_WRONLY | O_CREAT | O_NOFOLLOW, 0644));
  EXPECT_OK(TryOpen("f", O_RDONLY | O_NOFOLLOW));
  EXPECT_OK(TryOpen("l", O_RDONLY));
}

TEST_F(OpenTest, SymlinkLoopFailsWithELOOP) {
  ASSERT_OK(symlink("b", "a"));
  ASSERT_OK(symlink("a", "b"));
  ASSERT_OK(symlink("self", "self"));
  EXPECT_ERRNO(ELOOP, TryOpen("a", O_RDONLY));
  EXPECT_ERRNO(ELOOP, TryOpen("self", O_WRONLY | O_CREAT, 0644));
  struct stat st {};
  EXPECT_ERRNO(ELOOP, stat("a/x", &st));
}

TEST_F(OpenTest, OCreatThroughADanglingSymlinkCreatesTheTarget) {
  ASSERT_TRUE(MakeDir("d", 0755));
  ASSERT_OK(symlink("d/target", "l"));
  ASSERT_OK(TryOpen("l", O_WRONLY | O_CREAT, 0600));
  EXPECT_MODE("d/target", S_IFREG | 0600);
  EXPECT_MODE("l", S_IFLNK | 0777);
}

// ------------------------------------------------------------------------------------------------
// read, write

TEST_F(ReadWriteTest, WritesReadBackAtAnyOffsetWithHolesAsZeroesThroughTheRightDescriptors) {
  const int fd = open("f", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  EXPECT_EQ(pwrite(fd, "head", 4, 0), 4);
  EXPECT_EQ(pwrite(fd, "tail", 4, 3 << 20), 4);
  EXPECT_EQ(Lstat("f").st_size, (3 << 20) + 4);
  char buffer[8] = {};
  EXPECT_EQ(pread(fd, buffer, 8, 0), 8);
  EXPECT_EQ(std::string(buffer, 8), std::string("head\0\0\0\0", 8));
  EXPECT_EQ(pread(fd, buffer, 8, (3 << 20) - 4), 8);
  EXPECT_EQ(std::string(buffer, 8), std::string("\0\0\0\0tail", 8));
  EXPECT_EQ(pread(fd, buffer, 8, (3 << 20) + 4), 0);  // At the end: nothing.
  close(fd);
  const int reader = open("f", O_RDONLY | O_CLOEXEC);
  const int writer = open("f", O_WRONLY | O_CLOEXEC);
  ASSERT_GE(reader, 0) << ErrnoName(errno);
  ASSERT_GE(writer, 0) << ErrnoName(errno);
  EXPECT_ERRNO(EBADF, write(reader, "x", 1));
  EXPECT_ERRNO(EBADF, read(writer, buffer, sizeof(buffer)));
  close(reader);
  close(writer);
  EXPECT_EQ(Lstat("f").st_size, (3 << 20) + 4);
}

TEST_F(ReadWriteTest, WriteUpdatesMtimeAndCtimeAndReadDoesNot) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  const int fd = open("f", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  EXPECT_UPDATES_MTIME_CTIME("f", pwrite(fd, "DA", 2, 0));
  const struct stat before = Lstat("f");
  Tick();
  char buffer[4];
  EXPECT_EQ(pread(fd, buffer, 4, 0), 4);
  close(fd);
  const struct stat after = Lstat("f");
  EXPECT_MTIME_KEPT(before, after);
  EXPECT_CTIME_KEPT(before, after);
  EXPECT_EQ(ReadAll("f"), "DAta");
}

TEST_F(ReadWriteTest, OAppendWritesAtTheEnd) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  const int fd = open("f", O_WRONLY | O_APPEND | O_CLOEXEC);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  ASSERT_EQ(lseek(fd, 0, SEEK_SET), 0);
  EXPECT_EQ(write(fd, "++", 2), 2);
  close(fd);
  EXPECT_EQ(ReadAll("f"), "data++");
}

// Opens `path` for writing and writes `data` at `offset`: the pwrite result, or -1.
ssize_t WriteAt(const char* path, const std::string& data, off_t offset) {
  const int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  const ssize_t written = pwrite(fd, data.data(), data.size(), offset);
  close(fd);
  return written;
}

TEST_F(ReadWriteTest, NonRootWriteClearsSetuidAndSetgid) {
  ASSERT_TRUE(MakeFile("f", 06777, kAliceUid, kAliceGid, "data"));
  EXPECT_OK_AS(kCarol, WriteAt("f", "x", 0));
  EXPECT_MODE("f", S_IFREG | 0777);
  EXPECT_EQ(ReadAll("f"), "xata");
}

}  // namespace
}  // namespace posix_test
