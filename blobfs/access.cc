#include "blobfs/access.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace blobfs {

Status CheckAccess(const InodeRecord& inode, const Credentials& caller, int mask) {
  mask &= R_OK | W_OK | X_OK;
  if (mask == 0) return Status();
  if (caller.is_root()) {
    if ((mask & X_OK) == 0 || inode.is_dir() || (inode.mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0) {
      return Status();
    }
    return MakeError(EACCES, "no execute bit for root");
  }
  uint32_t bits;
  if (caller.uid == inode.uid) {
    bits = (inode.mode >> 6) & 7;
  } else if (caller.InGroup(inode.gid)) {
    bits = (inode.mode >> 3) & 7;
  } else {
    bits = inode.mode & 7;
  }
  // R_OK, W_OK and X_OK are 4, 2 and 1, as the permission bits.
  if ((bits & static_cast<uint32_t>(mask)) != static_cast<uint32_t>(mask)) {
    return MakeError(EACCES, "mode 0%o does not allow access 0%o to uid %d", inode.mode & 07777,
                     mask, caller.uid);
  }
  return Status();
}

Status CheckCanDelete(const InodeRecord& dir, const InodeRecord& victim,
                      const Credentials& caller) {
  RETURN_IF_ERROR(CheckAccess(dir, caller, W_OK | X_OK));
  if ((dir.mode & S_ISVTX) != 0 && !caller.is_root() && caller.uid != dir.uid &&
      caller.uid != victim.uid) {
    return MakeError(EPERM, "sticky directory: uid %d owns neither it nor the entry", caller.uid);
  }
  return Status();
}

Status CheckSetAttr(const InodeRecord& inode, const Credentials& caller,
                    const SetAttrRequest& request) {
  if (caller.is_root()) return Status();
  const bool owner = caller.uid == inode.uid;
  if ((request.valid & SetAttrRequest::kMode) != 0 && !owner) {
    return MakeError(EPERM, "chmod by uid %d of a file owned by %d", caller.uid, inode.uid);
  }
  if ((request.valid & SetAttrRequest::kUid) != 0 && !(owner && request.uid == inode.uid)) {
    return MakeError(EPERM, "chown to uid %d by uid %d", request.uid, caller.uid);
  }
  if ((request.valid & SetAttrRequest::kGid) != 0 &&
      !(owner && (request.gid == inode.gid || caller.InGroup(request.gid)))) {
    return MakeError(EPERM, "chgrp to %d by uid %d", request.gid, caller.uid);
  }
  const uint32_t now_times = SetAttrRequest::kAtimeNow | SetAttrRequest::kMtimeNow;
  // A time given as "now" may come with its explicit bit too (FUSE sends both): "now" wins.
  const bool explicit_atime = (request.valid & SetAttrRequest::kAtime) != 0 &&
                              (request.valid & SetAttrRequest::kAtimeNow) == 0;
  const bool explicit_mtime = (request.valid & SetAttrRequest::kMtime) != 0 &&
                              (request.valid & SetAttrRequest::kMtimeNow) == 0;
  if ((explicit_atime || explicit_mtime) && !owner) {
    return MakeError(EPERM, "setting times by uid %d of a file owned by %d", caller.uid, inode.uid);
  }
  if ((request.valid & now_times) != 0 && !owner) {
    RETURN_IF_ERROR(CheckAccess(inode, caller, W_OK));
  }
  return Status();
}

uint32_t ModeAfterChmod(const InodeRecord& inode, const Credentials& caller, uint32_t requested) {
  uint32_t mode = requested & 07777;
  if (!caller.is_root() && !caller.InGroup(inode.gid)) mode &= ~S_ISGID;
  return mode;
}

bool DropsSetgid(const InodeRecord& inode, const Credentials& caller) {
  if ((inode.mode & S_ISGID) == 0) return false;
  return (inode.mode & S_IXGRP) != 0 || (!caller.is_root() && !caller.InGroup(inode.gid));
}

uint32_t ModeAfterChown(const InodeRecord& inode, const Credentials& caller) {
  uint32_t mode = inode.mode;
  if (inode.is_dir()) return mode;
  mode &= ~S_ISUID;
  if (DropsSetgid(inode, caller)) mode &= ~S_ISGID;
  return mode;
}

uint32_t ModeAfterWrite(const InodeRecord& inode, const Credentials& caller,
                        bool as_unprivileged) {
  uint32_t mode = inode.mode;
  if ((caller.is_root() && !as_unprivileged) || !inode.is_regular()) return mode;
  mode &= ~S_ISUID;
  if (DropsSetgid(inode, caller)) mode &= ~S_ISGID;
  return mode;
}

NewOwner OwnerOfNewInode(const InodeRecord& parent, const Credentials& caller, uint32_t mode) {
  NewOwner owner{.uid = caller.uid, .gid = caller.gid, .mode = mode};
  if ((parent.mode & S_ISGID) != 0) {
    owner.gid = parent.gid;
    if (S_ISDIR(mode)) owner.mode |= S_ISGID;
  }
  if (!S_ISDIR(mode) && (owner.mode & S_ISGID) != 0 && (owner.mode & S_IXGRP) != 0 &&
      !caller.is_root() && !caller.InGroup(owner.gid)) {
    owner.mode &= ~S_ISGID;
  }
  return owner;
}

}  // namespace blobfs
