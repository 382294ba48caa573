// blobperf's settings: its command-line flags, read and checked.
//
// Contract:
//  - OptionsFromFlags() reads the flags (defined in blobperf_options.cc) and checks what can be
//    checked without the device; FitToDevice() checks the rest against the bdev's geometry and
//    settles the default --bytes. Both fail with EINVAL and a message that starts with the
//    offending flag ("--depth must be between 1 and 4096 (got 0)"), meant to be printed as is.
//  - A BlobperfOptions that passed both is safe to run: every store the tests format fits the
//    device (the create and load stores hold `count` blobs, the seqwrite store two blobs of
//    `bytes` each), every write is a whole number of blocks, and the write buffers fit the memory
//    budget.
#ifndef BLOBFS_TOOLS_BLOBPERF_OPTIONS_H_
#define BLOBFS_TOOLS_BLOBPERF_OPTIONS_H_

#include <cstdint>
#include <string>

#include "bdev/driver.h"
#include "common/error.h"

namespace blobfs {

struct BlobperfOptions {
  std::string bdev_spec;
  bool run_create = false;
  bool run_load = false;
  bool run_seqwrite = false;
  uint64_t count = 0;         // blobs per create variant (at most), and in the load test's store
  double seconds = 0;         // time limit of each create variant
  uint32_t depth = 0;         // creates in flight in the concurrent create variants
  uint32_t batch = 0;         // blobs per BlobStore::Commit in the batched create variants
  uint32_t cluster_size = 0;  // of every store the tests format
  uint64_t io_size = 0;       // bytes per seqwrite write
  uint32_t queue_depth = 0;   // seqwrite writes in flight
  uint64_t bytes = 0;         // written by each seqwrite pass; 0 until FitToDevice (= default)
  bool drop_caches = false;   // drop the page cache before each timed load
};

Result<BlobperfOptions> OptionsFromFlags();

Status FitToDevice(BlobperfOptions& options, const BdevGeometry& geometry);

// Metadata pages of the stores the create and load tests format: one per blob and some to spare.
uint64_t MetadataPagesFor(uint64_t blobs);

// Metadata pages of the seqwrite test's store, which holds two blobs.
inline constexpr uint64_t kSeqwriteMetadataPages = 64;

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_BLOBPERF_OPTIONS_H_
