// The permission checks and mode rules Linux applies (fs/namei.c generic_permission and
// may_delete, fs/attr.c setattr_prepare, should_remove_suid, inode_init_owner), for a filesystem
// that checks its callers itself (mounted without default_permissions).
//
// Contract: pure functions of an inode record and the caller's credentials. Root (uid 0) stands
// for every capability: it passes read and write checks always, and execute checks when any
// execute bit is set or the inode is a directory.
#ifndef BLOBFS_BLOBFS_ACCESS_H_
#define BLOBFS_BLOBFS_ACCESS_H_

#include <cstdint>

#include "blobfs/credentials.h"
#include "blobfs/filesystem.h"
#include "blobfs/format/inode_record.h"
#include "common/error.h"

namespace blobfs {

// R_OK | W_OK | X_OK against the owner, group or other bits that apply; EACCES otherwise.
Status CheckAccess(const InodeRecord& inode, const Credentials& caller, int mask);
// Removing or renaming `victim` out of `dir`: write and search access to `dir` (EACCES), and in a
// sticky directory the caller must own the directory or the victim, or be root (EPERM).
Status CheckCanDelete(const InodeRecord& dir, const InodeRecord& victim, const Credentials& caller);
// The ownership rules of setattr: chmod by owner or root; chown of the uid by root only (to the
// same uid by the owner too); chgrp by root, or by the owner to a group it is in; explicit times
// by owner or root; "now" times also by anyone with write access (EACCES then). EPERM otherwise.
Status CheckSetAttr(const InodeRecord& inode, const Credentials& caller,
                    const SetAttrRequest& request);
// Permission bits after chmod: a non-root caller outside the file's group loses S_ISGID.
uint32_t ModeAfterChmod(const InodeRecord& inode, const Credentials& caller, uint32_t requested);
// Linux's setattr_should_drop_sgid: S_ISGID goes when group-executable, or when the caller is
// neither root nor in the file's group.
bool DropsSetgid(const InodeRecord& inode, const Credentials& caller);
// Mode after chown/chgrp: a non-directory loses S_ISUID, and S_ISGID as DropsSetgid says.
uint32_t ModeAfterChown(const InodeRecord& inode, const Credentials& caller);
// Mode after a write or truncate by `caller` (FUSE's KILL_SUIDGID asks the same for a caller
// without CAP_FSETID: pass `as_unprivileged`): a writer of a regular file other than root drops
// S_ISUID, and S_ISGID as DropsSetgid says.
uint32_t ModeAfterWrite(const InodeRecord& inode, const Credentials& caller,
                        bool as_unprivileged = false);

struct NewOwner {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t mode = 0;
};
// Owner and mode of a new inode in `parent`: the caller's uid; the parent's gid when the parent
// is setgid (new directories then inherit S_ISGID), else the caller's gid; a non-root caller
// creating a setgid file in a group it is not in loses S_ISGID.
NewOwner OwnerOfNewInode(const InodeRecord& parent, const Credentials& caller, uint32_t mode);

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_ACCESS_H_
