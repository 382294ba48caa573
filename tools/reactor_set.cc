// ReactorSet: starting reactors with channels, and the ordered teardown (see reactor_set.h).
#include "tools/reactor_set.h"

#include <utility>

namespace blobfs {
namespace {

Task<Result<std::unique_ptr<BdevChannel>>> OpenChannelHere(BdevDescriptor& descriptor) {
  co_return descriptor.OpenChannel();
}

Task<void> CloseChannelHere(std::unique_ptr<BdevChannel> channel) {
  channel.reset();
  co_return;
}

}  // namespace

Result<std::unique_ptr<ReactorSet>> ReactorSet::Start(std::unique_ptr<BdevDescriptor> descriptor,
                                                      uint32_t count) {
  std::unique_ptr<ReactorSet> set(new ReactorSet(std::move(descriptor)));
  for (uint32_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(std::unique_ptr<ReactorThread> thread, ReactorThread::Start());
    Result<std::unique_ptr<BdevChannel>> channel =
        thread->BlockOn(OpenChannelHere(*set->descriptor_));
    set->threads_.push_back(std::move(thread));
    if (!channel.ok()) return std::move(channel).error();
    set->channels_.push_back(std::move(channel).value());
  }
  return set;
}

ReactorSet::~ReactorSet() {
  for (size_t i = 0; i < channels_.size(); ++i) {
    threads_[i]->BlockOn(CloseChannelHere(std::move(channels_[i])));
  }
  descriptor_.reset();
  threads_.clear();
}

}  // namespace blobfs
