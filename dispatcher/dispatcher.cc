// The request path shared by every opcode: header checks, the opcode switch, replies.
#include "dispatcher/dispatcher.h"

#include <errno.h>

#include <algorithm>
#include <vector>

#include "glog/logging.h"

namespace blobfs {
namespace {

constexpr size_t kPageSize = 4096;
// Room for the largest request that is not a WRITE: SETXATTR carries up to 64 KiB of value plus a
// name of up to 255 bytes.
constexpr size_t kLargestNonWrite = 65536 + 256;
// Headers and argument structs in front of the data.
constexpr size_t kHeaderRoom = 8192;

bool GetsNoReply(uint32_t opcode) {
  return opcode == wire::kForget || opcode == wire::kBatchForget ||
         opcode == wire::kInterrupt || opcode == wire::kNotifyReply;
}

}  // namespace

Dispatcher::Dispatcher(Fsdev& fsdev, DispatcherOptions options)
    : fsdev_(fsdev),
      options_(std::move(options)),
      ids_(fsdev.root_id()),
      cache_sync_(options_.notify) {
  if (options_.notify) fsdev_.SetObserver(this);
}

void Dispatcher::AttributesChanged(uint64_t node_id) {
  // The kernel takes notifications only between INIT and DESTROY.
  if (!initialized() || destroyed()) return;
  cache_sync_.InvalidateAttributes(ids_.ToKernel(node_id));
}

size_t Dispatcher::request_buffer_size() const {
  const size_t max_write = std::max<size_t>(kPageSize, options_.max_write / kPageSize * kPageSize);
  return std::max(max_write, kLargestNonWrite) + kHeaderRoom;
}

Result<std::unique_ptr<DispatcherChannel>> Dispatcher::OpenChannel() {
  ASSIGN_OR_RETURN(std::unique_ptr<FsdevChannel> channel, fsdev_.OpenChannel());
  return std::make_unique<DispatcherChannel>(*this, std::move(channel));
}

DispatcherChannel::DispatcherChannel(Dispatcher& dispatcher, std::unique_ptr<FsdevChannel> fsdev)
    : dispatcher_(dispatcher), fsdev_(std::move(fsdev)) {}

Task<void> DispatcherChannel::Handle(std::span<const iovec> buffers, ReplySink& sink) {
  RequestReader reader(buffers);
  const size_t total = reader.remaining();
  Result<wire::InHeader> header = reader.Read<wire::InHeader>();
  if (!header.ok()) {
    // Without a whole header there is no unique id to answer to.
    LOG(WARNING) << "dropped a request of " << total << " bytes: shorter than its header";
    co_return;
  }
  Request request{.header = *header, .args = reader, .ctx = {}, .sink = sink};
  request.ctx.uid = header->uid;
  request.ctx.gid = header->gid;
  request.ctx.pid = header->pid;
  request.ctx.request_id = header->unique;
  if (dispatcher_.options_.groups_of) {
    request.ctx.groups = [groups_of = &dispatcher_.options_.groups_of, pid = header->pid] {
      return (*groups_of)(pid);
    };
  }
  request.node_id = dispatcher_.ids_.ToFsdev(header->nodeid);
  const bool replies = !GetsNoReply(header->opcode);
  if (header->len != total) {
    LOG(WARNING) << "request " << header->unique << " (opcode " << header->opcode
                 << ") says it has " << header->len << " bytes but has " << total;
    if (replies) ReplyError(request, EINVAL);
    co_return;
  }
  const size_t extensions = size_t{header->total_extlen} * 8;
  if (extensions > request.args.remaining()) {
    if (replies) ReplyError(request, EINVAL);
    co_return;
  }
  request.args.Limit(request.args.remaining() - extensions);
  VLOG(2) << "request " << header->unique << ": opcode " << header->opcode << ", node "
          << header->nodeid << ", " << header->len << " bytes, pid " << header->pid;
  co_await Dispatch(request);
}

Task<void> DispatcherChannel::Dispatch(Request& request) {
  const uint32_t opcode = request.header.opcode;
  if (opcode == wire::kInit) {
    DoInit(request);
    co_return;
  }
  if (!dispatcher_.initialized()) {
    if (!GetsNoReply(opcode)) ReplyError(request, EIO);
    co_return;
  }
  switch (opcode) {
    case wire::kDestroy: DoDestroy(request); break;
    case wire::kInterrupt: DoInterrupt(request); break;
    case wire::kStatfs: co_await DoStatfs(request); break;
    case wire::kSyncfs: co_await DoSyncfs(request); break;
    case wire::kAccess: co_await DoAccess(request); break;
    case wire::kLookup: co_await DoLookup(request); break;
    case wire::kForget: co_await DoForget(request); break;
    case wire::kBatchForget: co_await DoBatchForget(request); break;
    case wire::kGetattr: co_await DoGetattr(request); break;
    case wire::kStatx: co_await DoStatx(request); break;
    case wire::kSetattr: co_await DoSetattr(request); break;
    case wire::kReadlink: co_await DoReadlink(request); break;
    case wire::kSymlink: co_await DoSymlink(request); break;
    case wire::kMknod: co_await DoMknod(request); break;
    case wire::kMkdir: co_await DoMkdir(request); break;
    case wire::kUnlink: co_await DoUnlink(request, false); break;
    case wire::kRmdir: co_await DoUnlink(request, true); break;
    case wire::kRename: co_await DoRename(request, false); break;
    case wire::kRename2: co_await DoRename(request, true); break;
    case wire::kLink: co_await DoLink(request); break;
    case wire::kOpen: co_await DoOpen(request); break;
    case wire::kCreate: co_await DoCreate(request, false); break;
    case wire::kTmpfile: co_await DoCreate(request, true); break;
    case wire::kRead: co_await DoRead(request); break;
    case wire::kWrite: co_await DoWrite(request); break;
    case wire::kFlush: co_await DoFlush(request); break;
    case wire::kRelease: co_await DoRelease(request, false); break;
    case wire::kFsync: co_await DoFsync(request, false); break;
    case wire::kFallocate: co_await DoFallocate(request); break;
    case wire::kLseek: co_await DoLseek(request); break;
    case wire::kCopyFileRange: co_await DoCopyFileRange(request, false); break;
    case wire::kCopyFileRange64: co_await DoCopyFileRange(request, true); break;
    case wire::kOpendir: co_await DoOpendir(request); break;
    case wire::kReaddir: co_await DoReaddir(request, false); break;
    case wire::kReaddirplus: co_await DoReaddir(request, true); break;
    case wire::kReleasedir: co_await DoRelease(request, true); break;
    case wire::kFsyncdir: co_await DoFsync(request, true); break;
    case wire::kSetxattr: co_await DoSetxattr(request); break;
    case wire::kGetxattr: co_await DoGetxattr(request, false); break;
    case wire::kListxattr: co_await DoGetxattr(request, true); break;
    case wire::kRemovexattr: co_await DoRemovexattr(request); break;
    case wire::kNotifyReply:
      break;  // We never ask the kernel to retrieve pages, so there is nothing to take.
    case wire::kIoctl:
      ReplyError(request, ENOTTY);  // No ioctls: "inappropriate ioctl for device".
      break;
    default:
      // Among them, deliberately: GETLK/SETLK/SETLKW (locks were not negotiated, the kernel
      // keeps them), BMAP (only for block-device mounts), POLL (regular files are always
      // ready; ENOSYS makes the kernel say so itself), SETUPMAPPING/REMOVEMAPPING (DAX only).
      ReplyError(request, ENOSYS);
      break;
  }
}

void DispatcherChannel::ReplyBytes(Request& request, std::span<const iovec> payload) {
  size_t length = sizeof(wire::OutHeader);
  for (const iovec& piece : payload) length += piece.iov_len;
  wire::OutHeader header{.len = static_cast<uint32_t>(length),
                         .error = 0,
                         .unique = request.header.unique};
  std::vector<iovec> reply;
  reply.reserve(payload.size() + 1);
  reply.push_back(iovec{&header, sizeof(header)});
  for (const iovec& piece : payload) {
    if (piece.iov_len > 0) reply.push_back(piece);
  }
  Status sent = request.sink.Send(std::span<const iovec>(reply.data(), reply.size()));
  if (!sent.ok()) VLOG(1) << "reply to " << request.header.unique << ": " << sent.error();
}

void DispatcherChannel::ReplyError(Request& request, int code) {
  if (code <= 0 || code >= 4096) code = EIO;
  wire::OutHeader header{.len = sizeof(wire::OutHeader),
                         .error = -code,
                         .unique = request.header.unique};
  const iovec reply{&header, sizeof(header)};
  Status sent = request.sink.Send(std::span<const iovec>(&reply, 1));
  if (!sent.ok()) VLOG(1) << "reply to " << request.header.unique << ": " << sent.error();
}

void DispatcherChannel::ReplyStatus(Request& request, const Status& status) {
  if (status.ok()) {
    ReplyBytes(request, {});
  } else {
    ReplyError(request, status.error().code());
  }
}

size_t DispatcherChannel::EntryOutSize() const {
  return dispatcher_.session().minor < 9 ? wire::kCompatEntryOutSize : sizeof(wire::EntryOut);
}

size_t DispatcherChannel::AttrOutSize() const {
  return dispatcher_.session().minor < 9 ? wire::kCompatAttrOutSize : sizeof(wire::AttrOut);
}

uint32_t DispatcherChannel::NativeOpenFlags(uint32_t wire_flags) const {
  return TranslateOpenFlags(wire_flags, dispatcher_.options_.peer_arch);
}

void DispatcherChannel::ReplyEntry(Request& request, const Result<FsdevEntry>& entry) {
  if (!entry.ok()) {
    ReplyError(request, entry.error().code());
    return;
  }
  const wire::EntryOut out = ToWireEntry(*entry, dispatcher_.ids_);
  ReplyStruct(request, out, EntryOutSize());
}

void DispatcherChannel::ReplyAttr(Request& request, const Result<FsdevAttrReply>& attr) {
  if (!attr.ok()) {
    ReplyError(request, attr.error().code());
    return;
  }
  const wire::AttrOut out = ToWireAttrOut(*attr);
  ReplyStruct(request, out, AttrOutSize());
}

namespace {

// fuse_open_out.open_flags: `extra` and what the fsdev allows.
uint32_t OpenOutFlags(const FsdevOpenReply& open, uint32_t extra) {
  uint32_t flags = extra;
  if (open.keep_cache) flags |= wire::kOpenKeepCache;
  if (open.no_flush) flags |= wire::kOpenNoFlush;
  return flags;
}

}  // namespace

void DispatcherChannel::ReplyOpen(Request& request, const Result<FsdevOpenReply>& open,
                                  uint32_t extra_flags) {
  if (!open.ok()) {
    ReplyError(request, open.error().code());
    return;
  }
  const wire::OpenOut out{
      .fh = open->handle, .open_flags = OpenOutFlags(*open, extra_flags), .backing_id = 0};
  ReplyStruct(request, out);
}

void DispatcherChannel::ReplyCreate(Request& request, const Result<FsdevCreateReply>& created,
                                    uint32_t extra_flags) {
  if (!created.ok()) {
    ReplyError(request, created.error().code());
    return;
  }
  const wire::EntryOut entry = ToWireEntry(created->entry, dispatcher_.ids_);
  const wire::OpenOut open{.fh = created->open.handle,
                           .open_flags = OpenOutFlags(created->open, extra_flags),
                           .backing_id = 0};
  const iovec payload[2] = {{const_cast<wire::EntryOut*>(&entry), EntryOutSize()},
                            {const_cast<wire::OpenOut*>(&open), sizeof(open)}};
  ReplyBytes(request, payload);
}

}  // namespace blobfs
