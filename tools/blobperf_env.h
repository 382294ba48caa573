// BlobperfEnv: what every blobperf test gets — the checked options and the bdev the spec made,
// with the ways to put a blob store on it.
//
// Contract:
//  - Used on one reactor: the tests run there, and a store Format or Load returns has it as its
//    metadata reactor (destroy the store there too).
//  - Format() formats the whole device as a store of the options' cluster size with `md_pages`
//    metadata pages, without trimming the data area: on an image file written in full beforehand,
//    every data write of a test then overwrites allocated blocks, as bdevperf's do, instead of
//    paying for the file system's allocation. Load() loads the store the device holds. Both open a
//    read-write descriptor of their own and fail with the store's error.
//  - OpenDescriptor() opens another read-write descriptor, for raw I/O beside a store.
#ifndef BLOBFS_TOOLS_BLOBPERF_ENV_H_
#define BLOBFS_TOOLS_BLOBPERF_ENV_H_

#include <cstdint>
#include <memory>

#include "bdev/bdev.h"
#include "bdev/registry.h"
#include "blob/blob_store.h"
#include "common/error.h"
#include "common/task.h"
#include "tools/blobperf_options.h"

namespace blobfs {

struct BlobperfEnv {
  const BlobperfOptions& options;
  BdevRegistry& registry;
  Bdev& bdev;

  Result<std::unique_ptr<BdevDescriptor>> OpenDescriptor() {
    return registry.Open(bdev.name(), OpenMode::kReadWrite);
  }

  Task<Result<std::unique_ptr<BlobStore>>> Format(uint64_t md_pages) {
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> descriptor, OpenDescriptor());
    // A named variable: GCC 12 mishandles a braced temporary with a std::string inside co_await.
    BlobStoreInitOptions init{
        .cluster_size = options.cluster_size, .md_pages = md_pages, .trim = false};
    co_return co_await BlobStore::Init(std::move(descriptor), std::move(init));
  }

  Task<Result<std::unique_ptr<BlobStore>>> Load() {
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> descriptor, OpenDescriptor());
    BlobStoreLoadOptions load;  // named, as above
    co_return co_await BlobStore::Load(std::move(descriptor), std::move(load));
  }
};

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_BLOBPERF_ENV_H_
