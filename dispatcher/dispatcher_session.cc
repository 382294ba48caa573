// INIT, DESTROY, INTERRUPT and the whole-filesystem calls (STATFS, SYNCFS, ACCESS).
#include <errno.h>

#include "dispatcher/dispatcher.h"
#include "dispatcher/init_negotiation.h"
#include "glog/logging.h"

namespace blobfs {

void DispatcherChannel::DoInit(Request& request) {
  if (dispatcher_.initialized()) {
    ReplyError(request, EIO);
    return;
  }
  const size_t in_size = request.args.remaining();
  Result<wire::InitIn> in = request.args.Read<wire::InitIn>(in_size);
  InitWants wants{.max_write = dispatcher_.options_.max_write,
                  .max_readahead = dispatcher_.options_.max_readahead,
                  .writeback_cache = dispatcher_.options_.writeback_cache,
                  .locks = dispatcher_.fsdev_.supports_locks(),
                  .io_uring = dispatcher_.options_.io_uring};
  Result<InitResult> result = in.ok() ? NegotiateInit(*in, in_size, wants) : in.error();
  if (!result.ok()) {
    LOG(ERROR) << "FUSE INIT refused: " << result.error();
    ReplyError(request, result.error().code());
    return;
  }
  if (result->complete) {
    dispatcher_.session_ = DispatcherSession{.minor = result->minor,
                                             .flags = result->flags,
                                             .max_write = result->max_write,
                                             .max_read = result->max_read};
    dispatcher_.initialized_.store(true, std::memory_order_release);
    VLOG(1) << "FUSE 7." << result->minor << " flags 0x" << std::hex << result->flags
            << std::dec << " max_write " << result->max_write;
  }
  ReplyStruct(request, result->reply, result->reply_size);
}

void DispatcherChannel::DoDestroy(Request& request) {
  dispatcher_.destroyed_.store(true, std::memory_order_release);
  ReplyBytes(request, {});
}

void DispatcherChannel::DoInterrupt(Request& request) {
  Result<wire::InterruptIn> in = request.args.Read<wire::InterruptIn>();
  if (!in.ok()) return;  // No reply either way.
  // An abort that arrives before its request is remembered by the fsdev; one for a finished or
  // unknown request does nothing.
  dispatcher_.fsdev_.Abort(in->unique);
}

Task<void> DispatcherChannel::DoStatfs(Request& request) {
  Result<FsdevStatFs> stats = co_await fsdev_->StatFs(request.ctx, request.node_id);
  if (!stats.ok()) {
    ReplyError(request, stats.error().code());
    co_return;
  }
  const wire::StatfsOut out{.st = ToWireStatfs(*stats)};
  ReplyStruct(request, out,
              dispatcher_.session().minor < 4 ? wire::kCompatStatfsSize : sizeof(out));
}

Task<void> DispatcherChannel::DoSyncfs(Request& request) {
  // fuse_syncfs_in is padding only; an older kernel may send nothing.
  ReplyStatus(request, co_await fsdev_->SyncFs(request.ctx));
}

Task<void> DispatcherChannel::DoAccess(Request& request) {
  Result<wire::AccessIn> in = request.args.Read<wire::AccessIn>();
  if (!in.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  const int mask = static_cast<int>(in->mask);
  ReplyStatus(request, co_await fsdev_->Access(request.ctx, request.node_id, mask));
}

}  // namespace blobfs
