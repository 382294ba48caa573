// FileSystem: a POSIX filesystem on a blob store (README.md here; records in FORMAT.md).
//
// Contract:
//  - Inodes. Every file of any type is one blob; its inode number is the blob id, stable for the
//    inode's life, and a generation number tells apart inodes that reuse a number. Attributes live
//    in a versioned record (InodeRecord). Directories are B+trees of entries (DirTree) in their
//    blob's blocks, so lookup, insert and remove touch O(log n) blocks at any size.
//  - Lookup references follow the FUSE rules: every call that returns an InodeAttr of an entry
//    (Lookup, MkNod, MkDir, Symlink, Link, Create, TmpFile, and each entry ReadDirPlus's `emit`
//    accepts) adds one reference to that inode; Forget drops them. An inode stays usable while it
//    has references or open handles, even after its last link is gone; it is reclaimed when both
//    reach zero. An ino that is not known (never returned, or reclaimed) is ESTALE.
//  - Handles. Open, Create, TmpFile and OpenDir return handles (numbers checked on every use:
//    unknown ones are EBADF, a file handle used as a directory or the reverse is EBADF too).
//  - Permissions. Every call taking Credentials checks them as the kernel would without
//    default_permissions (owner/group/other bits, root bypass, sticky directories) and applies the
//    POSIX attribute rules (setuid/setgid clearing on chown, chmod and write by non-root).
//  - Durability. Calls change memory and return; their changes are committed in groups (each
//    group one BlobStore::Commit, so a journal can later make a group atomic) as soon as the
//    previous group is written. Fsync, FsyncDir and SyncFs return only after the data and every
//    change made before them are on the device (the commit flushes it).
//  - Threads. Every call runs on reactor(), the one that mounted the filesystem (the store's
//    metadata reactor); callers elsewhere hop there first. Namespace and attribute changes are
//    serialized; reads and writes of different files overlap.
//  - Errors are errnos with messages: ENOENT, EEXIST, ENOTDIR, EISDIR, ENOTEMPTY, ENAMETOOLONG,
//    EMLINK, ENOSPC, EFBIG, EINVAL, EXDEV, EACCES, EPERM, ENODATA, ERANGE... Corrupt on-disk
//    records are EUCLEAN, failed I/O EIO.
#ifndef BLOBFS_BLOBFS_FILESYSTEM_H_
#define BLOBFS_BLOBFS_FILESYSTEM_H_

#include <sys/uio.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "blob/blob_store.h"
#include "blobfs/credentials.h"
#include "blobfs/format/timestamp.h"
#include "common/error.h"
#include "common/reactor.h"
#include "common/read_consumer.h"
#include "common/task.h"
#include "common/uuid.h"

namespace blobfs {

struct InodeAttr {
  uint64_t ino = 0;
  uint64_t generation = 0;
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 512-byte units allocated, as st_blocks.
  uint32_t block_size = 0;
  uint32_t flags = 0;
  Timestamp atime{};
  Timestamp mtime{};
  Timestamp ctime{};
  Timestamp btime{};
};

// What SetAttr changes: the bits of `valid` say which fields count.
struct SetAttrRequest {
  static constexpr uint32_t kMode = 1 << 0;
  static constexpr uint32_t kUid = 1 << 1;
  static constexpr uint32_t kGid = 1 << 2;
  static constexpr uint32_t kSize = 1 << 3;
  static constexpr uint32_t kAtime = 1 << 4;
  static constexpr uint32_t kMtime = 1 << 5;
  static constexpr uint32_t kAtimeNow = 1 << 6;  // atime := now (utimensat UTIME_NOW).
  static constexpr uint32_t kMtimeNow = 1 << 7;
  static constexpr uint32_t kCtime = 1 << 8;  // ctime := `ctime` (as FUSE's FATTR_CTIME).
  // Clear setuid and setgid (FUSE's FATTR_KILL_SUIDGID, on truncate by a non-root writer).
  static constexpr uint32_t kKillSuidGid = 1 << 9;

  uint32_t valid = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  Timestamp atime{};
  Timestamp mtime{};
  Timestamp ctime{};
};

// One entry of ReadDir: `cookie` is where a later ReadDir resumes to continue after it.
struct DirListEntry {
  std::string_view name;
  uint64_t ino = 0;
  uint32_t type = 0;  // DT_* value.
  uint64_t cookie = 0;
};

struct FsStats {
  uint32_t block_size = 0;
  uint64_t total_blocks = 0;
  // What file data can still use (statfs's f_bfree), and of it what ordinary calls may take
  // (f_bavail: less what is held back for deletions, as ext4 holds back its reserved blocks).
  uint64_t free_blocks = 0;
  uint64_t available_blocks = 0;
  uint64_t total_inodes = 0;
  uint64_t free_inodes = 0;
  uint32_t name_max = 0;
  Uuid uuid;
};

struct MkfsOptions {
  std::string label{};
  Uuid uuid{};  // Nil picks a random one.
  // Files up to this size keep their bytes in their inode's metadata page(s).
  uint32_t inline_max = 3072;
  // Owner of the root directory (mkfs.blobfs: whoever runs it, as mke2fs does).
  uint32_t root_uid = 0;
  uint32_t root_gid = 0;
};

struct MountOptions {
  bool read_only = false;
  // The buffer cache's memory cap.
  uint64_t cache_bytes = uint64_t{256} << 20;
  // Unreferenced inodes kept in memory for reuse.
  size_t inode_cache = 65536;
  // Decoded directory-index nodes kept in memory, over all directories (a few KiB each; 4096
  // hold every leaf of a directory of about 250k entries).
  size_t dir_cache_nodes = 4096;
  // Changes are committed at most this long after they are made (like ext4's commit=), sooner
  // when many inodes wait or a call needs them durable (fsync, syncfs, unmount). 0: at once.
  std::chrono::milliseconds commit_interval{5000};
};

class FileSystem {
 public:
  // Formats a filesystem onto `store`, which must be empty (fresh from BlobStore::Init with
  // bstype FsSuper::kBstype).
  static Task<Status> Mkfs(BlobStore& store, MkfsOptions options);
  // Mounts the filesystem of `store` and reclaims the inodes orphaned by a crash.
  static Task<Result<std::unique_ptr<FileSystem>>> Mount(std::unique_ptr<BlobStore> store,
                                                         MountOptions options);
  virtual ~FileSystem() = default;

  // Drops every lookup reference and handle (the caller is done), reclaims the inodes nothing
  // links any more, writes everything back, commits, and unloads the store cleanly. Nothing else
  // may be called afterwards.
  virtual Task<Status> Unmount() = 0;
  // `changed` is called on reactor(), before the call that caused it returns, when a call dropped
  // an inode's setuid/setgid bits or security.capability as a side effect (a write or fallocate,
  // whose results show no attributes; truncate, chown and O_TRUNC opens too): a caller that caches
  // attributes must drop those of `ino`.
  // Replaces the previous one; empty: nobody is told.
  virtual void SetAttributesChangedHandler(std::function<void(uint64_t ino)> changed) = 0;
  // Drops the mount as a crash would: the commit in flight (if any) finishes, nothing more is
  // written, and the store is released without unloading (its next Load takes the dirty path).
  // Nothing else may be called afterwards.
  virtual Task<void> Abandon() = 0;

  virtual uint64_t root_ino() const = 0;
  virtual Reactor& reactor() = 0;
  virtual bool read_only() const = 0;

  virtual Task<Result<InodeAttr>> Lookup(const Credentials& caller, uint64_t parent,
                                         std::string_view name) = 0;
  virtual Task<void> Forget(uint64_t ino, uint64_t count) = 0;
  virtual Task<Result<InodeAttr>> GetAttr(uint64_t ino) = 0;
  // `handle` (from Open) is used for size changes of an open file when given.
  virtual Task<Result<InodeAttr>> SetAttr(const Credentials& caller, uint64_t ino,
                                          SetAttrRequest request,
                                          std::optional<uint64_t> handle) = 0;
  // access(2): F_OK/R_OK/W_OK/X_OK bits.
  virtual Task<Status> Access(const Credentials& caller, uint64_t ino, int mask) = 0;
  virtual Task<Result<std::string>> ReadLink(uint64_t ino) = 0;

  virtual Task<Result<InodeAttr>> MkNod(const Credentials& caller, uint64_t parent,
                                        std::string_view name, uint32_t mode, uint64_t rdev) = 0;
  virtual Task<Result<InodeAttr>> MkDir(const Credentials& caller, uint64_t parent,
                                        std::string_view name, uint32_t mode) = 0;
  virtual Task<Result<InodeAttr>> Symlink(const Credentials& caller, uint64_t parent,
                                          std::string_view name, std::string_view target) = 0;
  virtual Task<Result<InodeAttr>> Link(const Credentials& caller, uint64_t ino,
                                       uint64_t new_parent, std::string_view new_name) = 0;
  virtual Task<Status> Unlink(const Credentials& caller, uint64_t parent,
                              std::string_view name) = 0;
  virtual Task<Status> RmDir(const Credentials& caller, uint64_t parent,
                             std::string_view name) = 0;
  // `flags`: 0, RENAME_NOREPLACE or RENAME_EXCHANGE (RENAME_WHITEOUT is EINVAL).
  virtual Task<Status> Rename(const Credentials& caller, uint64_t parent, std::string_view name,
                              uint64_t new_parent, std::string_view new_name, uint32_t flags) = 0;

  struct Created {
    InodeAttr attr;
    uint64_t handle = 0;
  };
  // `flags` are open(2) flags; O_EXCL makes an existing name EEXIST, otherwise an existing
  // regular file is opened (and truncated with O_TRUNC).
  virtual Task<Result<Created>> Create(const Credentials& caller, uint64_t parent,
                                       std::string_view name, uint32_t mode, int flags) = 0;
  // An anonymous regular file (O_TMPFILE) in `parent`'s filesystem; Link can give it a name
  // unless flags has O_EXCL.
  virtual Task<Result<Created>> TmpFile(const Credentials& caller, uint64_t parent,
                                        uint32_t mode, int flags) = 0;
  virtual Task<Result<uint64_t>> Open(const Credentials& caller, uint64_t ino, int flags) = 0;
  virtual Task<Status> Release(uint64_t handle) = 0;
  virtual Task<Result<size_t>> Read(uint64_t handle, uint64_t offset,
                                    std::span<const iovec> buffers) = 0;
  // As Read, without a copy: hands `consume` (common/read_consumer.h) up to `length` bytes from
  // `offset` in the filesystem's own memory; `consume` is not called when the read fails.
  virtual Task<Result<size_t>> ReadInPlace(uint64_t handle, uint64_t offset, uint64_t length,
                                           ReadConsumer consume) = 0;
  // Appends when the handle was opened with O_APPEND (offset is then ignored).
  virtual Task<Result<size_t>> Write(const Credentials& caller, uint64_t handle, uint64_t offset,
                                     std::span<const iovec> buffers) = 0;
  // close(2) of one descriptor: reports a write-back error if one happened.
  virtual Task<Status> Flush(uint64_t handle) = 0;
  virtual Task<Status> Fsync(uint64_t handle, bool datasync) = 0;
  virtual Task<Status> Fallocate(const Credentials& caller, uint64_t handle, int mode,
                                 uint64_t offset, uint64_t length) = 0;
  virtual Task<Result<uint64_t>> Lseek(uint64_t handle, uint64_t offset, int whence) = 0;
  virtual Task<Result<size_t>> CopyFileRange(const Credentials& caller, uint64_t handle_in,
                                             uint64_t offset_in, uint64_t handle_out,
                                             uint64_t offset_out, uint64_t length) = 0;

  virtual Task<Result<uint64_t>> OpenDir(const Credentials& caller, uint64_t ino) = 0;
  // Calls `emit` for the entries after `cookie` (0: from the start, "." and ".." first) until it
  // returns false (the entry was not taken: a later call resumes before it) or the directory
  // ends. Entries present for a whole listing are emitted exactly
  // once however the directory changes between calls.
  using DirEmitter = std::function<bool(const DirListEntry&)>;
  virtual Task<Status> ReadDir(uint64_t handle, uint64_t cookie, DirEmitter emit) = 0;
  // As ReadDir, with attributes; each entry `emit` accepts (other than "." and "..") gets one
  // lookup reference.
  using DirPlusEmitter = std::function<bool(const DirListEntry&, const InodeAttr&)>;
  virtual Task<Status> ReadDirPlus(uint64_t handle, uint64_t cookie, DirPlusEmitter emit) = 0;
  virtual Task<Status> ReleaseDir(uint64_t handle) = 0;
  virtual Task<Status> FsyncDir(uint64_t handle, bool datasync) = 0;

  // `flags`: 0, XATTR_CREATE (EEXIST if present) or XATTR_REPLACE (ENODATA if absent). Names
  // are the full "namespace.name" (user., trusted., security., system.posix_acl_*); values up
  // to 65536 bytes, stored and returned verbatim.
  virtual Task<Status> SetXattr(const Credentials& caller, uint64_t ino, std::string_view name,
                                std::string_view value, int flags) = 0;
  // ENODATA when absent. Size probes and ERANGE are the caller's (it has the value's size).
  virtual Task<Result<std::string>> GetXattr(const Credentials& caller, uint64_t ino,
                                             std::string_view name) = 0;
  virtual Task<Result<std::vector<std::string>>> ListXattr(const Credentials& caller,
                                                           uint64_t ino) = 0;
  virtual Task<Status> RemoveXattr(const Credentials& caller, uint64_t ino,
                                   std::string_view name) = 0;

  virtual Task<Result<FsStats>> StatFs() = 0;
  // Every change so far, data and metadata, is durable when it returns.
  virtual Task<Status> SyncFs() = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_FILESYSTEM_H_
