// blobperf's load test: how long BlobStore::Load takes on a store of many blobs, and what it reads.
//
// Contract: RunLoadTest(env) formats a store, fills it with --count blobs of two xattrs (created
// and committed 1024 at a time; a line gives the rate), unloads it and times a clean Load; then
// it drops that store without Unload, which is what a crash leaves, and times the dirty Load that
// rebuilds the masks from the metadata region. Each load prints its time and the device's reads
// during it against the size of the metadata region, and is checked: the clean load must not
// have recovered and the dirty one must have, and both must find every blob (EIO otherwise).
// With --drop_caches the page cache is dropped (sync, then 3 into /proc/sys/vm/drop_caches)
// before each load. Returns the first error.
#ifndef BLOBFS_TOOLS_BLOBPERF_LOAD_H_
#define BLOBFS_TOOLS_BLOBPERF_LOAD_H_

#include "common/error.h"
#include "common/task.h"
#include "tools/blobperf_env.h"

namespace blobfs {

Task<Status> RunLoadTest(BlobperfEnv& env);

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_BLOBPERF_LOAD_H_
