// Helpers for scatter/gather lists (iovec arrays): the bdev layer and its modules, and every
// layer above that moves bytes between such lists.
#ifndef BLOBFS_COMMON_IOV_H_
#define BLOBFS_COMMON_IOV_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <span>

#include "absl/container/inlined_vector.h"

namespace blobfs {

using IovecList = absl::InlinedVector<iovec, 4>;

// Sum of the lengths.
uint64_t IovLength(std::span<const iovec> iov);

// True when every base address and length is a multiple of `alignment` (a power of two).
bool IovAligned(std::span<const iovec> iov, uint32_t alignment);

// The part of `iov` covering bytes [offset, offset + length); appended to `out`.
void IovSlice(std::span<const iovec> iov, uint64_t offset, uint64_t length, IovecList& out);

// Copies between a flat buffer and the list; `length` must not exceed either side.
void IovCopyToBuffer(std::span<const iovec> iov, std::byte* buffer, uint64_t length);
void IovCopyFromBuffer(std::span<const iovec> iov, const std::byte* buffer, uint64_t length);

// Zeroes the first `length` bytes described by the list.
void IovZero(std::span<const iovec> iov, uint64_t length);

}  // namespace blobfs

#endif  // BLOBFS_COMMON_IOV_H_
