#include "common/error.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace blobfs {

std::string ErrnoName(int code) {
  // strerrorname_np (glibc 2.32+) gives "ENOENT"; fall back to the number for unknown values.
  const char* name = strerrorname_np(code);
  return name != nullptr ? std::string(name) : absl::StrCat("E", code);
}

std::string Error::ToString() const { return absl::StrCat(ErrnoName(code_), ": ", message_); }

Error Error::WithContext(std::string_view context) const {
  return Error(code_, std::string(context) + ": " + message_);
}

}  // namespace blobfs
