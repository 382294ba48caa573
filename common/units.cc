#include "common/units.h"

#include <cctype>
#include <cerrno>
#include <charconv>

namespace blobfs {

Result<uint64_t> ParseSize(std::string_view text) {
  auto bad = [&] {
    return MakeError(EINVAL, "'%s' is not a size (use a number with an optional k, M, G or T suffix)",
                     text);
  };
  std::string_view rest = text;
  uint64_t value = 0;
  auto [end, error] = std::from_chars(rest.data(), rest.data() + rest.size(), value);
  if (error == std::errc::result_out_of_range) {
    return MakeError(EINVAL, "size '%s' does not fit in 64 bits", text);
  }
  if (error != std::errc() || end == rest.data()) return bad();
  rest.remove_prefix(static_cast<size_t>(end - rest.data()));
  int shift = 0;
  if (!rest.empty()) {
    switch (std::tolower(static_cast<unsigned char>(rest.front()))) {
      case 'k': shift = 10; break;
      case 'm': shift = 20; break;
      case 'g': shift = 30; break;
      case 't': shift = 40; break;
      default: return bad();
    }
    rest.remove_prefix(1);
  }
  if (rest == "iB" || rest == "ib" || (shift != 0 && (rest == "B" || rest == "b"))) rest = {};
  if (!rest.empty()) return bad();
  if (shift != 0 && value > (UINT64_MAX >> shift)) {
    return MakeError(EINVAL, "size '%s' does not fit in 64 bits", text);
  }
  return value << shift;
}

}  // namespace blobfs
