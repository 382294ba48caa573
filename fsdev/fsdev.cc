#include "fsdev/fsdev.h"

#include <cerrno>

namespace blobfs {

Status CheckFsdevName(std::string_view name) {
  constexpr size_t kNameMax = 255;
  if (name.empty()) return MakeError(EINVAL, "empty name");
  if (name.size() > kNameMax) {
    return MakeError(ENAMETOOLONG, "name of %d bytes (at most %d)", name.size(), kNameMax);
  }
  if (name.find('/') != std::string_view::npos) return MakeError(EINVAL, "name with '/'");
  if (name.find('\0') != std::string_view::npos) return MakeError(EINVAL, "name with NUL");
  return Status();
}

}  // namespace blobfs
