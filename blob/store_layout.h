// Where a new store puts its structures (FORMAT.md, "Layout"): the super block a format writes.
//
// Contract: PlanLayout places, from page 0, the super block, the used-page, used-cluster and
// used-blob-id masks, the metadata region and the journal, each on a page boundary, and fills every other field
// of the super block (state 0: a new store is mounted, not clean). The result passes
// SuperBlock::Validate. EINVAL for options the format cannot hold (cluster size not a power of two
// from 4 KiB to 1 GiB or below the block size, block size over 4096, bstype over 16 bytes);
// ENOSPC when the device cannot hold the metadata and at least one data cluster.
#ifndef BLOBFS_BLOB_STORE_LAYOUT_H_
#define BLOBFS_BLOB_STORE_LAYOUT_H_

#include <cstdint>
#include <string_view>

#include <vector>

#include "blob/format/super_block.h"
#include "blob/page_range.h"
#include "common/error.h"

namespace blobfs {

struct LayoutRequest {
  uint64_t device_bytes = 0;
  uint32_t block_size = 0;
  uint32_t cluster_size = 0;
  uint64_t md_pages = 0;  // 0: the default (blob_store.h, BlobStoreInitOptions::md_pages).
  uint64_t journal_pages = 0;  // 0: the default, DefaultJournalPages.
  std::string_view bstype{};
};

Result<SuperBlock> PlanLayout(const LayoutRequest& request);

// The journal of a store of `total_pages` when none is asked for: 1/64 of the store, from 256
// pages (1 MiB; 64 on stores under 8 MiB) to 8192 (32 MiB). Every load reads it whole.
uint64_t DefaultJournalPages(uint64_t total_pages);

// The clusters the super block, masks, metadata region and journal occupy: [0, this).
uint64_t MetadataClusters(const SuperBlock& super);

// The journal's pages, and the pages whose writes go through it (the super block, the metadata
// region, and data: the directory blocks a commit overwrites; the masks are written in place).
// Only for a store with a journal.
PageRange JournalArea(const SuperBlock& super);
std::vector<PageRange> JournaledPages(const SuperBlock& super);

}  // namespace blobfs

#endif  // BLOBFS_BLOB_STORE_LAYOUT_H_
