// BlobFileSystem: the FileSystem of blobfs (filesystem.h states the contract). This header is the
// implementation's shared state; the calls are spread by topic over filesystem_*.cc files:
//   filesystem_mount.cc      mkfs, mount, unmount, orphan reclaim
//   filesystem_inodes.cc     the inode table (load, create, evict, reclaim), attributes out
//   filesystem_commit.cc     group commit, fsync/syncfs durability
//   filesystem_namespace.cc  lookup, create, link, unlink, rename...
//   filesystem_attrs.cc      getattr, setattr, access, readlink, xattrs, statfs
//   filesystem_files.cc      open, read, write, fsync, fallocate, lseek, copy_file_range
//   filesystem_dirs.cc       opendir, readdir(plus), fsyncdir
#ifndef BLOBFS_BLOBFS_BLOB_FILE_SYSTEM_H_
#define BLOBFS_BLOBFS_BLOB_FILE_SYSTEM_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "blob/blob_store.h"
#include "blobfs/buffer_cache.h"
#include "blobfs/dir_node_cache.h"
#include "blobfs/filesystem.h"
#include "blobfs/format/fs_super.h"
#include "blobfs/inode.h"
#include "common/async_semaphore.h"
#include "common/reactor.h"

namespace blobfs {

class BlobFileSystem final : public FileSystem {
 public:
  // Hard links one inode may have (as ext4).
  static constexpr uint32_t kLinkMax = 65000;
  static constexpr size_t kNameMax = 255;
  static constexpr size_t kSymlinkMax = 4095;  // PATH_MAX without its NUL.
  static constexpr std::string_view kSymlinkXattr = "l";

  BlobFileSystem(std::unique_ptr<BlobStore> store, MountOptions options);
  ~BlobFileSystem() override;

  Task<Status> Unmount() override;
  void SetAttributesChangedHandler(std::function<void(uint64_t ino)> changed) override {
    attributes_changed_ = std::move(changed);
  }
  Task<void> Abandon() override;
  uint64_t root_ino() const override { return super_.root_ino; }
  Reactor& reactor() override { return reactor_; }
  bool read_only() const override { return options_.read_only; }

  Task<Result<InodeAttr>> Lookup(const Credentials& caller, uint64_t parent,
                                 std::string_view name) override;
  Task<void> Forget(uint64_t ino, uint64_t count) override;
  Task<Result<InodeAttr>> GetAttr(uint64_t ino) override;
  Task<Result<InodeAttr>> SetAttr(const Credentials& caller, uint64_t ino, SetAttrRequest request,
                                  std::optional<uint64_t> handle) override;
  Task<Status> Access(const Credentials& caller, uint64_t ino, int mask) override;
  Task<Result<std::string>> ReadLink(uint64_t ino) override;
  Task<Result<InodeAttr>> MkNod(const Credentials& caller, uint64_t parent, std::string_view name,
                                uint32_t mode, uint64_t rdev) override;
  Task<Result<InodeAttr>> MkDir(const Credentials& caller, uint64_t parent, std::string_view name,
                                uint32_t mode) override;
  Task<Result<InodeAttr>> Symlink(const Credentials& caller, uint64_t parent,
                                  std::string_view name, std::string_view target) override;
  Task<Result<InodeAttr>> Link(const Credentials& caller, uint64_t ino, uint64_t new_parent,
                               std::string_view new_name) override;
  Task<Status> Unlink(const Credentials& caller, uint64_t parent, std::string_view name) override;
  Task<Status> RmDir(const Credentials& caller, uint64_t parent, std::string_view name) override;
  Task<Status> Rename(const Credentials& caller, uint64_t parent, std::string_view name,
                      uint64_t new_parent, std::string_view new_name, uint32_t flags) override;
  Task<Result<Created>> Create(const Credentials& caller, uint64_t parent, std::string_view name,
                               uint32_t mode, int flags) override;
  Task<Result<Created>> TmpFile(const Credentials& caller, uint64_t parent, uint32_t mode,
                                int flags) override;
  Task<Result<uint64_t>> Open(const Credentials& caller, uint64_t ino, int flags) override;
  Task<Status> Release(uint64_t handle) override;
  Task<Result<size_t>> Read(uint64_t handle, uint64_t offset,
                            std::span<const iovec> buffers) override;
  Task<Result<size_t>> ReadInPlace(uint64_t handle, uint64_t offset, uint64_t length,
                                   ReadConsumer consume) override;
  Task<Result<size_t>> Write(const Credentials& caller, uint64_t handle, uint64_t offset,
                             std::span<const iovec> buffers) override;
  Task<Status> Flush(uint64_t handle) override;
  Task<Status> Fsync(uint64_t handle, bool datasync) override;
  Task<Status> Fallocate(const Credentials& caller, uint64_t handle, int mode, uint64_t offset,
                         uint64_t length) override;
  Task<Result<uint64_t>> Lseek(uint64_t handle, uint64_t offset, int whence) override;
  Task<Result<size_t>> CopyFileRange(const Credentials& caller, uint64_t handle_in,
                                     uint64_t offset_in, uint64_t handle_out, uint64_t offset_out,
                                     uint64_t length) override;
  Task<Result<uint64_t>> OpenDir(const Credentials& caller, uint64_t ino) override;
  Task<Status> ReadDir(uint64_t handle, uint64_t cookie, DirEmitter emit) override;
  Task<Status> ReadDirPlus(uint64_t handle, uint64_t cookie, DirPlusEmitter emit) override;
  Task<Status> ReleaseDir(uint64_t handle) override;
  Task<Status> FsyncDir(uint64_t handle, bool datasync) override;
  Task<Status> SetXattr(const Credentials& caller, uint64_t ino, std::string_view name,
                        std::string_view value, int flags) override;
  Task<Result<std::string>> GetXattr(const Credentials& caller, uint64_t ino,
                                     std::string_view name) override;
  Task<Result<std::vector<std::string>>> ListXattr(const Credentials& caller,
                                                   uint64_t ino) override;
  Task<Status> RemoveXattr(const Credentials& caller, uint64_t ino,
                           std::string_view name) override;
  Task<Result<FsStats>> StatFs() override;
  Task<Status> SyncFs() override;

  // Mount's steps after construction (filesystem_mount.cc).
  Task<Status> Start();

 private:
  struct Handle {
    Inode* inode = nullptr;  // Kept alive by the inode's `opens`.
    int flags = 0;
    bool directory = false;
    // Write-back failure to report at Flush/Fsync.
    Status pending_error;
  };

  // --- inode table (filesystem_inodes.cc)
  // The inode `ino`, loaded if needed. ESTALE for a number that is no inode of this filesystem.
  Task<Result<InodeRef>> GetInode(uint64_t ino);
  // A new inode (its blob created, record set, not yet linked anywhere) with one pin.
  Task<Result<InodeRef>> NewInode(const Credentials& caller, const Inode& parent, uint32_t mode,
                                  uint64_t rdev, std::string_view symlink_target);
  // Deletes a new inode's blob after a failure before it was linked.
  Task<void> DiscardNewInode(InodeRef inode);
  Task<Result<DirTree*>> DirOf(Inode& dir);
  Task<Result<FileData*>> DataOf(Inode& file);
  // Passes `error` on; an EUCLEAN one (a record, inline data or directory index of `ino` that
  // fails validation) is logged the first time for each inode.
  Error NoteCorruption(uint64_t ino, Error error);
  InodeAttr AttrOf(const Inode& inode) const;
  // Queues the inode's blob for deletion once it has no links, lookups or opens, and drops its
  // unwritten data at once unless a call in flight still holds it.
  void MaybeReclaim(Inode& inode);
  // Of the inodes whose unlink is committed, those still unreferenced, for this commit to delete;
  // the others are put back (pinned) or dropped from reclaim (revived).
  std::vector<Inode*> TakeReclaimable(size_t limit);
  // Drops inodes whose blobs a commit deleted from the table, and their orphan entries.
  Task<Status> ForgetDeleted(std::vector<Inode*> deleted);
  // Closes unreferenced clean inodes while the table is over its cap.
  Task<void> EvictIdle();
  // Notes that `inode` (queued by the caller) lost its last link: the next commit enters it in
  // the orphan directory.
  void AddOrphan(Inode& inode);
  // Drops the orphan entry of `ino`, or the note of one not entered yet.
  Task<Status> RemoveOrphan(uint64_t ino);
  // Enters the noted orphans in the orphan directory (the committer, before its snapshot). On
  // failure the ones not entered stay noted.
  Task<Status> EnterOrphans();
  uint64_t NextGeneration();

  // --- commit (filesystem_commit.cc)
  // Marks the record changed and queues the inode for the next commit.
  void MarkDirty(Inode& inode);
  // Queues the inode (its directory blocks or file data changed) for the next commit.
  void Queue(Inode& inode);
  // Bumps the change sequence and starts the commit loop unless it runs.
  void ScheduleCommit();
  // Returns once everything changed before the call is committed and the device flushed: a
  // change's device writes (file data, new directory blocks) complete before it is queued or are
  // made by the commit that carries it, and every commit journals its inodes' records, its
  // journal transaction ending with a flush.
  Task<Status> CommitNow();
  // CommitNow, then the commits that delete what was unlinked meanwhile (SyncFs, Unmount).
  Task<Status> CommitAll();
  Task<Status> CommitOnce();
  Task<Status> CommitGroup();
  // Returns once no commit loop, commit or readahead runs (closing_ set: no commit starts).
  Task<void> WaitForBackgroundWork();
  // Runs a readahead of `inode`'s data (FileData::TakeReadahead) and counts it out.
  Task<void> ReadAhead(InodeRef inode, Task<void> load);
  Task<void> CommitLoop();
  // Returns when the oldest uncommitted change is commit_interval old, when commit_trigger_
  // inodes wait, or when closing.
  Task<void> WaitUntilCommitDue();

  // --- helpers shared by the calls
  // Runs `call`; when it fails with ENOSPC, commits everything pending first (the clusters and
  // pages of deleted files come back only with a commit, as ext4 forces a journal commit) and
  // runs it once more.
  // (Tasks are named before they are awaited: GCC 12 miscompiles temporaries in co_await.)
  template <typename T>
  Task<T> RetryAfterCommit(const std::function<Task<T>()>& call) {
    Task<T> first = call();
    T result = co_await std::move(first);
    if (result.ok() || result.error().code() != ENOSPC || options_.read_only) co_return result;
    Task<Status> commit = CommitAll();
    Status committed = co_await std::move(commit);
    if (!committed.ok()) co_return result;
    Task<T> again = call();
    co_return co_await std::move(again);
  }
  Task<Result<size_t>> WriteOnce(const Credentials& caller, uint64_t handle, uint64_t offset,
                                 std::span<const iovec> buffers);
  Task<Status> FallocateOnce(const Credentials& caller, uint64_t handle, int mode,
                             uint64_t offset, uint64_t length);
  Task<Result<Created>> CreateOnce(const Credentials& caller, uint64_t parent,
                                   std::string_view name, uint32_t mode, int flags);
  Status CheckWritable() const;
  // ENOSPC unless `pages` metadata pages are free with `keep` more left over.
  Status CheckMetadataRoom(uint64_t pages, uint64_t keep) const;
  Result<Handle*> FileHandle(uint64_t handle);
  Result<Handle*> DirHandle(uint64_t handle);
  uint64_t AddHandle(Inode& inode, int flags, bool directory);
  // Resolves `name` in `dir` for a namespace change: `dir` must be a live directory the caller
  // may write and search.
  Task<Result<InodeRef>> GetDirForChange(const Credentials& caller, uint64_t ino);
  // Adds a new entry `name` -> `child` to `dir` and stamps the times of a link.
  Task<Status> LinkEntry(Inode& dir, std::string_view name, Inode& child);
  // tree->Insert with room reserved for the blocks it may add first (ENOSPC when there is none).
  Task<Status> InsertEntry(Inode& dir, DirTree& tree, std::string_view name, Inode& child);
  // MkNod, MkDir and Symlink (MakeNodeOnce, retried after a commit on ENOSPC).
  Task<Result<InodeAttr>> MakeNode(const Credentials& caller, uint64_t parent,
                                   std::string_view name, uint32_t mode, uint64_t rdev,
                                   std::string_view symlink_target);
  Task<Result<InodeAttr>> MakeNodeOnce(const Credentials& caller, uint64_t parent,
                                       std::string_view name, uint32_t mode, uint64_t rdev,
                                       std::string_view symlink_target);
  // Drops one link of `child` (its entry already removed) and reclaims it if that was the last.
  void DropLink(Inode& child);
  // EUCLEAN when `entry` cannot be one of `inode`'s links (another type, or nlink 0): an unlink
  // or rmdir of it must not drop a link of what the number names now.
  static Status CheckEntryNames(const DirEntry& entry, const Inode& inode);
  // EINVAL when `dir` is `ancestor` or lies below it.
  Task<Status> CheckNotBelow(uint64_t dir, uint64_t ancestor);
  Task<Status> DoRename(const Credentials& caller, uint64_t parent, std::string_view name,
                        uint64_t new_parent, std::string_view new_name, uint32_t flags);
  Task<Status> Truncate(Inode& inode, uint64_t size);
  // What a change of a file's contents or owner takes away, as Linux's file_remove_privs and
  // chown do (and as FUSE's HANDLE_KILLPRIV_V2 leaves to the filesystem): setuid and setgid (the
  // latter only when group-executable) — on a write or truncate only when the caller is not root,
  // on a chown always — and the security.capability xattr whoever the caller is. Tells the
  // attributes-changed handler when anything went. The caller holds ns_lock_.
  enum class PrivilegeDrop { kOnWrite, kOnChown };
  Task<Status> DropPrivileges(Inode& inode, const Credentials& caller, PrivilegeDrop cause);
  // DropPrivileges(kOnWrite) for a write or fallocate, which hold no ns_lock_: takes it only when
  // there is something to drop. Called before the data lock is taken (ns_lock_ comes first).
  Task<Status> DropPrivilegesBeforeWrite(Inode& inode, const Credentials& caller);
  Task<Status> ListDir(uint64_t handle, uint64_t cookie, DirPlusEmitter* plus, DirEmitter* plain);

  std::unique_ptr<BlobStore> store_;
  Reactor& reactor_;
  MountOptions options_;
  std::function<void(uint64_t ino)> attributes_changed_;
  std::unique_ptr<BlobChannel> channel_;
  std::unique_ptr<BufferCache> cache_;
  DirNodeCache dir_nodes_;
  FsSuper super_;
  Blob* super_blob_ = nullptr;
  uint64_t generation_counter_ = 0;

  // Metadata pages new inodes leave free, for what existing ones grow by (xattrs, extent lists,
  // the copy a commit writes before it frees the old chain).
  uint64_t md_reserve_ = 0;
  absl::flat_hash_map<uint64_t, std::unique_ptr<Inode>> inodes_;
  InodeRef root_;
  InodeRef orphans_;
  // Unlinked inodes whose orphan entries the next commit makes (before it, nothing on the device
  // names them unlinked, so no entry is needed yet; the call stays off the orphan directory).
  absl::flat_hash_set<uint64_t> orphans_to_enter_;
  absl::flat_hash_set<uint64_t> corruption_logged_;
  absl::flat_hash_map<uint64_t, Handle> handles_;
  uint64_t next_handle_ = 1;

  // Namespace and attribute changes, one at a time (and the committer's snapshot).
  AsyncSemaphore ns_lock_{1};
  // ns_lock_ for a namespace call, once the queue has room for it: when commit_trigger_ inodes
  // of namespace calls wait, the call commits first (a commit can only take them all together).
  // Takes no other lock; callers hold none.
  Task<AsyncSemaphore::Hold> LockNamespace();
  // commit_limit_ and commit_trigger_ for a store whose commits hold `atomic_pages` pages each
  // (0: a read-only store, which commits nothing).
  void SetCommitLimits(uint64_t atomic_pages);
  // Commits, one at a time.
  AsyncSemaphore commit_lock_{1};
  std::vector<Inode*> queue_;           // Inodes with changes for the next commit.
  size_t namespace_queued_ = 0;         // Of queue_, those queued_by_namespace.
  // The most inodes and deletions one commit takes, so that with the directory blocks they
  // overwrite it stays one atomic transaction of the store's journal
  // (BlobStore::max_atomic_commit_pages), and the queue that makes a commit due at once.
  size_t commit_limit_ = 0;
  size_t commit_trigger_ = 0;
  // Inodes to delete: queued by MaybeReclaim, ready once a commit made their unlink durable, then
  // deleted by the commit after that (never with their unlink: it may not reach the disk first).
  std::vector<uint64_t> reclaim_queue_;
  std::vector<uint64_t> reclaim_ready_;
  uint64_t change_seq_ = 0;             // Bumped by every change.
  uint64_t committed_seq_ = 0;          // Changes up to here are durable.
  bool commit_loop_running_ = false;
  int commits_in_flight_ = 0;
  int readaheads_in_flight_ = 0;  // Background loads started by Read (FileData::TakeReadahead).
  // Unmount or Abandon began: no commit loop starts any more.
  bool closing_ = false;
  Status commit_error_;                 // The last background commit's failure.
  bool unmounted_ = false;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_BLOB_FILE_SYSTEM_H_
