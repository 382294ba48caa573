// What every blobcli command shares: the device it works on, driven by a reactor on the calling
// thread, and the way bytes of unknown content are shown.
//
// Contract:
//  - CliDevice::Create builds the bdev a DEV argument names — a bdev spec (bdev/spec.h), or a
//    plain path, taken as uring:PATH — in a registry of its own, with a reactor created on the
//    calling thread. Errors are those of the reactor and of CreateBdevFromSpec.
//  - Run(task) drives the reactor on the calling thread until `task` finishes (RunSync); the
//    caller must not itself be on a reactor. Whatever was made on the reactor (descriptors,
//    channels, blob stores) must be gone before the CliDevice is destroyed, and is destroyed on
//    this thread.
//  - Printable(bytes) is `bytes` with every byte that is not printable ASCII C-escaped ("\n",
//    "\x01"), backslashes and quotes escaped too, so that any xattr name or value fits on one line.
//    BstypeText is the super block's bstype up to its first zero byte, escaped so. BlobIdText is
//    an id as 0x hex, or "none" for kNoBlobId.
#ifndef BLOBFS_TOOLS_BLOBCLI_COMMON_H_
#define BLOBFS_TOOLS_BLOBCLI_COMMON_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "bdev/bdev.h"
#include "bdev/registry.h"
#include "blob/format/super_block.h"
#include "common/error.h"
#include "common/reactor.h"
#include "common/sync_bridge.h"
#include "common/task.h"

namespace blobfs {

class CliDevice {
 public:
  static Result<std::unique_ptr<CliDevice>> Create(std::string_view device);
  CliDevice(const CliDevice&) = delete;
  CliDevice& operator=(const CliDevice&) = delete;

  // A descriptor of the bdev (BdevRegistry::Open's errors).
  Result<std::unique_ptr<BdevDescriptor>> Open(OpenMode mode) {
    return registry_.Open(bdev_->name(), mode);
  }

  template <typename T>
  T Run(Task<T> task) {
    return RunSync(*reactor_, std::move(task));
  }

 private:
  explicit CliDevice(std::unique_ptr<Reactor> reactor) : reactor_(std::move(reactor)) {}

  // Declared first, destroyed last: the bdev's channels belong to it.
  std::unique_ptr<Reactor> reactor_;
  BdevRegistry registry_;
  std::shared_ptr<Bdev> bdev_;
};

std::string Printable(std::string_view bytes);
std::string BstypeText(const SuperBlock& super);
std::string BlobIdText(uint64_t blob_id);

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_BLOBCLI_COMMON_H_
