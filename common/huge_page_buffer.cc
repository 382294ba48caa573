// HugePageBuffer: mapping, alignment and huge-page advice (see huge_page_buffer.h).
#include "common/huge_page_buffer.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "common/rounding.h"

namespace blobfs {

Result<HugePageBuffer> HugePageBuffer::Allocate(size_t size) {
  // The mapping is the size rounded up plus one huge page: neither may wrap around.
  if (size == 0 || size > SIZE_MAX - 2 * kHugePageSize) {
    return MakeError(EINVAL, "cannot allocate %zu bytes", size);
  }
  const size_t rounded = RoundUp(size, kHugePageSize);
  // Map one huge page more than needed and trim both ends to reach a 2 MiB boundary.
  const size_t mapped = rounded + kHugePageSize;
  void* memory = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    return MakeError(errno, "cannot map %zu bytes for I/O buffers: %s", mapped, strerror(errno));
  }
  auto* start = static_cast<std::byte*>(memory);
  const uintptr_t misalignment = reinterpret_cast<uintptr_t>(start) % kHugePageSize;
  const size_t head = misalignment == 0 ? 0 : kHugePageSize - misalignment;
  if (head != 0) munmap(start, head);
  if (mapped - head - rounded != 0) munmap(start + head + rounded, mapped - head - rounded);
  std::byte* aligned = start + head;
  // Only advice: without THP support the buffer simply keeps normal pages.
  madvise(aligned, rounded, MADV_HUGEPAGE);
  const long page_size = sysconf(_SC_PAGESIZE);
  for (size_t offset = 0; offset < rounded; offset += static_cast<size_t>(page_size)) {
    aligned[offset] = std::byte{0};  // fault it in now, not during a timed run
  }
  return HugePageBuffer(aligned, rounded);
}

HugePageBuffer::~HugePageBuffer() {
  if (data_ != nullptr) munmap(data_, size_);
}

}  // namespace blobfs
