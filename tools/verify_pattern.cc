// The verify data pattern (see verify_pattern.h).
#include "tools/verify_pattern.h"

#include <algorithm>
#include <cstring>

#include "absl/strings/str_format.h"
#include "glog/logging.h"
#include "tools/splitmix64.h"

namespace blobfs {
namespace {

constexpr size_t kShownBytes = 16;

std::string Hex(std::span<const std::byte> bytes) {
  std::string out;
  for (std::byte b : bytes) {
    if (!out.empty()) out.push_back(' ');
    absl::StrAppendFormat(&out, "%02x", static_cast<unsigned>(b));
  }
  return out;
}

}  // namespace

void FillVerifyPattern(std::span<std::byte> buffer, uint64_t offset, uint64_t generation,
                       uint64_t seed) {
  CHECK_EQ(buffer.size() % sizeof(uint64_t), 0u) << "verify buffers hold whole 8-byte words";
  const uint64_t base = Mix64(Mix64(Mix64(seed) ^ offset) ^ generation);
  for (size_t i = 0; i < buffer.size() / sizeof(uint64_t); ++i) {
    // An odd multiplier keeps the per-word terms distinct.
    const uint64_t word = base ^ (i * 0x9e3779b97f4a7c15ULL);
    std::memcpy(buffer.data() + i * sizeof(uint64_t), &word, sizeof(word));
  }
}

std::optional<size_t> FirstMismatch(std::span<const std::byte> expected,
                                    std::span<const std::byte> actual) {
  CHECK_EQ(expected.size(), actual.size());
  if (std::memcmp(expected.data(), actual.data(), expected.size()) == 0) return std::nullopt;
  auto differ = std::mismatch(expected.begin(), expected.end(), actual.begin());
  return static_cast<size_t>(differ.first - expected.begin());
}

std::string DescribeMismatch(std::span<const std::byte> expected, std::span<const std::byte> actual,
                             uint64_t io_offset, size_t at) {
  const size_t shown = std::min(kShownBytes, expected.size() - at);
  return absl::StrFormat(
      "verify FAILED at offset %lu: expected %s, got %s (byte %zu of the %zu-byte I/O at offset "
      "%lu)",
      io_offset + at, Hex(expected.subspan(at, shown)), Hex(actual.subspan(at, shown)), at,
      expected.size(), io_offset);
}

}  // namespace blobfs
