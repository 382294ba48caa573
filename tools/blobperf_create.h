// blobperf's create test: blobs made durable one at a time and in groups.
//
// Contract: RunCreateTest(env) runs its variants one after another, each on a freshly formatted
// store, and prints one line for each:
//   create+sync+close     BlobStore::CreateBlob, Blob::Sync, BlobStore::CloseBlob per blob;
//   batched               --batch CreateBlobs, one BlobStore::Commit of them all, a CloseBlob each;
// both at depth 1 and, unless --depth is 1, at --depth: that many workers loop concurrently on the
// calling reactor. Every blob gets two user xattrs. A variant ends after --count blobs or once a
// unit (a blob, or a batch) completes after --seconds. A line gives blobs per second, the latency
// of a unit, and the device writes and flushes per blob. Returns the first error of the store.
#ifndef BLOBFS_TOOLS_BLOBPERF_CREATE_H_
#define BLOBFS_TOOLS_BLOBPERF_CREATE_H_

#include <cstdint>

#include "blob/blob_store.h"
#include "common/error.h"
#include "common/task.h"
#include "tools/blobperf_env.h"

namespace blobfs {

Task<Status> RunCreateTest(BlobperfEnv& env);

// The batched unit, also used to fill stores: creates `count` blobs of two xattrs (numbered from
// `first` in their names), commits them with one BlobStore::Commit and closes them.
Task<Status> CreateCommitClose(BlobStore& store, uint64_t first, uint64_t count);

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_BLOBPERF_CREATE_H_
