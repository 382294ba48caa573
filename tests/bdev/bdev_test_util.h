// Shared helpers for the bdev test suites: reactors, temporary directories, data patterns and
// assertion helpers that work inside coroutines (gtest's ASSERT_* use `return`, which a coroutine
// cannot; these use `co_return`).
#ifndef BLOBFS_TESTS_BDEV_BDEV_TEST_UTIL_H_
#define BLOBFS_TESTS_BDEV_BDEV_TEST_UTIL_H_

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/reactor.h"
#include "common/sync_bridge.h"
#include "gtest/gtest.h"

namespace blobfs::bdev_test {

inline std::unique_ptr<Reactor> NewReactor() {
  auto created = Reactor::Create();
  CHECK(created.ok()) << created.error().ToString();
  return std::move(created).value();
}

inline std::unique_ptr<ReactorThread> NewReactorThread() {
  auto started = ReactorThread::Start();
  CHECK(started.ok()) << started.error().ToString();
  return std::move(started).value();
}

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  explicit TempDir(const std::string& parent = "") {
    std::string base = parent;
    if (base.empty()) {
      const char* env = std::getenv("TMPDIR");
      base = (env != nullptr && env[0] != '\0') ? env : "/tmp";
    }
    std::string pattern = base + "/blobfs-bdev-test-XXXXXX";
    std::vector<char> buffer(pattern.begin(), pattern.end());
    buffer.push_back('\0');
    char* made = mkdtemp(buffer.data());
    PCHECK(made != nullptr) << "mkdtemp " << pattern;
    path_ = made;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string File(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Deterministic, position-dependent bytes: different seeds give different data, and no block of
// a pattern is all zeroes.
inline std::vector<std::byte> Pattern(size_t size, uint32_t seed) {
  std::vector<std::byte> data(size);
  uint32_t state = seed * 2654435761u + 12345u;
  for (size_t i = 0; i < size; ++i) {
    state = state * 1103515245u + 12345u;
    data[i] = static_cast<std::byte>(((state >> 16) & 0x7f) | 0x01);  // never zero
  }
  return data;
}

inline bool AllZero(std::span<const std::byte> data) {
  for (std::byte b : data) {
    if (b != std::byte{0}) return false;
  }
  return true;
}

inline bool SameBytes(std::span<const std::byte> a, std::span<const std::byte> b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size()) == 0);
}

// The errno of a failed Status/Result, 0 when it succeeded.
template <typename R>
int ErrCode(const R& result) {
  return result.ok() ? 0 : result.error().code();
}

// "OK" or "EINVAL: message", for failure output and message checks.
template <typename R>
std::string ErrText(const R& result) {
  return result.ok() ? std::string("OK") : result.error().ToString();
}

// Number of open file descriptors of this process (to catch leaks on error paths).
inline int OpenFdCount() {
  int count = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return -1;
  while (dirent* entry = readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  closedir(dir);
  return count - 1;  // the directory stream itself
}

}  // namespace blobfs::bdev_test

// Coroutine-friendly assertions: record a failure and end the test coroutine.
#define CO_ASSERT_TRUE(cond)                    \
  do {                                          \
    if (!(cond)) {                              \
      ADD_FAILURE() << "Expected true: " #cond; \
      co_return;                                \
    }                                           \
  } while (0)

#define CO_ASSERT_OK(expr)                                                           \
  do {                                                                               \
    auto blobfs_co_status_ = (expr);                                                 \
    if (!blobfs_co_status_.ok()) {                                                   \
      ADD_FAILURE() << #expr << " failed: " << blobfs_co_status_.error().ToString(); \
      co_return;                                                                     \
    }                                                                                \
  } while (0)

// `lhs = value of expr` (a Result<T>), or a failure that ends the test coroutine.
#define CO_ASSIGN_OR_FAIL(lhs, expr) \
  CO_ASSIGN_OR_FAIL_IMPL_(BLOBFS_CONCAT_(blobfs_co_result_, __LINE__), lhs, expr)
#define CO_ASSIGN_OR_FAIL_IMPL_(tmp, lhs, expr)                      \
  auto tmp = (expr);                                                 \
  if (!tmp.ok()) {                                                   \
    ADD_FAILURE() << #expr << " failed: " << tmp.error().ToString(); \
    co_return;                                                       \
  }                                                                  \
  lhs = std::move(tmp).value()

// The same outside coroutines.
#define ASSERT_OK(expr)                                                   \
  do {                                                                    \
    auto blobfs_status_ = (expr);                                         \
    ASSERT_TRUE(blobfs_status_.ok())                                      \
        << #expr << ": " << ::blobfs::bdev_test::ErrText(blobfs_status_); \
  } while (0)

#define EXPECT_OK(expr)                                                   \
  do {                                                                    \
    auto blobfs_status_ = (expr);                                         \
    EXPECT_TRUE(blobfs_status_.ok())                                      \
        << #expr << ": " << ::blobfs::bdev_test::ErrText(blobfs_status_); \
  } while (0)

#define ASSERT_ASSIGN_OR_FAIL(lhs, expr) \
  ASSERT_ASSIGN_OR_FAIL_IMPL_(BLOBFS_CONCAT_(blobfs_result_, __LINE__), lhs, expr)
#define ASSERT_ASSIGN_OR_FAIL_IMPL_(tmp, lhs, expr)                            \
  auto tmp = (expr);                                                           \
  ASSERT_TRUE(tmp.ok()) << #expr << ": " << ::blobfs::bdev_test::ErrText(tmp); \
  lhs = std::move(tmp).value()

#endif  // BLOBFS_TESTS_BDEV_BDEV_TEST_UTIL_H_
