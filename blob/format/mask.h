// Masks: the bitmaps of used metadata pages, used clusters and used blob ids, each in its own run
// of pages (FORMAT.md, "Masks").
//
// Contract:
//  - Bits are passed and returned in the byte form of BitArray (blob/bit_array.h), least
//    significant bit first: bit i is bits[i / 8], bit i % 8.
//  - EncodeMask writes a mask that DecodeMask accepts; DecodeMask returns exactly the first
//    bit_count bits that were encoded (bits past bit_count come back as zero).
//  - DecodeMask fails with EUCLEAN, its message starting with the mask's name ("used cluster mask:
//    ..."), when the kind or bit_count differ from what the super block implies, the CRC does not
//    match, the run is too short, a bit past bit_count is set, or any byte after the bits is not
//    zero. A loader treats any such failure as "fall back to the dirty load".
//  - Both sides take the whole run of pages as one span whose size is a multiple of kPageSize.
#ifndef BLOBFS_BLOB_FORMAT_MASK_H_
#define BLOBFS_BLOB_FORMAT_MASK_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/error.h"

namespace blobfs {

enum class MaskKind : uint32_t {
  kUsedPages = 1,     // bit_count = md_len
  kUsedClusters = 2,  // bit_count = total_clusters
  kUsedBlobIds = 3,   // bit_count = md_len
};

// Pages a mask of `bit_count` bits occupies (its 16-byte header and ceil(bit_count / 8) bytes).
uint64_t MaskPages(uint64_t bit_count);

// Writes the mask into `pages`, which must hold at least MaskPages(bit_count) pages; `bits` must
// hold at least ceil(bit_count / 8) bytes.
void EncodeMask(MaskKind kind, std::span<const std::byte> bits, uint64_t bit_count,
                std::span<std::byte> pages);

// The ceil(bit_count / 8) bytes of bits of the mask in `pages`: a view into `pages`.
Result<std::span<const std::byte>> DecodeMask(std::span<const std::byte> pages, MaskKind kind,
                                              uint64_t bit_count);

}  // namespace blobfs

#endif  // BLOBFS_BLOB_FORMAT_MASK_H_
