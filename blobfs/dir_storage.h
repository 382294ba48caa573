// DirStorage: where the blocks of one directory index (DirTree) live. blobfs keeps them in the
// directory's thin blob (DirBlobStorage); tests keep them in memory.
//
// Contract: blocks are block_size() bytes, numbered from 0. A block never written, or released
// and not written since, reads as zeroes. Calls come from one reactor.
#ifndef BLOBFS_BLOBFS_DIR_STORAGE_H_
#define BLOBFS_BLOBFS_DIR_STORAGE_H_

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/error.h"
#include "common/task.h"

namespace blobfs {

class DirStorage {
 public:
  virtual ~DirStorage() = default;
  virtual uint32_t block_size() const = 0;
  virtual Task<Status> ReadBlock(uint64_t index, std::span<std::byte> out) = 0;
  virtual Task<Status> WriteBlock(uint64_t index, std::span<const std::byte> data) = 0;
  // The block is no longer used: storage may give its space back.
  virtual Task<Status> ReleaseBlock(uint64_t index) = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_DIR_STORAGE_H_
