// Mkfs, mount, unmount and the reclaim of orphaned inodes at mount.
#include <algorithm>
#include <sys/stat.h>

#include <cerrno>
#include <functional>
#include <string>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/str_format.h"
#include "blobfs/blob_file_system.h"
#include "blobfs/dir_blob_storage.h"
#include "blobfs/dir_tree.h"
#include "blobfs/new_directory.h"
#include "common/string_util.h"

namespace blobfs {

Task<Status> FileSystem::Mkfs(BlobStore& store, MkfsOptions options) {
  if (store.super_block().bstype_text() != FsSuper::kBstype) {
    co_return MakeError(EINVAL, "mkfs: the blob store's bstype is \"%s\", blobfs needs \"%s\"",
                        std::string(store.super_block().bstype_text()), FsSuper::kBstype);
  }
  std::vector<uint64_t> existing = co_await store.ListBlobs();
  if (!existing.empty() || store.super_blob() != kNoBlobId) {
    co_return MakeError(EEXIST, "mkfs: the blob store already holds %d blobs", existing.size());
  }
  if (options.label.size() > FsSuper::kMaxLabel) {
    co_return MakeError(EINVAL, "mkfs: label of %d bytes (at most %d)", options.label.size(),
                        FsSuper::kMaxLabel);
  }
  if (options.inline_max > FsSuper::kMaxInlineMax) {
    co_return MakeError(EINVAL, "mkfs: inline_max %d exceeds %d", options.inline_max,
                        FsSuper::kMaxInlineMax);
  }
  FsSuper super;
  super.uuid = options.uuid.is_nil() ? Uuid::Random() : options.uuid;
  super.label = options.label;
  super.created = Timestamp::Now();
  super.block_size = std::max<uint32_t>(4096, store.io_unit_size());
  super.inline_max = options.inline_max;
  absl::BitGen random;
  super.hash_seed = absl::Uniform<uint64_t>(random);

  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store.OpenChannel());
  CO_ASSIGN_OR_RETURN(Blob * root, co_await CreateDirectoryBlob(
                                        store, *channel, super,
                                        {.permissions = 0755, .uid = options.root_uid,
                                         .gid = options.root_gid, .time = super.created}));
  CO_ASSIGN_OR_RETURN(Blob * orphans,
                      co_await CreateDirectoryBlob(store, *channel, super,
                                                   {.permissions = 0700, .time = super.created}));
  super.root_ino = root->id();
  super.orphan_ino = orphans->id();
  BlobCreateOptions super_options;
  super_options.internal_xattrs.emplace(FsSuper::kXattrName, super.Encode());
  CO_ASSIGN_OR_RETURN(Blob * super_blob, co_await store.CreateBlob(std::move(super_options)));
  const uint64_t super_id = super_blob->id();
  std::vector<Blob*> blobs = {root, orphans, super_blob};
  CO_RETURN_IF_ERROR(co_await store.Commit(blobs));
  for (Blob* blob : blobs) CO_RETURN_IF_ERROR(co_await store.CloseBlob(blob));
  co_return co_await store.SetSuperBlob(super_id);
}

Task<Result<std::unique_ptr<FileSystem>>> FileSystem::Mount(std::unique_ptr<BlobStore> store,
                                                            MountOptions options) {
  if (store->super_block().bstype_text() != FsSuper::kBstype) {
    co_return MakeError(EMEDIUMTYPE, "mount: the blob store's bstype is \"%s\", not \"%s\"",
                        std::string(store->super_block().bstype_text()), FsSuper::kBstype);
  }
  if (store->super_blob() == kNoBlobId) {
    co_return MakeError(EINVAL, "mount: the blob store has no super blob (run mkfs)");
  }
  if (store->read_only()) options.read_only = true;
  auto fs = std::make_unique<BlobFileSystem>(std::move(store), options);
  Status started = co_await fs->Start();
  if (!started.ok()) {
    // Closes what Start opened; the store is dropped unloaded. Start's error is the one to tell.
    Status unmounted = co_await fs->Unmount();
    if (!unmounted.ok()) LOG(WARNING) << "after a failed mount: " << unmounted.error();
    co_return started.error();
  }
  co_return std::unique_ptr<FileSystem>(std::move(fs));
}

BlobFileSystem::BlobFileSystem(std::unique_ptr<BlobStore> store, MountOptions options)
    : store_(std::move(store)),
      reactor_(store_->metadata_reactor()),
      options_(options),
      dir_nodes_(options.dir_cache_nodes) {}

BlobFileSystem::~BlobFileSystem() = default;

Task<Status> BlobFileSystem::Start() {
  CHECK(Reactor::Current() == &reactor_) << "mount runs on the blob store's metadata reactor";
  CO_ASSIGN_OR_RETURN(channel_, store_->OpenChannel());
  SetCommitLimits(store_->read_only() ? 0 : store_->max_atomic_commit_pages());
  CO_ASSIGN_OR_RETURN(super_blob_, co_await store_->OpenBlob(store_->super_blob()));
  CO_ASSIGN_OR_RETURN(
      std::string encoded,
      co_await super_blob_->GetXattr(std::string(FsSuper::kXattrName), XattrKind::kInternal));
  CO_ASSIGN_OR_RETURN(super_, FsSuper::Decode(encoded));
  if (super_.read_only_required() && !options_.read_only) {
    co_return MakeError(EROFS, "mount: the filesystem has read-only features 0x%x this build "
                        "does not know; mount it read-only", super_.ro_compat_features);
  }
  const BlobStoreStats stats = co_await store_->GetStats();
  md_reserve_ = std::clamp<uint64_t>(stats.md_pages / 64, 16, 4096);
  cache_ = std::make_unique<BufferCache>(*store_, BufferCacheOptions{
                                                      .capacity_bytes = options_.cache_bytes});
  // Held back from writes and new entries: the orphan directory's growth when files are deleted.
  cache_->HoldBack(std::clamp<uint64_t>(stats.total_clusters / 100, 16, 65536) *
                   stats.cluster_size);
  if (!options_.read_only) {
    ++super_.mount_count;
    CO_RETURN_IF_ERROR(co_await super_blob_->SetXattr(std::string(FsSuper::kXattrName),
                                                      super_.Encode(), XattrKind::kInternal));
    CO_RETURN_IF_ERROR(co_await super_blob_->Sync());
  }
  CO_ASSIGN_OR_RETURN(root_, co_await GetInode(super_.root_ino));
  CO_ASSIGN_OR_RETURN(orphans_, co_await GetInode(super_.orphan_ino));
  if (!root_->record.is_dir() || !orphans_->record.is_dir()) {
    co_return MakeError(EUCLEAN, "mount: the root (0x%x) or orphan inode (0x%x) is no directory",
                        super_.root_ino, super_.orphan_ino);
  }
  if (options_.read_only) co_return Status();

  // Reclaim the inodes a crash left orphaned: unlinked (or anonymous) but not yet deleted.
  CO_ASSIGN_OR_RETURN(DirTree * orphan_tree, co_await DirOf(*orphans_));
  std::vector<uint64_t> orphaned;
  std::function<bool(const DirEntry&)> collect = [&](const DirEntry& entry) {
    orphaned.push_back(entry.ino);
    return true;
  };
  CO_RETURN_IF_ERROR(co_await orphan_tree->List(0, collect));
  for (uint64_t ino : orphaned) {
    Result<InodeRef> inode = co_await GetInode(ino);
    if (inode.ok() && (*inode)->record.nlink == 0) {
      MaybeReclaim(**inode);
    } else {
      if (!inode.ok()) LOG(WARNING) << "orphan 0x" << std::hex << ino << ": " << inode.error();
      CO_RETURN_IF_ERROR(co_await RemoveOrphan(ino));
    }
  }
  if (!orphaned.empty()) LOG(INFO) << "reclaiming " << orphaned.size() << " orphaned inodes";
  co_return co_await CommitAll();
}

Task<Status> BlobFileSystem::Unmount() {
  CHECK(!unmounted_) << "unmounted twice";
  // The caller is gone, and with it every lookup reference and open handle it held (the kernel
  // drops the FORGETs it still had queued at unmount): what nothing links is reclaimed now, not
  // left to the next mount's orphan pass.
  for (auto& [handle, open] : handles_) --open.inode->opens;
  handles_.clear();
  for (auto& [ino, inode] : inodes_) {
    inode->lookups = 0;
    if (!options_.read_only) MaybeReclaim(*inode);
  }
  Status status;
  if (channel_ != nullptr && !options_.read_only) status = co_await CommitAll();
  closing_ = true;
  co_await WaitForBackgroundWork();
  unmounted_ = true;
  root_ = InodeRef();
  orphans_ = InodeRef();
  for (auto& [ino, inode] : inodes_) {
    if (inode->data != nullptr) inode->data->Discard();
    inode->dir.reset();
    inode->dir_storage.reset();
    Status closed = co_await store_->CloseBlob(inode->blob);
    if (status.ok() && !closed.ok()) status = closed;
  }
  inodes_.clear();
  cache_.reset();
  if (super_blob_ != nullptr) {
    Status closed = co_await store_->CloseBlob(super_blob_);
    if (status.ok() && !closed.ok()) status = closed;
    super_blob_ = nullptr;
  }
  channel_.reset();
  if (status.ok()) status = co_await store_->Unload();
  co_return status;
}

Task<void> BlobFileSystem::WaitForBackgroundWork() {
  // Commits started by calls or the loop, and readaheads, finish first: they hold pointers into
  // this object.
  while (commit_loop_running_ || commits_in_flight_ > 0 || readaheads_in_flight_ > 0) {
    co_await reactor_.Sleep(std::chrono::milliseconds(1));
  }
}

Task<void> BlobFileSystem::Abandon() {
  CHECK(!unmounted_) << "unmounted twice";
  closing_ = true;
  co_await WaitForBackgroundWork();
  unmounted_ = true;
  handles_.clear();
  root_ = InodeRef();
  orphans_ = InodeRef();
  inodes_.clear();
  cache_.reset();
  channel_.reset();
  store_.reset();
}

}  // namespace blobfs
