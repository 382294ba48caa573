#include "blobfs/buffer_arena.h"

#include "glog/logging.h"

namespace blobfs {

BufferArena::BufferArena(size_t slot_size) : slot_size_(slot_size) {
  CHECK(slot_size_ != 0 && slot_size_ % 4096 == 0) << "slot size " << slot_size_;
}

std::byte* BufferArena::Take() {
  if (free_.empty()) {
    const size_t chunk_size =
        (slot_size_ + HugePageBuffer::kHugePageSize - 1) / HugePageBuffer::kHugePageSize *
        HugePageBuffer::kHugePageSize;
    Result<HugePageBuffer> chunk = HugePageBuffer::Allocate(chunk_size);
    CHECK(chunk.ok()) << "out of memory for the buffer cache: " << chunk.error();
    std::byte* base = chunk->data();
    const size_t slots = chunk->size() / slot_size_;
    mapped_bytes_ += chunk->size();
    chunks_.push_back(std::move(*chunk));
    // Handed out from the chunk's start, so consecutive buffers are consecutive memory.
    for (size_t i = slots; i-- > 0;) free_.push_back(base + i * slot_size_);
  }
  std::byte* slot = free_.back();
  free_.pop_back();
  return slot;
}

}  // namespace blobfs
