// FUSE over io_uring: the per-CPU request queues the kernel offers once INIT negotiated
// FUSE_OVER_IO_URING (the fuse module's enable_uring parameter on).
//
// Contract:
//  - The kernel keeps one queue per possible CPU and puts each request on the queue of the CPU
//    its caller runs on. Until every queue has an entry registered it holds new requests back, so
//    the daemon registers all of them right after the INIT reply (PossibleCpuCount tells how
//    many). FORGET, BATCH_FORGET and INTERRUPT still come through /dev/fuse (fuse_server.h).
//  - ServeFuseUringQueue serves queue `qid` on the calling reactor, whose ring must have 128-byte
//    SQEs (Reactor::Options::big_sqes): it registers `entries` ring entries (uring_entry.h; a
//    payload of `payload_size` bytes each, at least the session's max_write and max_read) and
//    serves each through the dispatcher: a request arrives in an entry, its reply is committed
//    from the same entry, and that commit fetches the entry's next request. A request is served
//    on this reactor; while one is served the reactor polls instead of sleeping, so that an fsdev
//    answering from another reactor does not have to wake it. Pinned to its CPU, the reactor
//    then answers where the caller sleeps, and the caller's wake-up is local.
//  - A request that does not fit the entry's layout, or that the dispatcher leaves unanswered, is
//    answered EINVAL / EIO: an entry is never left holding a request.
//  - Returns when the kernel ends the queue (ENOTCONN or ECANCELED at unmount or abort), with the
//    number of requests served, or the error that stopped it (a registration refused: EOPNOTSUPP
//    when io_uring is off, EINVAL on a layout the kernel rejects).
#ifndef BLOBFS_FUSE_FUSE_URING_H_
#define BLOBFS_FUSE_FUSE_URING_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "common/error.h"
#include "common/task.h"
#include "dispatcher/dispatcher.h"

namespace blobfs {

struct FuseUringQueueOptions {
  uint16_t qid = 0;
  size_t entries = 8;
  size_t payload_size = 1 << 20;
};

Task<Result<uint64_t>> ServeFuseUringQueue(int fd, Dispatcher& dispatcher,
                                           FuseUringQueueOptions options);

// CPUs the kernel may ever run (/sys/devices/system/cpu/possible): the number of queues.
Result<uint32_t> PossibleCpuCount();

// The CPUs this process may run on (its affinity mask, which taskset and cpusets narrow), in
// increasing order: where queue-serving reactors go, one per CPU, queue i on CPU i's.
Result<std::vector<int>> AllowedCpus();

// Whether the fuse module lets servers use io_uring (/sys/module/fuse/parameters/enable_uring).
bool FuseUringEnabled();

}  // namespace blobfs

#endif  // BLOBFS_FUSE_FUSE_URING_H_
