// bdevperf's settings: its command-line flags, read and checked.
//
// Contract:
//  - OptionsFromFlags() reads the flags (defined in bdevperf_options.cc) and checks what can be
//    checked without the device. FitToDevice() then checks the rest against the bdev's geometry
//    and fills in the default range. Both fail with EINVAL and a message that starts with the
//    offending flag ("--queue_depth must be at least 1 (got 0)"), meant to be printed as is.
//  - A BdevperfOptions that passed both is safe to run: every I/O it leads to is inside the device
//    and block-aligned, each reactor's share of the range holds at least one I/O (and, for verify,
//    one slot per worker), and the data buffers fit the memory budget.
#ifndef BLOBFS_TOOLS_BDEVPERF_OPTIONS_H_
#define BLOBFS_TOOLS_BDEVPERF_OPTIONS_H_

#include <cstdint>
#include <string>

#include "bdev/driver.h"
#include "bdev/qos.h"
#include "common/error.h"

namespace blobfs {

enum class Pattern { kRead, kWrite, kRandRead, kRandWrite, kVerify };

// "read", "write", "randread", "randwrite", "verify".
const char* PatternName(Pattern pattern);
inline bool PatternWrites(Pattern p) { return p != Pattern::kRead && p != Pattern::kRandRead; }
inline bool PatternIsRandom(Pattern p) {
  return p == Pattern::kRandRead || p == Pattern::kRandWrite;
}

struct BdevperfOptions {
  std::string bdev_spec;
  Pattern pattern = Pattern::kRandRead;
  uint32_t queue_depth = 0;  // workers per reactor
  uint64_t io_size = 0;      // bytes
  double time_seconds = 0;
  uint32_t reactors = 0;
  QosLimits qos;
  uint64_t seed = 0;
  uint64_t range = 0;  // bytes from offset 0; 0 until FitToDevice (= the whole device)
  bool verify_final_pass = false;
};

Result<BdevperfOptions> OptionsFromFlags();

Status FitToDevice(BdevperfOptions& options, const BdevGeometry& geometry);

// The bytes of range reactor `index` uses for sequential and verify I/O: [begin, end).
struct Slice {
  uint64_t begin = 0;
  uint64_t end = 0;
};
Slice ReactorSlice(const BdevperfOptions& options, uint32_t block_size, uint32_t index);

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_BDEVPERF_OPTIONS_H_
