// The input of the blob_format fuzz target, shared by the target and its seed generator.
//
// Contract: an input is a 16-byte control header followed by pages. Header byte 0 bit 0 asks the
// target to make the CRCs (and the mask kind and chain links) valid before parsing, so that
// mutations reach the checks behind them; byte 1 picks the mask kind (1 + byte % 3); bytes 8 to 15
// are the total_clusters (little-endian) that metadata chains are checked against. The rest is cut
// into kPageSize pages, the last one zero-padded; page 0 doubles as a super block, all pages
// together as a mask and as a metadata chain whose root is page 0.
#ifndef BLOBFS_TESTS_FUZZ_BLOB_FORMAT_FUZZ_INPUT_H_
#define BLOBFS_TESTS_FUZZ_BLOB_FORMAT_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "blob/format/endian.h"
#include "blob/format/mask.h"

namespace blobfs::fuzz {

inline constexpr size_t kControlSize = 16;
inline constexpr uint8_t kRepairChecksums = 1;

struct Control {
  uint8_t flags = 0;
  MaskKind mask_kind = MaskKind::kUsedPages;
  uint64_t total_clusters = 0;
};

inline Control ParseControl(std::span<const std::byte> header) {
  Control control;
  control.flags = std::to_integer<uint8_t>(header[0]);
  control.mask_kind = static_cast<MaskKind>(1 + std::to_integer<uint8_t>(header[1]) % 3);
  control.total_clusters = LoadLe64(header, 8);
  return control;
}

// The input for `control` and `pages` (a whole number of pages).
inline std::vector<std::byte> MakeInput(const Control& control, std::span<const std::byte> pages) {
  std::vector<std::byte> input(kControlSize);
  input[0] = std::byte{control.flags};
  input[1] = std::byte(static_cast<uint32_t>(control.mask_kind) - 1);
  StoreLe64(input, 8, control.total_clusters);
  input.insert(input.end(), pages.begin(), pages.end());
  return input;
}

}  // namespace blobfs::fuzz

#endif  // BLOBFS_TESTS_FUZZ_BLOB_FORMAT_FUZZ_INPUT_H_
