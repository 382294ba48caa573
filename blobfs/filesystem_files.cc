// File calls: open, release, read, write, flush, fsync, fallocate, lseek, copy_file_range; the
// handle table.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <vector>

#include "blobfs/access.h"
#include "blobfs/blob_file_system.h"
#include "common/iov.h"

namespace blobfs {
namespace {

// A day: relatime refreshes an atime older than this even when it is newer than mtime.
constexpr int64_t kRelatimeSeconds = 24 * 3600;
// copy_file_range moves data in chunks of this size.
constexpr size_t kCopyChunk = 1 << 20;

int AccessModeOf(int flags) {
  switch (flags & O_ACCMODE) {
    case O_RDONLY:
      return R_OK;
    case O_WRONLY:
      return W_OK;
    default:
      return R_OK | W_OK;
  }
}

bool Readable(int flags) { return (flags & O_ACCMODE) != O_WRONLY; }
bool Writable(int flags) { return (flags & O_ACCMODE) != O_RDONLY; }

}  // namespace

uint64_t BlobFileSystem::AddHandle(Inode& inode, int flags, bool directory) {
  uint64_t handle = next_handle_++;
  handles_.emplace(handle, Handle{.inode = &inode, .flags = flags, .directory = directory, .pending_error = Status()});
  return handle;
}

Result<BlobFileSystem::Handle*> BlobFileSystem::FileHandle(uint64_t handle) {
  auto it = handles_.find(handle);
  if (it == handles_.end() || it->second.directory) {
    return MakeError(EBADF, "no open file with handle %d", handle);
  }
  return &it->second;
}

Result<BlobFileSystem::Handle*> BlobFileSystem::DirHandle(uint64_t handle) {
  auto it = handles_.find(handle);
  if (it == handles_.end() || !it->second.directory) {
    return MakeError(EBADF, "no open directory with handle %d", handle);
  }
  return &it->second;
}

Task<Result<uint64_t>> BlobFileSystem::Open(const Credentials& caller, uint64_t ino, int flags) {
  CO_ASSIGN_OR_RETURN(InodeRef inode, co_await GetInode(ino));
  const InodeRecord& record = inode->record;
  if (record.is_dir()) {
    if (Writable(flags)) co_return MakeError(EISDIR, "inode 0x%x is a directory", ino);
    co_return MakeError(EISDIR, "open of directory 0x%x as a file (use OpenDir)", ino);
  }
  if (record.is_symlink()) co_return MakeError(ELOOP, "inode 0x%x is a symlink", ino);
  int wanted = AccessModeOf(flags);
  if ((flags & O_TRUNC) != 0) wanted |= W_OK;
  if ((wanted & W_OK) != 0) CO_RETURN_IF_ERROR(CheckWritable());
  CO_RETURN_IF_ERROR(CheckAccess(record, caller, wanted));
  if (record.is_regular()) {
    CO_RETURN_IF_ERROR((co_await DataOf(*inode)).status());
    if ((flags & O_TRUNC) != 0) {
      auto hold = co_await LockNamespace();
      if (inode->data->size() != 0) {
        CO_RETURN_IF_ERROR(co_await Truncate(*inode, 0));
        inode->record.mtime = inode->record.ctime = Timestamp::Now();
        MarkDirty(*inode);
      }
      CO_RETURN_IF_ERROR(co_await DropPrivileges(*inode, caller, PrivilegeDrop::kOnWrite));
    }
  }
  ++inode->opens;
  co_return AddHandle(*inode, flags, false);
}

Task<Status> BlobFileSystem::Release(uint64_t handle) {
  CO_ASSIGN_OR_RETURN(Handle * open, FileHandle(handle));
  Inode* inode = open->inode;
  handles_.erase(handle);
  --inode->opens;
  MaybeReclaim(*inode);
  co_return Status();
}

Task<Result<size_t>> BlobFileSystem::Read(uint64_t handle, uint64_t offset,
                                          std::span<const iovec> buffers) {
  co_return co_await ReadInPlace(handle, offset, IovLength(buffers), CopyingInto(buffers));
}

Task<Result<size_t>> BlobFileSystem::ReadInPlace(uint64_t handle, uint64_t offset,
                                                 uint64_t length, ReadConsumer consume) {
  CO_ASSIGN_OR_RETURN(Handle * open, FileHandle(handle));
  if (!Readable(open->flags)) co_return MakeError(EBADF, "handle %d is not open for reading", handle);
  InodeRef inode(open->inode);
  CO_ASSIGN_OR_RETURN(FileData * data, co_await DataOf(*inode));
  size_t done = 0;
  std::optional<Task<void>> readahead;
  {
    auto hold = co_await inode->data_lock.Lock();
    CO_ASSIGN_OR_RETURN(done, co_await data->ReadInPlace(offset, length, consume));
    readahead = data->TakeReadahead();
  }
  if (readahead.has_value()) {
    ++readaheads_in_flight_;
    reactor_.Spawn(ReadAhead(InodeRef(inode.get()), std::move(*readahead)));
  }
  // relatime: atime moves when it is older than mtime or ctime, or a day old.
  InodeRecord& record = inode->record;
  if (!options_.read_only && (record.atime <= record.mtime || record.atime <= record.ctime ||
                              Timestamp::Now().sec - record.atime.sec >= kRelatimeSeconds)) {
    record.atime = Timestamp::Now();
    MarkDirty(*inode);
  }
  co_return done;
}

Task<void> BlobFileSystem::ReadAhead(InodeRef inode, Task<void> load) {
  co_await std::move(load);
  inode = InodeRef();  // Held until here: the load uses the inode's FileData.
  --readaheads_in_flight_;
}

Task<Result<size_t>> BlobFileSystem::Write(const Credentials& caller, uint64_t handle,
                                           uint64_t offset, std::span<const iovec> buffers) {
  std::function<Task<Result<size_t>>()> once = [&] {
    return WriteOnce(caller, handle, offset, buffers);
  };
  auto retried = RetryAfterCommit(once);
  co_return co_await std::move(retried);
}

Task<Result<size_t>> BlobFileSystem::WriteOnce(const Credentials& caller, uint64_t handle,
                                               uint64_t offset, std::span<const iovec> buffers) {
  CO_RETURN_IF_ERROR(CheckWritable());
  CO_ASSIGN_OR_RETURN(Handle * open, FileHandle(handle));
  if (!Writable(open->flags)) co_return MakeError(EBADF, "handle %d is not open for writing", handle);
  const bool append = (open->flags & O_APPEND) != 0;
  InodeRef inode(open->inode);
  CO_ASSIGN_OR_RETURN(FileData * data, co_await DataOf(*inode));
  CO_RETURN_IF_ERROR(co_await DropPrivilegesBeforeWrite(*inode, caller));
  auto hold = co_await inode->data_lock.Lock();
  if (append) offset = data->size();
  CO_ASSIGN_OR_RETURN(size_t written, co_await data->Write(offset, buffers));
  InodeRecord& record = inode->record;
  record.size = data->size();
  record.mtime = record.ctime = Timestamp::Now();
  MarkDirty(*inode);
  co_return written;
}

Task<Status> BlobFileSystem::Flush(uint64_t handle) {
  CO_ASSIGN_OR_RETURN(Handle * open, FileHandle(handle));
  Status pending = open->pending_error;
  open->pending_error = Status();
  co_return pending;
}

Task<Status> BlobFileSystem::Fsync(uint64_t handle, bool datasync) {
  (void)datasync;  // Each commit carries data and metadata together.
  CO_ASSIGN_OR_RETURN(Handle * open, FileHandle(handle));
  Inode* inode = open->inode;
  if (inode->data != nullptr && inode->data->dirty()) Queue(*inode);
  co_return co_await CommitNow();
}

Task<Status> BlobFileSystem::Fallocate(const Credentials& caller, uint64_t handle, int mode,
                                       uint64_t offset, uint64_t length) {
  std::function<Task<Status>()> once = [&] {
    return FallocateOnce(caller, handle, mode, offset, length);
  };
  auto retried = RetryAfterCommit(once);
  co_return co_await std::move(retried);
}

Task<Status> BlobFileSystem::FallocateOnce(const Credentials& caller, uint64_t handle, int mode,
                                           uint64_t offset, uint64_t length) {
  CO_RETURN_IF_ERROR(CheckWritable());
  CO_ASSIGN_OR_RETURN(Handle * open, FileHandle(handle));
  if (!Writable(open->flags)) co_return MakeError(EBADF, "handle %d is not open for writing", handle);
  if (length == 0) co_return MakeError(EINVAL, "fallocate of 0 bytes");
  InodeRef inode(open->inode);
  CO_ASSIGN_OR_RETURN(FileData * data, co_await DataOf(*inode));
  CO_RETURN_IF_ERROR(co_await DropPrivilegesBeforeWrite(*inode, caller));
  auto hold = co_await inode->data_lock.Lock();
  uint64_t old_size = data->size();
  CO_RETURN_IF_ERROR(co_await data->Fallocate(mode, offset, length));
  InodeRecord& record = inode->record;
  record.size = data->size();
  Timestamp now = Timestamp::Now();
  // Changing the contents (punch, zero) or the size stamps the file.
  if ((mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) != 0 || record.size != old_size) {
    record.mtime = record.ctime = now;
  }
  MarkDirty(*inode);
  co_return Status();
}

Task<Result<uint64_t>> BlobFileSystem::Lseek(uint64_t handle, uint64_t offset, int whence) {
  CO_ASSIGN_OR_RETURN(Handle * open, FileHandle(handle));
  InodeRef inode(open->inode);
  CO_ASSIGN_OR_RETURN(FileData * data, co_await DataOf(*inode));
  auto hold = co_await inode->data_lock.Lock();
  co_return co_await data->Seek(offset, whence);
}

Task<Result<size_t>> BlobFileSystem::CopyFileRange(const Credentials& caller, uint64_t handle_in,
                                                   uint64_t offset_in, uint64_t handle_out,
                                                   uint64_t offset_out, uint64_t length) {
  CO_ASSIGN_OR_RETURN(Handle * in, FileHandle(handle_in));
  CO_ASSIGN_OR_RETURN(Handle * out, FileHandle(handle_out));
  if (!Readable(in->flags) || !Writable(out->flags) || (out->flags & O_APPEND) != 0) {
    co_return MakeError(EBADF, "copy_file_range needs a readable source and a writable, "
                        "non-append destination");
  }
  if (in->inode == out->inode && offset_in < offset_out + length &&
      offset_out < offset_in + length) {
    co_return MakeError(EINVAL, "copy_file_range within one file with overlapping ranges");
  }
  std::vector<std::byte> chunk(std::min<uint64_t>(length, kCopyChunk));
  size_t copied = 0;
  while (copied < length) {
    size_t want = std::min<uint64_t>(chunk.size(), length - copied);
    iovec read_iov{chunk.data(), want};
    CO_ASSIGN_OR_RETURN(size_t got,
                        co_await Read(handle_in, offset_in + copied, std::span(&read_iov, 1)));
    if (got == 0) break;
    iovec write_iov{chunk.data(), got};
    Result<size_t> put = co_await Write(caller, handle_out, offset_out + copied,
                                        std::span<const iovec>(&write_iov, 1));
    if (!put.ok()) {
      if (copied > 0) break;
      co_return put.error();
    }
    copied += *put;
    if (*put < got) break;
  }
  co_return copied;
}

}  // namespace blobfs
