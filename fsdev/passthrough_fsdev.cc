#include "fsdev/passthrough_fsdev.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "common/worker_pool.h"
#include "fsdev/abort_tracker.h"
#include "fsdev/host_inode_table.h"
#include "fsdev/xattr_reply.h"

namespace blobfs {
namespace {

// A caller's O_DIRECT is about the caller's cache (the kernel already bypasses it); the host file
// is read into our own buffers, which are not aligned for the host's direct I/O.
constexpr uint32_t kNotForHost = O_DIRECT;

// Descriptors the module asks for (Linux's default fs.nr_open).
constexpr rlim_t kWantedOpenFiles = 1 << 20;

// Entries one ReadDir job reads from the host before they are offered to the caller.
constexpr size_t kDirBatch = 128;
// Reads and writes are done in pieces this large, looking for an abort between them.
constexpr size_t kAbortGranularity = 256 * 1024;

Error Errno(const char* what) { return MakeError(errno, "%s: %s", what, std::strerror(errno)); }
Status Check(int result, const char* what) {
  return result < 0 ? Status(Errno(what)) : Status();
}
std::string ProcPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

FsdevAttr ToFsdevAttr(const struct stat& st) {
  return FsdevAttr{.ino = st.st_ino,
                   .mode = st.st_mode,
                   .nlink = static_cast<uint32_t>(st.st_nlink),
                   .uid = st.st_uid,
                   .gid = st.st_gid,
                   .rdev = st.st_rdev,
                   .size = static_cast<uint64_t>(st.st_size),
                   .blocks = static_cast<uint64_t>(st.st_blocks),
                   .block_size = static_cast<uint32_t>(st.st_blksize),
                   .atime = st.st_atim,
                   .mtime = st.st_mtim,
                   .ctime = st.st_ctim};
}

// The caller's filesystem identity on the calling (worker) thread for its lifetime. The raw
// syscalls change only this thread, unlike glibc's process-wide setgroups.
class ScopedFsCredentials {
 public:
  explicit ScopedFsCredentials(const FsdevContext& ctx) {
    if (ctx.uid == 0 && ctx.gid == 0) return;
    std::vector<gid_t> groups;
    if (ctx.groups) {
      for (uint32_t group : ctx.groups()) groups.push_back(group);
    }
    syscall(SYS_setgroups, groups.size(), groups.data());
    syscall(SYS_setfsgid, ctx.gid);
    syscall(SYS_setfsuid, ctx.uid);
    switched_ = true;
  }
  ~ScopedFsCredentials() {
    if (!switched_) return;
    syscall(SYS_setfsuid, 0);
    syscall(SYS_setfsgid, 0);
    syscall(SYS_setgroups, 0, nullptr);
  }
  ScopedFsCredentials(const ScopedFsCredentials&) = delete;
  ScopedFsCredentials& operator=(const ScopedFsCredentials&) = delete;

 private:
  bool switched_ = false;
};

// access(2) by the mode bits, as the kernel's generic_permission without ACLs.
Status CheckAccess(const struct stat& st, const FsdevContext& ctx, int mask) {
  mask &= R_OK | W_OK | X_OK;
  if (mask == 0) return Status();
  if (ctx.uid == 0) {
    if ((mask & X_OK) == 0 || S_ISDIR(st.st_mode) || (st.st_mode & 0111) != 0) return Status();
    return MakeError(EACCES, "no execute bit for root");
  }
  uint32_t bits;
  if (st.st_uid == ctx.uid) {
    bits = (st.st_mode >> 6) & 7;
  } else {
    bool member = st.st_gid == ctx.gid;
    if (!member && ctx.groups) {
      std::vector<uint32_t> groups = ctx.groups();
      member = std::find(groups.begin(), groups.end(), st.st_gid) != groups.end();
    }
    bits = member ? (st.st_mode >> 3) & 7 : st.st_mode & 7;
  }
  if ((bits & static_cast<uint32_t>(mask)) != static_cast<uint32_t>(mask)) {
    return MakeError(EACCES, "mode %o denies access %o", st.st_mode & 07777, mask);
  }
  return Status();
}

class PassthroughFsdev final : public Fsdev,
                               public std::enable_shared_from_this<PassthroughFsdev> {
 public:
  PassthroughFsdev(PassthroughFsdevOptions options, int root_fd, const struct stat& root_stat)
      : options_(std::move(options)),
        pool_(options_.threads),
        inodes_(root_fd, root_stat) {}

  const std::string& name() const override { return options_.name; }
  uint64_t root_id() const override { return inodes_.root_id(); }
  Result<std::unique_ptr<FsdevChannel>> OpenChannel() override;
  void Abort(uint64_t request_id) override { aborts_.Abort(request_id); }
  Task<Status> Close() override {
    absl::MutexLock lock(&mutex_);
    for (auto& [handle, open] : handles_) {
      if (open.dir != nullptr) {
        closedir(open.dir);
      } else {
        close(open.fd);
      }
    }
    handles_.clear();
    co_return Status();
  }

  WorkerPool& pool() { return pool_; }
  HostInodeTable& inodes() { return inodes_; }
  AbortTracker& aborts() { return aborts_; }
  const PassthroughFsdevOptions& options() const { return options_; }

  FsdevEntry EntryOf(const HostInode& inode, const struct stat& st) const {
    return FsdevEntry{.node_id = inode.node_id,
                      .generation = 0,  // Node ids are never reused.
                      .attr = ToFsdevAttr(st),
                      .entry_timeout = options_.entry_timeout,
                      .attr_timeout = options_.attr_timeout};
  }
  // Looks `name` up in `parent` on the host and takes a lookup reference (worker thread).
  Result<FsdevEntry> LookupOnHost(const HostInode& parent, const char* name) {
    struct stat st;
    if (fstatat(parent.fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) return Errno("fstatat");
    int fd = openat(parent.fd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return Errno("openat O_PATH");
    std::shared_ptr<HostInode> inode = inodes_.Add(fd, st);
    return EntryOf(*inode, st);
  }

  // Open files and directories.
  struct OpenFile {
    uint64_t node_id;
    int fd;            // Files: the open descriptor.
    DIR* dir;          // Directories: the stream (its descriptor is dirfd(dir)).
    std::shared_ptr<HostInode> inode;  // Keeps the object while open.
  };
  uint64_t AddHandle(OpenFile open) {
    absl::MutexLock lock(&mutex_);
    uint64_t handle = next_handle_++;
    handles_.emplace(handle, std::move(open));
    return handle;
  }
  // EBADF unless `handle` is open for `node_id` as a file (`dir` false) or directory.
  Result<OpenFile> GetHandle(uint64_t handle, uint64_t node_id, bool dir) {
    absl::MutexLock lock(&mutex_);
    auto it = handles_.find(handle);
    if (it == handles_.end() || it->second.node_id != node_id ||
        (it->second.dir != nullptr) != dir) {
      return MakeError(EBADF, "handle %d is no open %s of node 0x%x", handle,
                       dir ? "directory" : "file", node_id);
    }
    return it->second;
  }
  Result<OpenFile> TakeHandle(uint64_t handle, uint64_t node_id, bool dir) {
    Result<OpenFile> open = GetHandle(handle, node_id, dir);
    if (open.ok()) {
      absl::MutexLock lock(&mutex_);
      handles_.erase(handle);
    }
    return open;
  }

 private:
  const PassthroughFsdevOptions options_;
  WorkerPool pool_;
  HostInodeTable inodes_;
  AbortTracker aborts_;
  absl::Mutex mutex_;
  uint64_t next_handle_ ABSL_GUARDED_BY(mutex_) = 1;
  absl::flat_hash_map<uint64_t, OpenFile> handles_ ABSL_GUARDED_BY(mutex_);
};

class PassthroughChannel final : public FsdevChannel {
 private:
  // Runs `fn` on a worker thread under the caller's credentials.
  template <typename Fn>
  auto OnHost(const FsdevContext& ctx, Fn fn) {
    return dev_->pool().Run([&ctx, fn = std::move(fn)]() mutable {
      ScopedFsCredentials credentials(ctx);
      return fn();
    });
  }
  Result<FsdevAttrReply> AttrOf(const HostInode& inode) {
    struct stat st;
    if (fstatat(inode.fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
      return Errno("fstat");
    }
    return FsdevAttrReply{.attr = ToFsdevAttr(st), .attr_timeout = dev_->options().attr_timeout};
  }
  // The getxattr/listxattr size rules over a host call that fills a buffer.
  template <typename Call>
  static Result<FsdevXattrReply> ReadSized(Call call, uint32_t size) {
    std::string data(size == 0 ? XATTR_SIZE_MAX : size, '\0');
    ssize_t length = call(data.data(), data.size());
    if (length < 0) return Errno("xattr");
    data.resize(static_cast<size_t>(length));
    return MakeXattrReply(std::move(data), size);
  }
  FsdevCreateReply Opened(int fd, const FsdevEntry& entry) {
    Result<std::shared_ptr<HostInode>> inode = dev_->inodes().Get(entry.node_id);
    CHECK_OK(inode);  // The entry's lookup reference keeps it.
    const uint64_t handle = dev_->AddHandle({entry.node_id, fd, nullptr, *inode});
    return FsdevCreateReply{.entry = entry, .open = {.handle = handle, .keep_cache = false}};
  }
  template <typename Make>
  Task<Result<FsdevEntry>> MakeNode(const FsdevContext& ctx, uint64_t parent,
                                    std::string_view name, const Make& make) {
    CO_RETURN_IF_ERROR(CheckFsdevName(name));
    CO_ASSIGN_OR_RETURN(auto dir, dev_->inodes().Get(parent));
    const std::string host_name(name);
    co_return co_await OnHost(ctx, [&]() -> Result<FsdevEntry> {
      RETURN_IF_ERROR(make(dir->fd, host_name.c_str()));
      return dev_->LookupOnHost(*dir, host_name.c_str());
    });
  }
  Task<Status> Remove(const FsdevContext& ctx, uint64_t parent, std::string_view name, int flags) {
    CO_RETURN_IF_ERROR(CheckFsdevName(name));
    CO_ASSIGN_OR_RETURN(auto dir, dev_->inodes().Get(parent));
    const std::string host_name(name);
    co_return co_await OnHost(ctx, [&]() -> Status {
      return Check(unlinkat(dir->fd, host_name.c_str(), flags), "unlink");
    });
  }
  Task<Result<size_t>> Transfer(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                                uint64_t offset, std::span<const iovec> buffers, bool write) {
    CO_ASSIGN_OR_RETURN(auto open, dev_->GetHandle(handle, node_id, false));
    AbortTracker::Scope scope(dev_->aborts(), ctx.request_id);
    co_return co_await OnHost(ctx, [&]() -> Result<size_t> {
      size_t total = 0;
      for (const iovec& buffer : buffers) {
        size_t done = 0;
        while (done < buffer.iov_len) {
          if (scope.aborted()) {
            if (total == 0) return MakeError(EINTR, "request %d aborted", ctx.request_id);
            return total;
          }
          const size_t take = std::min(buffer.iov_len - done, kAbortGranularity);
          char* at = static_cast<char*>(buffer.iov_base) + done;
          const auto position = static_cast<off_t>(offset + total);
          ssize_t moved = write ? pwrite(open.fd, at, take, position)
                                : pread(open.fd, at, take, position);
          if (moved < 0) {
            if (total > 0) return total;
            return Errno(write ? "pwrite" : "pread");
          }
          total += static_cast<size_t>(moved);
          done += static_cast<size_t>(moved);
          if (static_cast<size_t>(moved) < take) return total;  // End of file.
        }
      }
      return total;
    });
  }
  // Host entries of one batch, and (for ReadDirPlus) their looked-up objects.
  struct HostDirEntry {
    std::string name;
    uint64_t ino;
    uint32_t type;
    uint64_t offset;
    std::optional<FsdevEntry> entry;
  };
  Task<Status> List(const FsdevContext& ctx, uint64_t node_id, uint64_t handle, uint64_t offset,
                    FsdevDirEmitter emit, bool plus) {
    CO_ASSIGN_OR_RETURN(auto open, dev_->GetHandle(handle, node_id, true));
    while (true) {
      CO_ASSIGN_OR_RETURN(std::vector<HostDirEntry> batch,
                          co_await OnHost(ctx, [&]() -> Result<std::vector<HostDirEntry>> {
                            return ReadBatch(open, offset, plus);
                          }));
      if (batch.empty()) co_return Status();
      for (size_t i = 0; i < batch.size(); ++i) {
        const HostDirEntry& host = batch[i];
        const FsdevDirEntry entry{.name = host.name,
                                  .ino = host.ino,
                                  .type = host.type,
                                  .offset = host.offset,
                                  .entry = host.entry ? &*host.entry : nullptr};
        if (!emit(entry)) {
          // Not taken: neither are the lookups of this and the later entries.
          for (size_t j = i; j < batch.size(); ++j) {
            if (batch[j].entry) dev_->inodes().Forget(batch[j].entry->node_id, 1);
          }
          co_return Status();
        }
        offset = host.offset;
      }
    }
  }
  // Up to kDirBatch entries after `offset` (worker thread).
  Result<std::vector<HostDirEntry>> ReadBatch(const PassthroughFsdev::OpenFile& open,
                                              uint64_t offset, bool plus) {
    if (offset == 0) {
      rewinddir(open.dir);
    } else {
      seekdir(open.dir, static_cast<long>(offset));
    }
    std::vector<HostDirEntry> batch;
    while (batch.size() < kDirBatch) {
      errno = 0;
      dirent* host = readdir(open.dir);
      if (host == nullptr) {
        if (errno != 0) return Errno("readdir");
        break;
      }
      HostDirEntry entry{host->d_name, host->d_ino, host->d_type,
                         static_cast<uint64_t>(host->d_off), std::nullopt};
      const bool dot = entry.name == "." || entry.name == "..";
      if (plus && !dot) {
        Result<FsdevEntry> looked_up = dev_->LookupOnHost(*open.inode, host->d_name);
        // Gone since the listing read it: leave it out.
        if (!looked_up.ok()) continue;
        entry.entry = *looked_up;
      }
      batch.push_back(std::move(entry));
    }
    return batch;
  }

 public:
  explicit PassthroughChannel(std::shared_ptr<PassthroughFsdev> dev) : dev_(std::move(dev)) {}

  Task<Result<FsdevEntry>> Lookup(const FsdevContext& ctx, uint64_t parent,
                                  std::string_view name) override {
    CO_RETURN_IF_ERROR(CheckFsdevName(name));
    CO_ASSIGN_OR_RETURN(auto dir, dev_->inodes().Get(parent));
    const std::string host_name(name);
    co_return co_await OnHost(ctx, [&]() -> Result<FsdevEntry> {
      return dev_->LookupOnHost(*dir, host_name.c_str());
    });
  }
  Task<void> Forget(uint64_t node_id, uint64_t count) override {
    dev_->inodes().Forget(node_id, count);
    co_return;
  }
  Task<Result<FsdevAttrReply>> GetAttr(const FsdevContext& ctx, uint64_t node_id,
                                       std::optional<uint64_t>) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    co_return co_await OnHost(ctx, [&]() -> Result<FsdevAttrReply> { return AttrOf(*inode); });
  }
  Task<Result<FsdevAttrReply>> SetAttr(const FsdevContext& ctx, uint64_t node_id,
                                       const FsdevSetAttr& attr,
                                       std::optional<uint64_t> handle) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    int handle_fd = -1;
    if (handle.has_value()) {
      CO_ASSIGN_OR_RETURN(auto open, dev_->GetHandle(*handle, node_id, false));
      handle_fd = open.fd;
    }
    co_return co_await OnHost(ctx, [&]() -> Result<FsdevAttrReply> {
      const std::string path = ProcPath(inode->fd);
      if (attr.valid & FsdevSetAttr::kMode) {
        RETURN_IF_ERROR(Check(fchmodat(AT_FDCWD, path.c_str(), attr.mode & 07777, 0), "chmod"));
      }
      if (attr.valid & (FsdevSetAttr::kUid | FsdevSetAttr::kGid)) {
        uid_t uid = (attr.valid & FsdevSetAttr::kUid) ? attr.uid : static_cast<uid_t>(-1);
        gid_t gid = (attr.valid & FsdevSetAttr::kGid) ? attr.gid : static_cast<gid_t>(-1);
        RETURN_IF_ERROR(Check(fchownat(inode->fd, "", uid, gid,
                                       AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW),
                              "chown"));
      }
      if (attr.valid & FsdevSetAttr::kSize) {
        int result = handle_fd >= 0 ? ftruncate(handle_fd, static_cast<off_t>(attr.size))
                                    : truncate(path.c_str(), static_cast<off_t>(attr.size));
        RETURN_IF_ERROR(Check(result, "truncate"));
      }
      if (attr.valid & (FsdevSetAttr::kAtime | FsdevSetAttr::kMtime | FsdevSetAttr::kAtimeNow |
                        FsdevSetAttr::kMtimeNow)) {
        timespec times[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
        if (attr.valid & FsdevSetAttr::kAtimeNow) {
          times[0].tv_nsec = UTIME_NOW;
        } else if (attr.valid & FsdevSetAttr::kAtime) {
          times[0] = attr.atime;
        }
        if (attr.valid & FsdevSetAttr::kMtimeNow) {
          times[1].tv_nsec = UTIME_NOW;
        } else if (attr.valid & FsdevSetAttr::kMtime) {
          times[1] = attr.mtime;
        }
        RETURN_IF_ERROR(Check(utimensat(AT_FDCWD, path.c_str(), times, 0), "utimensat"));
      }
      return AttrOf(*inode);
    });
  }
  Task<Result<std::string>> ReadLink(const FsdevContext& ctx, uint64_t node_id) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    co_return co_await OnHost(ctx, [&]() -> Result<std::string> {
      struct stat st;
      if (fstatat(inode->fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0) {
        return Errno("fstat");
      }
      // readlinkat of a non-symlink's O_PATH descriptor says ENOENT; readlink(2) says EINVAL.
      if (!S_ISLNK(st.st_mode)) return MakeError(EINVAL, "not a symlink");
      std::string target(PATH_MAX, '\0');
      ssize_t length = readlinkat(inode->fd, "", target.data(), target.size());
      if (length < 0) return Errno("readlink");
      target.resize(static_cast<size_t>(length));
      return target;
    });
  }
  Task<Result<FsdevEntry>> Symlink(const FsdevContext& ctx, uint64_t parent,
                                   std::string_view name, std::string_view target) override {
    const std::string host_target(target);
    const auto make = [&host_target](int dir, const char* host_name) {
      return Check(symlinkat(host_target.c_str(), dir, host_name), "symlink");
    };
    co_return co_await MakeNode(ctx, parent, name, make);
  }
  Task<Result<FsdevEntry>> MkNod(const FsdevContext& ctx, uint64_t parent, std::string_view name,
                                 uint32_t mode, uint64_t rdev, uint32_t umask) override {
    const mode_t host_mode = mode & ~(umask & 0777);
    const auto make = [host_mode, rdev](int dir, const char* host_name) {
      return Check(mknodat(dir, host_name, host_mode, rdev), "mknod");
    };
    co_return co_await MakeNode(ctx, parent, name, make);
  }
  Task<Result<FsdevEntry>> MkDir(const FsdevContext& ctx, uint64_t parent, std::string_view name,
                                 uint32_t mode, uint32_t umask) override {
    const mode_t host_mode = mode & ~(umask & 0777) & 07777;
    const auto make = [host_mode](int dir, const char* host_name) {
      return Check(mkdirat(dir, host_name, host_mode), "mkdir");
    };
    co_return co_await MakeNode(ctx, parent, name, make);
  }
  Task<Status> Unlink(const FsdevContext& ctx, uint64_t parent, std::string_view name) override {
    return Remove(ctx, parent, name, 0);
  }
  Task<Status> RmDir(const FsdevContext& ctx, uint64_t parent, std::string_view name) override {
    return Remove(ctx, parent, name, AT_REMOVEDIR);
  }
  Task<Status> Rename(const FsdevContext& ctx, uint64_t parent, std::string_view name,
                      uint64_t new_parent, std::string_view new_name, uint32_t flags) override {
    CO_RETURN_IF_ERROR(CheckFsdevName(name));
    CO_RETURN_IF_ERROR(CheckFsdevName(new_name));
    CO_ASSIGN_OR_RETURN(auto from, dev_->inodes().Get(parent));
    CO_ASSIGN_OR_RETURN(auto to, dev_->inodes().Get(new_parent));
    const std::string old_host(name), new_host(new_name);
    co_return co_await OnHost(ctx, [&]() -> Status {
      return Check(static_cast<int>(syscall(SYS_renameat2, from->fd, old_host.c_str(), to->fd,
                                            new_host.c_str(), flags)),
                   "renameat2");
    });
  }
  Task<Result<FsdevEntry>> Link(const FsdevContext& ctx, uint64_t node_id, uint64_t new_parent,
                                std::string_view new_name) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    const std::string source = ProcPath(inode->fd);
    const auto make = [&source](int dir, const char* host_name) {
      return Check(linkat(AT_FDCWD, source.c_str(), dir, host_name, AT_SYMLINK_FOLLOW), "link");
    };
    co_return co_await MakeNode(ctx, new_parent, new_name, make);
  }
  Task<Result<FsdevOpenReply>> Open(const FsdevContext& ctx, uint64_t node_id,
                                    uint32_t flags) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    CO_ASSIGN_OR_RETURN(int fd, co_await OnHost(ctx, [&]() -> Result<int> {
      int opened = open(ProcPath(inode->fd).c_str(),
                        static_cast<int>(flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_NOFOLLOW | kNotForHost)) |
                            O_CLOEXEC);
      if (opened < 0) return Errno("open");
      return opened;
    }));
    const uint64_t handle = dev_->AddHandle({node_id, fd, nullptr, inode});
    co_return FsdevOpenReply{.handle = handle, .keep_cache = false};
  }
  Task<Result<FsdevCreateReply>> Create(const FsdevContext& ctx, uint64_t parent,
                                        std::string_view name, uint32_t mode, uint32_t flags,
                                        uint32_t umask) override {
    CO_RETURN_IF_ERROR(CheckFsdevName(name));
    CO_ASSIGN_OR_RETURN(auto dir, dev_->inodes().Get(parent));
    const std::string host_name(name);
    struct Made {
      int fd;
      FsdevEntry entry;
    };
    CO_ASSIGN_OR_RETURN(Made made, co_await OnHost(ctx, [&]() -> Result<Made> {
      int fd = openat(dir->fd, host_name.c_str(),
                      static_cast<int>((flags | O_CREAT) & ~(O_NOFOLLOW | kNotForHost)) | O_CLOEXEC,
                      mode & ~(umask & 0777) & 07777);
      if (fd < 0) return Errno("create");
      Result<FsdevEntry> entry = dev_->LookupOnHost(*dir, host_name.c_str());
      if (!entry.ok()) {
        close(fd);
        return entry.error();
      }
      return Made{fd, *entry};
    }));
    co_return Opened(made.fd, made.entry);
  }
  Task<Result<FsdevCreateReply>> TmpFile(const FsdevContext& ctx, uint64_t parent, uint32_t mode,
                                         uint32_t flags, uint32_t umask) override {
    CO_ASSIGN_OR_RETURN(auto dir, dev_->inodes().Get(parent));
    struct Made {
      int fd;
      FsdevEntry entry;
    };
    CO_ASSIGN_OR_RETURN(Made made, co_await OnHost(ctx, [&]() -> Result<Made> {
      int fd = openat(dir->fd, ".",
                      static_cast<int>((flags | O_TMPFILE) & ~(O_CREAT | O_NOFOLLOW | kNotForHost)) |
                          O_CLOEXEC,
                      mode & ~(umask & 0777) & 07777);
      if (fd < 0) return Errno("open O_TMPFILE");
      struct stat st;
      int path_fd = open(ProcPath(fd).c_str(), O_PATH | O_CLOEXEC);
      if (path_fd < 0 || fstat(fd, &st) < 0) {
        Error error = Errno("tmpfile stat");
        if (path_fd >= 0) close(path_fd);
        close(fd);
        return error;
      }
      std::shared_ptr<HostInode> inode = dev_->inodes().Add(path_fd, st);
      return Made{fd, dev_->EntryOf(*inode, st)};
    }));
    co_return Opened(made.fd, made.entry);
  }
  Task<Result<size_t>> Read(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                            uint64_t offset, std::span<const iovec> buffers) override {
    return Transfer(ctx, node_id, handle, offset, buffers, false);
  }
  Task<Result<size_t>> Write(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                             uint64_t offset, std::span<const iovec> buffers) override {
    return Transfer(ctx, node_id, handle, offset, buffers, true);
  }
  Task<Status> Flush(const FsdevContext& ctx, uint64_t node_id, uint64_t handle) override {
    CO_ASSIGN_OR_RETURN(auto open, dev_->GetHandle(handle, node_id, false));
    // close(2) of a duplicate reports what the host would at this close.
    co_return co_await OnHost(ctx, [&]() -> Status {
      return Check(close(dup(open.fd)), "close");
    });
  }
  Task<Status> Release(const FsdevContext& ctx, uint64_t node_id, uint64_t handle) override {
    CO_ASSIGN_OR_RETURN(auto open, dev_->TakeHandle(handle, node_id, false));
    co_return co_await OnHost(ctx, [&]() -> Status { return Check(close(open.fd), "close"); });
  }
  Task<Status> Fsync(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                     bool datasync) override {
    CO_ASSIGN_OR_RETURN(auto open, dev_->GetHandle(handle, node_id, false));
    co_return co_await OnHost(ctx, [&]() -> Status {
      return Check(datasync ? fdatasync(open.fd) : fsync(open.fd), "fsync");
    });
  }
  Task<Status> Fallocate(const FsdevContext& ctx, uint64_t node_id, uint64_t handle, int mode,
                         uint64_t offset, uint64_t length) override {
    CO_ASSIGN_OR_RETURN(auto open, dev_->GetHandle(handle, node_id, false));
    co_return co_await OnHost(ctx, [&]() -> Status {
      return Check(fallocate(open.fd, mode, static_cast<off_t>(offset),
                             static_cast<off_t>(length)),
                   "fallocate");
    });
  }
  Task<Result<size_t>> CopyFileRange(const FsdevContext& ctx, uint64_t node_in,
                                     uint64_t handle_in, uint64_t offset_in, uint64_t node_out,
                                     uint64_t handle_out, uint64_t offset_out,
                                     uint64_t length) override {
    CO_ASSIGN_OR_RETURN(auto in, dev_->GetHandle(handle_in, node_in, false));
    CO_ASSIGN_OR_RETURN(auto out, dev_->GetHandle(handle_out, node_out, false));
    co_return co_await OnHost(ctx, [&]() -> Result<size_t> {
      auto from = static_cast<loff_t>(offset_in);
      auto to = static_cast<loff_t>(offset_out);
      ssize_t copied = copy_file_range(in.fd, &from, out.fd, &to, length, 0);
      if (copied < 0) return Errno("copy_file_range");
      return static_cast<size_t>(copied);
    });
  }
  Task<Result<uint64_t>> Lseek(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                               uint64_t offset, int whence) override {
    if (whence != SEEK_DATA && whence != SEEK_HOLE) {
      co_return MakeError(EINVAL, "lseek whence %d (only SEEK_DATA and SEEK_HOLE)", whence);
    }
    CO_ASSIGN_OR_RETURN(auto open, dev_->GetHandle(handle, node_id, false));
    co_return co_await OnHost(ctx, [&]() -> Result<uint64_t> {
      off_t found = lseek(open.fd, static_cast<off_t>(offset), whence);
      if (found < 0) return Errno("lseek");
      return static_cast<uint64_t>(found);
    });
  }
  Task<Result<FsdevOpenReply>> OpenDir(const FsdevContext& ctx, uint64_t node_id,
                                       uint32_t) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    CO_ASSIGN_OR_RETURN(DIR * dir, co_await OnHost(ctx, [&]() -> Result<DIR*> {
      int fd = open(ProcPath(inode->fd).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return Errno("opendir");
      DIR* stream = fdopendir(fd);
      if (stream == nullptr) {
        Error error = Errno("fdopendir");
        close(fd);
        return error;
      }
      return stream;
    }));
    const uint64_t handle = dev_->AddHandle({node_id, dirfd(dir), dir, inode});
    co_return FsdevOpenReply{.handle = handle};
  }
  Task<Status> ReadDir(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                       uint64_t offset, FsdevDirEmitter emit) override {
    return List(ctx, node_id, handle, offset, std::move(emit), false);
  }
  Task<Status> ReadDirPlus(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                           uint64_t offset, FsdevDirEmitter emit) override {
    return List(ctx, node_id, handle, offset, std::move(emit), true);
  }
  Task<Status> ReleaseDir(const FsdevContext& ctx, uint64_t node_id, uint64_t handle) override {
    CO_ASSIGN_OR_RETURN(auto open, dev_->TakeHandle(handle, node_id, true));
    co_return co_await OnHost(ctx, [&]() -> Status { return Check(closedir(open.dir), "closedir"); });
  }
  Task<Status> FsyncDir(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                        bool datasync) override {
    CO_ASSIGN_OR_RETURN(auto open, dev_->GetHandle(handle, node_id, true));
    co_return co_await OnHost(ctx, [&]() -> Status {
      return Check(datasync ? fdatasync(open.fd) : fsync(open.fd), "fsync");
    });
  }
  Task<Status> SetXattr(const FsdevContext& ctx, uint64_t node_id, std::string_view name,
                        std::string_view value, uint32_t flags) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    const std::string key(name);
    co_return co_await OnHost(ctx, [&]() -> Status {
      return Check(setxattr(ProcPath(inode->fd).c_str(), key.c_str(), value.data(), value.size(),
                            static_cast<int>(flags)),
                   "setxattr");
    });
  }
  Task<Result<FsdevXattrReply>> GetXattr(const FsdevContext& ctx, uint64_t node_id,
                                         std::string_view name, uint32_t size) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    const std::string key(name);
    co_return co_await OnHost(ctx, [&]() -> Result<FsdevXattrReply> {
      const std::string path = ProcPath(inode->fd);
      return ReadSized([&](char* buffer, size_t length) {
        return getxattr(path.c_str(), key.c_str(), buffer, length);
      }, size);
    });
  }
  Task<Result<FsdevXattrReply>> ListXattr(const FsdevContext& ctx, uint64_t node_id,
                                          uint32_t size) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    co_return co_await OnHost(ctx, [&]() -> Result<FsdevXattrReply> {
      const std::string path = ProcPath(inode->fd);
      return ReadSized([&](char* buffer, size_t length) {
        return listxattr(path.c_str(), buffer, length);
      }, size);
    });
  }
  Task<Status> RemoveXattr(const FsdevContext& ctx, uint64_t node_id,
                           std::string_view name) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    const std::string key(name);
    co_return co_await OnHost(ctx, [&]() -> Status {
      return Check(removexattr(ProcPath(inode->fd).c_str(), key.c_str()), "removexattr");
    });
  }
  Task<Status> Access(const FsdevContext& ctx, uint64_t node_id, int mask) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    const FsdevContext root;
    CO_ASSIGN_OR_RETURN(FsdevAttrReply attr,
                        co_await OnHost(root, [&]() -> Result<FsdevAttrReply> {
                          return AttrOf(*inode);
                        }));
    struct stat st{};
    st.st_mode = attr.attr.mode;
    st.st_uid = attr.attr.uid;
    st.st_gid = attr.attr.gid;
    co_return CheckAccess(st, ctx, mask);
  }
  Task<Result<FsdevStatFs>> StatFs(const FsdevContext& ctx, uint64_t node_id) override {
    CO_ASSIGN_OR_RETURN(auto inode, dev_->inodes().Get(node_id));
    co_return co_await OnHost(ctx, [&]() -> Result<FsdevStatFs> {
      struct statvfs st;
      if (statvfs(ProcPath(inode->fd).c_str(), &st) < 0) return Errno("statvfs");
      return FsdevStatFs{.blocks = st.f_blocks,
                         .blocks_free = st.f_bfree,
                         .blocks_available = st.f_bavail,
                         .files = st.f_files,
                         .files_free = st.f_ffree,
                         .block_size = static_cast<uint32_t>(st.f_bsize),
                         .fragment_size = static_cast<uint32_t>(st.f_frsize),
                         .name_max = static_cast<uint32_t>(st.f_namemax)};
    });
  }
  Task<Status> SyncFs(const FsdevContext& ctx) override {
    CO_ASSIGN_OR_RETURN(auto root, dev_->inodes().Get(dev_->root_id()));
    co_return co_await OnHost(ctx, [&]() -> Status {
      int fd = open(ProcPath(root->fd).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return Errno("open root");
      Status synced = Check(syncfs(fd), "syncfs");
      close(fd);
      return synced;
    });
  }

  std::shared_ptr<PassthroughFsdev> dev_;
};

Result<std::unique_ptr<FsdevChannel>> PassthroughFsdev::OpenChannel() {
  return std::unique_ptr<FsdevChannel>(new PassthroughChannel(shared_from_this()));
}

}  // namespace

Result<std::shared_ptr<Fsdev>> MakePassthroughFsdev(PassthroughFsdevOptions options) {
  int fd = open(options.root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno(("passthrough root " + options.root).c_str());
  struct stat st;
  if (fstat(fd, &st) < 0) {
    Error error = Errno("fstat of the passthrough root");
    close(fd);
    return error;
  }
  umask(0);
  // Every object the kernel holds keeps a descriptor: allow as many as the system lets us (a
  // privileged daemon may raise its hard limit up to fs.nr_open).
  rlimit files;
  if (getrlimit(RLIMIT_NOFILE, &files) == 0) {
    rlimit wanted{.rlim_cur = kWantedOpenFiles, .rlim_max = kWantedOpenFiles};
    if (files.rlim_max >= kWantedOpenFiles || setrlimit(RLIMIT_NOFILE, &wanted) != 0) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }
  }
  return std::shared_ptr<Fsdev>(std::make_shared<PassthroughFsdev>(std::move(options), fd, st));
}

}  // namespace blobfs
