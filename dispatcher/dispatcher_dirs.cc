// Directories: OPENDIR, READDIR, READDIRPLUS (RELEASEDIR and FSYNCDIR share the file handlers).
#include <errno.h>

#include <algorithm>

#include "dispatcher/dir_packer.h"
#include "dispatcher/dispatcher.h"

namespace blobfs {

Task<void> DispatcherChannel::DoOpendir(Request& request) {
  Result<wire::OpenIn> in = request.args.Read<wire::OpenIn>();
  if (!in.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  const uint32_t flags = NativeOpenFlags(in->flags);
  // CACHE_DIR: the kernel may keep the listing in its page cache (it drops it when it changes
  // the directory itself, and on the next open unless the module says keep_cache).
  ReplyOpen(request, co_await fsdev_->OpenDir(request.ctx, request.node_id, flags),
            wire::kOpenCacheDir);
}

Task<void> DispatcherChannel::DoReaddir(Request& request, bool plus) {
  Result<wire::ReadIn> in = request.args.Read<wire::ReadIn>(request.args.remaining());
  if (!in.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  const size_t capacity = std::min<size_t>(in->size, dispatcher_.session().max_read);
  DirPacker packer(capacity, plus, dispatcher_.ids_);
  FsdevDirEmitter emit = [&packer](const FsdevDirEntry& entry) { return packer.Add(entry); };
  Status status;
  if (plus) {
    status = co_await fsdev_->ReadDirPlus(request.ctx, request.node_id, in->fh, in->offset, emit);
  } else {
    status = co_await fsdev_->ReadDir(request.ctx, request.node_id, in->fh, in->offset, emit);
  }
  // Entries already taken hold lookup references: the kernel gets them even if the listing
  // failed further on (it asks again from the last offset and then sees the error).
  if (!status.ok() && packer.entries() == 0) {
    ReplyError(request, status.error().code());
    co_return;
  }
  const iovec payload{const_cast<char*>(packer.bytes().data()), packer.bytes().size()};
  ReplyBytes(request, std::span<const iovec>(&payload, 1));
}

}  // namespace blobfs
