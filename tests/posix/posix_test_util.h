// Helpers for the POSIX conformance suite (posix_conformance_test.cc): the per-test directory,
// system calls checked for success or for one errno, the same calls made by a forked child under
// other credentials, stat shortcuts and timestamp comparisons.
//
// Every test runs as root in a fresh directory made with mkdtemp(3) under $BLOBFS_POSIX_DIR; the
// test process chdir(2)s into it, so the tests use short relative names ("f", "d/x"), and a child
// under other credentials inherits that working directory (it needs no search permission on the
// directories above it). The directory is mode 0777, so any user may create entries in it.
#pragma once

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace posix_test {

// Credentials a forked child takes on. The test process itself never changes its own.
struct User {
  uid_t uid;
  gid_t gid;
  std::vector<gid_t> groups;  // Supplementary groups (setgroups(2)).
};

// Owners and groups the tests hand out. kAlice and kBob own files; kBob is in kAlice's group and in
// kSharedGid; kCarol is in no group but her own; nobody is the classic unprivileged user.
inline constexpr uid_t kAliceUid = 1000;
inline constexpr gid_t kAliceGid = 1000;
inline constexpr uid_t kBobUid = 1001;
inline constexpr gid_t kBobGid = 1001;
inline constexpr uid_t kCarolUid = 1002;
inline constexpr gid_t kCarolGid = 1002;
inline constexpr gid_t kSharedGid = 3000;   // A group Alice and Bob are both in.
inline constexpr gid_t kForeignGid = 4000;  // A group no test user is in.
inline constexpr uid_t kNobodyUid = 65534;
inline constexpr gid_t kNobodyGid = 65534;

inline const User kAlice{kAliceUid, kAliceGid, {kAliceGid, kSharedGid}};
inline const User kBob{kBobUid, kBobGid, {kBobGid, kAliceGid, kSharedGid}};
inline const User kCarol{kCarolUid, kCarolGid, {}};
inline const User kNobody{kNobodyUid, kNobodyGid, {}};

// The outcome of one system call: its return value and, when that is -1, errno.
struct SysResult {
  long ret = 0;
  int err = 0;
  std::string child_failure;  // Set when a child under other credentials could not run the call.
};

inline std::string ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  std::ostringstream out;
  out << (name != nullptr ? name : "errno " + std::to_string(err)) << " (" << strerror(err) << ")";
  return out.str();
}

// Runs `call` (a system call returning -1 and setting errno on failure) and records the outcome.
template <typename F>
SysResult Call(F&& call) {
  errno = 0;
  const long ret = static_cast<long>(call());
  return {ret, ret == -1 ? errno : 0, {}};
}

// Runs `call` in a forked child that first drops to `user`'s credentials (setgroups, setgid,
// setuid, in that order) and reports the outcome through a pipe. The child shares the working
// directory and umask of the test process; `call` must not use GoogleTest.
template <typename F>
SysResult CallAs(const User& user, F&& call) {
  struct Report {
    int stage;  // 0: the call ran; 1: setgroups, 2: setgid, 3: setuid failed.
    long ret;
    int err;
  };
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return {-1, errno, "pipe2 failed"};
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return {-1, errno, "fork failed"};
  }
  if (pid == 0) {
    Report report{0, 0, 0};
    if (setgroups(user.groups.size(), user.groups.data()) != 0) {
      report = {1, -1, errno};
    } else if (setgid(user.gid) != 0) {
      report = {2, -1, errno};
    } else if (setuid(user.uid) != 0) {
      report = {3, -1, errno};
    } else {
      errno = 0;
      report.ret = static_cast<long>(call());
      report.err = report.ret == -1 ? errno : 0;
    }
    const ssize_t written = write(fds[1], &report, sizeof(report));
    _exit(written == static_cast<ssize_t>(sizeof(report)) ? 0 : 1);
  }
  close(fds[1]);
  Report report{};
  ssize_t got;
  do {
    got = read(fds[0], &report, sizeof(report));
  } while (got < 0 && errno == EINTR);
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::ostringstream where;
  where << "uid " << user.uid << " gid " << user.gid;
  if (got != static_cast<ssize_t>(sizeof(report))) {
    return {-1, 0, "the child as " + where.str() + " reported nothing (status " +
                       std::to_string(status) + ")"};
  }
  if (report.stage != 0) {
    static constexpr const char* kStages[] = {"", "setgroups", "setgid", "setuid"};
    return {-1, report.err,
            std::string("the child could not switch to ") + where.str() + ": " +
                kStages[report.stage] + " failed with " + ErrnoName(report.err)};
  }
  return {report.ret, report.err, {}};
}

inline ::testing::AssertionResult Succeeded(const char* text, const SysResult& result) {
  if (!result.child_failure.empty()) return ::testing::AssertionFailure() << result.child_failure;
  if (result.ret != -1) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << text << " failed with " << ErrnoName(result.err);
}

inline ::testing::AssertionResult FailedWith(const char* text, std::initializer_list<int> allowed,
                                             const SysResult& result) {
  if (!result.child_failure.empty()) return ::testing::AssertionFailure() << result.child_failure;
  std::ostringstream want;
  for (int err : allowed) {
    if (result.ret == -1 && result.err == err) return ::testing::AssertionSuccess();
    want << (want.tellp() > 0 ? " or " : "") << ErrnoName(err);
  }
  auto failure = ::testing::AssertionFailure();
  failure << text << " should fail with " << want.str() << ", but ";
  if (result.ret == -1) {
    failure << "it failed with " << ErrnoName(result.err);
  } else {
    failure << "it succeeded (returned " << result.ret << ")";
  }
  return failure;
}

// open(2) and close at once, for calls made only for their outcome (also inside children).
inline int TryOpen(const char* path, int flags, mode_t mode = 0) {
  const int fd = open(path, flags | O_CLOEXEC, mode);
  if (fd < 0) return -1;
  close(fd);
  return 0;
}

// utimensat(2) on the working directory with an atime and an mtime.
inline int SetTimes(const char* path, timespec atime, timespec mtime, int flags = 0) {
  const timespec times[2] = {atime, mtime};
  return utimensat(AT_FDCWD, path, times, flags);
}

inline constexpr timespec kNow{0, UTIME_NOW};
inline constexpr timespec kOmit{0, UTIME_OMIT};

}  // namespace posix_test

// Checked system calls. `expr` is evaluated once (for the _AS forms, in the child). A failure
// prints the call as written and what it did, e.g. `chmod("f", 0600) as kBob should fail with
// EPERM (Operation not permitted), but it succeeded (returned 0)`.
#define POSIX_CALL_(expr) ::posix_test::Call([&] { return (expr); })
#define POSIX_CALL_AS_(user, expr) ::posix_test::CallAs((user), [&] { return (expr); })
// EXPECT/ASSERT an AssertionResult, printing only its message (more can be streamed after).
#define POSIX_EXPECT_(result)                                             \
  switch (0)                                                              \
  case 0:                                                                 \
  default:                                                                \
    if (const ::testing::AssertionResult posix_result_ = (result)) {      \
    } else /* NOLINT */                                                   \
      ADD_FAILURE() << posix_result_.message()
#define POSIX_ASSERT_(result)                                             \
  switch (0)                                                              \
  case 0:                                                                 \
  default:                                                                \
    if (const ::testing::AssertionResult posix_result_ = (result)) {      \
    } else /* NOLINT */                                                   \
      FAIL() << posix_result_.message()
#define EXPECT_OK(expr) POSIX_EXPECT_(::posix_test::Succeeded(#expr, POSIX_CALL_(expr)))
#define ASSERT_OK(expr) POSIX_ASSERT_(::posix_test::Succeeded(#expr, POSIX_CALL_(expr)))
#define EXPECT_ERRNO(err, expr) \
  POSIX_EXPECT_(::posix_test::FailedWith(#expr, {err}, POSIX_CALL_(expr)))
#define EXPECT_OK_AS(user, expr) \
  POSIX_EXPECT_(::posix_test::Succeeded(#expr " as " #user, POSIX_CALL_AS_(user, expr)))
#define ASSERT_OK_AS(user, expr) \
  POSIX_ASSERT_(::posix_test::Succeeded(#expr " as " #user, POSIX_CALL_AS_(user, expr)))
#define EXPECT_ERRNO_AS(user, err, expr) \
  POSIX_EXPECT_(::posix_test::FailedWith(#expr " as " #user, {err}, POSIX_CALL_AS_(user, expr)))
// `expr` succeeds and advances the mtime and ctime of `path` (inside a PosixTest).
#define EXPECT_UPDATES_MTIME_CTIME(path, expr) \
  POSIX_EXPECT_(UpdatesMtimeAndCtime(path, #expr, [&] { return (expr); }))

namespace posix_test {

// --- stat shortcuts: a failing lstat(2) is a test failure at the caller's line. ---

// (__builtin_FILE/LINE rather than std::source_location, which clang 14 with libstdc++ 12 lacks.)
inline struct stat Lstat(const std::string& path, const char* file = __builtin_FILE(),
                         int line = __builtin_LINE()) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    ADD_FAILURE_AT(file, line)
        << "lstat(\"" << path << "\") failed with " << ErrnoName(errno);
  }
  return st;
}

inline struct stat Stat(const std::string& path, const char* file = __builtin_FILE(),
                        int line = __builtin_LINE()) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    ADD_FAILURE_AT(file, line)
        << "stat(\"" << path << "\") failed with " << ErrnoName(errno);
  }
  return st;
}

inline bool Exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

inline std::string Octal(mode_t mode) {
  std::ostringstream out;
  out << "0" << std::oct << mode;
  return out.str();
}

// EXPECT_MODE(path, S_IFREG | 0644): the whole st_mode of lstat(path), printed in octal.
inline ::testing::AssertionResult ModeIs(const char* path_text, const char* mode_text,
                                         const std::string& path, mode_t expected) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    return ::testing::AssertionFailure()
           << "lstat(" << path_text << ") failed with " << ErrnoName(errno);
  }
  if (st.st_mode == expected) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "mode of " << path_text << " is " << Octal(st.st_mode)
                                       << ", expected " << mode_text << " = " << Octal(expected);
}
#define EXPECT_MODE(path, mode) EXPECT_PRED_FORMAT2(::posix_test::ModeIs, path, mode)

// --- timestamps ---

inline std::string Format(const timespec& ts) {
  char frac[16];
  snprintf(frac, sizeof(frac), ".%09ld", static_cast<long>(ts.tv_nsec));
  return std::to_string(static_cast<long long>(ts.tv_sec)) + frac;
}

inline bool Before(const timespec& a, const timespec& b) {
  return a.tv_sec < b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec < b.tv_nsec);
}

inline ::testing::AssertionResult TsAfter(const char* later_text, const char* earlier_text,
                                          const timespec& later, const timespec& earlier) {
  if (Before(earlier, later)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << later_text << " = " << Format(later)
                                       << " should be after " << earlier_text << " = "
                                       << Format(earlier);
}

inline ::testing::AssertionResult TsEqual(const char* a_text, const char* b_text,
                                          const timespec& a, const timespec& b) {
  if (a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << a_text << " = " << Format(a) << " should equal "
                                       << b_text << " = " << Format(b);
}

// `ts` lies within `slack_sec` seconds of [from, to] (the kernel stamps with a coarse clock).
inline ::testing::AssertionResult TsNear(const char* ts_text, const char*, const char*,
                                         const timespec& ts, const timespec& from,
                                         const timespec& to) {
  constexpr time_t kSlackSec = 1;
  const timespec low{from.tv_sec - kSlackSec, from.tv_nsec};
  const timespec high{to.tv_sec + kSlackSec, to.tv_nsec};
  if (!Before(ts, low) && !Before(high, ts)) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << ts_text << " = " << Format(ts) << " is not the time of "
                                       << "the call (" << Format(from) << " to " << Format(to)
                                       << ")";
}

#define EXPECT_TS_AFTER(later, earlier) EXPECT_PRED_FORMAT2(::posix_test::TsAfter, later, earlier)
#define EXPECT_TS_EQ(a, b) EXPECT_PRED_FORMAT2(::posix_test::TsEqual, a, b)
#define EXPECT_TS_NEAR(ts, from, to) EXPECT_PRED_FORMAT3(::posix_test::TsNear, ts, from, to)
// `before` and `after` are struct stat of one file taken around a change.
#define EXPECT_CTIME_ADVANCED(before, after) EXPECT_TS_AFTER((after).st_ctim, (before).st_ctim)
#define EXPECT_MTIME_ADVANCED(before, after) EXPECT_TS_AFTER((after).st_mtim, (before).st_mtim)
#define EXPECT_CTIME_KEPT(before, after) EXPECT_TS_EQ((after).st_ctim, (before).st_ctim)
#define EXPECT_MTIME_KEPT(before, after) EXPECT_TS_EQ((after).st_mtim, (before).st_mtim)

inline timespec Now() {
  timespec now{};
  clock_gettime(CLOCK_REALTIME, &now);
  return now;
}

// Sleeps long enough that the filesystem's next timestamp differs from any it gave so far:
// a little over a clock tick when it keeps sub-second times, a little over a second otherwise.
// `fine` says which (PosixTest probes it once).
inline void WaitForTimestampTick(bool fine) {
  const timespec pause = fine ? timespec{0, 30'000'000} : timespec{1, 50'000'000};
  nanosleep(&pause, nullptr);
}

// The names in directory `path` other than "." and "..", in readdir order.
inline std::vector<std::string> ListDir(const std::string& path) {
  std::vector<std::string> names;
  if (DIR* dir = opendir(path.c_str())) {
    while (const dirent* entry = readdir(dir)) {
      if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0) {
        names.emplace_back(entry->d_name);
      }
    }
    closedir(dir);
  }
  return names;
}

// --- the per-test directory ---

// Removes `path` and everything below it, as root, making directories searchable first.
inline bool RemoveTree(const std::string& path) {
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) return errno == ENOENT;
  if (!S_ISDIR(st.st_mode)) return unlink(path.c_str()) == 0;
  chmod(path.c_str(), 0700);
  bool ok = true;
  for (const std::string& name : ListDir(path)) ok &= RemoveTree(path + "/" + name);
  return rmdir(path.c_str()) == 0 && ok;
}

// The fixture of every test: skips without $BLOBFS_POSIX_DIR or root, makes the test's own
// directory (mode 0777) and works inside it with umask 022; removes it afterwards.
class PosixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* base = getenv("BLOBFS_POSIX_DIR");
    if (base == nullptr || *base == '\0') {
      GTEST_SKIP() << "BLOBFS_POSIX_DIR is not set (the mounted filesystem to test)";
    }
    if (geteuid() != 0) GTEST_SKIP() << "the POSIX suite needs root (chown, setuid children)";
    std::string templ = std::string(base) + "/posix.XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr)
        << "mkdtemp(" << templ << ") failed with " << ErrnoName(errno);
    dir_ = templ;
    ASSERT_OK(chmod(dir_.c_str(), 0777));
    old_cwd_ = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(old_cwd_, 0) << ErrnoName(errno);
    ASSERT_OK(chdir(dir_.c_str()));
    old_umask_ = umask(022);
    if (!probed_) {
      fine_timestamps_ = ProbeFineTimestamps();
      probed_ = true;
    }
  }

  void TearDown() override {
    if (old_cwd_ >= 0) {
      umask(old_umask_);
      EXPECT_OK(fchdir(old_cwd_));
      close(old_cwd_);
    }
    if (!dir_.empty()) {
      EXPECT_TRUE(RemoveTree(dir_)) << "could not remove " << dir_;
    }
  }

  static void Tick() { WaitForTimestampTick(fine_timestamps_); }

  // Runs `op` (a system call) once the clock has ticked and checks that it succeeds and advances
  // both the mtime and the ctime of `path`. Use through EXPECT_UPDATES_MTIME_CTIME.
  template <typename F>
  static ::testing::AssertionResult UpdatesMtimeAndCtime(const std::string& path,
                                                         const char* text, F&& op) {
    struct stat before {};
    if (lstat(path.c_str(), &before) != 0) {
      return ::testing::AssertionFailure() << "lstat(" << path << "): " << ErrnoName(errno);
    }
    Tick();
    const SysResult result = Call(op);
    if (result.ret == -1) return Succeeded(text, result);
    struct stat after {};
    if (lstat(path.c_str(), &after) != 0) {
      return ::testing::AssertionFailure() << "lstat(" << path << "): " << ErrnoName(errno);
    }
    const auto mtime = TsAfter("mtime after", "mtime before", after.st_mtim, before.st_mtim);
    const auto ctime = TsAfter("ctime after", "ctime before", after.st_ctim, before.st_ctim);
    if (mtime && ctime) return ::testing::AssertionSuccess();
    auto failure = ::testing::AssertionFailure() << text << " did not update " << path << ":";
    if (!mtime) failure << " " << mtime.message() << ";";
    if (!ctime) failure << " " << ctime.message() << ";";
    return failure;
  }

  // Creates regular file `path` with exactly `mode` (past the umask), owner, group and content.
  static ::testing::AssertionResult MakeFile(const std::string& path, mode_t mode,
                                             uid_t uid = 0, gid_t gid = 0,
                                             const std::string& content = "") {
    const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
      return ::testing::AssertionFailure() << "create " << path << ": " << ErrnoName(errno);
    }
    const bool ok = write(fd, content.data(), content.size()) ==
                        static_cast<ssize_t>(content.size()) &&
                    fchown(fd, uid, gid) == 0 && fchmod(fd, mode) == 0;
    const int err = errno;
    close(fd);
    if (!ok) return ::testing::AssertionFailure() << "prepare " << path << ": " << ErrnoName(err);
    return ::testing::AssertionSuccess();
  }

  // Creates directory `path` with exactly `mode`, owner and group.
  static ::testing::AssertionResult MakeDir(const std::string& path, mode_t mode, uid_t uid = 0,
                                            gid_t gid = 0) {
    if (mkdir(path.c_str(), 0700) != 0 || chown(path.c_str(), uid, gid) != 0 ||
        chmod(path.c_str(), mode) != 0) {
      return ::testing::AssertionFailure() << "prepare dir " << path << ": " << ErrnoName(errno);
    }
    return ::testing::AssertionSuccess();
  }

  // The whole content of `path`, read as root; "<error>" when it cannot be read.
  static std::string ReadAll(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return "<error>";
    std::string content;
    char buffer[65536];
    ssize_t got;
    while ((got = read(fd, buffer, sizeof(buffer))) > 0) content.append(buffer, got);
    close(fd);
    return got < 0 ? "<error>" : content;
  }

  std::string dir_;  // Absolute path of this test's directory (the working directory).

 private:
  // Whether the filesystem keeps sub-second timestamps: any of a few fresh inodes' times has
  // nanoseconds.
  static bool ProbeFineTimestamps() {
    bool fine = false;
    for (int i = 0; i < 3 && !fine; ++i) {
      const std::string name = ".probe" + std::to_string(i);
      if (!MakeFile(name, 0644)) return false;
      struct stat st {};
      if (lstat(name.c_str(), &st) == 0) {
        fine = st.st_mtim.tv_nsec != 0 || st.st_ctim.tv_nsec != 0 || st.st_atim.tv_nsec != 0;
      }
      unlink(name.c_str());
      if (!fine) WaitForTimestampTick(true);
    }
    return fine;
  }

  int old_cwd_ = -1;
  mode_t old_umask_ = 022;
  static inline bool probed_ = false;
  static inline bool fine_timestamps_ = false;
};

}  // namespace posix_test
