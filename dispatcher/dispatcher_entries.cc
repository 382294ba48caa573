// Names and attributes: LOOKUP, FORGET, BATCH_FORGET, GETATTR, STATX, SETATTR, READLINK,
// SYMLINK, MKNOD, MKDIR, UNLINK, RMDIR, RENAME, RENAME2, LINK.
#include <errno.h>

#include <optional>
#include <string>

#include "dispatcher/dispatcher.h"
#include "glog/logging.h"

namespace blobfs {
namespace {

constexpr uint32_t kNanosPerSecond = 1'000'000'000;

bool ValidTimes(const wire::SetattrIn& in) {
  return in.atimensec < kNanosPerSecond && in.mtimensec < kNanosPerSecond &&
         in.ctimensec < kNanosPerSecond;
}

}  // namespace

Task<void> DispatcherChannel::DoLookup(Request& request) {
  Result<std::string> name = request.args.ReadString();
  if (!name.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  Result<FsdevEntry> entry = co_await fsdev_->Lookup(request.ctx, request.node_id, *name);
  const std::chrono::nanoseconds negative_timeout = dispatcher_.fsdev_.negative_entry_timeout();
  if (!entry.ok() && entry.error().code() == ENOENT && negative_timeout.count() > 0) {
    // Node id 0 with a timeout: the kernel caches the name's absence (no lookup reference).
    wire::EntryOut absent{};
    SplitTimeout(negative_timeout, absent.entry_valid, absent.entry_valid_nsec);
    ReplyStruct(request, absent, EntryOutSize());
    co_return;
  }
  ReplyEntry(request, entry);
}

Task<void> DispatcherChannel::DoForget(Request& request) {
  Result<wire::ForgetIn> in = request.args.Read<wire::ForgetIn>();
  // The root is never forgotten; a malformed FORGET gets no reply either.
  if (!in.ok() || request.header.nodeid == wire::kRootId || request.header.nodeid == 0) co_return;
  dispatcher_.cache_sync_.NoteForgotten(request.header.nodeid);
  co_await fsdev_->Forget(request.node_id, in->nlookup);
}

Task<void> DispatcherChannel::DoBatchForget(Request& request) {
  Result<wire::BatchForgetIn> in = request.args.Read<wire::BatchForgetIn>();
  if (!in.ok()) co_return;
  if (uint64_t{in->count} * sizeof(wire::ForgetOne) > request.args.remaining()) {
    LOG(WARNING) << "BATCH_FORGET announces " << in->count << " entries but carries "
                 << request.args.remaining() / sizeof(wire::ForgetOne) << "; taking those";
  }
  for (uint32_t i = 0; i < in->count; ++i) {
    Result<wire::ForgetOne> one = request.args.Read<wire::ForgetOne>();
    if (!one.ok()) break;
    if (one->nodeid == wire::kRootId || one->nodeid == 0) continue;
    dispatcher_.cache_sync_.NoteForgotten(one->nodeid);
    const uint64_t node_id = dispatcher_.ids_.ToFsdev(one->nodeid);
    co_await fsdev_->Forget(node_id, one->nlookup);
  }
}

Task<void> DispatcherChannel::DoGetattr(Request& request) {
  // Minors before 9 send no fuse_getattr_in.
  Result<wire::GetattrIn> in = request.args.Read<wire::GetattrIn>(request.args.remaining());
  std::optional<uint64_t> handle;
  if (in.ok() && (in->getattr_flags & wire::kGetattrFh) != 0) handle = in->fh;
  ReplyAttr(request, co_await fsdev_->GetAttr(request.ctx, request.node_id, handle));
}

Task<void> DispatcherChannel::DoStatx(Request& request) {
  Result<wire::StatxIn> in = request.args.Read<wire::StatxIn>();
  if (!in.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  std::optional<uint64_t> handle;
  if ((in->getattr_flags & wire::kGetattrFh) != 0) handle = in->fh;
  Result<FsdevAttrReply> attr = co_await fsdev_->GetAttr(request.ctx, request.node_id, handle);
  if (!attr.ok()) {
    ReplyError(request, attr.error().code());
    co_return;
  }
  const wire::StatxOut out = ToWireStatx(*attr);
  ReplyStruct(request, out);
}

Task<void> DispatcherChannel::DoSetattr(Request& request) {
  Result<wire::SetattrIn> in = request.args.Read<wire::SetattrIn>(request.args.remaining());
  if (!in.ok() || request.args.remaining() != 0 || !ValidTimes(*in)) {
    ReplyError(request, EINVAL);
    co_return;
  }
  std::optional<uint64_t> handle;
  if ((in->valid & wire::fattr::kFh) != 0) handle = in->fh;
  const FsdevSetAttr attr = FromWireSetattr(*in);
  ReplyAttr(request, co_await fsdev_->SetAttr(request.ctx, request.node_id, attr, handle));
}

Task<void> DispatcherChannel::DoReadlink(Request& request) {
  Result<std::string> target = co_await fsdev_->ReadLink(request.ctx, request.node_id);
  if (!target.ok()) {
    ReplyError(request, target.error().code());
    co_return;
  }
  const iovec payload{target->data(), target->size()};
  ReplyBytes(request, std::span<const iovec>(&payload, 1));
}

Task<void> DispatcherChannel::DoSymlink(Request& request) {
  Result<std::string> name = request.args.ReadString();
  Result<std::string> target = name.ok() ? request.args.ReadString() : name;
  if (!target.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  ReplyEntry(request, co_await fsdev_->Symlink(request.ctx, request.node_id, *name, *target));
}

Task<void> DispatcherChannel::DoMknod(Request& request) {
  const size_t wire_size =
      dispatcher_.session().minor < 12 ? wire::kCompatMknodInSize : sizeof(wire::MknodIn);
  Result<wire::MknodIn> in = request.args.Read<wire::MknodIn>(wire_size);
  Result<std::string> name = in.ok() ? request.args.ReadString() : in.error();
  if (!name.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  ReplyEntry(request, co_await fsdev_->MkNod(request.ctx, request.node_id, *name, in->mode,
                                             in->rdev, in->umask));
}

Task<void> DispatcherChannel::DoMkdir(Request& request) {
  Result<wire::MkdirIn> in = request.args.Read<wire::MkdirIn>();
  Result<std::string> name = in.ok() ? request.args.ReadString() : in.error();
  if (!name.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  ReplyEntry(request,
             co_await fsdev_->MkDir(request.ctx, request.node_id, *name, in->mode, in->umask));
}

Task<void> DispatcherChannel::DoUnlink(Request& request, bool directory) {
  Result<std::string> name = request.args.ReadString();
  if (!name.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  if (directory) {
    ReplyStatus(request, co_await fsdev_->RmDir(request.ctx, request.node_id, *name));
  } else {
    ReplyStatus(request, co_await fsdev_->Unlink(request.ctx, request.node_id, *name));
  }
}

Task<void> DispatcherChannel::DoRename(Request& request, bool with_flags) {
  uint64_t new_dir = 0;
  uint32_t flags = 0;
  bool parsed = false;
  if (with_flags) {
    Result<wire::Rename2In> in = request.args.Read<wire::Rename2In>();
    if (in.ok()) {
      new_dir = in->newdir;
      flags = in->flags;
      parsed = true;
    }
  } else {
    Result<wire::RenameIn> in = request.args.Read<wire::RenameIn>();
    if (in.ok()) {
      new_dir = in->newdir;
      parsed = true;
    }
  }
  Result<std::string> name = parsed ? request.args.ReadString() : Error(EINVAL, "short RENAME");
  Result<std::string> new_name = name.ok() ? request.args.ReadString() : name;
  if (!new_name.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  const uint64_t new_parent = dispatcher_.ids_.ToFsdev(new_dir);
  ReplyStatus(request, co_await fsdev_->Rename(request.ctx, request.node_id, *name, new_parent,
                                               *new_name, flags));
}

Task<void> DispatcherChannel::DoLink(Request& request) {
  Result<wire::LinkIn> in = request.args.Read<wire::LinkIn>();
  Result<std::string> name = in.ok() ? request.args.ReadString() : in.error();
  if (!name.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  const uint64_t target = dispatcher_.ids_.ToFsdev(in->oldnodeid);
  ReplyEntry(request, co_await fsdev_->Link(request.ctx, target, request.node_id, *name));
}

}  // namespace blobfs
