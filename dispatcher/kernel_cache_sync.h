// KernelCacheSync: keeps what the kernel caches of a FUSE session's files in step with the fsdev —
// the attributes a call changed behind its reply, and the cached pages a direct write made stale.
//
// Contract:
//  - `notify` writes one notification (fuse_wire.h: OutHeader with unique 0, then its struct) to
//    the kernel, from any thread. An attribute notification never waits; a page notification
//    waits for the pages under I/O in its range (a READ this daemon has yet to answer), so it is
//    written from a thread of its own, never from a reactor that serves requests.
//  - InvalidateAttributes(node) makes the kernel fetch the node's attributes again (a write that
//    dropped setuid bits or security.capability); it returns once the kernel has taken it.
//  - A direct write (O_DIRECT, or a handle the kernel writes around its cache) leaves cached pages
//    of the range stale when a buffered reader filled them while the write was under way (Linux
//    local filesystems drop them after the write: iomap's post-write invalidation). After such a
//    write, AfterDirectWrite drops the range's pages before the write is answered — unless the
//    node is known to have no cached pages: created empty (NoteCreatedEmpty) and neither read
//    nor written through the page cache since (NotePageCacheUse). What is not known is taken as
//    cached, so the cost of a doubt is one notification, never stale data. The set of known nodes
//    is bounded (kMaxKnownUncached): past it, it starts afresh.
//  - Node ids are the kernel's. Thread-safe: channels on several reactors share one instance.
//  - Without `notify`, nothing is sent (the kernel then sees a change when its caches expire).
#ifndef BLOBFS_DISPATCHER_KERNEL_CACHE_SYNC_H_
#define BLOBFS_DISPATCHER_KERNEL_CACHE_SYNC_H_

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "common/error.h"
#include "common/task.h"
#include "common/worker_pool.h"

namespace blobfs {

using KernelNotify = std::function<Status(std::span<const iovec> notification)>;

class KernelCacheSync {
 public:
  static constexpr size_t kMaxKnownUncached = 16384;

  explicit KernelCacheSync(KernelNotify notify);

  void NoteCreatedEmpty(uint64_t node);
  void NotePageCacheUse(uint64_t node);
  // The kernel forgot (some lookups of) the node: what was known of it no longer holds.
  void NoteForgotten(uint64_t node);

  void InvalidateAttributes(uint64_t node);
  // On a reactor; resumes there once the pages of [offset, offset + length) are dropped.
  Task<void> AfterDirectWrite(uint64_t node, uint64_t offset, uint64_t length);

 private:
  Status Send(uint64_t node, int64_t offset, int64_t length);

  const KernelNotify notify_;
  absl::Mutex mutex_;
  absl::flat_hash_set<uint64_t> known_uncached_ ABSL_GUARDED_BY(mutex_);
  // The thread page notifications are written from (made with the first one).
  std::unique_ptr<WorkerPool> page_notifier_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace blobfs

#endif  // BLOBFS_DISPATCHER_KERNEL_CACHE_SYNC_H_
