// AlignedBuffer: an owned, zero-initialised byte buffer whose address is a multiple of a chosen
// power-of-two alignment (for O_DIRECT I/O and bounce buffers).
#ifndef BLOBFS_COMMON_ALIGNED_BUFFER_H_
#define BLOBFS_COMMON_ALIGNED_BUFFER_H_

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>

#include "common/rounding.h"
#include "glog/logging.h"

namespace blobfs {

class AlignedBuffer {
 public:
  AlignedBuffer() = default;
  // `alignment` must be a power of two; the size is rounded up internally, not in size().
  AlignedBuffer(size_t size, size_t alignment) : size_(size) {
    CHECK(alignment != 0 && (alignment & (alignment - 1)) == 0) << "alignment " << alignment;
    if (alignment < sizeof(void*)) alignment = sizeof(void*);
    size_t rounded = RoundUp(size, alignment);
    void* memory = std::aligned_alloc(alignment, rounded == 0 ? alignment : rounded);
    CHECK(memory != nullptr) << "out of memory allocating " << size << " bytes";
    std::memset(memory, 0, size);
    data_.reset(static_cast<std::byte*>(memory));
  }

  std::byte* data() { return data_.get(); }
  const std::byte* data() const { return data_.get(); }
  size_t size() const { return size_; }
  std::span<std::byte> span() { return {data(), size_}; }
  std::span<const std::byte> span() const { return {data(), size_}; }

 private:
  struct Free {
    void operator()(std::byte* p) const { std::free(p); }
  };
  std::unique_ptr<std::byte, Free> data_;
  size_t size_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_COMMON_ALIGNED_BUFFER_H_
