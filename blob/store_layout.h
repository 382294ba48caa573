// Where a new store puts its structures (FORMAT.md, "Layout"): the super block a format writes.
//
// Contract: PlanLayout places, from page 0, the super block, the used-page, used-cluster and
// used-blob-id masks and the metadata region, each on a page boundary, and fills every other field
// of the super block (state 0: a new store is mounted, not clean). The result passes
// SuperBlock::Validate. EINVAL for options the format cannot hold (cluster size not a power of two
// from 4 KiB to 1 GiB or below the block size, block size over 4096, bstype over 16 bytes);
// ENOSPC when the device cannot hold the metadata and at least one data cluster.
#ifndef BLOBFS_BLOB_STORE_LAYOUT_H_
#define BLOBFS_BLOB_STORE_LAYOUT_H_

#include <cstdint>
#include <string_view>

#include "blob/format/super_block.h"
#include "common/error.h"

namespace blobfs {

struct LayoutRequest {
  uint64_t device_bytes = 0;
  uint32_t block_size = 0;
  uint32_t cluster_size = 0;
  uint64_t md_pages = 0;  // 0: the default (blob_store.h, BlobStoreInitOptions::md_pages).
  std::string_view bstype{};
};

Result<SuperBlock> PlanLayout(const LayoutRequest& request);

// The clusters the super block, masks and metadata region occupy: [0, this).
uint64_t MetadataClusters(const SuperBlock& super);

}  // namespace blobfs

#endif  // BLOBFS_BLOB_STORE_LAYOUT_H_
