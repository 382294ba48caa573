// The blobcli commands that read the on-disk format directly (FORMAT.md), without loading the
// store: they work on a store that is dirty, half-written or too damaged to load, and write nothing
// (the device is opened read-only).
//
// Contract:
//  - DumpSuperCommand prints every field of the super block (page 0) decoded by
//    SuperBlock::Decode, the clean state, and whether each mask on disk decodes and how many of its
//    bits are set. When page 0 does not decode, it prints the page's header bytes in hex and
//    returns Decode's error.
//  - DumpBlobCommand follows the chain of metadata pages of `blob_id` from its root (the page the
//    id names) and prints, for each page, its index, header fields and every descriptor decoded by
//    the format codecs (flags, extent runs, xattr fragments). It ends with whether the chain as a
//    whole is valid (ParseChain). A page that does not parse, a `next` outside the metadata region
//    or back into the chain ends the walk; the first such error, or ParseChain's, is returned
//    after everything readable was printed. EINVAL for an id that cannot name a root page of this
//    store; the super block must decode.
#ifndef BLOBFS_TOOLS_BLOBCLI_DUMP_H_
#define BLOBFS_TOOLS_BLOBCLI_DUMP_H_

#include <cstdint>
#include <string>

#include "bdev/bdev.h"
#include "blob/format/descriptor.h"
#include "blob/format/super_block.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

// `device` is a bdev spec, or a path taken as uring:PATH.
Status DumpSuperCommand(const std::string& device);
Status DumpBlobCommand(const std::string& device, uint64_t blob_id);

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_BLOBCLI_DUMP_H_
