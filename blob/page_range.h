// PageRange: a run of device pages [start, start + length).
#ifndef BLOBFS_BLOB_PAGE_RANGE_H_
#define BLOBFS_BLOB_PAGE_RANGE_H_

#include <cstdint>

namespace blobfs {

struct PageRange {
  uint64_t start = 0;
  uint64_t length = 0;
  bool Contains(uint64_t page) const { return page >= start && page - start < length; }
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_PAGE_RANGE_H_
