#include "common/uuid.h"

#include <cerrno>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"

namespace blobfs {

Uuid Uuid::Random() {
  absl::BitGen generator;
  Uuid uuid;
  for (uint8_t& byte : uuid.bytes) byte = absl::Uniform<uint8_t>(generator);
  uuid.bytes[6] = (uuid.bytes[6] & 0x0f) | 0x40;  // version 4
  uuid.bytes[8] = (uuid.bytes[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return uuid;
}

bool Uuid::is_nil() const {
  for (uint8_t byte : bytes) {
    if (byte != 0) return false;
  }
  return true;
}

std::string Uuid::ToString() const {
  std::string out;
  for (size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    absl::StrAppendFormat(&out, "%02x", bytes[i]);
  }
  return out;
}

Result<Uuid> Uuid::Parse(std::string_view text) {
  auto bad = [&] { return MakeError(EINVAL, "'%s' is not a UUID (want 8-4-4-4-12 hex digits)", text); };
  if (text.size() != 36) return bad();
  Uuid uuid;
  size_t byte = 0;
  for (size_t i = 0; i < text.size();) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (text[i] != '-') return bad();
      ++i;
      continue;
    }
    auto nibble = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    int high = nibble(text[i]);
    int low = nibble(text[i + 1]);
    if (high < 0 || low < 0) return bad();
    uuid.bytes[byte++] = static_cast<uint8_t>(high << 4 | low);
    i += 2;
  }
  return uuid;
}

}  // namespace blobfs
