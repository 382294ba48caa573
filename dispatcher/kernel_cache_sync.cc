#include "dispatcher/kernel_cache_sync.h"

#include <limits>
#include <utility>

#include "dispatcher/fuse_wire.h"
#include "glog/logging.h"

namespace blobfs {

KernelCacheSync::KernelCacheSync(KernelNotify notify) : notify_(std::move(notify)) {}

void KernelCacheSync::NoteCreatedEmpty(uint64_t node) {
  if (!notify_) return;
  absl::MutexLock lock(&mutex_);
  if (known_uncached_.size() >= kMaxKnownUncached) known_uncached_.clear();
  known_uncached_.insert(node);
}

void KernelCacheSync::NotePageCacheUse(uint64_t node) {
  if (!notify_) return;
  absl::MutexLock lock(&mutex_);
  known_uncached_.erase(node);
}

void KernelCacheSync::NoteForgotten(uint64_t node) { NotePageCacheUse(node); }

void KernelCacheSync::InvalidateAttributes(uint64_t node) {
  if (!notify_) return;
  // ENOENT only says the kernel holds no inode for it: nothing cached to drop.
  const Status sent = Send(node, -1, 0);
  if (!sent.ok() && sent.error().code() != ENOENT) {
    LOG(WARNING) << "invalidating the attributes of node " << node << ": " << sent.error();
  }
}

Task<void> KernelCacheSync::AfterDirectWrite(uint64_t node, uint64_t offset, uint64_t length) {
  if (!notify_ || length == 0) co_return;
  WorkerPool* notifier;
  {
    absl::MutexLock lock(&mutex_);
    if (known_uncached_.contains(node)) co_return;
    if (page_notifier_ == nullptr) page_notifier_ = std::make_unique<WorkerPool>(1);
    notifier = page_notifier_.get();
  }
  constexpr uint64_t kMax = std::numeric_limits<int64_t>::max();
  const int64_t start = static_cast<int64_t>(std::min(offset, kMax));
  const int64_t span = static_cast<int64_t>(std::min(length, kMax - start));
  const Status sent = co_await notifier->Run([this, node, start, span] {
    return Send(node, start, span);
  });
  if (!sent.ok() && sent.error().code() != ENOENT) {
    LOG(WARNING) << "dropping cached pages of node " << node << ": " << sent.error();
  }
}

Status KernelCacheSync::Send(uint64_t node, int64_t offset, int64_t length) {
  const wire::NotifyInvalInodeOut body{.ino = node, .off = offset, .len = length};
  const wire::OutHeader header{.len = sizeof(header) + sizeof(body),
                               .error = wire::kNotifyInvalInode,
                               .unique = 0};
  const iovec parts[2] = {{const_cast<wire::OutHeader*>(&header), sizeof(header)},
                          {const_cast<wire::NotifyInvalInodeOut*>(&body), sizeof(body)}};
  return notify_(parts);
}

}  // namespace blobfs
