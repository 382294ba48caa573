// Extended attributes: SETXATTR (both layouts), GETXATTR, LISTXATTR, REMOVEXATTR.
#include <errno.h>

#include <string>

#include "dispatcher/dispatcher.h"

namespace blobfs {

Task<void> DispatcherChannel::DoSetxattr(Request& request) {
  const bool extended = (dispatcher_.session().flags & wire::init::kSetxattrExt) != 0;
  const size_t wire_size = extended ? sizeof(wire::SetxattrIn) : wire::kCompatSetxattrInSize;
  Result<wire::SetxattrIn> in = request.args.Read<wire::SetxattrIn>(wire_size);
  Result<std::string> name = in.ok() ? request.args.ReadString() : in.error();
  Result<std::string> value = name.ok() ? request.args.ReadBytes(in->size) : name;
  if (!value.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  ReplyStatus(request,
              co_await fsdev_->SetXattr(request.ctx, request.node_id, *name, *value, in->flags));
}

Task<void> DispatcherChannel::DoGetxattr(Request& request, bool list) {
  Result<wire::GetxattrIn> in = request.args.Read<wire::GetxattrIn>();
  Result<std::string> name = std::string();
  if (in.ok() && !list) name = request.args.ReadString();
  if (!in.ok() || !name.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  Result<FsdevXattrReply> reply = FsdevXattrReply();
  if (list) {
    reply = co_await fsdev_->ListXattr(request.ctx, request.node_id, in->size);
  } else {
    reply = co_await fsdev_->GetXattr(request.ctx, request.node_id, *name, in->size);
  }
  if (!reply.ok()) {
    ReplyError(request, reply.error().code());
    co_return;
  }
  if (in->size == 0) {
    const wire::GetxattrOut out{.size = reply->size, .padding = 0};
    ReplyStruct(request, out);
    co_return;
  }
  const iovec payload{reply->data.data(), reply->data.size()};
  ReplyBytes(request, std::span<const iovec>(&payload, 1));
}

Task<void> DispatcherChannel::DoRemovexattr(Request& request) {
  Result<std::string> name = request.args.ReadString();
  if (!name.ok()) {
    ReplyError(request, EINVAL);
    co_return;
  }
  ReplyStatus(request, co_await fsdev_->RemoveXattr(request.ctx, request.node_id, *name));
}

}  // namespace blobfs
