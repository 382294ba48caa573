// FuseMount: a FUSE mount made through libfuse3 (so fusermount3 and unprivileged mounts work), of
// which we keep only the /dev/fuse connection: the protocol itself is read and written by
// fuse_server.h, not by libfuse.
//
// Contract:
//  - Mount() mounts `mountpoint` with libfuse's mount options (allow_other, default_permissions,
//    ro, fsname=, subtype=, ... — an unknown one is EINVAL naming it) and returns the session.
//  - fd() is the session's /dev/fuse descriptor, non-blocking. CloneFd() gives another descriptor
//    of the same connection (FUSE_DEV_IOC_CLONE), non-blocking, for another reactor to read;
//    the caller owns and closes it.
//  - SetReadahead() sets the mount's readahead (read_ahead_kb of its bdi, found through
//    /proc/self/mountinfo; root only: EACCES otherwise, ENOENT when the mount is not listed). The
//    kernel keeps the smaller of it and INIT's max_readahead when it reads the INIT reply, so set
//    it before serving INIT; set later it applies at once.
//  - Unmount() asks the kernel to unmount (readers then see ENODEV once the mount is gone); safe
//    to call from any thread, more than once. The destructor unmounts if still mounted and
//    closes the session.
#ifndef BLOBFS_FUSE_FUSE_MOUNT_H_
#define BLOBFS_FUSE_FUSE_MOUNT_H_

#include <memory>
#include <mutex>
#include <string>

#include "common/error.h"

struct fuse_session;

namespace blobfs {

class FuseMount {
 public:
  static Result<std::unique_ptr<FuseMount>> Mount(const std::string& mountpoint,
                                                  const std::string& options);
  ~FuseMount();
  FuseMount(const FuseMount&) = delete;
  FuseMount& operator=(const FuseMount&) = delete;

  int fd() const { return fd_; }
  Result<int> CloneFd() const;
  Status SetReadahead(uint32_t kib) const;
  void Unmount();

 private:
  FuseMount(fuse_session* session, int fd, std::string mountpoint)
      : session_(session), fd_(fd), mountpoint_(std::move(mountpoint)) {}

  fuse_session* session_;
  int fd_;
  std::string mountpoint_;
  std::mutex unmount_mutex_;
  bool mounted_ = true;
};

}  // namespace blobfs

#endif  // BLOBFS_FUSE_FUSE_MOUNT_H_
