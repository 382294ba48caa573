// Parsing of human-written sizes: "4096", "4k", "64M", "1G", "2T" (binary multiples).
#ifndef BLOBFS_COMMON_UNITS_H_
#define BLOBFS_COMMON_UNITS_H_

#include <cstdint>
#include <string_view>

#include "common/error.h"

namespace blobfs {

// EINVAL (naming the text) for anything but digits with an optional k/K/m/M/g/G/t/T suffix
// (and an optional trailing 'B' or 'iB'), or a value that overflows 64 bits.
Result<uint64_t> ParseSize(std::string_view text);

}  // namespace blobfs

#endif  // BLOBFS_COMMON_UNITS_H_
