// POSIX conformance suite, part two: the calls that change names — link, mkdir, mkfifo, mknod,
// rename, rmdir, symlink/readlink and unlink — with their errors, the permission and sticky-bit
// rules for callers other than root, link counts, and the times of the inodes and parents they
// touch. How the suite runs: see posix_conformance_test.cc.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "posix_test_util.h"

namespace posix_test {
namespace {

using LinkTest = PosixTest;
using MkdirTest = PosixTest;
using MkfifoTest = PosixTest;
using MknodTest = PosixTest;
using RenameTest = PosixTest;
using RmdirTest = PosixTest;
using SymlinkTest = PosixTest;
using UnlinkTest = PosixTest;
using NameLengthTest = PosixTest;

// POSIX lets a call that needs an empty directory fail with ENOTEMPTY or EEXIST.
#define EXPECT_NOT_EMPTY_ERROR(expr) \
  POSIX_EXPECT_(::posix_test::FailedWith(#expr, {ENOTEMPTY, EEXIST}, POSIX_CALL_(expr)))

// The names in directory `path`, sorted.
std::vector<std::string> SortedNames(const std::string& path) {
  std::vector<std::string> names = ListDir(path);
  std::sort(names.begin(), names.end());
  return names;
}

// readlink(2) of `path` as a string; "<error>" when it fails.
std::string ReadLink(const std::string& path) {
  char buffer[8192];
  const ssize_t got = readlink(path.c_str(), buffer, sizeof(buffer));
  return got < 0 ? "<error>" : std::string(buffer, got);
}

// ------------------------------------------------------------------------------------------------
// link

TEST_F(LinkTest, NewNameSharesTheInodeAndBothCountTheLinks) {
  ASSERT_TRUE(MakeFile("f", 0640, kAliceUid, kAliceGid, "data"));
  ASSERT_OK(link("f", "g"));
  EXPECT_EQ(Lstat("g").st_ino, Lstat("f").st_ino);
  EXPECT_EQ(Lstat("f").st_nlink, 2u);
  EXPECT_EQ(Lstat("g").st_nlink, 2u);
  EXPECT_MODE("g", S_IFREG | 0640);
  EXPECT_EQ(Lstat("g").st_uid, kAliceUid);
  EXPECT_EQ(ReadAll("g"), "data");
  ASSERT_TRUE(MakeDir("d", 0755));
  ASSERT_OK(link("g", "d/h"));
  EXPECT_EQ(Lstat("f").st_nlink, 3u);
  EXPECT_EQ(Lstat("d/h").st_nlink, 3u);
}

TEST_F(LinkTest, UpdatesCtimeOfTheFileAndMtimeCtimeOfTheNewParent) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  ASSERT_TRUE(MakeDir("d", 0755));
  const struct stat file_before = Lstat("f");
  EXPECT_UPDATES_MTIME_CTIME("d", link("f", "d/g"));
  const struct stat file_after = Lstat("f");
  EXPECT_CTIME_ADVANCED(file_before, file_after);
  EXPECT_MTIME_KEPT(file_before, file_after);
}

TEST_F(LinkTest, ExistingNewNameFailsWithEEXIST) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_TRUE(MakeFile("g", 0644));
  ASSERT_TRUE(MakeDir("d", 0755));
  ASSERT_OK(symlink("missing", "dangling"));
  EXPECT_ERRNO(EEXIST, link("f", "g"));
  EXPECT_ERRNO(EEXIST, link("f", "d"));
  EXPECT_ERRNO(EEXIST, link("f", "dangling"));
  EXPECT_ERRNO(EEXIST, link("f", "f"));
  EXPECT_EQ(Lstat("f").st_nlink, 1u);
  EXPECT_NE(Lstat("g").st_ino, Lstat("f").st_ino);
}

TEST_F(LinkTest, MissingSourceOrParentFailsWithENOENTAndFileComponentWithENOTDIR) {
  ASSERT_TRUE(MakeFile("f", 0644));
  EXPECT_ERRNO(ENOENT, link("missing", "g"));
  EXPECT_ERRNO(ENOENT, link("f", "missing/g"));
  EXPECT_FALSE(Exists("g"));
  EXPECT_ERRNO(ENOTDIR, link("f/x", "g"));
  EXPECT_ERRNO(ENOTDIR, link("f", "f/g"));
  EXPECT_EQ(Lstat("f").st_nlink, 1u);
}

TEST_F(LinkTest, DirectoryFailsWithEPERM) {
  ASSERT_TRUE(MakeDir("d", 0755));
  EXPECT_ERRNO(EPERM, link("d", "e"));
  EXPECT_ERRNO_AS(kAlice, EPERM, link("d", "e"));
  EXPECT_FALSE(Exists("e"));
  EXPECT_EQ(Lstat("d").st_nlink, 2u);
}

TEST_F(LinkTest, UnlinkingOneNameLeavesTheOthersAndCountsDown) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  ASSERT_OK(link("f", "g"));
  ASSERT_OK(link("f", "h"));
  const struct stat before = Lstat("f");
  Tick();
  ASSERT_OK(unlink("g"));
  const struct stat after = Lstat("f");
  EXPECT_EQ(after.st_nlink, 2u);
  EXPECT_CTIME_ADVANCED(before, after);
  EXPECT_FALSE(Exists("g"));
  ASSERT_OK(unlink("f"));
  EXPECT_EQ(Lstat("h").st_nlink, 1u);
  EXPECT_EQ(ReadAll("h"), "data");
}

TEST_F(LinkTest, LinksTheSymlinkItselfNotItsTarget) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_OK(symlink("f", "l"));
  ASSERT_OK(link("l", "m"));
  EXPECT_MODE("m", S_IFLNK | 0777);
  EXPECT_EQ(Lstat("m").st_ino, Lstat("l").st_ino);
  EXPECT_EQ(Lstat("l").st_nlink, 2u);
  EXPECT_EQ(Lstat("f").st_nlink, 1u);
  EXPECT_EQ(ReadLink("m"), "f");
}

TEST_F(LinkTest, NeedsWritePermissionOnTheNewParent) {
  ASSERT_TRUE(MakeFile("f", 0644, kAliceUid, kAliceGid));
  ASSERT_TRUE(MakeDir("ro", 0755));
  EXPECT_ERRNO_AS(kAlice, EACCES, link("f", "ro/g"));
  EXPECT_EQ(Lstat("f").st_nlink, 1u);
  EXPECT_OK_AS(kAlice, link("f", "g"));
  EXPECT_EQ(Lstat("f").st_nlink, 2u);
}

// ------------------------------------------------------------------------------------------------
// mkdir

TEST_F(MkdirTest, ModeIsMaskedByTheUmask) {
  ASSERT_OK(mkdir("a", 0777));
  EXPECT_MODE("a", S_IFDIR | 0755);
  umask(0);
  ASSERT_OK(mkdir("b", 0751));
  EXPECT_MODE("b", S_IFDIR | 0751);
  ASSERT_OK(mkdir("sticky", 01777));
  EXPECT_MODE("sticky", S_IFDIR | 01777);
  umask(077);
  ASSERT_OK(mkdir("c", 0777));
  EXPECT_MODE("c", S_IFDIR | 0700);
}

TEST_F(MkdirTest, NewDirectoryIsEmptyWithTwoLinksAndOwnedByTheCaller) {
  ASSERT_OK_AS(kAlice, mkdir("d", 0775));
  const struct stat st = Lstat("d");
  EXPECT_MODE("d", S_IFDIR | 0755);
  EXPECT_EQ(st.st_uid, kAliceUid);
  EXPECT_EQ(st.st_gid, kAliceGid);
  EXPECT_EQ(st.st_nlink, 2u);
  EXPECT_TRUE(ListDir("d").empty());
  EXPECT_EQ(Lstat("d/..").st_ino, Lstat(".").st_ino);
  EXPECT_EQ(Lstat("d/.").st_ino, st.st_ino);
}

TEST_F(MkdirTest, TimesOfTheNewDirectoryAreTheCallTime) {
  const timespec from = Now();
  ASSERT_OK(mkdir("d", 0755));
  const timespec to = Now();
  const struct stat st = Lstat("d");
  EXPECT_TS_NEAR(st.st_atim, from, to);
  EXPECT_TS_NEAR(st.st_mtim, from, to);
  EXPECT_TS_NEAR(st.st_ctim, from, to);
  EXPECT_TS_EQ(st.st_mtim, st.st_ctim);
}

TEST_F(MkdirTest, ExistingNameFailsWithEEXIST) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_TRUE(MakeDir("d", 0700));
  ASSERT_OK(symlink("missing", "dangling"));
  for (const char* name : {"f", "d", "dangling", "."}) {
    SCOPED_TRACE(name);
    EXPECT_ERRNO(EEXIST, mkdir(name, 0755));
  }
  EXPECT_MODE("d", S_IFDIR | 0700);
  EXPECT_FALSE(Exists("missing"));
}

TEST_F(MkdirTest, MissingParentFailsWithENOENTAndFileParentWithENOTDIR) {
  ASSERT_TRUE(MakeFile("f", 0644));
  EXPECT_ERRNO(ENOENT, mkdir("missing/d", 0755));
  EXPECT_ERRNO(ENOENT, mkdir("missing/x/d", 0755));
  EXPECT_ERRNO(ENOTDIR, mkdir("f/d", 0755));
}

TEST_F(MkdirTest, AddsALinkToTheParentAndUpdatesItsTimes) {
  ASSERT_TRUE(MakeDir("p", 0755));
  EXPECT_UPDATES_MTIME_CTIME("p", mkdir("p/c", 0755));
  EXPECT_EQ(Lstat("p").st_nlink, 3u);
  ASSERT_OK(mkdir("p/c2", 0755));
  EXPECT_EQ(Lstat("p").st_nlink, 4u);
  ASSERT_TRUE(MakeFile("p/file", 0644));  // A file adds no link to its parent.
  EXPECT_EQ(Lstat("p").st_nlink, 4u);
}

TEST_F(MkdirTest, NeedsWriteAndSearchPermissionOnTheParent) {
  ASSERT_TRUE(MakeDir("ro", 0755));
  ASSERT_TRUE(MakeDir("noexec", 0776));
  EXPECT_ERRNO_AS(kAlice, EACCES, mkdir("ro/d", 0755));
  EXPECT_ERRNO_AS(kAlice, EACCES, mkdir("noexec/d", 0755));
  EXPECT_FALSE(Exists("ro/d"));
  EXPECT_FALSE(Exists("noexec/d"));
  EXPECT_OK_AS(kAlice, mkdir("d", 0755));
}

TEST_F(MkdirTest, SetgidParentPassesItsGroupAndTheSetgidBitDown) {
  ASSERT_TRUE(MakeDir("g", 02777, 0, kForeignGid));
  ASSERT_OK_AS(kAlice, mkdir("g/sub", 0755));
  EXPECT_MODE("g/sub", S_IFDIR | 02755);
  EXPECT_EQ(Lstat("g/sub").st_uid, kAliceUid);
  EXPECT_EQ(Lstat("g/sub").st_gid, kForeignGid);
  ASSERT_OK_AS(kAlice, TryOpen("g/file", O_WRONLY | O_CREAT, 0644));
  EXPECT_MODE("g/file", S_IFREG | 0644);
  EXPECT_EQ(Lstat("g/file").st_gid, kForeignGid);
}

// ------------------------------------------------------------------------------------------------
// mkfifo

TEST_F(MkfifoTest, CreatesAFifoWithTheMaskedModeOwnedByTheCaller) {
  ASSERT_OK_AS(kAlice, mkfifo("p", 0666));
  const struct stat st = Lstat("p");
  EXPECT_MODE("p", S_IFIFO | 0644);
  EXPECT_EQ(st.st_uid, kAliceUid);
  EXPECT_EQ(st.st_gid, kAliceGid);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(st.st_size, 0);
}

TEST_F(MkfifoTest, ExistingNameFailsWithEEXISTAndBadParentWithENOENTOrENOTDIR) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_TRUE(MakeDir("d", 0755));
  ASSERT_OK(mkfifo("p", 0644));
  for (const char* name : {"f", "d", "p"}) {
    SCOPED_TRACE(name);
    EXPECT_ERRNO(EEXIST, mkfifo(name, 0644));
  }
  EXPECT_MODE("f", S_IFREG | 0644);
  EXPECT_ERRNO(ENOENT, mkfifo("missing/p", 0644));
  EXPECT_ERRNO(ENOTDIR, mkfifo("f/p", 0644));
}

TEST_F(MkfifoTest, UpdatesParentTimesAndNeedsWritePermissionOnIt) {
  ASSERT_TRUE(MakeDir("d", 0755));
  EXPECT_UPDATES_MTIME_CTIME("d", mkfifo("d/p", 0644));
  EXPECT_ERRNO_AS(kAlice, EACCES, mkfifo("d/q", 0644));
  EXPECT_FALSE(Exists("d/q"));
}

TEST_F(MkfifoTest, CarriesDataFromWriterToReader) {
  ASSERT_OK(mkfifo("p", 0600));
  const int reader = open("p", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0) << ErrnoName(errno);
  const int writer = open("p", O_WRONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(writer, 0) << ErrnoName(errno);
  EXPECT_EQ(write(writer, "hello", 5), 5);
  char buffer[16] = {};
  EXPECT_EQ(read(reader, buffer, sizeof(buffer)), 5);
  EXPECT_STREQ(buffer, "hello");
  close(writer);
  close(reader);
  EXPECT_EQ(Lstat("p").st_size, 0);
}

// ------------------------------------------------------------------------------------------------
// mknod

TEST_F(MknodTest, RootCreatesCharacterDevice) {
  ASSERT_OK(mknod("c", S_IFCHR | 0666, makedev(1, 3)));
  const struct stat st = Lstat("c");
  EXPECT_MODE("c", S_IFCHR | 0644);
  EXPECT_EQ(major(st.st_rdev), 1u);
  EXPECT_EQ(minor(st.st_rdev), 3u);
  EXPECT_EQ(st.st_uid, 0u);
  EXPECT_EQ(st.st_nlink, 1u);
  ASSERT_OK(mknod("big", S_IFCHR | 0600, makedev(4095, 1048575)));  // The largest Linux numbers.
  EXPECT_EQ(major(Lstat("big").st_rdev), 4095u);
  EXPECT_EQ(minor(Lstat("big").st_rdev), 1048575u);
}

TEST_F(MknodTest, RootCreatesBlockDevice) {
  ASSERT_OK(mknod("b", S_IFBLK | 0600, makedev(8, 17)));
  const struct stat st = Lstat("b");
  EXPECT_MODE("b", S_IFBLK | 0600);
  EXPECT_EQ(major(st.st_rdev), 8u);
  EXPECT_EQ(minor(st.st_rdev), 17u);
}

TEST_F(MknodTest, NonRootGetsEPERMForDeviceNodes) {
  EXPECT_ERRNO_AS(kAlice, EPERM, mknod("c", S_IFCHR | 0644, makedev(1, 3)));
  EXPECT_ERRNO_AS(kNobody, EPERM, mknod("b", S_IFBLK | 0644, makedev(8, 0)));
  EXPECT_FALSE(Exists("c"));
  EXPECT_FALSE(Exists("b"));
}

TEST_F(MknodTest, NonRootMayCreateFifosAndRegularFiles) {
  ASSERT_OK_AS(kAlice, mknod("p", S_IFIFO | 0640, 0));
  ASSERT_OK_AS(kAlice, mknod("r", S_IFREG | 0600, 0));
  EXPECT_MODE("p", S_IFIFO | 0640);
  EXPECT_MODE("r", S_IFREG | 0600);
  EXPECT_EQ(Lstat("p").st_uid, kAliceUid);
  EXPECT_EQ(Lstat("r").st_gid, kAliceGid);
  EXPECT_EQ(Lstat("r").st_size, 0);
}

TEST_F(MknodTest, ExistingNameFailsWithEEXISTAndParentTimesAdvance) {
  ASSERT_TRUE(MakeDir("d", 0755));
  EXPECT_UPDATES_MTIME_CTIME("d", mknod("d/c", S_IFCHR | 0644, makedev(1, 5)));
  EXPECT_ERRNO(EEXIST, mknod("d/c", S_IFCHR | 0644, makedev(1, 7)));
  EXPECT_ERRNO(EEXIST, mknod("d", S_IFIFO | 0644, 0));
  EXPECT_EQ(minor(Lstat("d/c").st_rdev), 5u);
}

// ------------------------------------------------------------------------------------------------
// rename

TEST_F(RenameTest, MovesAFileKeepingItsInodeAndDataAndASymlinkItself) {
  ASSERT_TRUE(MakeFile("f", 0640, kAliceUid, kAliceGid, "data"));
  ASSERT_TRUE(MakeDir("d", 0755));
  const ino_t ino = Lstat("f").st_ino;
  ASSERT_OK(rename("f", "d/g"));
  EXPECT_FALSE(Exists("f"));
  EXPECT_EQ(Lstat("d/g").st_ino, ino);
  EXPECT_MODE("d/g", S_IFREG | 0640);
  EXPECT_EQ(Lstat("d/g").st_uid, kAliceUid);
  EXPECT_EQ(Lstat("d/g").st_nlink, 1u);
  EXPECT_EQ(ReadAll("d/g"), "data");
  ASSERT_OK(symlink("d/g", "l"));  // A symlink moves itself, not its target.
  ASSERT_OK(rename("l", "m"));
  EXPECT_MODE("m", S_IFLNK | 0777);
  EXPECT_EQ(ReadLink("m"), "d/g");
  EXPECT_FALSE(Exists("l"));
  EXPECT_TRUE(Exists("d/g"));
}

TEST_F(RenameTest, FileReplacesAnExistingFile) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "new"));
  ASSERT_TRUE(MakeFile("g", 0644, 0, 0, "old"));
  ASSERT_OK(link("g", "g2"));
  const ino_t ino = Lstat("f").st_ino;
  ASSERT_OK(rename("f", "g"));
  EXPECT_FALSE(Exists("f"));
  EXPECT_EQ(Lstat("g").st_ino, ino);
  EXPECT_EQ(ReadAll("g"), "new");
  EXPECT_EQ(Lstat("g2").st_nlink, 1u);  // The replaced inode lost one link.
  EXPECT_EQ(ReadAll("g2"), "old");
}

TEST_F(RenameTest, DirectoryReplacesAnEmptyDirectory) {
  ASSERT_TRUE(MakeDir("a", 0755));
  ASSERT_TRUE(MakeFile("a/inside", 0644));
  ASSERT_TRUE(MakeDir("b", 0700));
  const ino_t ino = Lstat("a").st_ino;
  EXPECT_EQ(Lstat(".").st_nlink, 4u);
  ASSERT_OK(rename("a", "b"));
  EXPECT_FALSE(Exists("a"));
  EXPECT_EQ(Lstat("b").st_ino, ino);
  EXPECT_MODE("b", S_IFDIR | 0755);
  EXPECT_TRUE(Exists("b/inside"));
  EXPECT_EQ(Lstat(".").st_nlink, 3u);
}

TEST_F(RenameTest, OntoANonEmptyDirectoryFailsWithENOTEMPTY) {
  ASSERT_TRUE(MakeDir("a", 0755));
  ASSERT_TRUE(MakeDir("b", 0755));
  ASSERT_TRUE(MakeFile("b/f", 0644));
  ASSERT_TRUE(MakeDir("c", 0755));
  ASSERT_TRUE(MakeDir("c/sub", 0755));
  EXPECT_NOT_EMPTY_ERROR(rename("a", "b"));
  EXPECT_NOT_EMPTY_ERROR(rename("a", "c"));
  EXPECT_TRUE(Exists("a"));
  EXPECT_TRUE(Exists("b/f"));
  EXPECT_TRUE(Exists("c/sub"));
}

TEST_F(RenameTest, FileOntoADirectoryFailsWithEISDIR) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_TRUE(MakeDir("d", 0755));
  ASSERT_TRUE(MakeDir("full", 0755));
  ASSERT_TRUE(MakeFile("full/x", 0644));
  EXPECT_ERRNO(EISDIR, rename("f", "d"));
  EXPECT_ERRNO(EISDIR, rename("f", "full"));
  EXPECT_MODE("d", S_IFDIR | 0755);
  EXPECT_TRUE(Exists("f"));
}

TEST_F(RenameTest, DirectoryOntoAFileFailsWithENOTDIR) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  ASSERT_TRUE(MakeDir("d", 0755));
  EXPECT_ERRNO(ENOTDIR, rename("d", "f"));
  ASSERT_OK(symlink("d", "l"));
  EXPECT_ERRNO(ENOTDIR, rename("d", "l"));  // A symlink, even to a directory, is no directory.
  EXPECT_EQ(ReadAll("f"), "data");
  EXPECT_MODE("d", S_IFDIR | 0755);
}

TEST_F(RenameTest, DirectoryIntoItsOwnSubtreeFailsWithEINVAL) {
  ASSERT_TRUE(MakeDir("a", 0755));
  ASSERT_TRUE(MakeDir("a/b", 0755));
  EXPECT_ERRNO(EINVAL, rename("a", "a/c"));
  EXPECT_ERRNO(EINVAL, rename("a", "a/b/c"));
  EXPECT_TRUE(Exists("a/b"));
  EXPECT_FALSE(Exists("a/c"));
  EXPECT_FALSE(Exists("a/b/c"));
}

TEST_F(RenameTest, MovedDirectoryDotDotNamesTheNewParent) {
  ASSERT_TRUE(MakeDir("p1", 0755));
  ASSERT_TRUE(MakeDir("p2", 0755));
  ASSERT_TRUE(MakeDir("p1/d", 0755));
  ASSERT_OK(rename("p1/d", "p2/d"));
  EXPECT_EQ(Lstat("p2/d/..").st_ino, Lstat("p2").st_ino);
  EXPECT_EQ(Lstat("p1").st_nlink, 2u);
  EXPECT_EQ(Lstat("p2").st_nlink, 3u);
  EXPECT_EQ(Lstat("p2/d").st_nlink, 2u);
  ASSERT_OK(mkdir("p2/d/x", 0755));  // Its new place works as a parent too.
  EXPECT_EQ(Lstat("p2/d/x/../..").st_ino, Lstat("p2").st_ino);
}

TEST_F(RenameTest, UpdatesCtimeOfTheMovedInodeButNotItsMtime) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  ASSERT_TRUE(MakeDir("d", 0755));
  const struct stat file_before = Lstat("f");
  const struct stat dir_before = Lstat("d");
  Tick();
  ASSERT_OK(rename("f", "g"));
  ASSERT_OK(rename("d", "e"));
  const struct stat file_after = Lstat("g");
  const struct stat dir_after = Lstat("e");
  EXPECT_CTIME_ADVANCED(file_before, file_after);
  EXPECT_MTIME_KEPT(file_before, file_after);
  EXPECT_CTIME_ADVANCED(dir_before, dir_after);
}

TEST_F(RenameTest, UpdatesMtimeAndCtimeOfBothParents) {
  ASSERT_TRUE(MakeDir("src", 0755));
  ASSERT_TRUE(MakeDir("dst", 0755));
  ASSERT_TRUE(MakeFile("src/f", 0644));
  ASSERT_TRUE(MakeDir("src/d", 0755));
  const struct stat dst_before = Lstat("dst");
  EXPECT_UPDATES_MTIME_CTIME("src", rename("src/f", "dst/f"));
  const struct stat dst_after = Lstat("dst");
  EXPECT_MTIME_ADVANCED(dst_before, dst_after);
  EXPECT_CTIME_ADVANCED(dst_before, dst_after);
  EXPECT_UPDATES_MTIME_CTIME("dst", rename("src/d", "dst/d"));
}

TEST_F(RenameTest, OntoAnotherLinkOfTheSameFileDoesNothing) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  ASSERT_OK(link("f", "g"));
  EXPECT_OK(rename("f", "g"));
  EXPECT_TRUE(Exists("f"));
  EXPECT_TRUE(Exists("g"));
  EXPECT_EQ(Lstat("f").st_nlink, 2u);
  EXPECT_OK(rename("f", "f"));
  EXPECT_EQ(ReadAll("f"), "data");
}

TEST_F(RenameTest, MissingSourceOrTargetParentFailsWithENOENT) {
  ASSERT_TRUE(MakeFile("f", 0644));
  EXPECT_ERRNO(ENOENT, rename("missing", "g"));
  EXPECT_ERRNO(ENOENT, rename("f", "missing/g"));
  EXPECT_ERRNO(ENOENT, rename("f", ""));
  EXPECT_ERRNO(ENOTDIR, rename("f", "f/g"));
  EXPECT_TRUE(Exists("f"));
}

TEST_F(RenameTest, StickyDirectoryLetsOnlyOwnersMoveAnEntry) {
  ASSERT_TRUE(MakeDir("s", 01777, kCarolUid, kCarolGid));
  ASSERT_TRUE(MakeFile("s/a", 0666, kAliceUid, kAliceGid));
  ASSERT_TRUE(MakeDir("s/d", 0777, kAliceUid, kAliceGid));
  EXPECT_ERRNO_AS(kBob, EPERM, rename("s/a", "s/b"));
  EXPECT_ERRNO_AS(kBob, EPERM, rename("s/a", "moved"));
  EXPECT_ERRNO_AS(kBob, EPERM, rename("s/d", "s/e"));
  EXPECT_TRUE(Exists("s/a"));
  EXPECT_OK_AS(kAlice, rename("s/a", "s/b"));  // The file's owner.
  EXPECT_OK_AS(kCarol, rename("s/b", "s/c"));  // The directory's owner.
  EXPECT_TRUE(Exists("s/c"));
}

TEST_F(RenameTest, StickyDirectoryProtectsTheReplacedEntry) {
  ASSERT_TRUE(MakeDir("s", 01777));
  ASSERT_TRUE(MakeFile("s/mine", 0644, kAliceUid, kAliceGid, "alice"));
  ASSERT_TRUE(MakeFile("s/theirs", 0666, kBobUid, kBobGid, "bob"));
  EXPECT_ERRNO_AS(kAlice, EPERM, rename("s/mine", "s/theirs"));
  EXPECT_EQ(ReadAll("s/theirs"), "bob");
  EXPECT_EQ(ReadAll("s/mine"), "alice");
}

TEST_F(RenameTest, NeedsWritePermissionOnBothParents) {
  ASSERT_TRUE(MakeDir("ro", 0755));
  ASSERT_TRUE(MakeFile("ro/f", 0666, kAliceUid, kAliceGid));
  ASSERT_TRUE(MakeFile("g", 0666, kAliceUid, kAliceGid));
  EXPECT_ERRNO_AS(kAlice, EACCES, rename("ro/f", "f"));
  EXPECT_ERRNO_AS(kAlice, EACCES, rename("g", "ro/g"));
  EXPECT_TRUE(Exists("ro/f"));
  EXPECT_TRUE(Exists("g"));
  EXPECT_FALSE(Exists("ro/g"));
}

// Moving a directory to another parent rewrites its "..", which needs write permission on it.
TEST_F(RenameTest, MovingADirectoryToAnotherParentNeedsWritePermissionOnIt) {
  ASSERT_TRUE(MakeDir("p1", 0777));
  ASSERT_TRUE(MakeDir("p2", 0777));
  ASSERT_TRUE(MakeDir("p1/d", 0755));
  EXPECT_ERRNO_AS(kAlice, EACCES, rename("p1/d", "p2/d"));
  EXPECT_TRUE(Exists("p1/d"));
  EXPECT_OK_AS(kAlice, rename("p1/d", "p1/e"));  // Within its parent: ".." stays.
  EXPECT_TRUE(Exists("p1/e"));
}

// ------------------------------------------------------------------------------------------------
// rmdir

TEST_F(RmdirTest, RemovesAnEmptyDirectoryAndALinkOfItsParent) {
  ASSERT_TRUE(MakeDir("p", 0755));
  ASSERT_TRUE(MakeDir("p/c", 0755));
  EXPECT_EQ(Lstat("p").st_nlink, 3u);
  EXPECT_UPDATES_MTIME_CTIME("p", rmdir("p/c"));
  EXPECT_FALSE(Exists("p/c"));
  EXPECT_EQ(Lstat("p").st_nlink, 2u);
  EXPECT_TRUE(ListDir("p").empty());
}

TEST_F(RmdirTest, NonEmptyDirectoryFailsWithENOTEMPTY) {
  ASSERT_TRUE(MakeDir("a", 0755));
  ASSERT_TRUE(MakeFile("a/f", 0644));
  ASSERT_TRUE(MakeDir("b", 0755));
  ASSERT_TRUE(MakeDir("b/sub", 0755));
  ASSERT_TRUE(MakeDir("c", 0755));
  ASSERT_OK(symlink("missing", "c/dangling"));
  EXPECT_NOT_EMPTY_ERROR(rmdir("a"));
  EXPECT_NOT_EMPTY_ERROR(rmdir("b"));
  EXPECT_NOT_EMPTY_ERROR(rmdir("c"));
  EXPECT_NOT_EMPTY_ERROR(rmdir("b/sub/.."));
  EXPECT_TRUE(Exists("a/f"));
  EXPECT_EQ(Lstat("b").st_nlink, 3u);
}

TEST_F(RmdirTest, NonDirectoryFailsWithENOTDIRAndMissingWithENOENT) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_TRUE(MakeDir("d", 0755));
  ASSERT_OK(symlink("d", "l"));
  EXPECT_ERRNO(ENOTDIR, rmdir("f"));
  EXPECT_ERRNO(ENOTDIR, rmdir("f/x"));
  EXPECT_ERRNO(ENOTDIR, rmdir("l"));
  EXPECT_TRUE(Exists("f"));
  EXPECT_TRUE(Exists("d"));
  EXPECT_ERRNO(ENOENT, rmdir("missing"));
  EXPECT_ERRNO(ENOENT, rmdir("missing/d"));
}

TEST_F(RmdirTest, DotFailsWithEINVAL) {
  ASSERT_TRUE(MakeDir("d", 0755));
  EXPECT_ERRNO(EINVAL, rmdir("d/."));
  EXPECT_ERRNO(EINVAL, rmdir("."));
  EXPECT_TRUE(Exists("d"));
}

TEST_F(RmdirTest, StickyParentLetsOnlyOwnersRemove) {
  ASSERT_TRUE(MakeDir("s", 01777));
  ASSERT_TRUE(MakeDir("s/d", 0777, kAliceUid, kAliceGid));
  EXPECT_ERRNO_AS(kBob, EPERM, rmdir("s/d"));
  EXPECT_TRUE(Exists("s/d"));
  EXPECT_OK_AS(kAlice, rmdir("s/d"));
  EXPECT_FALSE(Exists("s/d"));
}

TEST_F(RmdirTest, NeedsWritePermissionOnTheParent) {
  ASSERT_TRUE(MakeDir("ro", 0755));
  ASSERT_TRUE(MakeDir("ro/d", 0777, kAliceUid, kAliceGid));
  EXPECT_ERRNO_AS(kAlice, EACCES, rmdir("ro/d"));
  EXPECT_TRUE(Exists("ro/d"));
}

// ------------------------------------------------------------------------------------------------
// symlink, readlink

TEST_F(SymlinkTest, CreatesALinkWithMode0777HoldingTheTarget) {
  ASSERT_OK_AS(kAlice, symlink("some/target", "l"));
  const struct stat st = Lstat("l");
  EXPECT_MODE("l", S_IFLNK | 0777);  // The umask does not apply.
  EXPECT_EQ(st.st_uid, kAliceUid);
  EXPECT_EQ(st.st_gid, kAliceGid);
  EXPECT_EQ(st.st_size, 11);
  EXPECT_EQ(st.st_nlink, 1u);
  EXPECT_EQ(ReadLink("l"), "some/target");
}

TEST_F(SymlinkTest, StatFollowsTheLinkAndLstatDoesNot) {
  ASSERT_TRUE(MakeDir("d", 0700));
  ASSERT_TRUE(MakeFile("d/f", 0640, 0, 0, "data"));
  ASSERT_OK(symlink("d/f", "l"));
  ASSERT_OK(symlink("d", "ld"));
  EXPECT_EQ(Stat("l").st_ino, Lstat("d/f").st_ino);
  EXPECT_EQ(Stat("l").st_mode, S_IFREG | 0640u);
  EXPECT_EQ(ReadAll("l"), "data");
  EXPECT_EQ(ReadAll("ld/f"), "data");
  EXPECT_NE(Lstat("l").st_ino, Lstat("d/f").st_ino);
}

TEST_F(SymlinkTest, TargetOf4095BytesRoundTrips) {
  std::string target;
  while (target.size() < 4095) target += "component/";
  target.resize(4095);
  ASSERT_OK(symlink(target.c_str(), "l"));
  EXPECT_EQ(Lstat("l").st_size, 4095);
  EXPECT_EQ(ReadLink("l"), target);
}

TEST_F(SymlinkTest, TargetOf4096BytesFailsWithENAMETOOLONG) {
  const std::string target(4096, 't');
  EXPECT_ERRNO(ENAMETOOLONG, symlink(target.c_str(), "l"));
  EXPECT_FALSE(Exists("l"));
}

TEST_F(SymlinkTest, ExistingNameFailsWithEEXISTAndBadParentWithENOENTOrENOTDIR) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_TRUE(MakeDir("d", 0755));
  ASSERT_OK(symlink("f", "l"));
  for (const char* name : {"f", "d", "l"}) {
    SCOPED_TRACE(name);
    EXPECT_ERRNO(EEXIST, symlink("other", name));
  }
  EXPECT_EQ(ReadLink("l"), "f");
  EXPECT_ERRNO(ENOENT, symlink("t", "missing/l"));
  EXPECT_ERRNO(ENOTDIR, symlink("t", "f/l"));
}

TEST_F(SymlinkTest, UpdatesParentTimesAndNeedsWritePermissionOnIt) {
  ASSERT_TRUE(MakeDir("d", 0755));
  EXPECT_UPDATES_MTIME_CTIME("d", symlink("t", "d/l"));
  EXPECT_ERRNO_AS(kAlice, EACCES, symlink("t", "d/m"));
  EXPECT_FALSE(Exists("d/m"));
}

TEST_F(SymlinkTest, ReadlinkOfANonSymlinkFailsWithEINVALAndTruncatesToTheBuffer) {
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_TRUE(MakeDir("d", 0755));
  char buffer[64];
  EXPECT_ERRNO(EINVAL, readlink("f", buffer, sizeof(buffer)));
  EXPECT_ERRNO(EINVAL, readlink("d", buffer, sizeof(buffer)));
  EXPECT_ERRNO(ENOENT, readlink("missing", buffer, sizeof(buffer)));
  ASSERT_OK(symlink("abcdefgh", "l"));
  EXPECT_EQ(readlink("l", buffer, 4), 4);  // A short buffer gets the start, no terminator.
  EXPECT_EQ(std::string(buffer, 4), "abcd");
}

// ------------------------------------------------------------------------------------------------
// unlink

TEST_F(UnlinkTest, RemovesTheNameAndUpdatesParentTimes) {
  ASSERT_TRUE(MakeDir("d", 0755));
  ASSERT_TRUE(MakeFile("d/f", 0644));
  EXPECT_UPDATES_MTIME_CTIME("d", unlink("d/f"));
  EXPECT_FALSE(Exists("d/f"));
  EXPECT_TRUE(ListDir("d").empty());
  EXPECT_EQ(Lstat("d").st_nlink, 2u);
}

TEST_F(UnlinkTest, MissingNameFailsWithENOENTAndFileComponentWithENOTDIR) {
  ASSERT_TRUE(MakeFile("f", 0644));
  EXPECT_ERRNO(ENOENT, unlink("missing"));
  EXPECT_ERRNO(ENOENT, unlink("missing/f"));
  EXPECT_ERRNO(ENOTDIR, unlink("f/x"));
  EXPECT_TRUE(Exists("f"));
}

TEST_F(UnlinkTest, DirectoryFailsWithEISDIROrEPERM) {
  ASSERT_TRUE(MakeDir("d", 0777));
  POSIX_EXPECT_(FailedWith("unlink(\"d\")", {EISDIR, EPERM}, POSIX_CALL_(unlink("d"))));
  POSIX_EXPECT_(FailedWith("unlink(\"d\") as kAlice", {EISDIR, EPERM},
                           POSIX_CALL_AS_(kAlice, unlink("d"))));
  EXPECT_MODE("d", S_IFDIR | 0777);
  EXPECT_EQ(Lstat(".").st_nlink, 3u);
}

TEST_F(UnlinkTest, OpenFileStaysUsableAfterItsLastName) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "hello"));
  const int fd = open("f", O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  ASSERT_OK(unlink("f"));
  EXPECT_FALSE(Exists("f"));
  EXPECT_TRUE(ListDir(".").empty());
  struct stat st {};
  EXPECT_OK(fstat(fd, &st));
  EXPECT_EQ(st.st_nlink, 0u);
  EXPECT_EQ(st.st_size, 5);
  char buffer[16] = {};
  EXPECT_EQ(pread(fd, buffer, sizeof(buffer), 0), 5);
  EXPECT_STREQ(buffer, "hello");
  EXPECT_EQ(pwrite(fd, " world", 6, 5), 6);
  EXPECT_EQ(pread(fd, buffer, sizeof(buffer), 0), 11);
  EXPECT_STREQ(buffer, "hello world");
  EXPECT_OK(close(fd));
}

TEST_F(UnlinkTest, RemovesSymlinksFifosAndDeviceNodesThemselves) {
  ASSERT_TRUE(MakeFile("f", 0644, 0, 0, "data"));
  ASSERT_OK(symlink("f", "l"));
  ASSERT_OK(unlink("l"));
  EXPECT_FALSE(Exists("l"));
  EXPECT_EQ(ReadAll("f"), "data");
  ASSERT_OK(unlink("f"));
  ASSERT_OK(mkfifo("p", 0644));
  ASSERT_OK(mknod("c", S_IFCHR | 0644, makedev(1, 3)));
  ASSERT_OK(mknod("b", S_IFBLK | 0644, makedev(8, 0)));
  EXPECT_OK(unlink("p"));
  EXPECT_OK(unlink("c"));
  EXPECT_OK(unlink("b"));
  EXPECT_TRUE(ListDir(".").empty());
}

TEST_F(UnlinkTest, StickyDirectoryLetsOnlyTheFileOrDirectoryOwnerRemove) {
  ASSERT_TRUE(MakeDir("s", 01777, kCarolUid, kCarolGid));
  ASSERT_TRUE(MakeFile("s/a", 0666, kAliceUid, kAliceGid));
  ASSERT_TRUE(MakeFile("s/b", 0666, kAliceUid, kAliceGid));
  EXPECT_ERRNO_AS(kBob, EPERM, unlink("s/a"));
  EXPECT_ERRNO_AS(kNobody, EPERM, unlink("s/a"));
  EXPECT_TRUE(Exists("s/a"));
  EXPECT_OK_AS(kAlice, unlink("s/a"));  // The file's owner.
  EXPECT_OK_AS(kCarol, unlink("s/b"));  // The directory's owner.
  EXPECT_TRUE(ListDir("s").empty());
  // Without the sticky bit, anyone who may write the directory may remove from it.
  ASSERT_TRUE(MakeDir("d", 0777));
  ASSERT_TRUE(MakeFile("d/f", 0600, kAliceUid, kAliceGid));
  EXPECT_OK_AS(kBob, unlink("d/f"));
  EXPECT_FALSE(Exists("d/f"));
}

TEST_F(UnlinkTest, NeedsWriteAndSearchPermissionOnTheParent) {
  ASSERT_TRUE(MakeDir("ro", 0755));
  ASSERT_TRUE(MakeFile("ro/f", 0666, kAliceUid, kAliceGid));
  ASSERT_TRUE(MakeDir("noexec", 0776));
  ASSERT_TRUE(MakeFile("noexec/f", 0666, kAliceUid, kAliceGid));
  EXPECT_ERRNO_AS(kAlice, EACCES, unlink("ro/f"));
  EXPECT_ERRNO_AS(kAlice, EACCES, unlink("noexec/f"));
  EXPECT_TRUE(Exists("ro/f"));
  EXPECT_TRUE(Exists("noexec/f"));
}

// ------------------------------------------------------------------------------------------------
// Names of 255 bytes work and of 256 fail with ENAMETOOLONG, for every call that makes one.

TEST_F(NameLengthTest, EveryCallThatMakesANameTakes255BytesAndRefuses256) {
  const std::string ok(255, 'n');
  const std::string too_long(256, 'n');
  ASSERT_TRUE(MakeFile("f", 0644));
  ASSERT_TRUE(MakeDir("d", 0755));
  using NameCall = std::function<int(const std::string&)>;
  const NameCall remove_name = [](const std::string& name) { return remove(name.c_str()); };
  const struct {
    const char* call;
    NameCall make;
    NameCall undo;
  } calls[] = {
      {"mkdir", [](const std::string& name) { return mkdir(name.c_str(), 0755); }, remove_name},
      {"mkfifo", [](const std::string& name) { return mkfifo(name.c_str(), 0644); }, remove_name},
      {"symlink", [](const std::string& name) { return symlink("f", name.c_str()); }, remove_name},
      {"link", [](const std::string& name) { return link("f", name.c_str()); }, remove_name},
      {"rename", [](const std::string& name) { return rename("d", name.c_str()); },
       [](const std::string& name) { return rename(name.c_str(), "d"); }},
  };
  for (const auto& c : calls) {
    SCOPED_TRACE(c.call);
    EXPECT_ERRNO(ENAMETOOLONG, c.make(too_long));
    EXPECT_EQ(SortedNames("."), (std::vector<std::string>{"d", "f"}));
    ASSERT_OK(c.make(ok));
    EXPECT_TRUE(Exists(ok));
    ASSERT_OK(c.undo(ok));
  }
  struct stat st {};
  EXPECT_ERRNO(ENAMETOOLONG, lstat(too_long.c_str(), &st));
  EXPECT_ERRNO(ENAMETOOLONG, rename("f", too_long.c_str()));
}

}  // namespace
}  // namespace posix_test
