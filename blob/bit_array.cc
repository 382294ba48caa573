#include "blob/bit_array.h"

#include <bit>
#include <cerrno>

#include "common/rounding.h"
#include "glog/logging.h"

namespace blobfs {
namespace {

constexpr uint64_t kWordBits = 64;

uint64_t WordsFor(uint64_t bits) { return DivideRoundingUp(bits, kWordBits); }

// Calls `apply(word, mask)` for each word touched by bits [start, start + length), with `mask`
// selecting the range's bits in that word. length > 0.
template <typename Apply>
void ForEachWordMask(std::vector<uint64_t>& words, uint64_t start, uint64_t length, Apply apply) {
  const uint64_t end = start + length;
  const uint64_t first = start / kWordBits;
  const uint64_t last = (end - 1) / kWordBits;
  for (uint64_t w = first; w <= last; ++w) {
    uint64_t mask = ~uint64_t{0};
    if (w == first) mask &= ~uint64_t{0} << (start % kWordBits);
    if (w == last && end % kWordBits != 0) mask &= ~uint64_t{0} >> (kWordBits - end % kWordBits);
    apply(words[w], mask);
  }
}

// The first bit in [from, end) whose value in `words` (after XOR with `flip`, all zeroes to find
// set bits or all ones to find clear ones) is 1.
std::optional<uint64_t> FindFirstOne(const std::vector<uint64_t>& words, uint64_t flip,
                                     uint64_t from, uint64_t end) {
  if (from >= end) return std::nullopt;
  uint64_t w = from / kWordBits;
  const uint64_t last = (end - 1) / kWordBits;
  uint64_t word = (words[w] ^ flip) & (~uint64_t{0} << (from % kWordBits));
  while (word == 0) {
    if (w == last) return std::nullopt;
    ++w;
    word = words[w] ^ flip;
  }
  const uint64_t bit = w * kWordBits + static_cast<uint64_t>(std::countr_zero(word));
  if (bit >= end) return std::nullopt;
  return bit;
}

}  // namespace

Result<BitArray> BitArray::FromBytes(std::span<const std::byte> bytes, uint64_t bit_count) {
  BitArray bits(bit_count);
  if (bytes.size() != bits.byte_size()) {
    return MakeError(EINVAL, "a mask of %d bits needs %d bytes, got %d", bit_count,
                     bits.byte_size(), bytes.size());
  }
  for (uint64_t i = 0; i < bytes.size(); ++i) {
    bits.words_[i / 8] |= static_cast<uint64_t>(bytes[i]) << (8 * (i % 8));
  }
  if (bit_count % 8 != 0) {
    const auto padding = static_cast<uint8_t>(bytes.back()) >> (bit_count % 8);
    if (padding != 0) {
      return MakeError(EUCLEAN, "a mask of %d bits has bits set past its end (last byte 0x%02x)",
                       bit_count, static_cast<uint8_t>(bytes.back()));
    }
  }
  for (uint64_t word : bits.words_) bits.count_ += static_cast<uint64_t>(std::popcount(word));
  return bits;
}

bool BitArray::Get(uint64_t index) const {
  CHECK_LT(index, size_);
  return (words_[index / kWordBits] >> (index % kWordBits)) & 1;
}

void BitArray::Set(uint64_t index) {
  CHECK_LT(index, size_);
  uint64_t& word = words_[index / kWordBits];
  const uint64_t mask = uint64_t{1} << (index % kWordBits);
  if ((word & mask) == 0) {
    word |= mask;
    ++count_;
  }
}

void BitArray::Clear(uint64_t index) {
  CHECK_LT(index, size_);
  uint64_t& word = words_[index / kWordBits];
  const uint64_t mask = uint64_t{1} << (index % kWordBits);
  if ((word & mask) != 0) {
    word &= ~mask;
    --count_;
  }
}

void BitArray::CheckRange(uint64_t start, uint64_t length) const {
  CHECK(start <= size_ && length <= size_ - start)
      << "bit range [" << start << ", +" << length << ") outside a BitArray of " << size_;
}

void BitArray::SetRange(uint64_t start, uint64_t length) {
  CheckRange(start, length);
  if (length == 0) return;
  ForEachWordMask(words_, start, length, [this](uint64_t& word, uint64_t mask) {
    count_ += static_cast<uint64_t>(std::popcount(mask & ~word));
    word |= mask;
  });
}

void BitArray::ClearRange(uint64_t start, uint64_t length) {
  CheckRange(start, length);
  if (length == 0) return;
  ForEachWordMask(words_, start, length, [this](uint64_t& word, uint64_t mask) {
    count_ -= static_cast<uint64_t>(std::popcount(mask & word));
    word &= ~mask;
  });
}

std::optional<uint64_t> BitArray::FindFirstSet(uint64_t from, uint64_t end) const {
  CHECK(from <= end && end <= size_) << "scan [" << from << ", " << end << ") of " << size_;
  return FindFirstOne(words_, 0, from, end);
}

std::optional<uint64_t> BitArray::FindFirstClear(uint64_t from, uint64_t end) const {
  CHECK(from <= end && end <= size_) << "scan [" << from << ", " << end << ") of " << size_;
  return FindFirstOne(words_, ~uint64_t{0}, from, end);
}

std::optional<uint64_t> BitArray::FindClearRun(uint64_t from, uint64_t length) const {
  CHECK_GT(length, 0u);
  CHECK_LE(from, size_);
  uint64_t start = from;
  while (true) {
    const std::optional<uint64_t> clear = FindFirstClear(start);
    if (!clear || length > size_ - *clear) return std::nullopt;
    const std::optional<uint64_t> blocker = FindFirstSet(*clear, *clear + length);
    if (!blocker) return *clear;
    start = *blocker + 1;
  }
}

void BitArray::Resize(uint64_t size) {
  if (size < size_) ClearRange(size, size_ - size);
  words_.resize(WordsFor(size), 0);
  size_ = size;
}

void BitArray::ToBytes(std::span<std::byte> out) const {
  CHECK_EQ(out.size(), byte_size());
  for (uint64_t i = 0; i < out.size(); ++i) {
    out[i] = static_cast<std::byte>(words_[i / 8] >> (8 * (i % 8)));
  }
}

}  // namespace blobfs
