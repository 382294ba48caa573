#include "fsdev/registry.h"

#include <algorithm>
#include <cerrno>
#include <utility>

#include "glog/logging.h"

namespace blobfs {

FsdevDescriptor::FsdevDescriptor(FsdevRegistry& registry, std::shared_ptr<Fsdev> fsdev,
                                 FsdevOpenOptions options, std::function<void()> on_remove)
    : registry_(registry),
      fsdev_(std::move(fsdev)),
      options_(options),
      on_remove_(std::move(on_remove)) {}

FsdevDescriptor::~FsdevDescriptor() { std::erase(registry_.descriptors_, this); }

FsdevRegistry::~FsdevRegistry() {
  CHECK(descriptors_.empty()) << descriptors_.size() << " fsdev descriptors outlive the registry";
}

Status FsdevRegistry::Register(std::shared_ptr<Fsdev> fsdev) {
  const std::string name = fsdev->name();
  if (!fsdevs_.emplace(name, std::move(fsdev)).second) {
    return MakeError(EEXIST, "fsdev \"%s\" is registered already", name);
  }
  return Status();
}

Result<std::unique_ptr<FsdevDescriptor>> FsdevRegistry::Open(std::string_view name,
                                                             FsdevOpenOptions options,
                                                             std::function<void()> on_remove) {
  auto it = fsdevs_.find(name);
  if (it == fsdevs_.end()) return MakeError(ENODEV, "no fsdev \"%s\"", std::string(name));
  std::unique_ptr<FsdevDescriptor> descriptor(
      new FsdevDescriptor(*this, it->second, options, std::move(on_remove)));
  descriptors_.push_back(descriptor.get());
  return descriptor;
}

Result<std::shared_ptr<Fsdev>> FsdevRegistry::Unregister(std::string_view name) {
  auto it = fsdevs_.find(name);
  if (it == fsdevs_.end()) return MakeError(ENODEV, "no fsdev \"%s\"", std::string(name));
  std::shared_ptr<Fsdev> fsdev = std::move(it->second);
  fsdevs_.erase(it);
  // A callback may close its descriptor (which edits the list): walk a copy.
  std::vector<FsdevDescriptor*> open = descriptors_;
  for (FsdevDescriptor* descriptor : open) {
    // An earlier callback may have closed this one too.
    if (std::find(descriptors_.begin(), descriptors_.end(), descriptor) == descriptors_.end()) {
      continue;
    }
    if (&descriptor->fsdev() != fsdev.get() || !descriptor->on_remove_) continue;
    // A copy: the callback may destroy its descriptor, and the function with it.
    std::function<void()> on_remove = descriptor->on_remove_;
    on_remove();
  }
  return fsdev;
}

std::vector<std::string> FsdevRegistry::Names() const {
  std::vector<std::string> names;
  for (const auto& [name, fsdev] : fsdevs_) names.push_back(name);
  return names;
}

}  // namespace blobfs
