// The input of the blob_store_load fuzz target, shared by the target and its seed generator.
//
// Contract: the target builds two small stores in memory once (kDeviceBytes on a malloc bdev of
// kBlockSize-byte blocks, kClusterSize clusters, kMetadataPages metadata pages, a handful of blobs
// with xattrs, extents and multi-page chains): one unloaded cleanly, one left as a crash leaves it
// (stale chain pages included). An input picks one and damages it before the store is loaded:
//  - byte 0, flags: kDirtyBase picks the crashed store; kRepairChecksums makes the CRCs of every
//    page an edit touched valid again (super block, metadata pages, masks), so that damage
//    reaches the checks behind them; kReadOnly loads read-only; kModify also changes the loaded
//    store (xattrs, resizes, writes, syncs, a create and a delete) before unloading it.
//  - then edits, each 4 bytes and a body: the page (byte 0, modulo the pages from the super block
//    to the end of the metadata region), the offset in it (bytes 1-2, little-endian, modulo 4096)
//    and a control byte. Control bit 7 copies the whole page named by the offset (modulo the same
//    page count) onto the page, with no body. Otherwise the body is (control & 0x3f) + 1 bytes
//    (cut at the input's and the page's end), XORed into the page when bit 6 is set and written
//    over it when it is not.
#ifndef BLOBFS_TESTS_FUZZ_BLOB_STORE_LOAD_FUZZ_INPUT_H_
#define BLOBFS_TESTS_FUZZ_BLOB_STORE_LOAD_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace blobfs::fuzz {

inline constexpr uint64_t kDeviceBytes = 1 << 20;
inline constexpr uint32_t kBlockSize = 512;
inline constexpr uint32_t kClusterSize = 4096;
inline constexpr uint64_t kMetadataPages = 32;

inline constexpr uint8_t kDirtyBase = 1;
inline constexpr uint8_t kRepairChecksums = 2;
inline constexpr uint8_t kReadOnly = 4;
inline constexpr uint8_t kModify = 8;

inline constexpr uint8_t kCopyPage = 0x80;
inline constexpr uint8_t kXor = 0x40;
inline constexpr size_t kMaxEditBytes = 64;

// Appends an edit that writes (or XORs) `bytes` (1 to kMaxEditBytes) at `offset` of `page`.
inline void AddEdit(std::vector<std::byte>& input, uint8_t page, uint16_t offset,
                    std::span<const std::byte> bytes, bool xor_bytes = false) {
  input.push_back(std::byte{page});
  input.push_back(static_cast<std::byte>(offset & 0xff));
  input.push_back(static_cast<std::byte>(offset >> 8));
  input.push_back(static_cast<std::byte>((bytes.size() - 1) | (xor_bytes ? kXor : 0)));
  input.insert(input.end(), bytes.begin(), bytes.end());
}

// Appends an edit that copies page `from` over page `page`.
inline void AddPageCopy(std::vector<std::byte>& input, uint8_t page, uint8_t from) {
  input.push_back(std::byte{page});
  input.push_back(std::byte{from});
  input.push_back(std::byte{0});
  input.push_back(std::byte{kCopyPage});
}

}  // namespace blobfs::fuzz

#endif  // BLOBFS_TESTS_FUZZ_BLOB_STORE_LOAD_FUZZ_INPUT_H_
