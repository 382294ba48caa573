// Attribute calls: getattr, setattr, access, readlink, extended attributes, statfs.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "blobfs/access.h"
#include "blobfs/blob_file_system.h"

namespace blobfs {
namespace {

constexpr size_t kXattrValueMax = 65536;
// Names and values of one inode's extended attributes together (ext4 allows one block): bounds
// the metadata chain a commit of the inode rewrites.
constexpr uint64_t kXattrTotalMax = 256 * 1024;
// Usable bytes of a metadata page, a little less than its descriptor area, for estimates.
constexpr uint64_t kMetadataPageBytes = 3800;

enum class XattrNamespace { kUser, kTrusted, kSecurity, kAcl };

// File capabilities (capabilities(7)): a write drops them.
constexpr char kCapabilityXattr[] = "security.capability";

// The namespace of a full xattr name, EOPNOTSUPP for unknown ones, ERANGE for bad lengths.
Result<XattrNamespace> ClassifyXattr(std::string_view name) {
  if (name.empty() || name.size() > 255) {
    return MakeError(ERANGE, "xattr name of %d bytes (1 to 255)", name.size());
  }
  struct Prefix {
    std::string_view text;
    XattrNamespace space;
  };
  for (const Prefix& prefix : {Prefix{"user.", XattrNamespace::kUser},
                               Prefix{"trusted.", XattrNamespace::kTrusted},
                               Prefix{"security.", XattrNamespace::kSecurity}}) {
    if (name.starts_with(prefix.text)) {
      if (name.size() == prefix.text.size()) {
        return MakeError(EINVAL, "xattr name \"%s\" has no name after its namespace",
                         std::string(name));
      }
      return prefix.space;
    }
  }
  if (name == "system.posix_acl_access" || name == "system.posix_acl_default") {
    return XattrNamespace::kAcl;
  }
  return MakeError(EOPNOTSUPP, "xattr namespace of \"%s\" is not supported", std::string(name));
}

// May `caller` read (or, with `write`, change) the xattr `space` of `record`?
Status CheckXattrAccess(const InodeRecord& record, const Credentials& caller,
                        XattrNamespace space, bool write) {
  switch (space) {
    case XattrNamespace::kTrusted:
      if (!caller.is_root()) return MakeError(EPERM, "trusted.* xattrs need root");
      return Status();
    case XattrNamespace::kUser:
      // As Linux: user xattrs only on regular files and directories.
      if (!record.is_regular() && !record.is_dir()) {
        return MakeError(write ? EPERM : ENODATA, "user.* xattrs on a special file");
      }
      return CheckAccess(record, caller, write ? W_OK : R_OK);
    case XattrNamespace::kSecurity:
    case XattrNamespace::kAcl:
      if (write && !caller.is_root() && caller.uid != record.uid) {
        return MakeError(EPERM, "only the owner changes security.* and ACL xattrs");
      }
      return Status();
  }
  return Status();
}

}  // namespace

Status BlobFileSystem::CheckWritable() const {
  if (options_.read_only) return MakeError(EROFS, "the filesystem is mounted read-only");
  return Status();
}

Status BlobFileSystem::CheckMetadataRoom(uint64_t pages, uint64_t keep) const {
  const uint64_t free_pages = store_->free_md_pages();
  if (free_pages < pages + keep) {
    return MakeError(ENOSPC, "metadata region full: %d pages wanted, %d free, %d kept in reserve",
                     pages, free_pages, keep);
  }
  return Status();
}

Task<Result<InodeAttr>> BlobFileSystem::GetAttr(uint64_t ino) {
  CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(ino));
  co_return AttrOf(*inode);
}

Task<Status> BlobFileSystem::Truncate(Inode& inode, uint64_t size) {
  CO_ASSIGN_OR_RETURN(FileData * data, co_await DataOf(inode));
  auto hold = co_await inode.data_lock.Lock();
  CO_RETURN_IF_ERROR(co_await data->Truncate(size));
  inode.record.size = data->size();
  co_return Status();
}

Task<Status> BlobFileSystem::DropPrivileges(Inode& inode, const Credentials& caller,
                                            PrivilegeDrop cause) {
  InodeRecord& record = inode.record;
  const uint32_t mode = cause == PrivilegeDrop::kOnChown ? ModeAfterChown(record, caller)
                                                         : ModeAfterWrite(record, caller);
  bool dropped = mode != record.mode;
  record.mode = mode;
  const std::string capability(kCapabilityXattr);
  if (!record.is_dir() && inode.blob->has_xattr(capability, XattrKind::kUser)) {
    CO_RETURN_IF_ERROR(co_await inode.blob->RemoveXattr(capability, XattrKind::kUser));
    dropped = true;
  }
  if (dropped) {
    MarkDirty(inode);
    if (attributes_changed_) attributes_changed_(inode.ino);
  }
  co_return Status();
}

Task<Status> BlobFileSystem::DropPrivilegesBeforeWrite(Inode& inode, const Credentials& caller) {
  const bool setid = ModeAfterWrite(inode.record, caller) != inode.record.mode;
  if (!setid && !inode.blob->has_xattr(kCapabilityXattr, XattrKind::kUser)) co_return Status();
  auto hold = co_await LockNamespace();
  co_return co_await DropPrivileges(inode, caller, PrivilegeDrop::kOnWrite);
}

Task<Result<InodeAttr>> BlobFileSystem::SetAttr(const Credentials& caller, uint64_t ino,
                                                SetAttrRequest request,
                                                std::optional<uint64_t> handle) {
  CO_RETURN_IF_ERROR(CheckWritable());
  auto hold = co_await LockNamespace();
  CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(ino));
  if (handle.has_value()) {
    CO_ASSIGN_OR_RETURN(Handle * open, FileHandle(*handle));
    if (open->inode != inode.get()) {
      co_return MakeError(EBADF, "handle %d is not open on inode 0x%x", *handle, ino);
    }
  }
  InodeRecord& record = inode->record;
  CO_RETURN_IF_ERROR(CheckSetAttr(record, caller, request));
  Timestamp now = Timestamp::Now();
  bool changed = false;
  if ((request.valid & SetAttrRequest::kSize) != 0) {
    if (record.is_dir()) co_return MakeError(EISDIR, "truncate of directory 0x%x", ino);
    if (!record.is_regular()) co_return MakeError(EINVAL, "truncate of special file 0x%x", ino);
    // With a handle the kernel checked the open mode; by path the caller needs write access.
    if (!handle.has_value()) CO_RETURN_IF_ERROR(CheckAccess(record, caller, W_OK));
    CO_RETURN_IF_ERROR(co_await Truncate(*inode, request.size));
    record.mtime = now;
    CO_RETURN_IF_ERROR(co_await DropPrivileges(*inode, caller, PrivilegeDrop::kOnWrite));
    changed = true;
  }
  if ((request.valid & (SetAttrRequest::kUid | SetAttrRequest::kGid)) != 0) {
    uint32_t new_uid = (request.valid & SetAttrRequest::kUid) != 0 ? request.uid : record.uid;
    uint32_t new_gid = (request.valid & SetAttrRequest::kGid) != 0 ? request.gid : record.gid;
    // A mode given too is applied below, over what the chown dropped.
    CO_RETURN_IF_ERROR(co_await DropPrivileges(*inode, caller, PrivilegeDrop::kOnChown));
    record.uid = new_uid;
    record.gid = new_gid;
    changed = true;
  }
  if ((request.valid & SetAttrRequest::kMode) != 0) {
    record.mode = (record.mode & S_IFMT) | ModeAfterChmod(record, caller, request.mode & 07777);
    changed = true;
  }
  if ((request.valid & SetAttrRequest::kKillSuidGid) != 0) {
    record.mode = ModeAfterWrite(record, caller, /*as_unprivileged=*/true);
    changed = true;
  }
  if ((request.valid & SetAttrRequest::kAtimeNow) != 0) {
    record.atime = now;
    changed = true;
  } else if ((request.valid & SetAttrRequest::kAtime) != 0) {
    if (!request.atime.valid()) co_return MakeError(EINVAL, "atime with %d ns", request.atime.nsec);
    record.atime = request.atime;
    changed = true;
  }
  if ((request.valid & SetAttrRequest::kMtimeNow) != 0) {
    record.mtime = now;
    changed = true;
  } else if ((request.valid & SetAttrRequest::kMtime) != 0) {
    if (!request.mtime.valid()) co_return MakeError(EINVAL, "mtime with %d ns", request.mtime.nsec);
    record.mtime = request.mtime;
    changed = true;
  }
  if ((request.valid & SetAttrRequest::kCtime) != 0 && request.ctime.valid()) {
    record.ctime = request.ctime;
    changed = true;
  } else if (changed) {
    record.ctime = now;
  }
  if (changed) MarkDirty(*inode);
  co_return AttrOf(*inode);
}

Task<Status> BlobFileSystem::Access(const Credentials& caller, uint64_t ino, int mask) {
  CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(ino));
  if ((mask & W_OK) != 0) CO_RETURN_IF_ERROR(CheckWritable());
  co_return CheckAccess(inode->record, caller, mask & (R_OK | W_OK | X_OK));
}

Task<Result<std::string>> BlobFileSystem::ReadLink(uint64_t ino) {
  CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(ino));
  if (!inode->record.is_symlink()) co_return MakeError(EINVAL, "inode 0x%x is no symlink", ino);
  if (!inode->symlink_target.has_value()) {
    CO_ASSIGN_OR_RETURN(std::string target, co_await inode->blob->GetXattr(
                                                std::string(kSymlinkXattr), XattrKind::kInternal));
    inode->symlink_target = std::move(target);
  }
  co_return *inode->symlink_target;
}

Task<Status> BlobFileSystem::SetXattr(const Credentials& caller, uint64_t ino,
                                      std::string_view name, std::string_view value, int flags) {
  CO_RETURN_IF_ERROR(CheckWritable());
  CO_ASSIGN_OR_RETURN(XattrNamespace space, ClassifyXattr(name));
  if (value.size() > kXattrValueMax) {
    co_return MakeError(E2BIG, "xattr value of %d bytes (at most %d)", value.size(),
                        kXattrValueMax);
  }
  if ((flags & ~(XATTR_CREATE | XATTR_REPLACE)) != 0) {
    co_return MakeError(EINVAL, "setxattr flags 0x%x", flags);
  }
  auto hold = co_await LockNamespace();
  CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(ino));
  CO_RETURN_IF_ERROR(CheckXattrAccess(inode->record, caller, space, true));
  std::string key(name);
  Result<std::string> existing = co_await inode->blob->GetXattr(key, XattrKind::kUser);
  if (existing.ok() && (flags & XATTR_CREATE) != 0) {
    co_return MakeError(EEXIST, "xattr \"%s\" exists", key);
  }
  if (!existing.ok() && (flags & XATTR_REPLACE) != 0) {
    co_return MakeError(ENODATA, "no xattr \"%s\"", key);
  }
  const uint64_t total = inode->blob->xattr_bytes(XattrKind::kUser) -
                         (existing.ok() ? key.size() + existing->size() : 0) + key.size() +
                         value.size();
  if (total > kXattrTotalMax) {
    co_return MakeError(ENOSPC, "inode 0x%x: %d bytes of xattrs (at most %d)", ino, total,
                        kXattrTotalMax);
  }
  // The commit writes the inode's whole chain anew before it frees the old one.
  const uint64_t chain_pages =
      (total + inode->blob->xattr_bytes(XattrKind::kInternal)) / kMetadataPageBytes + 2;
  CO_RETURN_IF_ERROR(CheckMetadataRoom(chain_pages, md_reserve_ / 2));
  CO_RETURN_IF_ERROR(co_await inode->blob->SetXattr(key, std::string(value), XattrKind::kUser));
  inode->record.ctime = Timestamp::Now();
  MarkDirty(*inode);
  co_return Status();
}

Task<Result<std::string>> BlobFileSystem::GetXattr(const Credentials& caller, uint64_t ino,
                                                   std::string_view name) {
  CO_ASSIGN_OR_RETURN(XattrNamespace space, ClassifyXattr(name));
  CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(ino));
  Status allowed = CheckXattrAccess(inode->record, caller, space, false);
  if (!allowed.ok()) {
    // Hidden rather than refused, as Linux does for trusted.* to non-root callers.
    if (space == XattrNamespace::kTrusted) co_return MakeError(ENODATA, "no such xattr");
    co_return allowed.error();
  }
  Result<std::string> value = co_await inode->blob->GetXattr(std::string(name), XattrKind::kUser);
  if (!value.ok() && value.error().code() == ENOENT) {
    co_return MakeError(ENODATA, "no xattr \"%s\"", std::string(name));
  }
  co_return value;
}

Task<Result<std::vector<std::string>>> BlobFileSystem::ListXattr(const Credentials& caller,
                                                                 uint64_t ino) {
  CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(ino));
  std::vector<std::string> names = co_await inode->blob->ListXattrs(XattrKind::kUser);
  if (!caller.is_root()) {
    std::erase_if(names, [](const std::string& name) { return name.starts_with("trusted."); });
  }
  co_return names;
}

Task<Status> BlobFileSystem::RemoveXattr(const Credentials& caller, uint64_t ino,
                                         std::string_view name) {
  CO_RETURN_IF_ERROR(CheckWritable());
  CO_ASSIGN_OR_RETURN(XattrNamespace space, ClassifyXattr(name));
  auto hold = co_await LockNamespace();
  CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(ino));
  // The kernel removes security.capability itself before a write, truncate or fallocate, in a
  // REMOVEXATTR that carries the writer's credentials: whoever may write the file may remove it
  // (the write would drop it anyway).
  if (name == kCapabilityXattr && inode->record.is_regular()) {
    CO_RETURN_IF_ERROR(CheckAccess(inode->record, caller, W_OK));
  } else {
    CO_RETURN_IF_ERROR(CheckXattrAccess(inode->record, caller, space, true));
  }
  Status removed = co_await inode->blob->RemoveXattr(std::string(name), XattrKind::kUser);
  if (!removed.ok() && removed.error().code() == ENOENT) {
    co_return MakeError(ENODATA, "no xattr \"%s\"", std::string(name));
  }
  CO_RETURN_IF_ERROR(removed);
  inode->record.ctime = Timestamp::Now();
  MarkDirty(*inode);
  co_return Status();
}

Task<Result<FsStats>> BlobFileSystem::StatFs() {
  BlobStoreStats stats = co_await store_->GetStats();
  FsStats fs;
  fs.block_size = super_.block_size;
  // As ext4 counts (bsddf): the filesystem's own structures are not part of its size.
  fs.total_blocks = (stats.total_clusters - stats.metadata_clusters) * stats.cluster_size /
                    super_.block_size;
  // Data space only: free metadata pages hold inodes and small files, but no write or fallocate
  // of file data can have them (they show as free inodes).
  uint64_t free_bytes = stats.free_clusters * stats.cluster_size;
  free_bytes -= std::min(free_bytes, cache_->reserved_bytes());
  const uint64_t available_bytes = free_bytes - std::min(free_bytes, cache_->held_back_bytes());
  const uint64_t free_pages = stats.md_pages - stats.md_pages_used;
  const uint64_t free_inodes = free_pages > md_reserve_ ? free_pages - md_reserve_ : 0;
  fs.free_blocks = free_bytes / super_.block_size;
  fs.available_blocks = available_bytes / super_.block_size;
  fs.total_inodes = stats.md_pages - std::min(stats.md_pages, md_reserve_);
  fs.free_inodes = free_inodes;
  fs.name_max = kNameMax;
  fs.uuid = super_.uuid;
  co_return fs;
}

}  // namespace blobfs
