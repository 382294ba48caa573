// The inode table: loading, creating, evicting and reclaiming inodes; attributes out.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "blobfs/access.h"
#include "blobfs/blob_file_system.h"
#include "glog/logging.h"
#include "blobfs/format/orphan_entry.h"

namespace blobfs {

Task<Result<InodeRef>> BlobFileSystem::GetInode(uint64_t ino) {
  if (auto it = inodes_.find(ino); it != inodes_.end()) {
    // Unlinked and unreferenced: its blob is on its way out.
    if (it->second->reclaiming) co_return MakeError(ESTALE, "inode 0x%x was deleted", ino);
    co_return InodeRef(it->second.get());
  }
  if (ino == store_->super_blob()) co_return MakeError(ESTALE, "inode 0x%x: no such inode", ino);
  Result<Blob*> opened = co_await store_->OpenBlob(ino);
  if (!opened.ok()) {
    if (opened.error().code() == ENOENT) {
      co_return MakeError(ESTALE, "inode 0x%x: no such inode", ino);
    }
    co_return opened.error();
  }
  Blob* blob = *opened;
  // Another call may have loaded it while this one waited.
  if (auto it = inodes_.find(ino); it != inodes_.end()) {
    // Unchanged: closing it writes nothing, so there is no error to report.
    (void)co_await store_->CloseBlob(blob);
    co_return InodeRef(it->second.get());
  }
  Result<std::string> encoded =
      co_await blob->GetXattr(std::string(InodeRecord::kXattrName), XattrKind::kInternal);
  Result<InodeRecord> record = encoded.ok() ? InodeRecord::Decode(*encoded)
                                            : Result<InodeRecord>(encoded.error());
  if (!record.ok()) {
    (void)co_await store_->CloseBlob(blob);  // Unchanged, as above.
    if (record.error().code() == ENOENT) {
      co_return MakeError(ESTALE, "inode 0x%x: the blob holds no inode record", ino);
    }
    co_return NoteCorruption(ino, record.error().WithContext(absl::StrFormat("inode 0x%x", ino)));
  }
  auto inode = std::make_unique<Inode>(ino, blob, *record);
  Inode* raw = inode.get();
  inodes_.emplace(ino, std::move(inode));
  co_return InodeRef(raw);
}

uint64_t BlobFileSystem::NextGeneration() {
  return (super_.mount_count << 32) | (++generation_counter_ & 0xffffffff);
}

Task<Result<InodeRef>> BlobFileSystem::NewInode(const Credentials& caller, const Inode& parent,
                                                uint32_t mode, uint64_t rdev,
                                                std::string_view symlink_target) {
  CO_RETURN_IF_ERROR(CheckMetadataRoom(1, md_reserve_));
  NewOwner owner = OwnerOfNewInode(parent.record, caller, mode);
  Timestamp now = Timestamp::Now();
  InodeRecord record;
  record.mode = owner.mode;
  record.uid = owner.uid;
  record.gid = owner.gid;
  record.nlink = S_ISDIR(mode) ? 2 : 1;
  record.rdev = (S_ISCHR(mode) || S_ISBLK(mode)) ? rdev : 0;
  record.size = S_ISLNK(mode) ? symlink_target.size() : 0;
  record.generation = NextGeneration();
  record.parent = S_ISDIR(mode) ? parent.ino : 0;
  record.atime = record.mtime = record.ctime = record.btime = now;

  BlobCreateOptions options;
  options.thin = true;
  options.internal_xattrs.emplace(InodeRecord::kXattrName, record.Encode());
  if (S_ISLNK(mode)) {
    options.internal_xattrs.emplace(kSymlinkXattr, std::string(symlink_target));
  }
  CO_ASSIGN_OR_RETURN(Blob * blob, co_await store_->CreateBlob(std::move(options)));
  auto inode = std::make_unique<Inode>(blob->id(), blob, record);
  Inode* raw = inode.get();
  CHECK(inodes_.emplace(blob->id(), std::move(inode)).second)
      << "blob 0x" << std::hex << blob->id() << " created twice";
  InodeRef ref(raw);
  Queue(*raw);
  if (S_ISDIR(mode)) {
    raw->dir_storage =
        std::make_unique<DirBlobStorage>(*blob, *channel_, super_.block_size, cache_.get());
    // The header and the first leaf.
    Status formatted = co_await raw->dir_storage->Reserve(2, DirBlobStorage::Room::kOrdinary);
    if (formatted.ok()) formatted = co_await DirTree::Format(*raw->dir_storage, super_.hash_seed);
    raw->dir_storage->ReleaseUnused();
    if (!formatted.ok()) {
      co_await DiscardNewInode(std::move(ref));
      co_return formatted.error();
    }
  }
  if (S_ISLNK(mode)) raw->symlink_target = std::string(symlink_target);
  co_return ref;
}

Task<void> BlobFileSystem::DiscardNewInode(InodeRef inode) {
  uint64_t ino = inode->ino;
  Blob* blob = inode->blob;
  std::erase(queue_, inode.get());
  inode = InodeRef();
  inodes_.erase(ino);
  Status closed = co_await store_->CloseBlob(blob);
  Status deleted = co_await store_->DeleteBlob(ino);
  if (!closed.ok() || !deleted.ok()) {
    LOG(WARNING) << "inode 0x" << std::hex << ino << " left behind after a failed create: "
                 << (closed.ok() ? deleted : closed);
  }
}

Task<Result<DirTree*>> BlobFileSystem::DirOf(Inode& dir) {
  if (!dir.record.is_dir()) co_return MakeError(ENOTDIR, "inode 0x%x is no directory", dir.ino);
  if (dir.dir != nullptr) co_return dir.dir.get();
  if (dir.dir_storage == nullptr) {
    dir.dir_storage =
        std::make_unique<DirBlobStorage>(*dir.blob, *channel_, super_.block_size, cache_.get());
  }
  Result<std::unique_ptr<DirTree>> tree =
      co_await DirTree::Open(*dir.dir_storage, super_.hash_seed, dir_nodes_);
  if (!tree.ok()) {
    co_return NoteCorruption(dir.ino,
                             tree.error().WithContext(absl::StrFormat("directory 0x%x", dir.ino)));
  }
  // Another call may have opened it meanwhile; keep the first.
  if (dir.dir == nullptr) dir.dir = std::move(*tree);
  co_return dir.dir.get();
}

Task<Result<FileData*>> BlobFileSystem::DataOf(Inode& file) {
  if (file.record.is_dir()) co_return MakeError(EISDIR, "inode 0x%x is a directory", file.ino);
  if (!file.record.is_regular()) {
    co_return MakeError(EINVAL, "inode 0x%x is no regular file", file.ino);
  }
  if (file.data != nullptr) co_return file.data.get();
  Result<std::unique_ptr<FileData>> data = co_await FileData::Open(
      *cache_, *channel_, *file.blob, file.record.size, super_.inline_max);
  if (!data.ok()) co_return NoteCorruption(file.ino, data.error());
  if (file.data == nullptr) file.data = std::move(*data);
  co_return file.data.get();
}

Error BlobFileSystem::NoteCorruption(uint64_t ino, Error error) {
  if (error.code() == EUCLEAN && corruption_logged_.insert(ino).second) {
    LOG(ERROR) << error.ToString() << " — calls on inode 0x" << std::hex << ino
               << " fail with EUCLEAN (fsck.blobfs checks the image)";
  }
  return error;
}

InodeAttr BlobFileSystem::AttrOf(const Inode& inode) const {
  const InodeRecord& record = inode.record;
  InodeAttr attr;
  attr.ino = inode.ino;
  attr.generation = record.generation;
  attr.mode = record.mode;
  attr.nlink = record.nlink;
  attr.uid = record.uid;
  attr.gid = record.gid;
  attr.rdev = record.rdev;
  attr.size = record.size;
  uint64_t allocated = 0;
  if (inode.data != nullptr) {
    attr.size = inode.data->size();
    allocated = inode.data->allocated_bytes();
  } else {
    const auto extents = inode.blob->extents();
    allocated = extents->allocated_clusters() * store_->cluster_size();
  }
  attr.blocks = (allocated + 511) / 512;
  attr.block_size = super_.block_size;
  attr.flags = record.flags;
  attr.atime = record.atime;
  attr.mtime = record.mtime;
  attr.ctime = record.ctime;
  attr.btime = record.btime;
  return attr;
}

void BlobFileSystem::MaybeReclaim(Inode& inode) {
  if (inode.record.nlink != 0 || inode.lookups > 0 || inode.opens > 0 || inode.reclaiming) return;
  if (&inode == root_.get() || &inode == orphans_.get()) return;
  inode.reclaiming = true;
  // With no call in flight holding it either, nothing can reach it again (its number is ESTALE
  // from now on): its data will never be read or written back, so its buffers and cluster
  // reservations go now rather than with its blob, two commits later.
  if (inode.pins == 0 && inode.data != nullptr) inode.data->Discard();
  reclaim_queue_.push_back(inode.ino);
  ++change_seq_;
  Queue(inode);
}

Task<Status> BlobFileSystem::ForgetDeleted(std::vector<Inode*> deleted) {
  std::vector<uint64_t> inos;
  inos.reserve(deleted.size());
  for (Inode* inode : deleted) {
    inos.push_back(inode->ino);
    std::erase(queue_, inode);
    inodes_.erase(inode->ino);
  }
  // Their orphan entries go with the next commit: a crash before it leaves entries naming no
  // blob, which mount drops.
  Status status;
  co_await ns_lock_.Acquire();
  for (uint64_t ino : inos) {
    Status removed = co_await RemoveOrphan(ino);
    if (status.ok() && !removed.ok()) status = removed;
  }
  ns_lock_.Release();
  co_return status;
}

Task<void> BlobFileSystem::EvictIdle() {
  if (inodes_.size() <= options_.inode_cache) co_return;
  std::vector<uint64_t> idle;
  for (const auto& [ino, inode] : inodes_) {
    if (!inode->in_use() && !inode->queued && !inode->reclaiming && inode->record.nlink != 0) {
      idle.push_back(ino);
      if (inodes_.size() - idle.size() <= options_.inode_cache / 2) break;
    }
  }
  for (uint64_t ino : idle) {
    auto it = inodes_.find(ino);
    if (it == inodes_.end()) continue;
    Inode& inode = *it->second;
    if (inode.in_use() || inode.queued || inode.reclaiming) continue;
    if (inode.data != nullptr && inode.data->dirty()) continue;
    if (inode.data != nullptr) inode.data->Discard();
    Blob* blob = inode.blob;
    inodes_.erase(it);
    Status closed = co_await store_->CloseBlob(blob);
    if (!closed.ok()) LOG(WARNING) << "closing inode 0x" << std::hex << ino << ": " << closed;
  }
}

void BlobFileSystem::AddOrphan(Inode& inode) {
  orphans_to_enter_.insert(inode.ino);
}

Task<Status> BlobFileSystem::EnterOrphans() {
  if (orphans_to_enter_.empty()) co_return Status();
  CO_ASSIGN_OR_RETURN(DirTree * tree, co_await DirOf(*orphans_));
  Queue(*orphans_);
  // Taken out in one pass: asking the hash set for its first element after each erase would
  // rescan the erased slots, quadratic in the notes (tens of ms for an rm -rf's thousands).
  std::vector<uint64_t> inos(orphans_to_enter_.begin(), orphans_to_enter_.end());
  std::sort(inos.begin(), inos.end());
  // Room from what is held back, so that deleting works on a full filesystem. An orphan entry
  // takes 34 bytes, so even a half-full leaf holds 60 of them (and an inner node 255 children):
  // one new block per 32 entries, and a split up to a new root, are more than enough.
  CO_RETURN_IF_ERROR(co_await orphans_->dir_storage->Reserve(
      tree->depth() + 2 + inos.size() / 32, DirBlobStorage::Room::kHeldBack));
  Status status;
  for (const uint64_t ino : inos) {
    Result<uint64_t> added = co_await tree->Insert(OrphanEntryName(ino), ino, DT_UNKNOWN);
    if (!added.ok() && added.error().code() != EEXIST) {
      status = added.error();
      break;
    }
    orphans_to_enter_.erase(ino);
  }
  orphans_->dir_storage->ReleaseUnused();
  co_return status;
}

Task<Status> BlobFileSystem::RemoveOrphan(uint64_t ino) {
  if (orphans_to_enter_.erase(ino) != 0) co_return Status();
  CO_ASSIGN_OR_RETURN(DirTree * tree, co_await DirOf(*orphans_));
  Result<DirEntry> removed = co_await tree->Remove(OrphanEntryName(ino));
  if (!removed.ok() && removed.error().code() != ENOENT) co_return removed.error();
  Queue(*orphans_);
  co_return Status();
}

}  // namespace blobfs
