// Blob ids and the root pages they name (FORMAT.md, "Blob ids").
//
// Contract: the blob whose root page has index r in the metadata region has id 2^32 + r; every
// other id names no blob, except kNoBlobId (2^64 − 1), which the super block uses for "no blob".
// BlobIdOfRoot and RootOfBlobId are inverse on every valid root index (0 to 2^32 − 2).
#ifndef BLOBFS_BLOB_FORMAT_BLOB_ID_H_
#define BLOBFS_BLOB_FORMAT_BLOB_ID_H_

#include <cstdint>
#include <optional>

#include "blob/format/page.h"

namespace blobfs {

inline constexpr uint64_t kBlobIdBase = uint64_t{1} << 32;
inline constexpr uint64_t kNoBlobId = UINT64_MAX;

// `root_index` must not be kNoPageIndex.
constexpr uint64_t BlobIdOfRoot(uint32_t root_index) { return kBlobIdBase + root_index; }

// The root page index of `blob_id`, or nullopt when the id cannot name a blob.
constexpr std::optional<uint32_t> RootOfBlobId(uint64_t blob_id) {
  if (blob_id < kBlobIdBase || blob_id - kBlobIdBase >= kNoPageIndex) return std::nullopt;
  return static_cast<uint32_t>(blob_id - kBlobIdBase);
}

}  // namespace blobfs

#endif  // BLOBFS_BLOB_FORMAT_BLOB_ID_H_
