// Privileges a change of contents or owner takes away, as Linux's local filesystems drop them
// (file_remove_privs, chown): a write, truncate, fallocate in every mode or copy_file_range by a
// caller other than root clears setuid, and setgid when group-executable; every one of them (by
// root too) and a chown remove the security.capability xattr. Each check reads the mode through
// stat(2) right after the call, as the kernel shows it (a cached mode must not outlive the change),
// and runs in the POSIX suite (posix_conformance_test.cc has how it runs). ext4 is the reference
// here: tmpfs has no FALLOC_FL_ZERO_RANGE and keeps file capabilities through writes.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>

#include "posix_test_util.h"

namespace posix_test {
namespace {

using PrivilegesTest = PosixTest;

constexpr char kCapability[] = "security.capability";

// A VFS_CAP_REVISION_2 value granting CAP_NET_RAW, effective (what `setcap cap_net_raw+ep` sets).
std::string CapabilityValue() {
  const uint32_t words[5] = {0x02000001, 1u << 13, 0, 0, 0};
  return std::string(reinterpret_cast<const char*>(words), sizeof(words));
}

bool HasCapability(const char* path) {
  char value[64];
  return getxattr(path, kCapability, value, sizeof(value)) > 0;
}

// A root-owned file of 8 KiB, mode 06777 (so anyone may write it), with a file capability; its
// attributes are read once so the kernel caches them.
void MakePrivilegedFile(const char* path) {
  const int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  const std::string data(8192, 'p');
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
  ASSERT_OK(chmod(path, 06777));
  const std::string cap = CapabilityValue();
  ASSERT_OK(setxattr(path, kCapability, cap.data(), cap.size(), 0));
  ASSERT_TRUE(HasCapability(path));
  EXPECT_MODE(path, S_IFREG | 06777);
}

long Fallocate(const char* path, int mode, off_t offset, off_t length) {
  const int fd = open(path, O_RDWR);
  if (fd < 0) return -1;
  const long ret = fallocate(fd, mode, offset, length);
  close(fd);
  return ret;
}

long WriteAt(const char* path, int flags, off_t offset) {
  const int fd = open(path, O_RDWR | flags);
  if (fd < 0) return -1;
  // O_DIRECT wants aligned memory: an anonymous page is.
  void* page = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(page, 'w', 4096);
  const long ret = pwrite(fd, page, 4096, offset);
  munmap(page, 4096);
  close(fd);
  return ret;
}

struct Change {
  const char* name;
  std::function<long(const char* path)> call;
};

const Change kChanges[] = {
    {"buffered write", [](const char* p) { return WriteAt(p, 0, 1); }},
    {"direct write", [](const char* p) { return WriteAt(p, O_DIRECT, 4096); }},
    {"truncate", [](const char* p) { return static_cast<long>(truncate(p, 100)); }},
    {"open O_TRUNC",
     [](const char* p) {
       const int fd = open(p, O_WRONLY | O_TRUNC);
       if (fd >= 0) close(fd);
       return static_cast<long>(fd);
     }},
    {"fallocate", [](const char* p) { return Fallocate(p, 0, 0, 65536); }},
    {"fallocate keep size", [](const char* p) { return Fallocate(p, FALLOC_FL_KEEP_SIZE, 0, 65536); }},
    {"punch hole",
     [](const char* p) { return Fallocate(p, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096); }},
    {"zero range", [](const char* p) { return Fallocate(p, FALLOC_FL_ZERO_RANGE, 0, 4096); }},
    {"copy_file_range",
     [](const char* p) {
       const int in = open("source", O_RDONLY);
       const int out = open(p, O_RDWR);
       loff_t from = 0;
       loff_t to = 0;
       const long ret = in < 0 || out < 0 ? -1 : copy_file_range(in, &from, out, &to, 4096, 0);
       if (in >= 0) close(in);
       if (out >= 0) close(out);
       return ret;
     }},
};

void MakeSource() {
  const int fd = open("source", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  const std::string data(4096, 's');
  ASSERT_EQ(write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  close(fd);
}

TEST_F(PrivilegesTest, EveryChangeOfContentsByAnotherUserDropsSetuidSetgidAndTheCapability) {
  MakeSource();
  for (const Change& change : kChanges) {
    SCOPED_TRACE(change.name);
    MakePrivilegedFile("f");
    EXPECT_OK_AS(kBob, change.call("f"));
    EXPECT_MODE("f", S_IFREG | 0777);
    EXPECT_FALSE(HasCapability("f")) << kCapability << " survived";
    ASSERT_OK(unlink("f"));
  }
}

TEST_F(PrivilegesTest, RootKeepsSetuidAndSetgidButNotTheCapability) {
  MakeSource();
  for (const Change& change : kChanges) {
    SCOPED_TRACE(change.name);
    MakePrivilegedFile("f");
    EXPECT_OK(change.call("f"));
    EXPECT_MODE("f", S_IFREG | 06777);
    EXPECT_FALSE(HasCapability("f")) << kCapability << " survived";
    ASSERT_OK(unlink("f"));
  }
}

TEST_F(PrivilegesTest, SetgidWithoutGroupExecuteGoesOnlyForWritersOutsideTheGroup) {
  ASSERT_OK(close(creat("f", 0600)));
  ASSERT_OK(chown("f", kAliceUid, kAliceGid));
  ASSERT_OK(chmod("f", 06766));
  EXPECT_OK_AS(kBob, WriteAt("f", 0, 0));  // Bob is in Alice's group.
  EXPECT_MODE("f", S_IFREG | 02766);
  EXPECT_OK_AS(kCarol, WriteAt("f", 0, 0));  // Carol is not.
  EXPECT_MODE("f", S_IFREG | 0766);
}

TEST_F(PrivilegesTest, ChownDropsSetuidSetgidAndTheCapabilityEvenForRoot) {
  MakePrivilegedFile("f");
  ASSERT_OK(chown("f", kAliceUid, kAliceGid));
  EXPECT_MODE("f", S_IFREG | 0777);
  EXPECT_FALSE(HasCapability("f"));
}

TEST_F(PrivilegesTest, AWriterNeitherSetsNorRemovesTheCapabilityThroughXattrCalls) {
  MakePrivilegedFile("f");
  const std::string cap = CapabilityValue();
  EXPECT_ERRNO_AS(kBob, EPERM, removexattr("f", kCapability));
  EXPECT_ERRNO_AS(kBob, EPERM, setxattr("f", kCapability, cap.data(), cap.size(), 0));
  EXPECT_TRUE(HasCapability("f"));
}

}  // namespace
}  // namespace posix_test
