// One page of the metadata region: header, descriptor area, next link and CRC (FORMAT.md,
// "Metadata pages"). What the descriptors mean, and how pages form a chain, is blob_metadata.h's.
//
// Contract:
//  - ParseMetadataPage accepts a page exactly when its CRC matches, descriptor_bytes ≤ 4064 and
//    every byte of the descriptor area after descriptor_bytes is zero; otherwise EUCLEAN with a
//    message "metadata page <index>: <field> ...".
//  - A page is written in two steps: the descriptors into DescriptorArea(page), then
//    FinishMetadataPage, which writes the header, zeroes the rest of the area and sets next and
//    the CRC. SetMetadataPageNext relinks a finished page (next and CRC only).
//  - Pages are kPageSize bytes; other sizes are a programming error.
#ifndef BLOBFS_BLOB_FORMAT_METADATA_PAGE_H_
#define BLOBFS_BLOB_FORMAT_METADATA_PAGE_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "blob/format/page.h"
#include "common/error.h"

namespace blobfs {

inline constexpr size_t kDescriptorAreaSize = 4064;

struct MetadataPageHeader {
  uint64_t blob_id = 0;
  uint64_t sync_generation = 0;
  uint32_t sequence = 0;
  uint32_t descriptor_bytes = 0;
  uint32_t next = kNoPageIndex;  // Index in the metadata region of the next page of the chain.

  friend bool operator==(const MetadataPageHeader&, const MetadataPageHeader&) = default;
};

struct MetadataPage {
  MetadataPageHeader header;
  std::span<const std::byte>
      descriptors;  // The header.descriptor_bytes bytes: a view into the page.
};

// True when the page's CRC matches its bytes: it was written whole as a metadata page (whether
// its layout is valid is ParseMetadataPage's to say).
bool MetadataPageCrcMatches(std::span<const std::byte> page);

// The header fields as they stand, unchecked.
MetadataPageHeader PeekMetadataPageHeader(std::span<const std::byte> page);

// Checks the page at `index` of the metadata region on its own (`index` only names it in errors).
Result<MetadataPage> ParseMetadataPage(std::span<const std::byte> page, uint32_t index);

// True when a page found at `index` is a blob's root: sequence 0 and blob_id 2^32 + index.
bool IsRootPage(const MetadataPageHeader& header, uint32_t index);

// The kDescriptorAreaSize bytes where the descriptors of `page` go.
std::span<std::byte> DescriptorArea(std::span<std::byte> page);

// Completes `page` whose first header.descriptor_bytes bytes of DescriptorArea are written.
void FinishMetadataPage(const MetadataPageHeader& header, std::span<std::byte> page);

// Sets next (and the CRC) of a finished page.
void SetMetadataPageNext(std::span<std::byte> page, uint32_t next);

}  // namespace blobfs

#endif  // BLOBFS_BLOB_FORMAT_METADATA_PAGE_H_
