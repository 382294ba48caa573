// BufferArena: slots are distinct, aligned and writable, come from 2 MiB chunks mapped only when
// no free slot is left, and a slot given back is handed out again before any new memory.
#include "blobfs/buffer_arena.h"

#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace blobfs {
namespace {

constexpr size_t kChunk = size_t{2} << 20;

TEST(BufferArenaTest, SlotsAreDistinctAlignedAndFillAChunkBeforeTheNext) {
  BufferArena arena(64 << 10);
  EXPECT_EQ(arena.mapped_bytes(), 0u);
  std::set<std::byte*> slots;
  for (int i = 0; i < 32; ++i) {
    std::byte* slot = arena.Take();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(slot) % (64 << 10), 0u);
    std::memset(slot, i, 64 << 10);
    slots.insert(slot);
  }
  EXPECT_EQ(slots.size(), 32u);
  EXPECT_EQ(arena.mapped_bytes(), kChunk);
  EXPECT_EQ(arena.free_slots(), 0u);
  // Consecutive takes are consecutive memory (one large I/O entry for neighbouring buffers).
  EXPECT_EQ(*slots.rbegin() - *slots.begin(), static_cast<ptrdiff_t>(kChunk - (64 << 10)));
  arena.Take();
  EXPECT_EQ(arena.mapped_bytes(), 2 * kChunk);
}

TEST(BufferArenaTest, AGivenSlotIsReusedBeforeNewMemory) {
  BufferArena arena(64 << 10);
  std::vector<std::byte*> taken;
  for (int i = 0; i < 32; ++i) taken.push_back(arena.Take());
  arena.Give(taken[7]);
  EXPECT_EQ(arena.Take(), taken[7]);
  EXPECT_EQ(arena.mapped_bytes(), kChunk);
}

TEST(BufferArenaTest, SlotsLargerThanAChunkGetARoundedChunkEach) {
  BufferArena arena(3 << 20);
  std::byte* first = arena.Take();
  std::byte* second = arena.Take();
  EXPECT_NE(first, second);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % kChunk, 0u);
  EXPECT_EQ(arena.mapped_bytes(), 2 * 2 * kChunk);
  std::memset(first, 1, 3 << 20);
  std::memset(second, 2, 3 << 20);
  EXPECT_EQ(first[(3 << 20) - 1], std::byte{1});
}

}  // namespace
}  // namespace blobfs
