// BitArray: bit access and the set-bit count, word-at-a-time scans across word boundaries and at
// the end, ranges, resizing, and the mask byte form (including bit counts not a multiple of 8).
#include "blob/bit_array.h"

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace blobfs {
namespace {

std::vector<std::byte> Bytes(const BitArray& bits) {
  std::vector<std::byte> out(bits.byte_size());
  bits.ToBytes(out);
  return out;
}

TEST(BitArrayTest, StartsClear) {
  BitArray bits(100);
  EXPECT_EQ(bits.size(), 100u);
  EXPECT_EQ(bits.count(), 0u);
  for (uint64_t i = 0; i < 100; ++i) EXPECT_FALSE(bits.Get(i)) << i;
  EXPECT_EQ(bits.FindFirstSet(0), std::nullopt);
  EXPECT_EQ(bits.FindFirstClear(0), 0u);
}

TEST(BitArrayTest, SetAndClearKeepTheCount) {
  BitArray bits(130);
  bits.Set(0);
  bits.Set(64);
  bits.Set(129);
  bits.Set(64);  // already set: no change
  EXPECT_EQ(bits.count(), 3u);
  EXPECT_TRUE(bits.Get(64));
  EXPECT_FALSE(bits.Get(63));
  bits.Clear(64);
  bits.Clear(65);  // already clear: no change
  EXPECT_EQ(bits.count(), 2u);
  EXPECT_FALSE(bits.Get(64));
  EXPECT_TRUE(bits.Get(129));
}

TEST(BitArrayTest, FindFirstSetAcrossWords) {
  BitArray bits(300);
  bits.Set(63);
  bits.Set(64);
  bits.Set(200);
  EXPECT_EQ(bits.FindFirstSet(0), 63u);
  EXPECT_EQ(bits.FindFirstSet(63), 63u);
  EXPECT_EQ(bits.FindFirstSet(64), 64u);
  EXPECT_EQ(bits.FindFirstSet(65), 200u);  // skips a whole empty word
  EXPECT_EQ(bits.FindFirstSet(201), std::nullopt);
  EXPECT_EQ(bits.FindFirstSet(300), std::nullopt);
  // The end bound is exclusive, also when the hit is in the bound's word.
  EXPECT_EQ(bits.FindFirstSet(65, 200), std::nullopt);
  EXPECT_EQ(bits.FindFirstSet(65, 201), 200u);
  EXPECT_EQ(bits.FindFirstSet(0, 63), std::nullopt);
  EXPECT_EQ(bits.FindFirstSet(10, 10), std::nullopt);
}

TEST(BitArrayTest, FindFirstClearAcrossWordsAndAtTheEnd) {
  BitArray bits(130);  // the last word has 2 bits in use
  bits.SetRange(0, 130);
  EXPECT_EQ(bits.count(), 130u);
  // The unused bits of the last word are clear but not part of the array.
  EXPECT_EQ(bits.FindFirstClear(0), std::nullopt);
  bits.Clear(129);
  EXPECT_EQ(bits.FindFirstClear(0), 129u);
  EXPECT_EQ(bits.FindFirstClear(0, 129), std::nullopt);
  bits.Clear(64);
  EXPECT_EQ(bits.FindFirstClear(1), 64u);
  EXPECT_EQ(bits.FindFirstClear(65), 129u);

  BitArray whole_words(128);
  whole_words.SetRange(0, 128);
  EXPECT_EQ(whole_words.FindFirstClear(0), std::nullopt);
  EXPECT_EQ(whole_words.FindFirstClear(128), std::nullopt);
}

TEST(BitArrayTest, FindClearRun) {
  BitArray bits(200);
  bits.Set(10);
  bits.Set(70);
  bits.Set(140);
  EXPECT_EQ(bits.FindClearRun(0, 10), 0u);
  EXPECT_EQ(bits.FindClearRun(0, 11), 11u);
  EXPECT_EQ(bits.FindClearRun(5, 5), 5u);
  EXPECT_EQ(bits.FindClearRun(5, 6), 11u);
  EXPECT_EQ(bits.FindClearRun(0, 59), 11u);  // [11, 70) crosses a word boundary
  EXPECT_EQ(bits.FindClearRun(0, 60), 71u);
  EXPECT_EQ(bits.FindClearRun(0, 69), 71u);
  EXPECT_EQ(bits.FindClearRun(0, 70), std::nullopt);
  // [141, 200) is the last run: 59 bits, ending exactly at the end.
  EXPECT_EQ(bits.FindClearRun(100, 59), 141u);
  EXPECT_EQ(bits.FindClearRun(100, 60), std::nullopt);
  EXPECT_EQ(bits.FindClearRun(199, 1), 199u);
  EXPECT_EQ(bits.FindClearRun(199, 2), std::nullopt);
  EXPECT_EQ(bits.FindClearRun(200, 1), std::nullopt);
  EXPECT_EQ(bits.FindClearRun(0, 201), std::nullopt);
}

TEST(BitArrayTest, RangesCountOnlyChangedBits) {
  BitArray bits(1000);
  bits.SetRange(3, 5);  // inside one word
  EXPECT_EQ(bits.count(), 5u);
  bits.SetRange(0, 700);  // overlaps what is set, spans many words
  EXPECT_EQ(bits.count(), 700u);
  bits.SetRange(500, 0);
  EXPECT_EQ(bits.count(), 700u);
  bits.ClearRange(60, 10);  // across a word boundary
  EXPECT_EQ(bits.count(), 690u);
  EXPECT_TRUE(bits.Get(59));
  EXPECT_FALSE(bits.Get(60));
  EXPECT_FALSE(bits.Get(69));
  EXPECT_TRUE(bits.Get(70));
  bits.ClearRange(0, 1000);
  EXPECT_EQ(bits.count(), 0u);
  bits.SetRange(1000, 0);
  bits.SetRange(936, 64);  // the last, partial word
  EXPECT_EQ(bits.count(), 64u);
  EXPECT_EQ(bits.FindFirstSet(0), 936u);
}

TEST(BitArrayTest, ResizeGrowsClearAndShrinkDropsBits) {
  BitArray bits(70);
  bits.SetRange(0, 70);
  bits.Resize(130);
  EXPECT_EQ(bits.size(), 130u);
  EXPECT_EQ(bits.count(), 70u);
  EXPECT_EQ(bits.FindFirstClear(0), 70u);
  bits.Resize(65);
  EXPECT_EQ(bits.count(), 65u);
  EXPECT_EQ(bits.FindFirstClear(0), std::nullopt);
  // Bits dropped by shrinking do not come back when growing.
  bits.Resize(200);
  EXPECT_EQ(bits.count(), 65u);
  EXPECT_EQ(bits.FindFirstSet(65), std::nullopt);
  bits.Resize(0);
  EXPECT_EQ(bits.count(), 0u);
  EXPECT_EQ(bits.byte_size(), 0u);
}

TEST(BitArrayTest, ByteFormIsLeastSignificantBitFirst) {
  BitArray bits(13);
  bits.Set(0);
  bits.Set(9);
  bits.Set(12);  // in the last, partial byte
  EXPECT_EQ(Bytes(bits), (std::vector<std::byte>{std::byte{0x01}, std::byte{0x12}}));
}

TEST(BitArrayTest, ByteRoundTripKeepsTheTrailingBits) {
  // SPDK's mask loader dropped the last bit_count % 8 bits; every tail length must survive here.
  std::mt19937_64 random(17);
  for (uint64_t size : {1u, 7u, 8u, 9u, 63u, 64u, 65u, 1001u, 4099u}) {
    BitArray bits(size);
    for (uint64_t i = 0; i < size; ++i) {
      if (random() % 3 == 0) bits.Set(i);
    }
    bits.Set(size - 1);
    const std::vector<std::byte> bytes = Bytes(bits);
    ASSERT_EQ(bytes.size(), (size + 7) / 8);
    for (uint64_t i = 0; i < size; ++i) {
      ASSERT_EQ(((static_cast<unsigned>(bytes[i / 8]) >> (i % 8)) & 1) != 0, bits.Get(i)) << i;
    }
    Result<BitArray> loaded = BitArray::FromBytes(bytes, size);
    ASSERT_TRUE(loaded.ok()) << loaded.error().ToString();
    EXPECT_EQ(loaded->size(), size);
    EXPECT_EQ(loaded->count(), bits.count());
    EXPECT_TRUE(loaded->Get(size - 1));
    EXPECT_EQ(*loaded, bits) << size;
  }
}

TEST(BitArrayTest, FromBytesValidates) {
  const std::vector<std::byte> two = {std::byte{0xff}, std::byte{0x01}};
  Result<BitArray> short_input = BitArray::FromBytes(two, 17);
  ASSERT_FALSE(short_input.ok());
  EXPECT_EQ(short_input.error().code(), EINVAL);
  Result<BitArray> long_input = BitArray::FromBytes(two, 8);
  ASSERT_FALSE(long_input.ok());
  EXPECT_EQ(long_input.error().code(), EINVAL);

  // Bit 9 lies past a 9-bit array.
  const std::vector<std::byte> padded = {std::byte{0x00}, std::byte{0x02}};
  Result<BitArray> dirty_tail = BitArray::FromBytes(padded, 9);
  ASSERT_FALSE(dirty_tail.ok());
  EXPECT_EQ(dirty_tail.error().code(), EUCLEAN);

  Result<BitArray> nine = BitArray::FromBytes(two, 9);
  ASSERT_TRUE(nine.ok()) << nine.error().ToString();
  EXPECT_EQ(nine->count(), 9u);

  Result<BitArray> empty = BitArray::FromBytes({}, 0);
  ASSERT_TRUE(empty.ok()) << empty.error().ToString();
  EXPECT_EQ(empty->size(), 0u);
}

TEST(BitArrayTest, MatchesAReferenceUnderRandomOperations) {
  std::mt19937_64 random(5);
  constexpr uint64_t kSize = 700;
  BitArray bits(kSize);
  std::vector<bool> reference(kSize);
  auto reference_find = [&](uint64_t from, uint64_t end, bool value) -> std::optional<uint64_t> {
    for (uint64_t i = from; i < end; ++i) {
      if (reference[i] == value) return i;
    }
    return std::nullopt;
  };
  auto reference_run = [&](uint64_t from, uint64_t length) -> std::optional<uint64_t> {
    for (uint64_t start = from; start + length <= kSize; ++start) {
      if (!reference_find(start, start + length, true)) return start;
    }
    return std::nullopt;
  };
  for (int step = 0; step < 20000; ++step) {
    const uint64_t a = random() % (kSize + 1);
    const uint64_t b = random() % (kSize + 1);
    const uint64_t from = std::min(a, b);
    const uint64_t end = std::max(a, b);
    switch (random() % 7) {
      case 0:
        if (from < kSize) {
          bits.Set(from);
          reference[from] = true;
        }
        break;
      case 1:
        if (from < kSize) {
          bits.Clear(from);
          reference[from] = false;
        }
        break;
      case 2: {
        // Short ranges, so that the array stays mixed.
        const uint64_t length = std::min<uint64_t>(end - from, random() % 100);
        bits.SetRange(from, length);
        for (uint64_t i = from; i < from + length; ++i) reference[i] = true;
        break;
      }
      case 3: {
        const uint64_t length = std::min<uint64_t>(end - from, random() % 100);
        bits.ClearRange(from, length);
        for (uint64_t i = from; i < from + length; ++i) reference[i] = false;
        break;
      }
      case 4:
        ASSERT_EQ(bits.FindFirstSet(from, end), reference_find(from, end, true));
        break;
      case 5:
        ASSERT_EQ(bits.FindFirstClear(from, end), reference_find(from, end, false));
        break;
      case 6: {
        const uint64_t length = 1 + random() % 80;
        ASSERT_EQ(bits.FindClearRun(from, length), reference_run(from, length))
            << "from " << from << " length " << length;
        break;
      }
    }
    ASSERT_EQ(bits.count(),
              static_cast<uint64_t>(std::count(reference.begin(), reference.end(), true)));
  }
}

TEST(BitArrayDeathTest, OutOfRangeIsAProgrammingError) {
  BitArray bits(10);
  EXPECT_DEATH(bits.Get(10), "");
  EXPECT_DEATH(bits.Set(10), "");
  EXPECT_DEATH(bits.SetRange(5, 6), "outside a BitArray of 10");
  EXPECT_DEATH(bits.FindFirstSet(11), "");
}

}  // namespace
}  // namespace blobfs
