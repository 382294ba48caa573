// HugePageBuffer: zeroed anonymous memory, 2 MiB-aligned, that asks for transparent huge pages
// before it is first touched — for I/O data buffers.
//
// Contract: Allocate(size) maps at least `size` bytes (ENOMEM otherwise), advises MADV_HUGEPAGE and
// touches every page, so no page fault happens later in a timed run. When the kernel grants huge
// pages (THP "always" or "madvise"), every 2 MiB of the buffer is physically contiguous and a
// large O_DIRECT transfer from it is a handful of DMA segments instead of one per 4 KiB page; the
// block layer then neither splits the request at the device's segment limit nor makes the device
// walk hundreds of descriptors. Without huge pages it is ordinary memory. Unmapped on destruction;
// move-only.
#ifndef BLOBFS_COMMON_HUGE_PAGE_BUFFER_H_
#define BLOBFS_COMMON_HUGE_PAGE_BUFFER_H_

#include <cstddef>
#include <utility>

#include "common/error.h"

namespace blobfs {

class HugePageBuffer {
 public:
  static constexpr size_t kHugePageSize = size_t{2} << 20;

  static Result<HugePageBuffer> Allocate(size_t size);

  HugePageBuffer(HugePageBuffer&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  HugePageBuffer& operator=(HugePageBuffer&&) = delete;
  HugePageBuffer(const HugePageBuffer&) = delete;
  HugePageBuffer& operator=(const HugePageBuffer&) = delete;
  ~HugePageBuffer();

  std::byte* data() { return data_; }
  size_t size() const { return size_; }  // `size` rounded up to a multiple of kHugePageSize

 private:
  HugePageBuffer(std::byte* data, size_t size) : data_(data), size_(size) {}

  std::byte* data_;
  size_t size_;
};

}  // namespace blobfs

#endif  // BLOBFS_COMMON_HUGE_PAGE_BUFFER_H_
