#include "common/iov.h"

#include <algorithm>
#include <cstring>

namespace blobfs {
namespace {

// Calls fn(segment_base, segment_offset_in_stream, segment_length) for the first `length` bytes.
template <typename Fn>
void ForEachSegment(std::span<const iovec> iov, uint64_t length, Fn fn) {
  uint64_t done = 0;
  for (const iovec& segment : iov) {
    if (done == length) return;
    uint64_t take = std::min<uint64_t>(segment.iov_len, length - done);
    fn(static_cast<std::byte*>(segment.iov_base), done, take);
    done += take;
  }
}

}  // namespace

uint64_t IovLength(std::span<const iovec> iov) {
  uint64_t total = 0;
  for (const iovec& segment : iov) total += segment.iov_len;
  return total;
}

bool IovAligned(std::span<const iovec> iov, uint32_t alignment) {
  const uint64_t mask = alignment - 1;
  for (const iovec& segment : iov) {
    if ((reinterpret_cast<uintptr_t>(segment.iov_base) & mask) != 0 || (segment.iov_len & mask) != 0) {
      return false;
    }
  }
  return true;
}

void IovSlice(std::span<const iovec> iov, uint64_t offset, uint64_t length, IovecList& out) {
  for (const iovec& segment : iov) {
    if (length == 0) return;
    if (offset >= segment.iov_len) {
      offset -= segment.iov_len;
      continue;
    }
    uint64_t take = std::min<uint64_t>(segment.iov_len - offset, length);
    out.push_back({static_cast<std::byte*>(segment.iov_base) + offset, take});
    length -= take;
    offset = 0;
  }
}

void IovCopyToBuffer(std::span<const iovec> iov, std::byte* buffer, uint64_t length) {
  ForEachSegment(iov, length, [&](std::byte* base, uint64_t at, uint64_t n) {
    std::memcpy(buffer + at, base, n);
  });
}

void IovCopyFromBuffer(std::span<const iovec> iov, const std::byte* buffer, uint64_t length) {
  ForEachSegment(iov, length, [&](std::byte* base, uint64_t at, uint64_t n) {
    std::memcpy(base, buffer + at, n);
  });
}

void IovZero(std::span<const iovec> iov, uint64_t length) {
  ForEachSegment(iov, length, [](std::byte* base, uint64_t, uint64_t n) { std::memset(base, 0, n); });
}

}  // namespace blobfs
