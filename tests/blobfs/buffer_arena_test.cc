// BufferArena: slots of each class are distinct, aligned to their size and writable, come from
// 2 MiB chunks mapped only when no free slot or pooled chunk is left, a slot given back is handed
// out again before any new memory, and a chunk whose slots all came back serves any class.
#include "blobfs/buffer_arena.h"

#include <cstdint>
#include <cstring>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace blobfs {
namespace {

constexpr size_t kChunk = size_t{2} << 20;
constexpr size_t kMinSlot = 4096;
constexpr size_t kClasses = 5;  // 4, 8, 16, 32 and 64 KiB.

TEST(BufferArenaTest, SlotsAreDistinctAlignedAndFillAChunkBeforeTheNext) {
  BufferArena arena(kMinSlot, kClasses);
  EXPECT_EQ(arena.mapped_bytes(), 0u);
  EXPECT_EQ(arena.slot_size(4), size_t{64} << 10);
  std::set<std::byte*> slots;
  for (int i = 0; i < 32; ++i) {
    std::byte* slot = arena.Take(4);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(slot) % (64 << 10), 0u);
    std::memset(slot, i, 64 << 10);
    slots.insert(slot);
  }
  EXPECT_EQ(slots.size(), 32u);
  EXPECT_EQ(arena.mapped_bytes(), kChunk);
  // Consecutive takes are consecutive memory (one large I/O entry for neighbouring buffers).
  EXPECT_EQ(*slots.rbegin() - *slots.begin(), static_cast<ptrdiff_t>(kChunk - (64 << 10)));
  arena.Take(4);
  EXPECT_EQ(arena.mapped_bytes(), 2 * kChunk);
}

TEST(BufferArenaTest, EachClassHasItsOwnChunksAndAlignment) {
  BufferArena arena(kMinSlot, kClasses);
  std::byte* small = arena.Take(0);
  std::byte* medium = arena.Take(2);
  std::byte* large = arena.Take(4);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(medium) % (16 << 10), 0u);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(large) % (64 << 10), 0u);
  EXPECT_EQ(arena.mapped_bytes(), 3 * kChunk);
  // 512 small slots fit the first chunk: the 511 more share it.
  std::set<std::byte*> smalls{small};
  for (int i = 0; i < 511; ++i) smalls.insert(arena.Take(0));
  EXPECT_EQ(smalls.size(), 512u);
  EXPECT_EQ(arena.mapped_bytes(), 3 * kChunk);
  for (std::byte* slot : smalls) std::memset(slot, 7, kMinSlot);
  std::memset(medium, 8, 16 << 10);
  EXPECT_EQ(large[0], std::byte{0});  // Not overwritten by its neighbours' classes.
}

TEST(BufferArenaTest, AGivenSlotIsReusedBeforeNewMemory) {
  BufferArena arena(kMinSlot, kClasses);
  std::vector<std::byte*> taken;
  for (int i = 0; i < 32; ++i) taken.push_back(arena.Take(4));
  arena.Give(taken[7], 4);
  EXPECT_EQ(arena.Take(4), taken[7]);
  EXPECT_EQ(arena.mapped_bytes(), kChunk);
}

TEST(BufferArenaTest, AnEmptiedChunkServesAnotherClass) {
  BufferArena arena(kMinSlot, kClasses);
  std::vector<std::byte*> small;
  for (int i = 0; i < 512; ++i) small.push_back(arena.Take(0));
  EXPECT_EQ(arena.mapped_bytes(), kChunk);
  // One slot still taken keeps the chunk with its class.
  for (int i = 1; i < 512; ++i) arena.Give(small[i], 0);
  EXPECT_EQ(arena.pooled_chunks(), 0u);
  arena.Take(4);
  EXPECT_EQ(arena.mapped_bytes(), 2 * kChunk);
  // The last one back pools the chunk, and large slots are carved from it.
  arena.Give(small[0], 0);
  EXPECT_EQ(arena.pooled_chunks(), 1u);
  std::set<std::byte*> large;
  for (int i = 0; i < 32; ++i) large.insert(arena.Take(4));
  EXPECT_EQ(arena.mapped_bytes(), 2 * kChunk);
  EXPECT_EQ(arena.pooled_chunks(), 0u);
  EXPECT_TRUE(large.contains(small[0]));
}

}  // namespace
}  // namespace blobfs
