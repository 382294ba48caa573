// BufferArena: the memory of the buffer cache's buffers — fixed-size slots carved from 2 MiB
// chunks of transparent huge pages (common/huge_page_buffer.h).
//
// Contract:
//  - Take() hands out a slot of slot_size bytes, aligned to the page (4 KiB) and to the slot
//    size's largest power-of-two factor up to 2 MiB, so O_DIRECT I/O may use it; its bytes are
//    undefined. Give() takes a slot back for a later Take().
//  - Memory is mapped a chunk at a time (2 MiB, or the slot size rounded up to it) when no free
//    slot is left, faulted in at once, and kept until the arena is destroyed: the arena holds the
//    cache's peak, which its capacity (plus dirty buffers awaiting write-back) bounds.
//  - Why: on huge pages a buffer's first use costs a 512th of the page faults, and pinning its
//    pages for O_DIRECT or for the FUSE reply copy walks one page-table entry per 2 MiB; both
//    are costly on virtual machines that trap page-table and interrupt-mask changes.
//    Without huge pages (THP "never") the slots are ordinary memory.
//  - Out of memory is fatal (a CHECK), as for any allocation of the cache's.
//  - Not thread-safe: one reactor (the cache's).
#ifndef BLOBFS_BLOBFS_BUFFER_ARENA_H_
#define BLOBFS_BLOBFS_BUFFER_ARENA_H_

#include <cstddef>
#include <vector>

#include "common/huge_page_buffer.h"

namespace blobfs {

class BufferArena {
 public:
  explicit BufferArena(size_t slot_size);
  BufferArena(const BufferArena&) = delete;
  BufferArena& operator=(const BufferArena&) = delete;

  size_t slot_size() const { return slot_size_; }
  std::byte* Take();
  void Give(std::byte* slot) { free_.push_back(slot); }
  size_t mapped_bytes() const { return mapped_bytes_; }
  size_t free_slots() const { return free_.size(); }

 private:
  const size_t slot_size_;
  std::vector<HugePageBuffer> chunks_;
  std::vector<std::byte*> free_;
  size_t mapped_bytes_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_BUFFER_ARENA_H_
