// Pages: the unit of metadata and of the placement of every on-disk structure (FORMAT.md, Units).
//
// Contract: a page is kPageSize bytes, always; page N of the device is byte offset N × kPageSize.
// Pages of the metadata region are numbered by a u32 index within the region, in which
// kNoPageIndex (0xFFFFFFFF) means "no page" (it ends a chain); so the region holds at most
// kMaxMetadataPages pages.
#ifndef BLOBFS_BLOB_FORMAT_PAGE_H_
#define BLOBFS_BLOB_FORMAT_PAGE_H_

#include <cstddef>
#include <cstdint>

namespace blobfs {

inline constexpr size_t kPageSize = 4096;
inline constexpr uint32_t kNoPageIndex = 0xFFFFFFFF;
inline constexpr uint64_t kMaxMetadataPages = 0xFFFFFFFF;

}  // namespace blobfs

#endif  // BLOBFS_BLOB_FORMAT_PAGE_H_
