// ClusterRun: `count` consecutive physical clusters starting at cluster `start` — what the
// cluster allocator hands out and takes back, and what truncating a blob's extent map releases.
#ifndef BLOBFS_BLOB_CLUSTER_RUN_H_
#define BLOBFS_BLOB_CLUSTER_RUN_H_

#include <cstdint>
#include <ostream>

namespace blobfs {

struct ClusterRun {
  uint64_t start = 0;
  uint64_t count = 0;

  uint64_t end() const { return start + count; }
  friend bool operator==(const ClusterRun&, const ClusterRun&) = default;
  // "[start, +count)", for test failures and logs.
  friend std::ostream& operator<<(std::ostream& out, const ClusterRun& run) {
    return out << "[" << run.start << ", +" << run.count << ")";
  }
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_CLUSTER_RUN_H_
