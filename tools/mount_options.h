// The mount daemon's -o options: the ones blobfs takes itself, and the rest for libfuse's mount
// (allow_other, default_permissions, ro, fsname=, subtype=, suid, dev, ...).
//
// Contract: ParseMountOptions splits a comma-separated list. Ours: ro (also passed on),
// writeback_cache, max_write=BYTES (4k to 1M), commit=SECONDS (how long changes may wait before
// they are committed; 0 = at once), reactors=N (1 to 64). fstab-only words (defaults, auto,
// noauto, nofail, user, users, owner, group, _netdev, x-*, comment=*) are dropped. Everything else
// goes to libfuse, which refuses what it does not know. Added unless given: fsname=IMAGE,
// subtype=blobfs, default_permissions (the kernel checks access on every path walk, as for a
// local filesystem), and allow_other when mounting as root (a filesystem everybody uses).
// EINVAL names a bad value.
#ifndef BLOBFS_TOOLS_MOUNT_OPTIONS_H_
#define BLOBFS_TOOLS_MOUNT_OPTIONS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/error.h"

namespace blobfs {

struct DaemonMountOptions {
  bool read_only = false;
  bool writeback_cache = false;
  uint32_t max_write = 1 << 20;
  std::optional<std::chrono::seconds> commit_interval;
  uint32_t reactors = 0;  // 0: the daemon's default.
  std::string fuse_options;
};

Result<DaemonMountOptions> ParseMountOptions(std::string_view options, std::string_view image,
                                             bool root);

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_MOUNT_OPTIONS_H_
