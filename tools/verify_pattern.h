// The data pattern of bdevperf's verify workload, and how a mismatch is found and described.
//
// Contract:
//  - FillVerifyPattern writes a buffer whose every 8-byte word depends on (offset, generation,
//    seed) and on the word's position, so data read back from the wrong offset, from an older or
//    newer write, from another run's seed, or shifted within the buffer differs from the expected
//    pattern in (practically) every word. The buffer size must be a multiple of 8.
//  - FirstMismatch compares two equally sized buffers and returns the index of the first differing
//    byte, or nullopt when they are equal.
//  - DescribeMismatch renders "verify FAILED at offset X: expected <hex>, got <hex>" where X is the
//    device byte offset of the first differing byte and the hex shows up to 16 bytes from there.
#ifndef BLOBFS_TOOLS_VERIFY_PATTERN_H_
#define BLOBFS_TOOLS_VERIFY_PATTERN_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

namespace blobfs {

void FillVerifyPattern(std::span<std::byte> buffer, uint64_t offset, uint64_t generation,
                       uint64_t seed);

std::optional<size_t> FirstMismatch(std::span<const std::byte> expected,
                                    std::span<const std::byte> actual);

// `io_offset` is the device offset of the buffers' first byte, `at` the first differing index.
std::string DescribeMismatch(std::span<const std::byte> expected, std::span<const std::byte> actual,
                             uint64_t io_offset, size_t at);

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_VERIFY_PATTERN_H_
