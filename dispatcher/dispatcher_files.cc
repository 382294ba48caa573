// Open files: OPEN, CREATE, TMPFILE, READ, WRITE, FLUSH, RELEASE(DIR), FSYNC(DIR), FALLOCATE,
// LSEEK, COPY_FILE_RANGE(_64).
#include <errno.h>
#include <fcntl.h>

#include <algorithm>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "dispatcher/dispatcher.h"

namespace blobfs {

Task<void> DispatcherChannel::DoOpen(Request& request) {
  Result<wire::OpenIn> in = request.args.Read<wire::OpenIn>();
  if (!in.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  const uint32_t flags = NativeOpenFlags(in->flags);
  ReplyOpen(request, co_await fsdev_->Open(request.ctx, request.node_id, flags),
            FileOpenFlags(flags));
}

// A write-only handle writes around the page cache (DIRECT_IO) unless the writeback cache is on.
// Through the page cache each write(2) becomes a WRITE anyway, but the kernel splits one that
// starts inside a page it has not read (tar's 10 KiB records: two WRITEs each), and checks
// security.capability (a GETXATTR) before the first; a direct write is one WRITE per call (up to
// max_write) that carries the suid-clearing flag instead. Nothing is read through such a handle,
// and the kernel drops the cached pages a direct write covers, so other handles stay coherent.
// What such a handle wrote is not left in the page cache: a later reader's READ is answered from
// blobfs's buffer cache (as fast as before, docs/PERFORMANCE.md).
uint32_t DispatcherChannel::FileOpenFlags(uint32_t native_flags) const {
  const bool write_only = (native_flags & O_ACCMODE) == O_WRONLY;
  const bool writeback_cache =
      (dispatcher_.session().flags & wire::init::kWritebackCache) != 0;
  return write_only && !writeback_cache ? wire::kOpenDirectIo : 0;
}

Task<void> DispatcherChannel::DoCreate(Request& request, bool unnamed) {
  const size_t wire_size =
      dispatcher_.session().minor < 12 ? wire::kCompatCreateInSize : sizeof(wire::CreateIn);
  Result<wire::CreateIn> in = request.args.Read<wire::CreateIn>(wire_size);
  // TMPFILE carries the kernel's placeholder name ("/"), which is not used.
  Result<std::string> name = in.ok() ? request.args.ReadString() : in.error();
  if (!name.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  const uint32_t flags = NativeOpenFlags(in->flags);
  // Each call awaited on its own: GCC 12 miscompiles co_await inside a conditional expression
  // (a double free on the error path).
  Result<FsdevCreateReply> created = MakeError(EIO, "unset");
  if (unnamed) {
    created = co_await fsdev_->TmpFile(request.ctx, request.node_id, in->mode, flags, in->umask);
  } else {
    created = co_await fsdev_->Create(request.ctx, request.node_id, *name, in->mode, flags,
                                      in->umask);
  }
  if (created.ok() && created->entry.attr.size == 0) {
    dispatcher_.cache_sync_.NoteCreatedEmpty(dispatcher_.ids_.ToKernel(created->entry.node_id));
  }
  ReplyCreate(request, created, FileOpenFlags(flags));
}

Task<void> DispatcherChannel::DoRead(Request& request) {
  const size_t wire_size =
      dispatcher_.session().minor < 9 ? wire::kCompatReadInSize : sizeof(wire::ReadIn);
  Result<wire::ReadIn> in = request.args.Read<wire::ReadIn>(wire_size);
  if (!in.ok() || in->size > dispatcher_.session().max_read) {
    ReplyError(request, EINVAL);
    co_return;
  }
  if (in->size == 0) {
    ReplyBytes(request, {});
    co_return;
  }
  if ((NativeOpenFlags(in->flags) & O_DIRECT) == 0) {
    dispatcher_.cache_sync_.NotePageCacheUse(request.header.nodeid);
  }
  // The data goes straight into the transport's reply buffer when it offers one; otherwise the
  // reply is sent from where the fsdev holds the bytes (its cache), without a copy of ours.
  const std::span<char> direct = request.sink.DataBuffer();
  if (direct.size() >= in->size) {
    const iovec target{direct.data(), in->size};
    Result<size_t> done = co_await fsdev_->Read(request.ctx, request.node_id, in->fh, in->offset,
                                                std::span<const iovec>(&target, 1));
    if (done.ok()) {
      const iovec payload{direct.data(), std::min<size_t>(*done, in->size)};
      ReplyBytes(request, std::span<const iovec>(&payload, 1));
    } else {
      ReplyError(request, done.error().code());
    }
    co_return;
  }
  bool replied = false;
  Result<size_t> done = co_await fsdev_->ReadInPlace(
      request.ctx, request.node_id, in->fh, in->offset, in->size,
      [this, &request, &replied](std::span<const iovec> data) {
        replied = true;
        ReplyBytes(request, data);
        return Status();
      });
  if (!replied) ReplyError(request, done.ok() ? EIO : done.error().code());
}

Task<void> DispatcherChannel::DoWrite(Request& request) {
  const size_t wire_size =
      dispatcher_.session().minor < 9 ? wire::kCompatWriteInSize : sizeof(wire::WriteIn);
  Result<wire::WriteIn> in = request.args.Read<wire::WriteIn>(wire_size);
  if (!in.ok() || in->size > dispatcher_.session().max_write ||
      in->size != request.args.remaining()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  Result<std::vector<iovec>> data = request.args.TakeIovecs(in->size);
  if (!data.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  // A write from the page cache, or through a handle that fills it, leaves its pages current; a
  // direct one may leave pages a buffered reader filled meanwhile stale.
  const uint32_t flags = NativeOpenFlags(in->flags);
  const bool direct = (in->write_flags & wire::kWriteCache) == 0 &&
                      ((flags & O_DIRECT) != 0 || (FileOpenFlags(flags) & wire::kOpenDirectIo) != 0);
  if (!direct) dispatcher_.cache_sync_.NotePageCacheUse(request.header.nodeid);
  const std::span<const iovec> sources(data->data(), data->size());
  Result<size_t> done =
      co_await fsdev_->Write(request.ctx, request.node_id, in->fh, in->offset, sources);
  if (!done.ok()) {
    ReplyError(request, done.error().code());
    co_return;
  }
  if (direct) co_await dispatcher_.cache_sync_.AfterDirectWrite(request.header.nodeid, in->offset, *done);
  const wire::WriteOut out{.size = static_cast<uint32_t>(*done), .padding = 0};
  ReplyStruct(request, out);
}

Task<void> DispatcherChannel::DoFlush(Request& request) {
  Result<wire::FlushIn> in = request.args.Read<wire::FlushIn>();
  if (!in.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  ReplyStatus(request, co_await fsdev_->Flush(request.ctx, request.node_id, in->fh));
}

Task<void> DispatcherChannel::DoRelease(Request& request, bool directory) {
  // Minors before 8 send only fh and flags.
  Result<wire::ReleaseIn> in = request.args.Read<wire::ReleaseIn>(request.args.remaining());
  if (!in.ok() || request.args.remaining() != 0) {
    ReplyError(request, EINVAL);
    co_return;
  }
  if (directory) {
    ReplyStatus(request, co_await fsdev_->ReleaseDir(request.ctx, request.node_id, in->fh));
  } else {
    ReplyStatus(request, co_await fsdev_->Release(request.ctx, request.node_id, in->fh));
  }
}

Task<void> DispatcherChannel::DoFsync(Request& request, bool directory) {
  Result<wire::FsyncIn> in = request.args.Read<wire::FsyncIn>();
  if (!in.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  const bool datasync = (in->fsync_flags & wire::kFsyncDataOnly) != 0;
  if (directory) {
    ReplyStatus(request,
                co_await fsdev_->FsyncDir(request.ctx, request.node_id, in->fh, datasync));
  } else {
    ReplyStatus(request, co_await fsdev_->Fsync(request.ctx, request.node_id, in->fh, datasync));
  }
}

Task<void> DispatcherChannel::DoFallocate(Request& request) {
  Result<wire::FallocateIn> in = request.args.Read<wire::FallocateIn>();
  if (!in.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  const int mode = static_cast<int>(in->mode);
  ReplyStatus(request, co_await fsdev_->Fallocate(request.ctx, request.node_id, in->fh, mode,
                                                  in->offset, in->length));
}

Task<void> DispatcherChannel::DoLseek(Request& request) {
  Result<wire::LseekIn> in = request.args.Read<wire::LseekIn>();
  if (!in.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  const int whence = static_cast<int>(in->whence);
  Result<uint64_t> offset =
      co_await fsdev_->Lseek(request.ctx, request.node_id, in->fh, in->offset, whence);
  if (!offset.ok()) {
    ReplyError(request, offset.error().code());
    co_return;
  }
  const wire::LseekOut out{.offset = *offset};
  ReplyStruct(request, out);
}

Task<void> DispatcherChannel::DoCopyFileRange(Request& request, bool wide) {
  Result<wire::CopyFileRangeIn> in = request.args.Read<wire::CopyFileRangeIn>();
  if (!in.ok() || in->flags != 0) {
    ReplyError(request, EINVAL);
    co_return;
  }
  uint64_t length = in->len;
  // The old reply counts bytes in 32 bits; stay page-aligned below that.
  if (!wide) length = std::min<uint64_t>(length, std::numeric_limits<uint32_t>::max() & ~4095u);
  const uint64_t node_out = dispatcher_.ids_.ToFsdev(in->nodeid_out);
  Result<size_t> copied =
      co_await fsdev_->CopyFileRange(request.ctx, request.node_id, in->fh_in, in->off_in,
                                     node_out, in->fh_out, in->off_out, length);
  if (!copied.ok()) {
    ReplyError(request, copied.error().code());
    co_return;
  }
  if (wide) {
    const wire::CopyFileRangeOut out{.bytes_copied = *copied};
    ReplyStruct(request, out);
  } else {
    const wire::WriteOut out{.size = static_cast<uint32_t>(*copied), .padding = 0};
    ReplyStruct(request, out);
  }
}

}  // namespace blobfs
