// BitArray: a resizable vector of bits, the in-memory form of the blob store's masks (used
// metadata pages, used clusters, used blob ids).
//
// Contract:
//  - Bits are numbered from 0 to size() - 1 and start clear. count() (set bits) is kept up to date
//    by every change, so it costs O(1).
//  - Scans (FindFirstSet, FindFirstClear, FindClearRun) go a 64-bit word at a time.
//  - An index or range outside [0, size()) is a programming error and CHECK-fails.
//  - The byte form is FORMAT.md's mask bits: bit i is byte i / 8, bit i % 8 (least significant
//    first), ceil(size() / 8) bytes, bits past size() in the last byte zero. FromBytes validates
//    what it is given and returns an error instead of trusting it.
#ifndef BLOBFS_BLOB_BIT_ARRAY_H_
#define BLOBFS_BLOB_BIT_ARRAY_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/error.h"

namespace blobfs {

class BitArray {
 public:
  BitArray() = default;
  explicit BitArray(uint64_t size) { Resize(size); }

  // Builds an array of `bit_count` bits from their byte form. EINVAL when `bytes` is not exactly
  // ceil(bit_count / 8) bytes long; EUCLEAN when a bit past `bit_count` in the last byte is set.
  static Result<BitArray> FromBytes(std::span<const std::byte> bytes, uint64_t bit_count);

  uint64_t size() const { return size_; }
  // Set bits.
  uint64_t count() const { return count_; }

  bool Get(uint64_t index) const;
  void Set(uint64_t index);
  void Clear(uint64_t index);
  // Sets or clears bits [start, start + length).
  void SetRange(uint64_t start, uint64_t length);
  void ClearRange(uint64_t start, uint64_t length);

  // The first set (clear) bit in [from, end), or nullopt; the one-argument forms search to size().
  // from <= end <= size().
  std::optional<uint64_t> FindFirstSet(uint64_t from, uint64_t end) const;
  std::optional<uint64_t> FindFirstSet(uint64_t from) const { return FindFirstSet(from, size_); }
  std::optional<uint64_t> FindFirstClear(uint64_t from, uint64_t end) const;
  std::optional<uint64_t> FindFirstClear(uint64_t from) const {
    return FindFirstClear(from, size_);
  }
  // The lowest start >= `from` such that bits [start, start + length) are all clear and inside the
  // array, or nullopt. length > 0.
  std::optional<uint64_t> FindClearRun(uint64_t from, uint64_t length) const;

  // Grows with clear bits or drops the bits at and past `size`.
  void Resize(uint64_t size);

  // ceil(size() / 8): the length of the byte form.
  uint64_t byte_size() const { return (size_ + 7) / 8; }
  // Writes the byte form into `out`, which must be byte_size() bytes.
  void ToBytes(std::span<std::byte> out) const;

  friend bool operator==(const BitArray&, const BitArray&) = default;

 private:
  void CheckRange(uint64_t start, uint64_t length) const;

  // Bit i is bit i % 64 of words_[i / 64]; bits past size_ are always clear.
  std::vector<uint64_t> words_;
  uint64_t size_ = 0;
  uint64_t count_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_BIT_ARRAY_H_
