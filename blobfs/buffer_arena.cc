#include "blobfs/buffer_arena.h"

#include "glog/logging.h"

namespace blobfs {

BufferArena::BufferArena(size_t min_slot, size_t classes)
    : min_slot_(min_slot), partial_(classes) {
  CHECK(min_slot_ != 0 && min_slot_ % 4096 == 0) << "slot size " << min_slot_;
  CHECK(classes != 0 && slot_size(classes - 1) <= kChunkSize)
      << classes << " slot classes from " << min_slot_ << " bytes";
}

std::byte* BufferArena::Take(size_t slot_class) {
  std::vector<Chunk*>& partial = partial_[slot_class];
  if (partial.empty()) {
    if (pool_.empty()) {
      Result<HugePageBuffer> memory = HugePageBuffer::Allocate(kChunkSize);
      CHECK(memory.ok()) << "out of memory for the buffer cache: " << memory.error();
      std::byte* base = memory->data();
      mapped_.push_back(std::move(*memory));
      Chunk& chunk = chunks_[reinterpret_cast<uintptr_t>(base)];
      chunk.base = base;
      pool_.push_back(&chunk);
    }
    Chunk* chunk = pool_.back();
    pool_.pop_back();
    Assign(*chunk, slot_class);
  }
  Chunk& chunk = *partial.back();
  std::byte* slot = chunk.free_slots.back();
  chunk.free_slots.pop_back();
  ++chunk.taken;
  if (chunk.free_slots.empty()) partial.pop_back();
  return slot;
}

void BufferArena::Give(std::byte* slot, size_t slot_class) {
  Chunk& chunk = ChunkOf(slot);
  CHECK_EQ(chunk.slot_class, slot_class) << "slot given back to the wrong class";
  CHECK_GT(chunk.taken, 0u);
  chunk.free_slots.push_back(slot);
  --chunk.taken;
  std::vector<Chunk*>& partial = partial_[slot_class];
  if (chunk.free_slots.size() == 1) {
    chunk.partial_index = partial.size();
    partial.push_back(&chunk);
  }
  if (chunk.taken == 0) {
    RemoveFromPartial(chunk);
    chunk.free_slots.clear();
    pool_.push_back(&chunk);
  }
}

BufferArena::Chunk& BufferArena::ChunkOf(std::byte* slot) {
  const uintptr_t base = reinterpret_cast<uintptr_t>(slot) / kChunkSize * kChunkSize;
  auto it = chunks_.find(base);
  CHECK(it != chunks_.end()) << "slot not from this arena";
  return it->second;
}

void BufferArena::Assign(Chunk& chunk, size_t slot_class) {
  const size_t size = slot_size(slot_class);
  const size_t slots = kChunkSize / size;
  chunk.slot_class = slot_class;
  chunk.taken = 0;
  chunk.free_slots.reserve(slots);
  // Handed out from the chunk's start, so consecutive buffers are consecutive memory.
  for (size_t i = slots; i-- > 0;) chunk.free_slots.push_back(chunk.base + i * size);
  chunk.partial_index = partial_[slot_class].size();
  partial_[slot_class].push_back(&chunk);
}

void BufferArena::RemoveFromPartial(Chunk& chunk) {
  std::vector<Chunk*>& partial = partial_[chunk.slot_class];
  Chunk* last = partial.back();
  partial[chunk.partial_index] = last;
  last->partial_index = chunk.partial_index;
  partial.pop_back();
}

}  // namespace blobfs
