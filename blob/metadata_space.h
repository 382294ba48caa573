// MetadataSpace: which pages of the metadata region are in use, and which blob ids (FORMAT.md,
// "Masks": the used-page and used-blob-id masks).
//
// Contract:
//  - A blob's root page is the page of its id (blob_id.h), so claiming an id claims that page.
//    Other chain pages come from the same pool. Every id in use has its page in use.
//  - ClaimRoot / ClaimPages are all-or-nothing: ENOSPC, with nothing changed, when the region has
//    too few free pages. Searches start where the previous claim ended (next-fit), so claiming is
//    O(1) amortized while the region has room.
//  - Releasing a page or id that is not in use is a programming error and CHECK-fails.
//  - Single-threaded: the blob store's metadata reactor owns it.
#ifndef BLOBFS_BLOB_METADATA_SPACE_H_
#define BLOBFS_BLOB_METADATA_SPACE_H_

#include <cstdint>
#include <optional>
#include <vector>

#include "blob/bit_array.h"
#include "common/error.h"

namespace blobfs {

class MetadataSpace {
 public:
  MetadataSpace() = default;
  // An empty region of `pages` pages.
  explicit MetadataSpace(uint64_t pages) : used_pages_(pages), used_ids_(pages) {}
  // From the masks of a clean load. EUCLEAN when an id is in use whose page is not.
  static Result<MetadataSpace> FromMasks(BitArray used_pages, BitArray used_ids);

  uint64_t pages() const { return used_pages_.size(); }
  uint64_t used_pages() const { return used_pages_.count(); }
  uint64_t blob_count() const { return used_ids_.count(); }
  const BitArray& used_pages_mask() const { return used_pages_; }
  const BitArray& used_ids_mask() const { return used_ids_; }

  bool PageInUse(uint32_t index) const { return used_pages_.Get(index); }
  bool IdInUse(uint32_t root_index) const { return used_ids_.Get(root_index); }
  // The first root index in use at or after `from`.
  std::optional<uint32_t> NextId(uint64_t from) const;

  // A free page claimed as the root of a new blob, with its id.
  Result<uint32_t> ClaimRoot();
  // `count` free pages claimed (for chain pages other than the root).
  Result<std::vector<uint32_t>> ClaimPages(uint64_t count);
  // For the dirty load: marks a page / id found on disk.
  void MarkPage(uint32_t index) { used_pages_.Set(index); }
  void MarkId(uint32_t root_index) { used_ids_.Set(root_index); }

  void ReleasePage(uint32_t index);
  // Releases the id; its root page stays claimed until ReleasePage.
  void ReleaseId(uint32_t root_index);

 private:
  BitArray used_pages_;
  BitArray used_ids_;
  uint64_t cursor_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_METADATA_SPACE_H_
