// FsdevRegistry: the fsdevs of a process by name, and the descriptors their users open.
//
// Contract:
//  - Register adds an fsdev under its name (EEXIST if taken). Open gives a descriptor with the
//    user's options and a remove callback; any number may be open at once.
//  - Unregister takes the name away at once (Open fails with ENODEV from then on) and calls the
//    remove callback of every open descriptor, so their users stop and close them. The fsdev
//    itself is closed (Fsdev::Close) and destroyed by Unregister's caller once it holds the
//    last reference: Unregister returns it.
//  - Not thread-safe: one thread (the process's control thread) registers and opens.
#ifndef BLOBFS_FSDEV_REGISTRY_H_
#define BLOBFS_FSDEV_REGISTRY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"
#include "fsdev/fsdev.h"

namespace blobfs {

struct FsdevOpenOptions {
  // Largest write the user sends in one call (the dispatcher's max_write).
  uint32_t max_write = 1 << 20;
  // The user caches writes (FUSE writeback cache): the module then trusts the sizes and times
  // the user sends with them.
  bool writeback_cache = false;
};

class FsdevRegistry;

class FsdevDescriptor {
 public:
  ~FsdevDescriptor();
  FsdevDescriptor(const FsdevDescriptor&) = delete;
  FsdevDescriptor& operator=(const FsdevDescriptor&) = delete;

  Fsdev& fsdev() const { return *fsdev_; }
  const FsdevOpenOptions& options() const { return options_; }

 private:
  friend class FsdevRegistry;
  FsdevDescriptor(FsdevRegistry& registry, std::shared_ptr<Fsdev> fsdev, FsdevOpenOptions options,
                  std::function<void()> on_remove);

  FsdevRegistry& registry_;
  std::shared_ptr<Fsdev> fsdev_;
  const FsdevOpenOptions options_;
  std::function<void()> on_remove_;
};

class FsdevRegistry {
 public:
  FsdevRegistry() = default;
  ~FsdevRegistry();
  FsdevRegistry(const FsdevRegistry&) = delete;
  FsdevRegistry& operator=(const FsdevRegistry&) = delete;

  Status Register(std::shared_ptr<Fsdev> fsdev);
  // ENODEV for an unknown name.
  Result<std::unique_ptr<FsdevDescriptor>> Open(std::string_view name, FsdevOpenOptions options,
                                                std::function<void()> on_remove = {});
  // ENODEV for an unknown name; otherwise the fsdev, no longer registered.
  Result<std::shared_ptr<Fsdev>> Unregister(std::string_view name);
  std::vector<std::string> Names() const;

 private:
  friend class FsdevDescriptor;
  std::map<std::string, std::shared_ptr<Fsdev>, std::less<>> fsdevs_;
  std::vector<FsdevDescriptor*> descriptors_;
};

}  // namespace blobfs

#endif  // BLOBFS_FSDEV_REGISTRY_H_
