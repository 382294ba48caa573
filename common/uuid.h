// Uuid: a 128-bit RFC 4122 identifier (random, version 4), printed in the usual 8-4-4-4-12 form.
#ifndef BLOBFS_COMMON_UUID_H_
#define BLOBFS_COMMON_UUID_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/error.h"

namespace blobfs {

struct Uuid {
  std::array<uint8_t, 16> bytes{};

  static Uuid Random();
  // Parses "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (case-insensitive); EINVAL otherwise.
  static Result<Uuid> Parse(std::string_view text);

  bool is_nil() const;
  std::string ToString() const;
  friend bool operator==(const Uuid&, const Uuid&) = default;
};

}  // namespace blobfs

#endif  // BLOBFS_COMMON_UUID_H_
