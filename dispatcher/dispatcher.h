// Dispatcher: the raw FUSE protocol in, fsdev calls out, replies back — independent of where the
// bytes come from (a /dev/fuse fd, or later a virtio-fs queue). README.md here has the opcode
// table and what is negotiated.
//
// Contract:
//  - One Dispatcher per mounted session, over one Fsdev it does not own. Each reactor that reads
//    requests opens a DispatcherChannel (on that reactor) and hands it whole requests.
//  - Handle() takes one request as scatter/gather buffers, validates it (lengths, NUL-terminated
//    names, counts, sizes against what INIT negotiated), calls the fsdev and sends the reply
//    through the ReplySink. It never fails and never trusts the request: a malformed one is
//    answered EINVAL (or dropped when it gets no reply by protocol), an unknown opcode ENOSYS.
//    FORGET, BATCH_FORGET, INTERRUPT and NOTIFY_REPLY get no reply.
//  - The request buffers must stay valid until Handle() completes (WRITE data is not copied).
//  - Node id 1 is the fsdev's root (NodeIdMap); other ids are the fsdev's own, which validates
//    them (an unknown id is ESTALE, never a wild pointer).
//  - INIT is negotiated once (init_negotiation.h); requests before it get EIO. INTERRUPT calls
//    Fsdev::Abort for the request's unique id.
//  - Thread-safety: channels run on their own reactors concurrently; the session state written by
//    INIT is published before the INIT reply is sent, and the kernel sends nothing else before it.
#ifndef BLOBFS_DISPATCHER_DISPATCHER_H_
#define BLOBFS_DISPATCHER_DISPATCHER_H_

#include <sys/uio.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "common/error.h"
#include "common/task.h"
#include "dispatcher/fuse_wire.h"
#include "dispatcher/kernel_cache_sync.h"
#include "dispatcher/open_flags.h"
#include "dispatcher/request_reader.h"
#include "dispatcher/wire_convert.h"
#include "fsdev/fsdev.h"

namespace blobfs {

struct DispatcherOptions {
  PeerArch peer_arch = PeerArch::kNative;
  // The largest WRITE wanted (rounded down to pages; the kernel caps it at its max_pages).
  uint32_t max_write = 1 << 20;
  // The readahead asked for at INIT (the kernel keeps the smaller of it and the mount's setting).
  uint32_t max_readahead = 1 << 20;
  bool writeback_cache = false;
  // Ask for FUSE over io_uring (the transport then serves per-CPU queues: fuse/fuse_uring.h).
  bool io_uring = false;
  // Supplementary groups of a caller process, asked only when a permission check needs them
  // (the /dev/fuse transport reads /proc/PID/status). Unset: none are known.
  std::function<std::vector<uint32_t>(uint32_t pid)> groups_of{};
  // Writes a notification to the kernel (kernel_cache_sync.h), from any thread. Unset: none is
  // sent, and the kernel sees what a call changed behind its reply once its caches expire.
  KernelNotify notify{};
};

// What INIT settled.
struct DispatcherSession {
  uint32_t minor = 0;
  uint64_t flags = 0;
  uint32_t max_write = 0;
  uint32_t max_read = 0;
};

// Where replies go. Send() gets the whole reply (the OutHeader first); its failure is the
// transport's business (e.g. ENOENT when the kernel already gave up on an interrupted request).
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  virtual Status Send(std::span<const iovec> reply) = 0;
  // Memory of the transport's own where a reply's data (after the OutHeader) may be built before
  // Send, which then need not copy it (READ uses it); empty when the transport has none.
  virtual std::span<char> DataBuffer() { return {}; }
};

class DispatcherChannel;

class Dispatcher final : private FsdevObserver {
 public:
  // Observes `fsdev` (FsdevObserver) when options.notify is set: the fsdev must then be closed
  // before the dispatcher goes.
  Dispatcher(Fsdev& fsdev, DispatcherOptions options);
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  // A request buffer this large holds any request the kernel may send (its max_write plus
  // headers); smaller ones make /dev/fuse reads fail.
  size_t request_buffer_size() const;
  bool initialized() const { return initialized_.load(std::memory_order_acquire); }
  // After DESTROY: the kernel is done with the session.
  bool destroyed() const { return destroyed_.load(std::memory_order_acquire); }
  // Valid once initialized().
  const DispatcherSession& session() const { return session_; }

  // A channel for the calling reactor.
  Result<std::unique_ptr<DispatcherChannel>> OpenChannel();

 private:
  friend class DispatcherChannel;
  void AttributesChanged(uint64_t node_id) override;

  Fsdev& fsdev_;
  const DispatcherOptions options_;
  const NodeIdMap ids_;
  KernelCacheSync cache_sync_;
  DispatcherSession session_;
  std::atomic<bool> initialized_{false};
  std::atomic<bool> destroyed_{false};
};

class DispatcherChannel {
 public:
  DispatcherChannel(Dispatcher& dispatcher, std::unique_ptr<FsdevChannel> fsdev);
  Task<void> Handle(std::span<const iovec> request, ReplySink& sink);

 private:
  struct Request {
    wire::InHeader header;
    RequestReader args;
    FsdevContext ctx;
    ReplySink& sink;
    uint64_t node_id = 0;  // The header's node id, as the fsdev's.
  };

  // Replies.
  void ReplyBytes(Request& request, std::span<const iovec> payload);
  void ReplyError(Request& request, int code);
  void ReplyStatus(Request& request, const Status& status);
  template <typename T>
  void ReplyStruct(Request& request, const T& value, size_t size = sizeof(T)) {
    const iovec payload{const_cast<T*>(&value), size};
    ReplyBytes(request, std::span<const iovec>(&payload, 1));
  }
  void ReplyEntry(Request& request, const Result<FsdevEntry>& entry);
  void ReplyAttr(Request& request, const Result<FsdevAttrReply>& attr);
  // `extra_flags`: fuse_open_out.open_flags of the dispatcher's own, beside those the fsdev allows.
  void ReplyOpen(Request& request, const Result<FsdevOpenReply>& open, uint32_t extra_flags);
  void ReplyCreate(Request& request, const Result<FsdevCreateReply>& created, uint32_t extra_flags);
  // The open_flags a regular file's handle opened with `native_flags` gets from the dispatcher.
  uint32_t FileOpenFlags(uint32_t native_flags) const;
  // The size a struct that grew with the protocol has at the negotiated minor.
  size_t EntryOutSize() const;
  size_t AttrOutSize() const;
  uint32_t NativeOpenFlags(uint32_t wire_flags) const;

  Task<void> Dispatch(Request& request);

  // Session (dispatcher_session.cc).
  void DoInit(Request& request);
  void DoDestroy(Request& request);
  void DoInterrupt(Request& request);
  Task<void> DoStatfs(Request& request);
  Task<void> DoSyncfs(Request& request);
  Task<void> DoAccess(Request& request);
  // Entries and attributes (dispatcher_entries.cc).
  Task<void> DoLookup(Request& request);
  Task<void> DoForget(Request& request);
  Task<void> DoBatchForget(Request& request);
  Task<void> DoGetattr(Request& request);
  Task<void> DoStatx(Request& request);
  Task<void> DoSetattr(Request& request);
  Task<void> DoReadlink(Request& request);
  Task<void> DoSymlink(Request& request);
  Task<void> DoMknod(Request& request);
  Task<void> DoMkdir(Request& request);
  Task<void> DoUnlink(Request& request, bool directory);
  Task<void> DoRename(Request& request, bool with_flags);
  Task<void> DoLink(Request& request);
  // Files (dispatcher_files.cc).
  Task<void> DoOpen(Request& request);
  Task<void> DoCreate(Request& request, bool unnamed);
  Task<void> DoRead(Request& request);
  Task<void> DoWrite(Request& request);
  Task<void> DoFlush(Request& request);
  Task<void> DoRelease(Request& request, bool directory);
  Task<void> DoFsync(Request& request, bool directory);
  Task<void> DoFallocate(Request& request);
  Task<void> DoLseek(Request& request);
  Task<void> DoCopyFileRange(Request& request, bool wide);
  // Directories and xattrs (dispatcher_dirs.cc, dispatcher_xattrs.cc).
  Task<void> DoOpendir(Request& request);
  Task<void> DoReaddir(Request& request, bool plus);
  Task<void> DoSetxattr(Request& request);
  Task<void> DoGetxattr(Request& request, bool list);
  Task<void> DoRemovexattr(Request& request);

  Dispatcher& dispatcher_;
  std::unique_ptr<FsdevChannel> fsdev_;
};

}  // namespace blobfs

#endif  // BLOBFS_DISPATCHER_DISPATCHER_H_
