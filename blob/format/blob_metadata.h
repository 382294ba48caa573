// A blob's metadata and the chain of metadata pages that stores it (FORMAT.md, "Metadata pages",
// "Descriptors").
//
// Contract:
//  - SerializeBlob turns valid BlobMetadata into pages in chain order: the root (sequence 0)
//    first, descriptors in FORMAT.md's order (FLAGS; XATTR then XATTR_INTERNAL fragments, values
//    split over pages as needed; EXTENTS), every page complete with next = kNoPageIndex. Placing
//    pages is the store's job: LinkChain then sets each page's next (and CRC) from the indices the
//    store chose.
//  - ParseChain takes the pages of one chain in order, as a loader read them by following `next`
//    from the root (it stops at kNoPageIndex, keeps every index inside the metadata region and
//    never revisits a page). It accepts exactly the chains FORMAT.md allows and fails with
//    EUCLEAN, the message naming the page index and the field: bad CRC or page layout, a root
//    that is not at its blob's index, blob_id / sync_generation / sequence / next not continuing
//    the chain, a descriptor overrun or of unknown type, FLAGS missing, misplaced or repeated,
//    descriptors out of order, extent runs unsorted, overlapping or outside num_clusters or
//    total_clusters, xattr fragments with gaps or left incomplete, duplicate names.
//  - ParseChain(LinkChain(SerializeBlob(m))) == m for every valid m.
//  - Whether flag bits are known, and whether clusters are claimed twice, is the loader's to judge.
#ifndef BLOBFS_BLOB_FORMAT_BLOB_METADATA_H_
#define BLOBFS_BLOB_FORMAT_BLOB_METADATA_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "blob/format/descriptor.h"
#include "common/aligned_buffer.h"
#include "common/error.h"

namespace blobfs {

struct BlobMetadata {
  uint64_t blob_id = 0;  // 2^32 + the root page's index.
  uint64_t sync_generation = 0;
  uint64_t invalid_flags = 0;
  uint64_t data_ro_flags = 0;
  uint64_t md_ro_flags = 0;
  uint64_t num_clusters = 0;
  // Sorted by logical cluster, not overlapping, each inside num_clusters, count ≥ 1.
  std::vector<ExtentRun> extents;
  // Names of 1 to 255 bytes without NUL; values of at most 65536 bytes.
  std::map<std::string, std::string> xattrs;
  std::map<std::string, std::string> internal_xattrs;

  friend bool operator==(const BlobMetadata&, const BlobMetadata&) = default;
};

// Pages of kPageSize bytes, aligned to kPageSize (ready for direct I/O), in chain order.
// `metadata` must be valid as described above and its blob_id a blob id (blob_id.h).
std::vector<AlignedBuffer> SerializeBlob(const BlobMetadata& metadata);

// Sets next of pages[i] to page_indices[i + 1] and of the last page to kNoPageIndex. The two
// spans have the same size and page_indices[0] is the root's index (that of blob_id).
void LinkChain(std::span<AlignedBuffer> pages, std::span<const uint32_t> page_indices);

// A page of a chain as the loader read it.
struct ChainPage {
  uint32_t index = 0;  // In the metadata region.
  std::span<const std::byte> bytes;
};

// `pages` is not empty; `total_clusters` is the super block's.
Result<BlobMetadata> ParseChain(std::span<const ChainPage> pages, uint64_t total_clusters);

}  // namespace blobfs

#endif  // BLOBFS_BLOB_FORMAT_BLOB_METADATA_H_
