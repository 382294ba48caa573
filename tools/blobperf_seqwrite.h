// blobperf's seqwrite test: sequential writes through the blob store against the same writes
// straight to the bdev — one process, one reactor, the same buffers.
//
// Contract: RunSeqwriteTest(env) formats a store and makes two blobs of --bytes: one allocated
// when it is created (its clusters must form one run) and one thin. Three passes then each write
// --bytes sequentially from offset 0 with --queue_depth writes of --io_size in flight (workers
// share one cursor, as bdevperf's do):
//   raw bdev            BdevChannel::Write to the device range the allocated blob occupies;
//   blob                Blob::Write into the allocated blob;
//   thin blob           Blob::Write into the thin blob, every cluster allocated by its first write.
// The passes take turns, kSeqwriteSliceBytes at a time and in an order that rotates every round,
// so that a device whose speed drifts during the run (a shared virtual disk does) slows all three
// alike; each pass is timed over its own turns only. One line per pass gives MB/s (10^6 bytes/s),
// latency, and for the blob passes the ratio to the raw pass; the thin line adds the time of the
// Sync that makes its allocations durable and the extent runs the blob ended with. The data
// buffers are HugePageBuffers, allocated before the first write. Returns the first error.
#ifndef BLOBFS_TOOLS_BLOBPERF_SEQWRITE_H_
#define BLOBFS_TOOLS_BLOBPERF_SEQWRITE_H_

#include <cstdint>

#include "common/error.h"
#include "common/task.h"
#include "tools/blobperf_env.h"

namespace blobfs {

// Bytes each pass writes in its turn (the last turn may write less). The pipeline drains at the
// end of every turn; at 256 MiB that costs well under 1% with 1 MiB writes at queue depth 8.
inline constexpr uint64_t kSeqwriteSliceBytes = uint64_t{256} << 20;

Task<Status> RunSeqwriteTest(BlobperfEnv& env);

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_BLOBPERF_SEQWRITE_H_
