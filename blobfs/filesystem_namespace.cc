// Namespace calls: lookup, forget, mknod, mkdir, symlink, link, unlink, rmdir, rename, create,
// O_TMPFILE.
#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "blobfs/access.h"
#include "blobfs/blob_file_system.h"

namespace blobfs {
namespace {

bool IsDot(std::string_view name) { return name == "." || name == ".."; }

// A name for a new or looked-up entry: 1 to 255 bytes, no '/' or NUL.
Status CheckName(std::string_view name) {
  if (name.empty()) return MakeError(EINVAL, "empty name");
  if (name.size() > BlobFileSystem::kNameMax) {
    return MakeError(ENAMETOOLONG, "name of %d bytes (at most %d)", name.size(),
                     BlobFileSystem::kNameMax);
  }
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return MakeError(EINVAL, "name contains '/' or NUL");
  }
  return Status();
}

uint8_t DirentType(uint32_t mode) { return static_cast<uint8_t>(IFTODT(mode)); }

}  // namespace

Task<Result<InodeRef>> BlobFileSystem::GetDirForChange(const Credentials& caller, uint64_t ino) {
  CO_ASSIGN_OR_RETURN(InodeRef dir, co_await GetInode(ino));
  if (!dir->record.is_dir()) co_return MakeError(ENOTDIR, "inode 0x%x is no directory", ino);
  if (dir->record.nlink == 0) co_return MakeError(ENOENT, "directory 0x%x was removed", ino);
  CO_RETURN_IF_ERROR(CheckAccess(dir->record, caller, W_OK | X_OK));
  co_return dir;
}

Task<Result<InodeAttr>> BlobFileSystem::Lookup(const Credentials& caller, uint64_t parent,
                                               std::string_view name) {
  auto hold = co_await LockNamespace();
  CO_ASSIGN_OR_RETURN(InodeRef dir, co_await GetInode(parent));
  if (!dir->record.is_dir()) co_return MakeError(ENOTDIR, "inode 0x%x is no directory", parent);
  CO_RETURN_IF_ERROR(CheckAccess(dir->record, caller, X_OK));
  InodeRef child;
  if (name == ".") {
    child = InodeRef(dir.get());
  } else if (name == "..") {
    CO_ASSIGN_OR_RETURN(child, co_await GetInode(dir->record.parent));
  } else {
    CO_RETURN_IF_ERROR(CheckName(name));
    if (dir->record.nlink == 0) co_return MakeError(ENOENT, "directory 0x%x was removed", parent);
    CO_ASSIGN_OR_RETURN(DirTree * tree, co_await DirOf(*dir));
    CO_ASSIGN_OR_RETURN(std::optional<DirEntry> entry, co_await tree->Lookup(name));
    if (!entry.has_value()) co_return MakeError(ENOENT, "no entry \"%s\"", std::string(name));
    CO_ASSIGN_OR_RETURN(child, co_await GetInode(entry->ino));
  }
  ++child->lookups;
  co_return AttrOf(*child);
}

Task<Status> BlobFileSystem::InsertEntry(Inode& dir, DirTree& tree, std::string_view name,
                                         Inode& child) {
  CO_RETURN_IF_ERROR(
      co_await dir.dir_storage->Reserve(tree.depth() + 2, DirBlobStorage::Room::kOrdinary));
  Result<uint64_t> inserted = co_await tree.Insert(name, child.ino, DirentType(child.record.mode));
  dir.dir_storage->ReleaseUnused();
  co_return inserted.status();
}

Task<void> BlobFileSystem::Forget(uint64_t ino, uint64_t count) {
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) co_return;
  Inode& inode = *it->second;
  inode.lookups -= std::min(inode.lookups, count);
  MaybeReclaim(inode);
}

Task<Status> BlobFileSystem::LinkEntry(Inode& dir, std::string_view name, Inode& child) {
  CO_ASSIGN_OR_RETURN(DirTree * tree, co_await DirOf(dir));
  CO_RETURN_IF_ERROR(co_await InsertEntry(dir, *tree, name, child));
  Timestamp now = Timestamp::Now();
  dir.record.mtime = dir.record.ctime = now;
  if (child.record.is_dir()) ++dir.record.nlink;
  MarkDirty(dir);
  co_return Status();
}

Task<Result<InodeAttr>> BlobFileSystem::MakeNode(const Credentials& caller, uint64_t parent,
                                                 std::string_view name, uint32_t mode,
                                                 uint64_t rdev, std::string_view symlink_target) {
  std::function<Task<Result<InodeAttr>>()> once = [&] {
    return MakeNodeOnce(caller, parent, name, mode, rdev, symlink_target);
  };
  auto retried = RetryAfterCommit(once);
  co_return co_await std::move(retried);
}

Task<Result<InodeAttr>> BlobFileSystem::MakeNodeOnce(const Credentials& caller, uint64_t parent,
                                                     std::string_view name, uint32_t mode,
                                                     uint64_t rdev,
                                                     std::string_view symlink_target) {
  CO_RETURN_IF_ERROR(CheckWritable());
  if (!IsKnownFileType(mode)) co_return MakeError(EINVAL, "mode 0%o has no file type", mode);
  auto hold = co_await LockNamespace();
  CO_ASSIGN_OR_RETURN(InodeRef dir, co_await GetDirForChange(caller, parent));
  if (IsDot(name)) co_return MakeError(EEXIST, "\"%s\" exists", std::string(name));
  CO_RETURN_IF_ERROR(CheckName(name));
  CO_ASSIGN_OR_RETURN(DirTree * tree, co_await DirOf(*dir));
  CO_ASSIGN_OR_RETURN(std::optional<DirEntry> existing, co_await tree->Lookup(name));
  if (existing.has_value()) co_return MakeError(EEXIST, "\"%s\" exists", std::string(name));
  if (S_ISDIR(mode) && dir->record.nlink >= kLinkMax) {
    co_return MakeError(EMLINK, "directory 0x%x has %d links", parent, dir->record.nlink);
  }
  CO_ASSIGN_OR_RETURN(InodeRef child,
                      co_await NewInode(caller, *dir, mode, rdev, symlink_target));
  Status linked = co_await LinkEntry(*dir, name, *child);
  if (!linked.ok()) {
    co_await DiscardNewInode(std::move(child));
    co_return linked.error();
  }
  ++child->lookups;
  co_return AttrOf(*child);
}

Task<Result<InodeAttr>> BlobFileSystem::MkNod(const Credentials& caller, uint64_t parent,
                                              std::string_view name, uint32_t mode,
                                              uint64_t rdev) {
  if (S_ISDIR(mode) || S_ISLNK(mode)) {
    co_return MakeError(EINVAL, "mknod of a %s", S_ISDIR(mode) ? "directory" : "symlink");
  }
  if ((mode & S_IFMT) == 0) mode |= S_IFREG;
  // Named arguments: GCC 12 miscompiles temporaries inside a co_await expression.
  const std::string_view no_target;
  Result<InodeAttr> made = co_await MakeNode(caller, parent, name, mode, rdev, no_target);
  co_return made;
}

Task<Result<InodeAttr>> BlobFileSystem::MkDir(const Credentials& caller, uint64_t parent,
                                              std::string_view name, uint32_t mode) {
  const uint32_t dir_mode = S_IFDIR | (mode & 07777);
  const std::string_view no_target;
  Result<InodeAttr> made = co_await MakeNode(caller, parent, name, dir_mode, 0, no_target);
  co_return made;
}

Task<Result<InodeAttr>> BlobFileSystem::Symlink(const Credentials& caller, uint64_t parent,
                                                std::string_view name, std::string_view target) {
  if (target.empty()) co_return MakeError(ENOENT, "empty symlink target");
  if (target.size() > kSymlinkMax) {
    co_return MakeError(ENAMETOOLONG, "symlink target of %d bytes (at most %d)", target.size(),
                        kSymlinkMax);
  }
  const uint32_t link_mode = S_IFLNK | 0777;
  Result<InodeAttr> made = co_await MakeNode(caller, parent, name, link_mode, 0, target);
  co_return made;
}

Task<Result<InodeAttr>> BlobFileSystem::Link(const Credentials& caller, uint64_t ino,
                                             uint64_t new_parent, std::string_view new_name) {
  CO_RETURN_IF_ERROR(CheckWritable());
  auto hold = co_await LockNamespace();
  CO_ASSIGN_OR_RETURN(InodeRef child, co_await GetInode(ino));
  if (child->record.is_dir()) co_return MakeError(EPERM, "hard link to directory 0x%x", ino);
  CO_ASSIGN_OR_RETURN(InodeRef dir, co_await GetDirForChange(caller, new_parent));
  if (IsDot(new_name)) co_return MakeError(EEXIST, "\"%s\" exists", std::string(new_name));
  CO_RETURN_IF_ERROR(CheckName(new_name));
  if (child->record.nlink == 0 && !child->linkable_while_unlinked) {
    co_return MakeError(ENOENT, "inode 0x%x has no links left", ino);
  }
  if (child->record.nlink >= kLinkMax) {
    co_return MakeError(EMLINK, "inode 0x%x has %d links", ino, child->record.nlink);
  }
  CO_RETURN_IF_ERROR(co_await LinkEntry(*dir, new_name, *child));
  if (child->record.nlink == 0) {
    child->reclaiming = false;
    CO_RETURN_IF_ERROR(co_await RemoveOrphan(ino));
  }
  ++child->record.nlink;
  child->record.ctime = Timestamp::Now();
  MarkDirty(*child);
  ++child->lookups;
  co_return AttrOf(*child);
}

void BlobFileSystem::DropLink(Inode& child) {
  Timestamp now = Timestamp::Now();
  child.record.ctime = now;
  if (child.record.is_dir()) {
    child.record.nlink = 0;
  } else if (child.record.nlink > 0) {
    --child.record.nlink;
  }
  MarkDirty(child);
  if (child.record.nlink == 0) {
    AddOrphan(child);
    MaybeReclaim(child);
  }
}

Status BlobFileSystem::CheckEntryNames(const DirEntry& entry, const Inode& inode) {
  if (entry.type == IFTODT(inode.record.mode) && inode.record.nlink > 0) return Status();
  // A stale entry left by damage (an inode number since reused, or a link count already spent):
  // removing it would take a link the inode does not owe it.
  Error error = MakeError(EUCLEAN,
                          "entry \"%s\" (type %d) names inode 0x%x of mode 0%o and nlink %d: the "
                          "entry is stale and stays until fsck.blobfs -p repairs it",
                          entry.name, entry.type, inode.ino, inode.record.mode, inode.record.nlink);
  LOG(ERROR) << error.ToString();
  return error;
}

Task<Status> BlobFileSystem::Unlink(const Credentials& caller, uint64_t parent,
                                    std::string_view name) {
  CO_RETURN_IF_ERROR(CheckWritable());
  auto hold = co_await LockNamespace();
  CO_ASSIGN_OR_RETURN(InodeRef dir, co_await GetDirForChange(caller, parent));
  if (IsDot(name)) co_return MakeError(EISDIR, "unlink of \"%s\"", std::string(name));
  CO_RETURN_IF_ERROR(CheckName(name));
  CO_ASSIGN_OR_RETURN(DirTree * tree, co_await DirOf(*dir));
  CO_ASSIGN_OR_RETURN(std::optional<DirEntry> entry, co_await tree->Lookup(name));
  if (!entry.has_value()) co_return MakeError(ENOENT, "no entry \"%s\"", std::string(name));
  CO_ASSIGN_OR_RETURN(InodeRef child, co_await GetInode(entry->ino));
  CO_RETURN_IF_ERROR(CheckEntryNames(*entry, *child));
  if (child->record.is_dir()) co_return MakeError(EISDIR, "\"%s\" is a directory", std::string(name));
  CO_RETURN_IF_ERROR(CheckCanDelete(dir->record, child->record, caller));
  CO_RETURN_IF_ERROR((co_await tree->Remove(name)).status());
  dir->record.mtime = dir->record.ctime = Timestamp::Now();
  MarkDirty(*dir);
  DropLink(*child);
  co_return Status();
}

Task<Status> BlobFileSystem::RmDir(const Credentials& caller, uint64_t parent,
                                   std::string_view name) {
  CO_RETURN_IF_ERROR(CheckWritable());
  auto hold = co_await LockNamespace();
  CO_ASSIGN_OR_RETURN(InodeRef dir, co_await GetDirForChange(caller, parent));
  if (name == ".") co_return MakeError(EINVAL, "rmdir of \".\"");
  if (name == "..") co_return MakeError(ENOTEMPTY, "rmdir of \"..\"");
  CO_RETURN_IF_ERROR(CheckName(name));
  CO_ASSIGN_OR_RETURN(DirTree * tree, co_await DirOf(*dir));
  CO_ASSIGN_OR_RETURN(std::optional<DirEntry> entry, co_await tree->Lookup(name));
  if (!entry.has_value()) co_return MakeError(ENOENT, "no entry \"%s\"", std::string(name));
  CO_ASSIGN_OR_RETURN(InodeRef child, co_await GetInode(entry->ino));
  CO_RETURN_IF_ERROR(CheckEntryNames(*entry, *child));
  if (!child->record.is_dir()) {
    co_return MakeError(ENOTDIR, "\"%s\" is no directory", std::string(name));
  }
  CO_RETURN_IF_ERROR(CheckCanDelete(dir->record, child->record, caller));
  CO_ASSIGN_OR_RETURN(DirTree * child_tree, co_await DirOf(*child));
  if (child_tree->size() != 0) {
    co_return MakeError(ENOTEMPTY, "directory \"%s\" has %d entries", std::string(name),
                        child_tree->size());
  }
  CO_RETURN_IF_ERROR((co_await tree->Remove(name)).status());
  dir->record.mtime = dir->record.ctime = Timestamp::Now();
  if (dir->record.nlink > 2) --dir->record.nlink;
  MarkDirty(*dir);
  DropLink(*child);
  co_return Status();
}

Task<Status> BlobFileSystem::CheckNotBelow(uint64_t dir, uint64_t ancestor) {
  uint64_t current = dir;
  // Bounded: a parent chain longer than the inodes that exist is a loop on disk.
  for (uint64_t steps = 0; steps <= inodes_.size() + (uint64_t{1} << 32); ++steps) {
    if (current == ancestor) {
      co_return MakeError(EINVAL, "directory 0x%x would move below itself", ancestor);
    }
    if (current == super_.root_ino) co_return Status();
    CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(current));
    if (inode->record.parent == current) co_return Status();
    current = inode->record.parent;
  }
  co_return MakeError(EUCLEAN, "directory 0x%x: its parent chain loops", dir);
}

Task<Status> BlobFileSystem::Rename(const Credentials& caller, uint64_t parent,
                                    std::string_view name, uint64_t new_parent,
                                    std::string_view new_name, uint32_t flags) {
  CO_RETURN_IF_ERROR(CheckWritable());
  if ((flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE)) != 0) {
    co_return MakeError(EINVAL, "rename flags 0x%x", flags);
  }
  if ((flags & RENAME_NOREPLACE) != 0 && (flags & RENAME_EXCHANGE) != 0) {
    co_return MakeError(EINVAL, "RENAME_NOREPLACE with RENAME_EXCHANGE");
  }
  auto hold = co_await LockNamespace();
  co_return co_await DoRename(caller, parent, name, new_parent, new_name, flags);
}

Task<Status> BlobFileSystem::DoRename(const Credentials& caller, uint64_t parent,
                                      std::string_view name, uint64_t new_parent,
                                      std::string_view new_name, uint32_t flags) {
  if (IsDot(name) || IsDot(new_name)) co_return MakeError(EBUSY, "rename of \".\" or \"..\"");
  CO_RETURN_IF_ERROR(CheckName(name));
  CO_RETURN_IF_ERROR(CheckName(new_name));
  CO_ASSIGN_OR_RETURN(InodeRef from_dir, co_await GetDirForChange(caller, parent));
  CO_ASSIGN_OR_RETURN(InodeRef to_dir, co_await GetDirForChange(caller, new_parent));
  CO_ASSIGN_OR_RETURN(DirTree * from_tree, co_await DirOf(*from_dir));
  CO_ASSIGN_OR_RETURN(DirTree * to_tree, co_await DirOf(*to_dir));
  CO_ASSIGN_OR_RETURN(std::optional<DirEntry> from_entry, co_await from_tree->Lookup(name));
  if (!from_entry.has_value()) co_return MakeError(ENOENT, "no entry \"%s\"", std::string(name));
  CO_ASSIGN_OR_RETURN(std::optional<DirEntry> to_entry, co_await to_tree->Lookup(new_name));
  const bool exchange = (flags & RENAME_EXCHANGE) != 0;
  if (exchange && !to_entry.has_value()) {
    co_return MakeError(ENOENT, "no entry \"%s\" to exchange with", std::string(new_name));
  }
  if ((flags & RENAME_NOREPLACE) != 0 && to_entry.has_value()) {
    co_return MakeError(EEXIST, "\"%s\" exists", std::string(new_name));
  }
  CO_ASSIGN_OR_RETURN(InodeRef moved, co_await GetInode(from_entry->ino));
  CO_RETURN_IF_ERROR(CheckEntryNames(*from_entry, *moved));
  InodeRef target;
  if (to_entry.has_value()) {
    CO_ASSIGN_OR_RETURN(target, co_await GetInode(to_entry->ino));
    CO_RETURN_IF_ERROR(CheckEntryNames(*to_entry, *target));
  }
  // Two names of one inode: POSIX says rename does nothing.
  if (target.get() == moved.get()) co_return Status();

  CO_RETURN_IF_ERROR(CheckCanDelete(from_dir->record, moved->record, caller));
  if (target.get() != nullptr) {
    CO_RETURN_IF_ERROR(CheckCanDelete(to_dir->record, target->record, caller));
  }
  const bool cross = parent != new_parent;
  // A directory changing parent rewrites its "..": the caller must be able to write it.
  if (cross && moved->record.is_dir()) {
    CO_RETURN_IF_ERROR(CheckAccess(moved->record, caller, W_OK));
    CO_RETURN_IF_ERROR(co_await CheckNotBelow(new_parent, moved->ino));
  }
  if (exchange && cross && target->record.is_dir()) {
    CO_RETURN_IF_ERROR(CheckAccess(target->record, caller, W_OK));
    CO_RETURN_IF_ERROR(co_await CheckNotBelow(parent, target->ino));
  }
  Timestamp now = Timestamp::Now();

  if (exchange) {
    CO_RETURN_IF_ERROR(
        co_await from_tree->Replace(name, target->ino, DirentType(target->record.mode)));
    Status replaced =
        co_await to_tree->Replace(new_name, moved->ino, DirentType(moved->record.mode));
    if (!replaced.ok()) {
      Status undone =
          co_await from_tree->Replace(name, moved->ino, DirentType(moved->record.mode));
      if (!undone.ok()) LOG(ERROR) << "rename exchange left half done: " << undone;
      co_return replaced;
    }
    if (cross) {
      if (moved->record.is_dir()) {
        moved->record.parent = new_parent;
        --from_dir->record.nlink;
        ++to_dir->record.nlink;
      }
      if (target->record.is_dir()) {
        target->record.parent = parent;
        --to_dir->record.nlink;
        ++from_dir->record.nlink;
      }
    }
    target->record.ctime = now;
    MarkDirty(*target);
  } else {
    if (target.get() != nullptr) {
      if (moved->record.is_dir() && !target->record.is_dir()) {
        co_return MakeError(ENOTDIR, "\"%s\" is no directory", std::string(new_name));
      }
      if (!moved->record.is_dir() && target->record.is_dir()) {
        co_return MakeError(EISDIR, "\"%s\" is a directory", std::string(new_name));
      }
      if (target->record.is_dir()) {
        CO_ASSIGN_OR_RETURN(DirTree * target_tree, co_await DirOf(*target));
        if (target_tree->size() != 0) {
          co_return MakeError(ENOTEMPTY, "directory \"%s\" is not empty", std::string(new_name));
        }
      }
      CO_RETURN_IF_ERROR(
          co_await to_tree->Replace(new_name, moved->ino, DirentType(moved->record.mode)));
    } else {
      if (moved->record.is_dir() && cross && to_dir->record.nlink >= kLinkMax) {
        co_return MakeError(EMLINK, "directory 0x%x has %d links", new_parent,
                            to_dir->record.nlink);
      }
      CO_RETURN_IF_ERROR(co_await InsertEntry(*to_dir, *to_tree, new_name, *moved));
    }
    Status removed = (co_await from_tree->Remove(name)).status();
    if (!removed.ok()) {
      LOG(ERROR) << "rename: the old name \"" << name << "\" could not be removed: " << removed;
      co_return removed;
    }
    if (moved->record.is_dir() && cross) {
      moved->record.parent = new_parent;
      --from_dir->record.nlink;
      ++to_dir->record.nlink;
    }
    if (target.get() != nullptr) {
      // The replaced directory's ".." no longer counts toward the new parent.
      if (target->record.is_dir()) --to_dir->record.nlink;
      DropLink(*target);
    }
  }
  moved->record.ctime = now;
  MarkDirty(*moved);
  from_dir->record.mtime = from_dir->record.ctime = now;
  to_dir->record.mtime = to_dir->record.ctime = now;
  MarkDirty(*from_dir);
  MarkDirty(*to_dir);
  co_return Status();
}

Task<Result<FileSystem::Created>> BlobFileSystem::Create(const Credentials& caller,
                                                         uint64_t parent, std::string_view name,
                                                         uint32_t mode, int flags) {
  std::function<Task<Result<Created>>()> once = [&] {
    return CreateOnce(caller, parent, name, mode, flags);
  };
  auto retried = RetryAfterCommit(once);
  co_return co_await std::move(retried);
}

Task<Result<FileSystem::Created>> BlobFileSystem::CreateOnce(const Credentials& caller,
                                                             uint64_t parent,
                                                             std::string_view name,
                                                             uint32_t mode, int flags) {
  CO_RETURN_IF_ERROR(CheckWritable());
  InodeRef file;
  {
    auto hold = co_await LockNamespace();
    CO_ASSIGN_OR_RETURN(InodeRef dir, co_await GetInode(parent));
    if (!dir->record.is_dir()) co_return MakeError(ENOTDIR, "inode 0x%x is no directory", parent);
    CO_RETURN_IF_ERROR(CheckAccess(dir->record, caller, X_OK));
    if (IsDot(name)) co_return MakeError(EISDIR, "create of \"%s\"", std::string(name));
    CO_RETURN_IF_ERROR(CheckName(name));
    CO_ASSIGN_OR_RETURN(DirTree * tree, co_await DirOf(*dir));
    CO_ASSIGN_OR_RETURN(std::optional<DirEntry> existing, co_await tree->Lookup(name));
    if (existing.has_value()) {
      if ((flags & O_EXCL) != 0) co_return MakeError(EEXIST, "\"%s\" exists", std::string(name));
      CO_ASSIGN_OR_RETURN(file, co_await GetInode(existing->ino));
    } else {
      if (dir->record.nlink == 0) co_return MakeError(ENOENT, "directory 0x%x was removed", parent);
      CO_RETURN_IF_ERROR(CheckAccess(dir->record, caller, W_OK));
      const uint32_t file_mode = S_IFREG | (mode & 07777);
      const std::string_view no_target;
      CO_ASSIGN_OR_RETURN(file, co_await NewInode(caller, *dir, file_mode, 0, no_target));
      Status linked = co_await LinkEntry(*dir, name, *file);
      if (!linked.ok()) {
        co_await DiscardNewInode(std::move(file));
        co_return linked.error();
      }
      // A new file is opened whatever its mode says.
      flags &= ~O_TRUNC;
      ++file->lookups;
      ++file->opens;
      co_return Created{AttrOf(*file), AddHandle(*file, flags, false)};
    }
  }
  // An existing file: opened like Open.
  CO_ASSIGN_OR_RETURN(uint64_t handle, co_await Open(caller, file->ino, flags));
  ++file->lookups;
  co_return Created{AttrOf(*file), handle};
}

Task<Result<FileSystem::Created>> BlobFileSystem::TmpFile(const Credentials& caller,
                                                          uint64_t parent, uint32_t mode,
                                                          int flags) {
  CO_RETURN_IF_ERROR(CheckWritable());
  auto hold = co_await LockNamespace();
  CO_ASSIGN_OR_RETURN(InodeRef dir, co_await GetDirForChange(caller, parent));
  const uint32_t file_mode = S_IFREG | (mode & 07777);
  const std::string_view no_target;
  CO_ASSIGN_OR_RETURN(InodeRef file, co_await NewInode(caller, *dir, file_mode, 0, no_target));
  file->record.nlink = 0;
  file->linkable_while_unlinked = (flags & O_EXCL) == 0;
  MarkDirty(*file);
  AddOrphan(*file);
  ++file->lookups;
  ++file->opens;
  co_return Created{AttrOf(*file), AddHandle(*file, flags, false)};
}

}  // namespace blobfs
