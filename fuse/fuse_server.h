// ServeFuseDevice: the /dev/fuse transport of one reactor — reads requests from its descriptor
// through io_uring and hands each to the dispatcher, whose replies are written with writev.
//
// Contract:
//  - Runs on the calling reactor until the kernel ends the session (a read returns ENODEV: the
//    filesystem was unmounted or the connection aborted). `slots` reads are kept in flight, each
//    with its own request buffer of dispatcher.request_buffer_size() bytes, so up to `slots`
//    requests are served at once on this reactor.
//  - The descriptor must be non-blocking (FuseMount gives such); the caller owns it.
//  - Returns OK at the session's end, or the read error that stopped it.
#ifndef BLOBFS_FUSE_FUSE_SERVER_H_
#define BLOBFS_FUSE_FUSE_SERVER_H_

#include <cstddef>

#include "common/error.h"
#include "common/task.h"
#include "dispatcher/dispatcher.h"

namespace blobfs {

Task<Status> ServeFuseDevice(int fd, Dispatcher& dispatcher, size_t slots);

}  // namespace blobfs

#endif  // BLOBFS_FUSE_FUSE_SERVER_H_
