// Error and Result<T>: the one error representation of blobfs-fuse.
//
// Contract:
//  - An Error carries a positive errno value (EIO, EINVAL, ...) and a human-readable message that
//    names the problem ("read of 4096 bytes at offset 8192: beyond the end of bdev 'm0' (8192 bytes)").
//    FUSE replies use -code(); tools print ToString().
//  - Result<T> holds either a T or an Error; Status (= Result<void>) holds nothing or an Error.
//  - No exceptions cross a layer boundary. Errors travel as values, through co_await as well; the
//    RETURN_IF_ERROR / ASSIGN_OR_RETURN macros (and their CO_ twins for coroutines) propagate them.
#ifndef BLOBFS_COMMON_ERROR_H_
#define BLOBFS_COMMON_ERROR_H_

#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "absl/strings/str_format.h"
#include "glog/logging.h"

namespace blobfs {

class Error {
 public:
  // `code` must be a positive errno value.
  Error(int code, std::string message) : code_(code), message_(std::move(message)) {
    DCHECK_GT(code, 0);
  }

  int code() const { return code_; }
  const std::string& message() const { return message_; }

  // "EINVAL: <message>" — the form tools print.
  std::string ToString() const;

  // Returns a copy whose message is "<context>: <message>", for adding where an error happened.
  Error WithContext(std::string_view context) const;

 private:
  int code_;
  std::string message_;
};

// Builds an Error with a printf-style message: MakeError(EINVAL, "bad size %d", n).
template <typename... Args>
Error MakeError(int code, const absl::FormatSpec<Args...>& format, const Args&... args) {
  return Error(code, absl::StrFormat(format, args...));
}

// The symbolic name of an errno value ("ENOENT"), or "E<number>" when unknown.
std::string ErrnoName(int code);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }

  T& value() & {
    CHECK(ok()) << "value() of a failed Result: " << error().ToString();
    return std::get<0>(state_);
  }
  const T& value() const& {
    CHECK(ok()) << "value() of a failed Result: " << error().ToString();
    return std::get<0>(state_);
  }
  T&& value() && {
    CHECK(ok()) << "value() of a failed Result: " << error().ToString();
    return std::get<0>(std::move(state_));
  }
  // The error alone (or success), dropping the value.
  Result<void> status() const;
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    CHECK(!ok()) << "error() of a successful Result";
    return std::get<1>(state_);
  }
  Error&& error() && {
    CHECK(!ok()) << "error() of a successful Result";
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  const Error& error() const& {
    CHECK(!ok()) << "error() of a successful Status";
    return std::get<1>(state_);
  }
  Error&& error() && {
    CHECK(!ok()) << "error() of a successful Status";
    return std::get<1>(std::move(state_));
  }
  // Negative errno for protocol replies: 0 on success.
  int negative_errno() const { return ok() ? 0 : -error().code(); }

 private:
  std::variant<std::monostate, Error> state_;
};

using Status = Result<void>;

inline Status OkStatus() { return Status(); }

template <typename T>
Status Result<T>::status() const {
  if (ok()) return Status();
  return error();
}

// For logs: the error's text, or "OK".
inline std::ostream& operator<<(std::ostream& out, const Error& error) {
  return out << error.ToString();
}
inline std::ostream& operator<<(std::ostream& out, const Status& status) {
  return status.ok() ? out << "OK" : out << status.error();
}

}  // namespace blobfs

#define BLOBFS_CONCAT_INNER_(a, b) a##b
#define BLOBFS_CONCAT_(a, b) BLOBFS_CONCAT_INNER_(a, b)

// Returns the error of `expr` (a Status or Result) from the enclosing function.
// CHECK-fails with the error's text unless `expr` (a Status or Result) is ok: for operations that
// cannot fail unless the program itself is wrong.
#define CHECK_OK(expr)                                               \
  do {                                                               \
    const auto& blobfs_check_ok_status = (expr);                     \
    CHECK(blobfs_check_ok_status.ok()) << blobfs_check_ok_status.error().ToString(); \
  } while (false)

#define RETURN_IF_ERROR(expr)                        \
  do {                                               \
    auto blobfs_status_ = (expr);                    \
    if (!blobfs_status_.ok()) {                      \
      return std::move(blobfs_status_).error();      \
    }                                                \
  } while (0)

// Evaluates `expr` (a Result<T>); on error returns it, else assigns the value to `lhs`.
#define ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(BLOBFS_CONCAT_(blobfs_result_, __LINE__), lhs, expr, return)

// The same two for coroutines (co_return). `expr` may contain co_await.
#define CO_RETURN_IF_ERROR(expr)                     \
  do {                                               \
    auto blobfs_status_ = (expr);                    \
    if (!blobfs_status_.ok()) {                      \
      co_return std::move(blobfs_status_).error();   \
    }                                                \
  } while (0)

#define CO_ASSIGN_OR_RETURN(lhs, expr) \
  ASSIGN_OR_RETURN_IMPL_(BLOBFS_CONCAT_(blobfs_result_, __LINE__), lhs, expr, co_return)

#define ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr, return_keyword) \
  auto tmp = (expr);                                           \
  if (!tmp.ok()) {                                             \
    return_keyword std::move(tmp).error();                     \
  }                                                            \
  lhs = std::move(tmp).value()

#endif  // BLOBFS_COMMON_ERROR_H_
