// Credentials: who makes a filesystem call (a FUSE request's uid, gid and supplementary groups).
// Root (uid 0) stands for a caller with every capability.
#ifndef BLOBFS_BLOBFS_CREDENTIALS_H_
#define BLOBFS_BLOBFS_CREDENTIALS_H_

#include <algorithm>
#include <cstdint>
#include <vector>

namespace blobfs {

struct Credentials {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> groups{};

  static Credentials Root() { return {}; }
  bool is_root() const { return uid == 0; }
  bool InGroup(uint32_t group) const {
    return group == gid || std::find(groups.begin(), groups.end(), group) != groups.end();
  }
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_CREDENTIALS_H_
