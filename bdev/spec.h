// Bdev specs: one string that says which bdev to build, for tools and the mount daemon.
//
//   malloc:SIZE[,block_size=N]
//   uring:PATH[,size=SIZE][,block_size=N][,direct=auto|on|off][,queue_depth=N][,ro]
//   error:SPEC           (an error bdev stacked on the bdev SPEC describes)
//
// SIZE takes k/M/G/T suffixes. `size` on uring creates or grows the image file to that size.
// Bdevs are named <module><n> in the order they are made ("uring0", then "error0" over it).
// A malformed spec is EINVAL with a message naming the offending part.
#ifndef BLOBFS_BDEV_SPEC_H_
#define BLOBFS_BDEV_SPEC_H_

#include <memory>
#include <string_view>

#include "bdev/bdev.h"
#include "bdev/registry.h"

namespace blobfs {

Result<std::shared_ptr<Bdev>> CreateBdevFromSpec(BdevRegistry& registry, std::string_view spec);

}  // namespace blobfs

#endif  // BLOBFS_BDEV_SPEC_H_
