// ServeFuseDevice: the /dev/fuse transport of one reactor — reads requests from its descriptor and
// hands each to the dispatcher, whose replies are written with writev.
//
// Contract:
//  - Runs on the calling reactor until the kernel ends the session (a read returns ENODEV: the
//    filesystem was unmounted or the connection aborted), then waits for the requests it started.
//  - One read of the descriptor at a time: each request read is served by a task of its own and
//    the next read starts at once, so up to `slots` requests (each holding a buffer of
//    dispatcher.request_buffer_size() bytes) are served at once on this reactor.
//  - For `spin` after each request the read polls the descriptor with non-blocking reads,
//    yielding to the requests being served between tries; only then does it wait in io_uring. A
//    process that sends one request after another then finds the daemon awake and nothing armed
//    to wake it (waking a sleeping thread, or interrupting a running one, costs tens of
//    microseconds on a virtual machine — more than serving most requests).
//  - `after_init` runs once the reply to the session's INIT was written.
//  - The descriptor must be non-blocking (FuseMount gives such); the caller owns it.
//  - Returns OK at the session's end, or the read error that stopped it.
#ifndef BLOBFS_FUSE_FUSE_SERVER_H_
#define BLOBFS_FUSE_FUSE_SERVER_H_

#include <chrono>
#include <cstddef>
#include <functional>

#include "common/error.h"
#include "common/task.h"
#include "dispatcher/dispatcher.h"

namespace blobfs {

struct FuseServeOptions {
  size_t slots = 16;
  std::chrono::microseconds spin{100};
  // Called once on this reactor, right after the reply to the INIT that started the session
  // (e.g. to register FUSE over io_uring queues, which the kernel refuses before that reply).
  std::function<void()> after_init{};
};

Task<Status> ServeFuseDevice(int fd, Dispatcher& dispatcher, FuseServeOptions options);

// Notifications written to the session descriptor `fd` (DispatcherOptions::notify), which must
// stay open while the dispatcher lives.
KernelNotify DeviceNotifier(int fd);

}  // namespace blobfs

#endif  // BLOBFS_FUSE_FUSE_SERVER_H_
