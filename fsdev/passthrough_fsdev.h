// The passthrough module of the fsdev API: a host directory as an fsdev (libfuse's
// passthrough_hp and SPDK's aio fsdev play this role), so the dispatcher and the mount daemon can
// be tested and measured against a known-good backend, and FUSE's own cost told apart from
// blobfs's.
//
// Contract:
//  - Objects are host inodes (HostInodeTable): node ids are the table's, hard links are one
//    object, unknown ids are ESTALE.
//  - Every host syscall runs on the module's worker threads, never on a reactor, under the
//    caller's filesystem credentials (setfsuid/setfsgid and supplementary groups, per thread),
//    so the host kernel makes the permission checks and new files get the caller's owner.
//    Access is checked against the mode bits (as the kernel's default_permissions would).
//  - Others may change the host directory: entries and attributes are cached only briefly
//    (PassthroughFsdevOptions), and open files keep no page cache across opens.
//  - ctime cannot be set on a host file: SetAttr's kCtime is ignored.
//  - The process's umask is set to 0 (modes arrive with the caller's umask applied), and its
//    open-file limit raised to the hard limit (each object the kernel holds keeps a descriptor).
#ifndef BLOBFS_FSDEV_PASSTHROUGH_FSDEV_H_
#define BLOBFS_FSDEV_PASSTHROUGH_FSDEV_H_

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>

#include "common/error.h"
#include "fsdev/fsdev.h"

namespace blobfs {

struct PassthroughFsdevOptions {
  std::string name = "passthrough";
  std::string root;  // The host directory.
  size_t threads = 4;
  std::chrono::nanoseconds entry_timeout = std::chrono::seconds(1);
  std::chrono::nanoseconds attr_timeout = std::chrono::seconds(1);
};

// ENOENT/ENOTDIR/EACCES when the root cannot be opened as a directory.
Result<std::shared_ptr<Fsdev>> MakePassthroughFsdev(PassthroughFsdevOptions options);

}  // namespace blobfs

#endif  // BLOBFS_FSDEV_PASSTHROUGH_FSDEV_H_
