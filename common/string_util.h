// Small string helpers over std::string_view (Debian's abseil has its own string_view type, so
// its splitting and number parsing do not take std::string_view).
#ifndef BLOBFS_COMMON_STRING_UTIL_H_
#define BLOBFS_COMMON_STRING_UTIL_H_

#include <charconv>
#include <cstddef>
#include <optional>
#include <string_view>
#include <system_error>
#include <vector>

namespace blobfs {

// Splits at each `separator`; with `max_parts`, the last part keeps the remaining separators.
inline std::vector<std::string_view> SplitString(std::string_view text, char separator,
                                                 size_t max_parts = SIZE_MAX) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    size_t at = text.find(separator);
    if (at == std::string_view::npos) break;
    parts.push_back(text.substr(0, at));
    text.remove_prefix(at + 1);
  }
  parts.push_back(text);
  return parts;
}

// The whole of `text` as an unsigned decimal number, or nullopt.
template <typename Unsigned>
std::optional<Unsigned> ParseUnsigned(std::string_view text) {
  Unsigned value{};
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

}  // namespace blobfs

#endif  // BLOBFS_COMMON_STRING_UTIL_H_
