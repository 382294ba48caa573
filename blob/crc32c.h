// CRC-32C (Castagnoli): the checksum of every on-disk structure of the blob store.
//
// Contract: Crc32c(bytes) is the standard CRC-32C — reflected polynomial 0x82F63B78, initial value
// 0xFFFFFFFF, final XOR 0xFFFFFFFF (the iSCSI/ext4 CRC; Crc32c("123456789") == 0xE3069283). It
// runs on ISA-L, which picks the fastest implementation for the CPU at run time. Any length works,
// including 0 (whose CRC is 0). Crc32cExtend(Crc32c(a), b) == Crc32c(a ‖ b): a checksum over
// pieces that are not contiguous in memory.
#ifndef BLOBFS_BLOB_CRC32C_H_
#define BLOBFS_BLOB_CRC32C_H_

#include <cstddef>
#include <cstdint>
#include <span>

namespace blobfs {

uint32_t Crc32c(std::span<const std::byte> bytes);
uint32_t Crc32cExtend(uint32_t crc, std::span<const std::byte> bytes);

}  // namespace blobfs

#endif  // BLOBFS_BLOB_CRC32C_H_
