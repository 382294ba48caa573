// ReactorSet: bdevperf's reactor threads, each with its own channel of one bdev descriptor.
//
// Contract: Start() starts `count` ReactorThreads and opens the descriptor's channel on each, on
// that reactor. The caller runs work on thread(i) through channel(i) and must have awaited all of
// it before the set is destroyed. Destruction tears down in the order the bdev layer requires:
// every channel is destroyed on its own reactor, then the descriptor is closed, then the reactors
// stop and their threads are joined. A failed Start() tears down what it had set up the same way.
#ifndef BLOBFS_TOOLS_REACTOR_SET_H_
#define BLOBFS_TOOLS_REACTOR_SET_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "bdev/bdev.h"
#include "common/error.h"
#include "common/sync_bridge.h"

namespace blobfs {

class ReactorSet {
 public:
  static Result<std::unique_ptr<ReactorSet>> Start(std::unique_ptr<BdevDescriptor> descriptor,
                                                   uint32_t count);
  ~ReactorSet();
  ReactorSet(const ReactorSet&) = delete;
  ReactorSet& operator=(const ReactorSet&) = delete;

  size_t size() const { return threads_.size(); }
  ReactorThread& thread(size_t i) { return *threads_[i]; }
  BdevChannel& channel(size_t i) { return *channels_[i]; }

 private:
  explicit ReactorSet(std::unique_ptr<BdevDescriptor> descriptor)
      : descriptor_(std::move(descriptor)) {}

  std::unique_ptr<BdevDescriptor> descriptor_;
  std::vector<std::unique_ptr<ReactorThread>> threads_;
  std::vector<std::unique_ptr<BdevChannel>> channels_;  // channels_[i] lives on threads_[i]
};

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_REACTOR_SET_H_
