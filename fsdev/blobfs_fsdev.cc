#include "fsdev/blobfs_fsdev.h"

#include <fcntl.h>
#include <sys/xattr.h>

#include <algorithm>
#include <cerrno>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/run_on.h"
#include "fsdev/abort_tracker.h"
#include "fsdev/xattr_reply.h"

namespace blobfs {
namespace {

// Reads and writes longer than this are done in pieces, looking for an abort between them.
constexpr size_t kAbortGranularity = 256 * 1024;

timespec ToTimespec(const Timestamp& time) {
  return timespec{.tv_sec = static_cast<time_t>(time.sec), .tv_nsec = static_cast<long>(time.nsec)};
}
Timestamp ToTimestamp(const timespec& time) {
  return Timestamp{time.tv_sec, static_cast<uint32_t>(time.tv_nsec)};
}

FsdevAttr ToFsdevAttr(const InodeAttr& attr) {
  return FsdevAttr{.ino = attr.ino,
                   .mode = attr.mode,
                   .nlink = attr.nlink,
                   .uid = attr.uid,
                   .gid = attr.gid,
                   .rdev = attr.rdev,
                   .size = attr.size,
                   .blocks = attr.blocks,
                   .block_size = attr.block_size,
                   .atime = ToTimespec(attr.atime),
                   .mtime = ToTimespec(attr.mtime),
                   .ctime = ToTimespec(attr.ctime),
                   .btime = ToTimespec(attr.btime)};
}

Credentials CredentialsOf(const FsdevContext& ctx) {
  Credentials credentials{.uid = ctx.uid, .gid = ctx.gid};
  // Root passes every check: its groups are never needed.
  if (ctx.uid != 0 && ctx.groups) credentials.groups = ctx.groups();
  return credentials;
}

SetAttrRequest ToSetAttrRequest(const FsdevSetAttr& attr) {
  // The fsdev's bits are blobfs's, one for one.
  static_assert(FsdevSetAttr::kMode == SetAttrRequest::kMode &&
                FsdevSetAttr::kKillSuidGid == SetAttrRequest::kKillSuidGid &&
                FsdevSetAttr::kAtimeNow == SetAttrRequest::kAtimeNow &&
                FsdevSetAttr::kCtime == SetAttrRequest::kCtime);
  return SetAttrRequest{.valid = attr.valid & FsdevSetAttr::kAll,
                        .mode = attr.mode,
                        .uid = attr.uid,
                        .gid = attr.gid,
                        .size = attr.size,
                        .atime = ToTimestamp(attr.atime),
                        .mtime = ToTimestamp(attr.mtime),
                        .ctime = ToTimestamp(attr.ctime)};
}

class BlobfsFsdev final : public Fsdev, public std::enable_shared_from_this<BlobfsFsdev> {
 public:
  BlobfsFsdev(std::unique_ptr<FileSystem> fs, BlobfsFsdevOptions options)
      : fs_(std::move(fs)), options_(std::move(options)) {}

  const std::string& name() const override { return options_.name; }
  uint64_t root_id() const override { return fs_->root_ino(); }
  // Names appear only through this module, and the kernel forgets a cached absence itself when
  // it creates the name.
  std::chrono::nanoseconds negative_entry_timeout() const override {
    return options_.entry_timeout;
  }
  Result<std::unique_ptr<FsdevChannel>> OpenChannel() override;
  void SetObserver(FsdevObserver* observer) override {
    std::function<void(uint64_t)> changed;
    if (observer != nullptr) {
      changed = [observer](uint64_t ino) { observer->AttributesChanged(ino); };
    }
    fs_->SetAttributesChangedHandler(std::move(changed));
  }
  void Abort(uint64_t request_id) override { aborts_.Abort(request_id); }
  Task<Status> Close() override {
    closed_ = true;
    return RunOn(fs_->reactor(), fs_->Unmount());
  }

  FileSystem& fs() { return *fs_; }
  Reactor& reactor() { return fs_->reactor(); }
  AbortTracker& aborts() { return aborts_; }

  FsdevEntry EntryOf(const InodeAttr& attr) const {
    return FsdevEntry{.node_id = attr.ino,
                      .generation = attr.generation,
                      .attr = ToFsdevAttr(attr),
                      .entry_timeout = options_.entry_timeout,
                      .attr_timeout = options_.attr_timeout};
  }
  FsdevAttrReply AttrReplyOf(const InodeAttr& attr) const {
    return FsdevAttrReply{.attr = ToFsdevAttr(attr), .attr_timeout = options_.attr_timeout};
  }

  // Handles: what each was opened for, so a handle is only used with its own node.
  enum class Kind { kFile, kDir };
  void AddHandle(uint64_t handle, uint64_t node_id, Kind kind) {
    handles_[handle] = HandleInfo{node_id, kind};
  }
  void RemoveHandle(uint64_t handle) { handles_.erase(handle); }
  Status CheckHandle(uint64_t handle, uint64_t node_id, Kind kind) const {
    auto it = handles_.find(handle);
    if (it == handles_.end() || it->second.node_id != node_id || it->second.kind != kind) {
      return MakeError(EBADF, "handle %d is no open %s of node 0x%x", handle,
                       kind == Kind::kFile ? "file" : "directory", node_id);
    }
    return Status();
  }

 private:
  struct HandleInfo {
    uint64_t node_id;
    Kind kind;
  };
  std::unique_ptr<FileSystem> fs_;
  const BlobfsFsdevOptions options_;
  AbortTracker aborts_;
  absl::flat_hash_map<uint64_t, HandleInfo> handles_;  // On the filesystem's reactor.
  bool closed_ = false;
};

// Every call: hop to the filesystem's reactor, run the Do* body there, hop back.
class BlobfsChannel final : public FsdevChannel {
 public:
  explicit BlobfsChannel(std::shared_ptr<BlobfsFsdev> dev) : dev_(std::move(dev)) {}

  Task<Result<FsdevEntry>> Lookup(const FsdevContext& ctx, uint64_t parent,
                                  std::string_view name) override {
    return RunOn(dev_->reactor(), DoLookup(ctx, parent, name));
  }
  Task<void> Forget(uint64_t node_id, uint64_t count) override {
    return RunOn(dev_->reactor(), fs().Forget(node_id, count));
  }
  Task<Result<FsdevAttrReply>> GetAttr(const FsdevContext&, uint64_t node_id,
                                       std::optional<uint64_t> handle) override {
    return RunOn(dev_->reactor(), DoGetAttr(node_id, handle));
  }
  Task<Result<FsdevAttrReply>> SetAttr(const FsdevContext& ctx, uint64_t node_id,
                                       const FsdevSetAttr& attr,
                                       std::optional<uint64_t> handle) override {
    return RunOn(dev_->reactor(), DoSetAttr(ctx, node_id, attr, handle));
  }
  Task<Result<std::string>> ReadLink(const FsdevContext&, uint64_t node_id) override {
    return RunOn(dev_->reactor(), fs().ReadLink(node_id));
  }
  Task<Result<FsdevEntry>> Symlink(const FsdevContext& ctx, uint64_t parent,
                                   std::string_view name, std::string_view target) override {
    return RunOn(dev_->reactor(), DoSymlink(ctx, parent, name, target));
  }
  Task<Result<FsdevEntry>> MkNod(const FsdevContext& ctx, uint64_t parent, std::string_view name,
                                 uint32_t mode, uint64_t rdev, uint32_t umask) override {
    return RunOn(dev_->reactor(), DoMkNod(ctx, parent, name, mode & ~(umask & 0777), rdev));
  }
  Task<Result<FsdevEntry>> MkDir(const FsdevContext& ctx, uint64_t parent, std::string_view name,
                                 uint32_t mode, uint32_t umask) override {
    return RunOn(dev_->reactor(), DoMkDir(ctx, parent, name, mode & ~(umask & 0777)));
  }
  Task<Status> Unlink(const FsdevContext& ctx, uint64_t parent, std::string_view name) override {
    return RunOn(dev_->reactor(), DoUnlink(ctx, parent, name, false));
  }
  Task<Status> RmDir(const FsdevContext& ctx, uint64_t parent, std::string_view name) override {
    return RunOn(dev_->reactor(), DoUnlink(ctx, parent, name, true));
  }
  Task<Status> Rename(const FsdevContext& ctx, uint64_t parent, std::string_view name,
                      uint64_t new_parent, std::string_view new_name, uint32_t flags) override {
    return RunOn(dev_->reactor(), DoRename(ctx, parent, name, new_parent, new_name, flags));
  }
  Task<Result<FsdevEntry>> Link(const FsdevContext& ctx, uint64_t node_id, uint64_t new_parent,
                                std::string_view new_name) override {
    return RunOn(dev_->reactor(), DoLink(ctx, node_id, new_parent, new_name));
  }
  Task<Result<FsdevOpenReply>> Open(const FsdevContext& ctx, uint64_t node_id,
                                    uint32_t flags) override {
    return RunOn(dev_->reactor(), DoOpen(ctx, node_id, flags));
  }
  Task<Result<FsdevCreateReply>> Create(const FsdevContext& ctx, uint64_t parent,
                                        std::string_view name, uint32_t mode, uint32_t flags,
                                        uint32_t umask) override {
    return RunOn(dev_->reactor(),
                 DoCreate(ctx, parent, name, mode & ~(umask & 0777), flags, false));
  }
  Task<Result<FsdevCreateReply>> TmpFile(const FsdevContext& ctx, uint64_t parent, uint32_t mode,
                                         uint32_t flags, uint32_t umask) override {
    return RunOn(dev_->reactor(), DoCreate(ctx, parent, {}, mode & ~(umask & 0777), flags, true));
  }
  Task<Result<size_t>> Read(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                            uint64_t offset, std::span<const iovec> buffers) override {
    return RunOn(dev_->reactor(), DoTransfer(ctx, node_id, handle, offset, buffers, false));
  }
  Task<Result<size_t>> ReadInPlace(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                                   uint64_t offset, size_t size, ReadConsumer consume) override {
    return RunOn(dev_->reactor(), DoReadInPlace(ctx, node_id, handle, offset, size,
                                                std::move(consume)));
  }
  Task<Result<size_t>> Write(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                             uint64_t offset, std::span<const iovec> buffers) override {
    return RunOn(dev_->reactor(), DoTransfer(ctx, node_id, handle, offset, buffers, true));
  }
  Task<Status> Flush(const FsdevContext&, uint64_t node_id, uint64_t handle) override {
    return RunOn(dev_->reactor(), DoFileCall(node_id, handle, [this](uint64_t h) {
                   return fs().Flush(h);
                 }));
  }
  Task<Status> Release(const FsdevContext&, uint64_t node_id, uint64_t handle) override {
    return RunOn(dev_->reactor(), DoRelease(node_id, handle, BlobfsFsdev::Kind::kFile));
  }
  Task<Status> Fsync(const FsdevContext&, uint64_t node_id, uint64_t handle,
                     bool datasync) override {
    return RunOn(dev_->reactor(), DoFileCall(node_id, handle, [this, datasync](uint64_t h) {
                   return fs().Fsync(h, datasync);
                 }));
  }
  Task<Status> Fallocate(const FsdevContext& ctx, uint64_t node_id, uint64_t handle, int mode,
                         uint64_t offset, uint64_t length) override {
    return RunOn(dev_->reactor(), DoFileCall(node_id, handle,
                                             [this, caller = CredentialsOf(ctx), mode, offset,
                                              length](uint64_t h) {
                                               return fs().Fallocate(caller, h, mode, offset,
                                                                     length);
                                             }));
  }
  Task<Result<size_t>> CopyFileRange(const FsdevContext& ctx, uint64_t node_in,
                                     uint64_t handle_in, uint64_t offset_in, uint64_t node_out,
                                     uint64_t handle_out, uint64_t offset_out,
                                     uint64_t length) override {
    return RunOn(dev_->reactor(), DoCopyFileRange(ctx, node_in, handle_in, offset_in, node_out,
                                                  handle_out, offset_out, length));
  }
  Task<Result<uint64_t>> Lseek(const FsdevContext&, uint64_t node_id, uint64_t handle,
                               uint64_t offset, int whence) override {
    return RunOn(dev_->reactor(), DoLseek(node_id, handle, offset, whence));
  }
  Task<Result<FsdevOpenReply>> OpenDir(const FsdevContext& ctx, uint64_t node_id,
                                       uint32_t) override {
    return RunOn(dev_->reactor(), DoOpenDir(ctx, node_id));
  }
  Task<Status> ReadDir(const FsdevContext&, uint64_t node_id, uint64_t handle, uint64_t offset,
                       FsdevDirEmitter emit) override {
    return RunOn(dev_->reactor(), DoReadDir(node_id, handle, offset, std::move(emit), false));
  }
  Task<Status> ReadDirPlus(const FsdevContext&, uint64_t node_id, uint64_t handle,
                           uint64_t offset, FsdevDirEmitter emit) override {
    return RunOn(dev_->reactor(), DoReadDir(node_id, handle, offset, std::move(emit), true));
  }
  Task<Status> ReleaseDir(const FsdevContext&, uint64_t node_id, uint64_t handle) override {
    return RunOn(dev_->reactor(), DoRelease(node_id, handle, BlobfsFsdev::Kind::kDir));
  }
  Task<Status> FsyncDir(const FsdevContext&, uint64_t node_id, uint64_t handle,
                        bool datasync) override {
    return RunOn(dev_->reactor(), DoFsyncDir(node_id, handle, datasync));
  }
  Task<Status> SetXattr(const FsdevContext& ctx, uint64_t node_id, std::string_view name,
                        std::string_view value, uint32_t flags) override {
    return RunOn(dev_->reactor(), DoSetXattr(ctx, node_id, name, value, flags));
  }
  Task<Result<FsdevXattrReply>> GetXattr(const FsdevContext& ctx, uint64_t node_id,
                                         std::string_view name, uint32_t size) override {
    return RunOn(dev_->reactor(), DoGetXattr(ctx, node_id, name, size));
  }
  Task<Result<FsdevXattrReply>> ListXattr(const FsdevContext& ctx, uint64_t node_id,
                                          uint32_t size) override {
    return RunOn(dev_->reactor(), DoListXattr(ctx, node_id, size));
  }
  Task<Status> RemoveXattr(const FsdevContext& ctx, uint64_t node_id,
                           std::string_view name) override {
    return RunOn(dev_->reactor(), DoRemoveXattr(ctx, node_id, name));
  }
  Task<Status> Access(const FsdevContext& ctx, uint64_t node_id, int mask) override {
    return RunOn(dev_->reactor(), DoAccess(ctx, node_id, mask));
  }
  Task<Result<FsdevStatFs>> StatFs(const FsdevContext&, uint64_t) override {
    return RunOn(dev_->reactor(), DoStatFs());
  }
  Task<Status> SyncFs(const FsdevContext&) override {
    return RunOn(dev_->reactor(), fs().SyncFs());
  }

 private:
  FileSystem& fs() { return dev_->fs(); }

  Task<Result<FsdevEntry>> DoLookup(const FsdevContext& ctx, uint64_t parent,
                                    std::string_view name) {
    CO_RETURN_IF_ERROR(CheckFsdevName(name));
    const Credentials caller = CredentialsOf(ctx);
    CO_ASSIGN_OR_RETURN(InodeAttr attr, co_await fs().Lookup(caller, parent, name));
    co_return dev_->EntryOf(attr);
  }
  Task<Result<FsdevAttrReply>> DoGetAttr(uint64_t node_id, std::optional<uint64_t> handle) {
    if (handle.has_value()) {
      // A directory's or a file's handle may come with GETATTR (fstat).
      Status file = dev_->CheckHandle(*handle, node_id, BlobfsFsdev::Kind::kFile);
      if (!file.ok()) {
        CO_RETURN_IF_ERROR(dev_->CheckHandle(*handle, node_id, BlobfsFsdev::Kind::kDir));
      }
    }
    CO_ASSIGN_OR_RETURN(InodeAttr attr, co_await fs().GetAttr(node_id));
    co_return dev_->AttrReplyOf(attr);
  }
  Task<Result<FsdevAttrReply>> DoSetAttr(const FsdevContext& ctx, uint64_t node_id,
                                         FsdevSetAttr attr, std::optional<uint64_t> handle) {
    if (handle.has_value()) {
      CO_RETURN_IF_ERROR(dev_->CheckHandle(*handle, node_id, BlobfsFsdev::Kind::kFile));
    }
    if ((attr.valid & ~FsdevSetAttr::kAll) != 0) {
      co_return MakeError(EINVAL, "setattr valid bits 0x%x", attr.valid);
    }
    const Credentials caller = CredentialsOf(ctx);
    const SetAttrRequest request = ToSetAttrRequest(attr);
    CO_ASSIGN_OR_RETURN(InodeAttr result, co_await fs().SetAttr(caller, node_id, request, handle));
    co_return dev_->AttrReplyOf(result);
  }
  Task<Result<FsdevEntry>> DoSymlink(const FsdevContext& ctx, uint64_t parent,
                                     std::string_view name, std::string_view target) {
    CO_RETURN_IF_ERROR(CheckFsdevName(name));
    const Credentials caller = CredentialsOf(ctx);
    CO_ASSIGN_OR_RETURN(InodeAttr attr, co_await fs().Symlink(caller, parent, name, target));
    co_return dev_->EntryOf(attr);
  }
  Task<Result<FsdevEntry>> DoMkNod(const FsdevContext& ctx, uint64_t parent,
                                   std::string_view name, uint32_t mode, uint64_t rdev) {
    CO_RETURN_IF_ERROR(CheckFsdevName(name));
    const Credentials caller = CredentialsOf(ctx);
    CO_ASSIGN_OR_RETURN(InodeAttr attr, co_await fs().MkNod(caller, parent, name, mode, rdev));
    co_return dev_->EntryOf(attr);
  }
  Task<Result<FsdevEntry>> DoMkDir(const FsdevContext& ctx, uint64_t parent,
                                   std::string_view name, uint32_t mode) {
    CO_RETURN_IF_ERROR(CheckFsdevName(name));
    const Credentials caller = CredentialsOf(ctx);
    CO_ASSIGN_OR_RETURN(InodeAttr attr, co_await fs().MkDir(caller, parent, name, mode));
    co_return dev_->EntryOf(attr);
  }
  Task<Status> DoUnlink(const FsdevContext& ctx, uint64_t parent, std::string_view name,
                        bool directory) {
    CO_RETURN_IF_ERROR(CheckFsdevName(name));
    const Credentials caller = CredentialsOf(ctx);
    if (directory) co_return co_await fs().RmDir(caller, parent, name);
    co_return co_await fs().Unlink(caller, parent, name);
  }
  Task<Status> DoRename(const FsdevContext& ctx, uint64_t parent, std::string_view name,
                        uint64_t new_parent, std::string_view new_name, uint32_t flags) {
    CO_RETURN_IF_ERROR(CheckFsdevName(name));
    CO_RETURN_IF_ERROR(CheckFsdevName(new_name));
    const Credentials caller = CredentialsOf(ctx);
    co_return co_await fs().Rename(caller, parent, name, new_parent, new_name, flags);
  }
  Task<Result<FsdevEntry>> DoLink(const FsdevContext& ctx, uint64_t node_id, uint64_t new_parent,
                                  std::string_view new_name) {
    CO_RETURN_IF_ERROR(CheckFsdevName(new_name));
    const Credentials caller = CredentialsOf(ctx);
    CO_ASSIGN_OR_RETURN(InodeAttr attr, co_await fs().Link(caller, node_id, new_parent, new_name));
    co_return dev_->EntryOf(attr);
  }
  Task<Result<FsdevOpenReply>> DoOpen(const FsdevContext& ctx, uint64_t node_id, uint32_t flags) {
    const Credentials caller = CredentialsOf(ctx);
    CO_ASSIGN_OR_RETURN(uint64_t handle,
                        co_await fs().Open(caller, node_id, static_cast<int>(flags)));
    dev_->AddHandle(handle, node_id, BlobfsFsdev::Kind::kFile);
    // Only this process writes the image: pages the kernel cached stay valid across opens. Flush
    // has nothing to do (writes are in the cache already; errors come at fsync, as on ext4).
    co_return FsdevOpenReply{.handle = handle, .keep_cache = true, .no_flush = true};
  }
  Task<Result<FsdevCreateReply>> DoCreate(const FsdevContext& ctx, uint64_t parent,
                                          std::string_view name, uint32_t mode, uint32_t flags,
                                          bool anonymous) {
    if (!anonymous) CO_RETURN_IF_ERROR(CheckFsdevName(name));
    const Credentials caller = CredentialsOf(ctx);
    const int open_flags = static_cast<int>(flags);
    Result<FileSystem::Created> created = MakeError(EINVAL, "not created");
    if (anonymous) {
      created = co_await fs().TmpFile(caller, parent, mode, open_flags);
    } else {
      created = co_await fs().Create(caller, parent, name, mode, open_flags);
    }
    CO_RETURN_IF_ERROR(created.status());
    dev_->AddHandle(created->handle, created->attr.ino, BlobfsFsdev::Kind::kFile);
    co_return FsdevCreateReply{.entry = dev_->EntryOf(created->attr),
                               .open = {.handle = created->handle,
                                        .keep_cache = true,
                                        .no_flush = true}};
  }
  // One piece (a READ is at most max_read): an abort stops it only before it starts.
  Task<Result<size_t>> DoReadInPlace(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                                     uint64_t offset, size_t size, ReadConsumer consume) {
    CO_RETURN_IF_ERROR(dev_->CheckHandle(handle, node_id, BlobfsFsdev::Kind::kFile));
    AbortTracker::Scope scope(dev_->aborts(), ctx.request_id);
    if (scope.aborted()) co_return MakeError(EINTR, "request %d aborted", ctx.request_id);
    co_return co_await fs().ReadInPlace(handle, offset, size, std::move(consume));
  }
  Task<Result<size_t>> DoTransfer(const FsdevContext& ctx, uint64_t node_id, uint64_t handle,
                                  uint64_t offset, std::span<const iovec> buffers, bool write) {
    CO_RETURN_IF_ERROR(dev_->CheckHandle(handle, node_id, BlobfsFsdev::Kind::kFile));
    AbortTracker::Scope scope(dev_->aborts(), ctx.request_id);
    const Credentials caller = CredentialsOf(ctx);
    size_t total = 0;
    // Piece by piece, so an abort stops a long transfer between pieces.
    std::vector<iovec> piece;
    size_t index = 0;
    size_t within = 0;
    while (index < buffers.size()) {
      if (scope.aborted()) {
        if (total == 0) co_return MakeError(EINTR, "request %d aborted", ctx.request_id);
        co_return total;
      }
      piece.clear();
      size_t piece_bytes = 0;
      while (index < buffers.size() && piece_bytes < kAbortGranularity) {
        const iovec& buffer = buffers[index];
        const size_t take = std::min(buffer.iov_len - within, kAbortGranularity - piece_bytes);
        piece.push_back({static_cast<char*>(buffer.iov_base) + within, take});
        piece_bytes += take;
        within += take;
        if (within == buffer.iov_len) {
          ++index;
          within = 0;
        }
      }
      std::span<const iovec> part(piece);
      Result<size_t> done = size_t{0};
      if (write) {
        done = co_await fs().Write(caller, handle, offset + total, part);
      } else {
        done = co_await fs().Read(handle, offset + total, part);
      }
      if (!done.ok()) {
        if (total == 0) co_return done.error();
        co_return total;
      }
      total += *done;
      if (*done < piece_bytes) break;  // End of file, or a short write.
    }
    co_return total;
  }
  template <typename Call>
  Task<Status> DoFileCall(uint64_t node_id, uint64_t handle, Call call) {
    CO_RETURN_IF_ERROR(dev_->CheckHandle(handle, node_id, BlobfsFsdev::Kind::kFile));
    co_return co_await call(handle);
  }
  Task<Status> DoRelease(uint64_t node_id, uint64_t handle, BlobfsFsdev::Kind kind) {
    CO_RETURN_IF_ERROR(dev_->CheckHandle(handle, node_id, kind));
    dev_->RemoveHandle(handle);
    if (kind == BlobfsFsdev::Kind::kDir) co_return co_await fs().ReleaseDir(handle);
    co_return co_await fs().Release(handle);
  }
  Task<Result<size_t>> DoCopyFileRange(const FsdevContext& ctx, uint64_t node_in,
                                       uint64_t handle_in, uint64_t offset_in, uint64_t node_out,
                                       uint64_t handle_out, uint64_t offset_out, uint64_t length) {
    CO_RETURN_IF_ERROR(dev_->CheckHandle(handle_in, node_in, BlobfsFsdev::Kind::kFile));
    CO_RETURN_IF_ERROR(dev_->CheckHandle(handle_out, node_out, BlobfsFsdev::Kind::kFile));
    const Credentials caller = CredentialsOf(ctx);
    co_return co_await fs().CopyFileRange(caller, handle_in, offset_in, handle_out, offset_out,
                                          length);
  }
  Task<Result<uint64_t>> DoLseek(uint64_t node_id, uint64_t handle, uint64_t offset, int whence) {
    CO_RETURN_IF_ERROR(dev_->CheckHandle(handle, node_id, BlobfsFsdev::Kind::kFile));
    if (whence != SEEK_DATA && whence != SEEK_HOLE) {
      co_return MakeError(EINVAL, "lseek whence %d (only SEEK_DATA and SEEK_HOLE)", whence);
    }
    co_return co_await fs().Lseek(handle, offset, whence);
  }
  Task<Result<FsdevOpenReply>> DoOpenDir(const FsdevContext& ctx, uint64_t node_id) {
    const Credentials caller = CredentialsOf(ctx);
    CO_ASSIGN_OR_RETURN(uint64_t handle, co_await fs().OpenDir(caller, node_id));
    dev_->AddHandle(handle, node_id, BlobfsFsdev::Kind::kDir);
    co_return FsdevOpenReply{.handle = handle, .keep_cache = true};
  }
  Task<Status> DoReadDir(uint64_t node_id, uint64_t handle, uint64_t offset, FsdevDirEmitter emit,
                         bool plus) {
    CO_RETURN_IF_ERROR(dev_->CheckHandle(handle, node_id, BlobfsFsdev::Kind::kDir));
    if (!plus) {
      FileSystem::DirEmitter each = [&emit](const DirListEntry& entry) {
        return emit(FsdevDirEntry{.name = entry.name,
                                  .ino = entry.ino,
                                  .type = entry.type,
                                  .offset = entry.cookie});
      };
      co_return co_await fs().ReadDir(handle, offset, each);
    }
    FileSystem::DirPlusEmitter each = [this, &emit](const DirListEntry& entry,
                                                   const InodeAttr& attr) {
      const bool dot = entry.name == "." || entry.name == "..";
      const FsdevEntry full = dev_->EntryOf(attr);
      return emit(FsdevDirEntry{.name = entry.name,
                                .ino = entry.ino,
                                .type = entry.type,
                                .offset = entry.cookie,
                                .entry = dot ? nullptr : &full});
    };
    co_return co_await fs().ReadDirPlus(handle, offset, each);
  }
  Task<Status> DoFsyncDir(uint64_t node_id, uint64_t handle, bool datasync) {
    CO_RETURN_IF_ERROR(dev_->CheckHandle(handle, node_id, BlobfsFsdev::Kind::kDir));
    co_return co_await fs().FsyncDir(handle, datasync);
  }
  Task<Status> DoSetXattr(const FsdevContext& ctx, uint64_t node_id, std::string_view name,
                          std::string_view value, uint32_t flags) {
    const Credentials caller = CredentialsOf(ctx);
    co_return co_await fs().SetXattr(caller, node_id, name, value, static_cast<int>(flags));
  }
  Task<Result<FsdevXattrReply>> DoGetXattr(const FsdevContext& ctx, uint64_t node_id,
                                           std::string_view name, uint32_t size) {
    const Credentials caller = CredentialsOf(ctx);
    CO_ASSIGN_OR_RETURN(std::string value, co_await fs().GetXattr(caller, node_id, name));
    co_return MakeXattrReply(std::move(value), size);
  }
  Task<Result<FsdevXattrReply>> DoListXattr(const FsdevContext& ctx, uint64_t node_id,
                                            uint32_t size) {
    const Credentials caller = CredentialsOf(ctx);
    CO_ASSIGN_OR_RETURN(std::vector<std::string> names, co_await fs().ListXattr(caller, node_id));
    std::string list;
    for (const std::string& name : names) {
      list += name;
      list.push_back('\0');
    }
    co_return MakeXattrReply(std::move(list), size);
  }
  Task<Status> DoRemoveXattr(const FsdevContext& ctx, uint64_t node_id, std::string_view name) {
    const Credentials caller = CredentialsOf(ctx);
    co_return co_await fs().RemoveXattr(caller, node_id, name);
  }
  Task<Status> DoAccess(const FsdevContext& ctx, uint64_t node_id, int mask) {
    const Credentials caller = CredentialsOf(ctx);
    co_return co_await fs().Access(caller, node_id, mask);
  }
  Task<Result<FsdevStatFs>> DoStatFs() {
    CO_ASSIGN_OR_RETURN(FsStats stats, co_await fs().StatFs());
    co_return FsdevStatFs{.blocks = stats.total_blocks,
                          .blocks_free = stats.free_blocks,
                          .blocks_available = stats.available_blocks,
                          .files = stats.total_inodes,
                          .files_free = stats.free_inodes,
                          .block_size = stats.block_size,
                          .fragment_size = stats.block_size,
                          .name_max = stats.name_max};
  }

  std::shared_ptr<BlobfsFsdev> dev_;
};

Result<std::unique_ptr<FsdevChannel>> BlobfsFsdev::OpenChannel() {
  if (closed_) return MakeError(ENODEV, "fsdev \"%s\" is closed", options_.name);
  return std::unique_ptr<FsdevChannel>(new BlobfsChannel(shared_from_this()));
}

}  // namespace

std::shared_ptr<Fsdev> MakeBlobfsFsdev(std::unique_ptr<FileSystem> fs,
                                       BlobfsFsdevOptions options) {
  return std::make_shared<BlobfsFsdev>(std::move(fs), std::move(options));
}

}  // namespace blobfs
