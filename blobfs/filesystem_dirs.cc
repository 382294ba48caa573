// Directory handle calls: opendir, readdir, readdirplus, releasedir, fsyncdir.
#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <string>
#include <vector>

#include "blobfs/access.h"
#include "blobfs/blob_file_system.h"

namespace blobfs {
namespace {

// Cookies of "." and ".."; the index's entries start above them.
constexpr uint64_t kDotCookie = 1;
constexpr uint64_t kDotDotCookie = 2;

}  // namespace

Task<Result<uint64_t>> BlobFileSystem::OpenDir(const Credentials& caller, uint64_t ino) {
  CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(ino));
  if (!inode->record.is_dir()) co_return MakeError(ENOTDIR, "inode 0x%x is no directory", ino);
  CO_RETURN_IF_ERROR(CheckAccess(inode->record, caller, R_OK));
  ++inode->opens;
  co_return AddHandle(*inode, 0, true);
}

Task<Status> BlobFileSystem::ReleaseDir(uint64_t handle) {
  CO_ASSIGN_OR_RETURN(Handle * open, DirHandle(handle));
  Inode* inode = open->inode;
  handles_.erase(handle);
  --inode->opens;
  MaybeReclaim(*inode);
  co_return Status();
}

Task<Status> BlobFileSystem::FsyncDir(uint64_t handle, bool datasync) {
  (void)datasync;
  CO_RETURN_IF_ERROR(DirHandle(handle).status());
  co_return co_await CommitNow();
}

Task<Status> BlobFileSystem::ReadDir(uint64_t handle, uint64_t cookie, DirEmitter emit) {
  co_return co_await ListDir(handle, cookie, nullptr, &emit);
}

Task<Status> BlobFileSystem::ReadDirPlus(uint64_t handle, uint64_t cookie, DirPlusEmitter emit) {
  co_return co_await ListDir(handle, cookie, &emit, nullptr);
}

Task<Status> BlobFileSystem::ListDir(uint64_t handle, uint64_t cookie, DirPlusEmitter* plus,
                                     DirEmitter* plain) {
  CO_ASSIGN_OR_RETURN(Handle * open, DirHandle(handle));
  InodeRef dir(open->inode);
  auto hold = co_await ns_lock_.Lock();
  // "." and ".." come first; with attributes they carry no lookup reference.
  struct Dot {
    std::string_view name;
    uint64_t cookie;
    uint64_t ino;
  };
  for (const Dot& dot : {Dot{".", kDotCookie, dir->ino}, Dot{"..", kDotDotCookie, dir->record.parent}}) {
    if (cookie >= dot.cookie) continue;
    DirListEntry entry{.name = dot.name, .ino = dot.ino, .type = DT_DIR, .cookie = dot.cookie};
    bool more;
    if (plus != nullptr) {
      CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(dot.ino));
      more = (*plus)(entry, AttrOf(*inode));
    } else {
      more = (*plain)(entry);
    }
    if (!more) co_return Status();
    cookie = dot.cookie;
  }
  if (dir->record.nlink == 0) co_return Status();  // Removed: empty from here on.
  CO_ASSIGN_OR_RETURN(DirTree * tree, co_await DirOf(*dir));
  if (plain != nullptr) {
    std::function<bool(const DirEntry&)> forward = [&](const DirEntry& entry) {
      return (*plain)(DirListEntry{
          .name = entry.name, .ino = entry.ino, .type = entry.type, .cookie = entry.cookie});
    };
    co_return co_await tree->List(cookie, forward);
  }
  // With attributes: collect a batch of entries, then load their inodes (which awaits) and
  // emit them until the consumer is full; resume after the last emitted one.
  constexpr size_t kBatch = 64;
  while (true) {
    std::vector<DirEntry> batch;
    std::function<bool(const DirEntry&)> collect = [&](const DirEntry& entry) {
      batch.push_back(entry);
      return batch.size() < kBatch;
    };
    CO_RETURN_IF_ERROR(co_await tree->List(cookie, collect));
    if (batch.empty()) co_return Status();
    for (const DirEntry& entry : batch) {
      CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(entry.ino));
      DirListEntry listed{
          .name = entry.name, .ino = entry.ino, .type = entry.type, .cookie = entry.cookie};
      if (!(*plus)(listed, AttrOf(*inode))) co_return Status();
      ++inode->lookups;
      cookie = entry.cookie;
    }
    if (batch.size() < kBatch) co_return Status();
  }
}

Task<Status> BlobFileSystem::SyncFs() {
  CO_RETURN_IF_ERROR(CheckWritable());
  // Every open file's dirty data joins the commit.
  for (auto& [ino, inode] : inodes_) {
    if (inode->data != nullptr && inode->data->dirty()) Queue(*inode);
  }
  co_return co_await CommitAll();
}

}  // namespace blobfs
