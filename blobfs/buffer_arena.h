// BufferArena: the memory of the buffer cache's buffers — slots of a few power-of-two sizes
// carved from 2 MiB chunks of transparent huge pages (common/huge_page_buffer.h).
//
// Contract:
//  - The arena serves `classes` slot sizes: class c is min_slot << c bytes (min_slot a multiple
//    of 4 KiB; the largest class at most 2 MiB). Take(c) hands out a slot of class c, aligned to
//    its size (so O_DIRECT I/O may use it); its bytes are undefined. Give(slot, c) takes it back
//    for a later Take.
//  - A chunk serves one class at a time. Once none of its slots is taken it goes back to a pool
//    that any class takes chunks from, so memory freed by small buffers serves large ones too
//    (as far as fragmentation allows: one slot in use keeps its chunk in its class).
//  - Memory is mapped a chunk at a time when neither a free slot of the class nor a pooled chunk
//    is left, faulted in at once, and kept until the arena is destroyed: the arena holds the
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
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "common/huge_page_buffer.h"

namespace blobfs {

class BufferArena {
 public:
  static constexpr size_t kChunkSize = HugePageBuffer::kHugePageSize;

  BufferArena(size_t min_slot, size_t classes);
  BufferArena(const BufferArena&) = delete;
  BufferArena& operator=(const BufferArena&) = delete;

  size_t slot_size(size_t slot_class) const { return min_slot_ << slot_class; }
  std::byte* Take(size_t slot_class);
  void Give(std::byte* slot, size_t slot_class);
  size_t mapped_bytes() const { return mapped_.size() * kChunkSize; }
  // Chunks no class holds (all of their slots free).
  size_t pooled_chunks() const { return pool_.size(); }

 private:
  struct Chunk {
    std::byte* base = nullptr;
    size_t slot_class = 0;
    std::vector<std::byte*> free_slots{};  // Handed out from the back.
    size_t taken = 0;
    size_t partial_index = 0;  // Its place in partial_[slot_class] while it has free slots.
  };

  Chunk& ChunkOf(std::byte* slot);
  // Gives `chunk` (pooled) to `slot_class`, all of its slots free.
  void Assign(Chunk& chunk, size_t slot_class);
  void RemoveFromPartial(Chunk& chunk);

  const size_t min_slot_;
  std::vector<HugePageBuffer> mapped_;
  std::unordered_map<uintptr_t, Chunk> chunks_;  // By base address; nodes stay put.
  std::vector<Chunk*> pool_;
  std::vector<std::vector<Chunk*>> partial_;  // Per class: chunks with a free slot.
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_BUFFER_ARENA_H_
