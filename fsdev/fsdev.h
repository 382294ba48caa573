// The fsdev API: a filesystem device, the seam between the FUSE dispatcher and a filesystem
// implementation (a module: blobfs, passthrough). README.md here has the operation table.
//
// Contract:
//  - Objects are named by node ids. An id comes from an entry reply (Lookup, MkNod, MkDir,
//    Symlink, Link, Create, TmpFile, and each ReadDirPlus entry the caller accepts), and each such
//    reply adds one lookup reference; Forget(id, n) drops n. An object lives while it has lookup
//    references or open handles. An id the module does not know (never given, forgotten, or
//    forged) is ESTALE — never a crash. root_id() needs no lookup and is never forgotten.
//  - Handles come from Open, Create, TmpFile and OpenDir and are valid until Release/ReleaseDir.
//    A handle used with another object's id, or a file handle as a directory's, is EBADF.
//  - Names are 1 to 255 bytes without '/' or NUL (EINVAL, ENAMETOOLONG otherwise); "." and ".."
//    are only looked up, never created or removed (EEXIST, ENOTEMPTY/EINVAL as Linux answers).
//  - Every call carries the caller's FsdevContext and is checked against it (permissions as the
//    kernel's default_permissions would, unless the module documents otherwise).
//  - Calls are coroutines, made through a channel on the caller's reactor; they complete on that
//    reactor. Several reactors may call at once, each through its own channel.
//  - Errors are errnos (Error::code()); modules choose the messages.
//  - Abort(request id) asks an in-flight call to stop early: it returns EINTR (or a short count
//    for a read or write already under way). Aborting a finished or unknown request does nothing.
//  - Locks (flock, POSIX records) are not implemented by fsdev modules: the dispatcher leaves
//    them to the kernel's local locking (supports_locks() is false).
#ifndef BLOBFS_FSDEV_FSDEV_H_
#define BLOBFS_FSDEV_FSDEV_H_

#include <sys/uio.h>
#include <time.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "common/read_consumer.h"
#include "common/task.h"

namespace blobfs {

// Who makes a call.
struct FsdevContext {
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;
  // The request's id for Abort; 0 when it cannot be aborted.
  uint64_t request_id = 0;
  // Supplementary groups, asked for only when a permission check needs them (reading them, e.g.
  // from /proc/PID/status, costs); empty when unknown.
  std::function<std::vector<uint32_t>()> groups{};
};

struct FsdevAttr {
  uint64_t ino = 0;  // As st_ino (the module's inode number, not the node id).
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t rdev = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;  // 512-byte units.
  uint32_t block_size = 0;
  timespec atime{};
  timespec mtime{};
  timespec ctime{};
  std::optional<timespec> btime{};
};

struct FsdevAttrReply {
  FsdevAttr attr;
  std::chrono::nanoseconds attr_timeout{};  // How long the caller may cache `attr`.
};

struct FsdevEntry {
  uint64_t node_id = 0;
  uint64_t generation = 0;  // With node_id, unique over the filesystem's life.
  FsdevAttr attr;
  std::chrono::nanoseconds entry_timeout{};  // How long the caller may cache the name.
  std::chrono::nanoseconds attr_timeout{};
};

struct FsdevOpenReply {
  uint64_t handle = 0;
  bool keep_cache = false;  // The caller's cached pages of the file are still valid.
  // Flush at close does nothing for this file (the caller may skip it, as FOPEN_NOFLUSH).
  bool no_flush = false;
};

struct FsdevCreateReply {
  FsdevEntry entry;
  FsdevOpenReply open;
};

// SetAttr: the `valid` bits say which fields apply.
struct FsdevSetAttr {
  static constexpr uint32_t kMode = 1 << 0;
  static constexpr uint32_t kUid = 1 << 1;
  static constexpr uint32_t kGid = 1 << 2;
  static constexpr uint32_t kSize = 1 << 3;
  static constexpr uint32_t kAtime = 1 << 4;
  static constexpr uint32_t kMtime = 1 << 5;
  static constexpr uint32_t kAtimeNow = 1 << 6;
  static constexpr uint32_t kMtimeNow = 1 << 7;
  static constexpr uint32_t kCtime = 1 << 8;
  static constexpr uint32_t kKillSuidGid = 1 << 9;
  static constexpr uint32_t kAll = (1 << 10) - 1;

  uint32_t valid = 0;
  uint32_t mode = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint64_t size = 0;
  timespec atime{};
  timespec mtime{};
  timespec ctime{};
};

// getxattr/listxattr: a probe (size 0) learns the size; otherwise the bytes, or ERANGE when they
// do not fit `size`.
struct FsdevXattrReply {
  uint32_t size = 0;
  std::string data{};  // Empty for a probe.
};

struct FsdevStatFs {
  uint64_t blocks = 0;
  uint64_t blocks_free = 0;
  uint64_t blocks_available = 0;
  uint64_t files = 0;
  uint64_t files_free = 0;
  uint32_t block_size = 0;
  uint32_t fragment_size = 0;
  uint32_t name_max = 0;
};

// One directory entry; `offset` is where a later ReadDir resumes to continue after it.
struct FsdevDirEntry {
  std::string_view name;
  uint64_t ino = 0;
  uint32_t type = 0;  // DT_* value.
  uint64_t offset = 0;
  // ReadDirPlus only (absent for "." and ".."): accepting the entry takes a lookup reference.
  const FsdevEntry* entry = nullptr;
};
// Returns false when the entry does not fit the caller's buffer: it is not taken (for
// ReadDirPlus: no lookup reference), and the listing stops.
using FsdevDirEmitter = std::function<bool(const FsdevDirEntry&)>;

// The calls, on one reactor.
class FsdevChannel {
 public:
  virtual ~FsdevChannel() = default;

  virtual Task<Result<FsdevEntry>> Lookup(const FsdevContext& ctx, uint64_t parent,
                                          std::string_view name) = 0;
  virtual Task<void> Forget(uint64_t node_id, uint64_t count) = 0;
  virtual Task<Result<FsdevAttrReply>> GetAttr(const FsdevContext& ctx, uint64_t node_id,
                                               std::optional<uint64_t> handle) = 0;
  virtual Task<Result<FsdevAttrReply>> SetAttr(const FsdevContext& ctx, uint64_t node_id,
                                               const FsdevSetAttr& attr,
                                               std::optional<uint64_t> handle) = 0;
  virtual Task<Result<std::string>> ReadLink(const FsdevContext& ctx, uint64_t node_id) = 0;
  virtual Task<Result<FsdevEntry>> Symlink(const FsdevContext& ctx, uint64_t parent,
                                           std::string_view name, std::string_view target) = 0;
  // `mode` holds the file type; `umask` applies to its permission bits.
  virtual Task<Result<FsdevEntry>> MkNod(const FsdevContext& ctx, uint64_t parent,
                                         std::string_view name, uint32_t mode, uint64_t rdev,
                                         uint32_t umask) = 0;
  virtual Task<Result<FsdevEntry>> MkDir(const FsdevContext& ctx, uint64_t parent,
                                         std::string_view name, uint32_t mode,
                                         uint32_t umask) = 0;
  virtual Task<Status> Unlink(const FsdevContext& ctx, uint64_t parent,
                              std::string_view name) = 0;
  virtual Task<Status> RmDir(const FsdevContext& ctx, uint64_t parent, std::string_view name) = 0;
  // `flags`: 0, RENAME_NOREPLACE or RENAME_EXCHANGE.
  virtual Task<Status> Rename(const FsdevContext& ctx, uint64_t parent, std::string_view name,
                              uint64_t new_parent, std::string_view new_name,
                              uint32_t flags) = 0;
  virtual Task<Result<FsdevEntry>> Link(const FsdevContext& ctx, uint64_t node_id,
                                        uint64_t new_parent, std::string_view new_name) = 0;

  // `flags` are native open(2) flags (the dispatcher translates a peer's).
  virtual Task<Result<FsdevOpenReply>> Open(const FsdevContext& ctx, uint64_t node_id,
                                            uint32_t flags) = 0;
  virtual Task<Result<FsdevCreateReply>> Create(const FsdevContext& ctx, uint64_t parent,
                                                std::string_view name, uint32_t mode,
                                                uint32_t flags, uint32_t umask) = 0;
  // An unnamed regular file in `parent` (O_TMPFILE).
  virtual Task<Result<FsdevCreateReply>> TmpFile(const FsdevContext& ctx, uint64_t parent,
                                                 uint32_t mode, uint32_t flags,
                                                 uint32_t umask) = 0;
  // Fills `buffers` from `offset`: the bytes read (fewer only at end of file or when aborted).
  virtual Task<Result<size_t>> Read(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                                    uint64_t offset, std::span<const iovec> buffers) = 0;
  // As Read, but hands `consume` (common/read_consumer.h) up to `size` bytes wherever they lie, on
  // whatever thread the fsdev runs the read; `consume` is not called when the read fails. An
  // fsdev with a cache of its own answers from it without a copy; this default reads into
  // buffers of the channel's (kept for the next reads: a fresh megabyte per call costs page
  // faults).
  virtual Task<Result<size_t>> ReadInPlace(const FsdevContext& ctx, uint64_t node_id,
                                           uint64_t handle, uint64_t offset, size_t size,
                                           ReadConsumer consume);
  virtual Task<Result<size_t>> Write(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                                     uint64_t offset, std::span<const iovec> buffers) = 0;
  virtual Task<Status> Flush(const FsdevContext& ctx, uint64_t node_id, uint64_t handle) = 0;
  virtual Task<Status> Release(const FsdevContext& ctx, uint64_t node_id, uint64_t handle) = 0;
  virtual Task<Status> Fsync(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                             bool datasync) = 0;
  virtual Task<Status> Fallocate(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                                 int mode, uint64_t offset, uint64_t length) = 0;
  virtual Task<Result<size_t>> CopyFileRange(const FsdevContext& ctx, uint64_t node_in,
                                             uint64_t handle_in, uint64_t offset_in,
                                             uint64_t node_out, uint64_t handle_out,
                                             uint64_t offset_out, uint64_t length) = 0;
  // SEEK_DATA or SEEK_HOLE (others: EINVAL); ENXIO at or past the end.
  virtual Task<Result<uint64_t>> Lseek(const FsdevContext& ctx, uint64_t node_id,
                                       uint64_t handle, uint64_t offset, int whence) = 0;

  virtual Task<Result<FsdevOpenReply>> OpenDir(const FsdevContext& ctx, uint64_t node_id,
                                               uint32_t flags) = 0;
  // The entries after `offset` (0: from the start; "." and ".." included) until `emit` refuses
  // one or the directory ends.
  virtual Task<Status> ReadDir(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                               uint64_t offset, FsdevDirEmitter emit) = 0;
  virtual Task<Status> ReadDirPlus(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                                   uint64_t offset, FsdevDirEmitter emit) = 0;
  virtual Task<Status> ReleaseDir(const FsdevContext& ctx, uint64_t node_id,
                                  uint64_t handle) = 0;
  virtual Task<Status> FsyncDir(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                                bool datasync) = 0;

  // `flags`: XATTR_CREATE, XATTR_REPLACE or 0.
  virtual Task<Status> SetXattr(const FsdevContext& ctx, uint64_t node_id, std::string_view name,
                                std::string_view value, uint32_t flags) = 0;
  virtual Task<Result<FsdevXattrReply>> GetXattr(const FsdevContext& ctx, uint64_t node_id,
                                                 std::string_view name, uint32_t size) = 0;
  // Names, each followed by a NUL.
  virtual Task<Result<FsdevXattrReply>> ListXattr(const FsdevContext& ctx, uint64_t node_id,
                                                  uint32_t size) = 0;
  virtual Task<Status> RemoveXattr(const FsdevContext& ctx, uint64_t node_id,
                                   std::string_view name) = 0;

  virtual Task<Status> Access(const FsdevContext& ctx, uint64_t node_id, int mask) = 0;
  virtual Task<Result<FsdevStatFs>> StatFs(const FsdevContext& ctx, uint64_t node_id) = 0;
  virtual Task<Status> SyncFs(const FsdevContext& ctx) = 0;

 private:
  std::vector<std::vector<char>> read_buffers_;
};

// What a module tells its user beyond the replies to its calls.
class FsdevObserver {
 public:
  virtual ~FsdevObserver() = default;
  // The attributes of `node_id` changed beyond what the reply to the call that changed them shows
  // (a write that dropped setuid bits or security.capability): what the user cached of them is
  // stale. Called on any thread, before that call completes.
  virtual void AttributesChanged(uint64_t node_id) = 0;
};

// A filesystem device: one instance of a module.
class Fsdev {
 public:
  virtual ~Fsdev() = default;

  virtual const std::string& name() const = 0;
  virtual uint64_t root_id() const = 0;
  virtual bool supports_locks() const { return false; }
  // How long a caller may remember that a name does not exist (after a Lookup's ENOENT); 0 when
  // someone else may create names behind the caller's back.
  virtual std::chrono::nanoseconds negative_entry_timeout() const { return {}; }
  // A channel for calls made on the calling reactor.
  virtual Result<std::unique_ptr<FsdevChannel>> OpenChannel() = 0;
  // Who hears of changes (nullptr: nobody); set before calls are made, told until Close, and it
  // must outlive that. A module whose replies always show every change tells nothing.
  virtual void SetObserver(FsdevObserver* observer) { (void)observer; }
  // Asks the call with `request_id` to stop early (thread-safe).
  virtual void Abort(uint64_t request_id) = 0;
  // Commits and releases everything; the device is unusable afterwards. On the reactor that
  // made it.
  virtual Task<Status> Close() = 0;
};

// EINVAL or ENAMETOOLONG unless `name` may be a directory entry's name (1 to 255 bytes, no '/',
// no NUL; "." and ".." are names too, for lookups).
Status CheckFsdevName(std::string_view name);

}  // namespace blobfs

#endif  // BLOBFS_FSDEV_FSDEV_H_
