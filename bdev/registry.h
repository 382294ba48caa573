// BdevRegistry: the bdevs known to a process, by name.
//
// Contract: thread-safe. Register validates the geometry (EINVAL naming the bad field) and refuses
// a taken name (EEXIST). Open fails with ENOENT for an unknown name and with EROFS when a
// read-only bdev is opened for writing. Unregister hot-removes a bdev:
// it disappears from the registry at once, every open descriptor's remove callback is called, and
// the bdev is destroyed once its last descriptor and channel close.
#ifndef BLOBFS_BDEV_REGISTRY_H_
#define BLOBFS_BDEV_REGISTRY_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "bdev/bdev.h"

namespace blobfs {

class BdevRegistry {
 public:
  BdevRegistry() = default;
  BdevRegistry(const BdevRegistry&) = delete;
  BdevRegistry& operator=(const BdevRegistry&) = delete;

  Result<std::shared_ptr<Bdev>> Register(std::string name, BdevGeometry geometry,
                                         std::unique_ptr<BdevDriver> driver);

  Result<std::unique_ptr<BdevDescriptor>> Open(std::string_view name, OpenMode mode,
                                               RemoveCallback on_remove = nullptr);

  Status Unregister(std::string_view name);

  std::shared_ptr<Bdev> Find(std::string_view name) const;
  std::vector<std::string> Names() const;

 private:
  mutable absl::Mutex mutex_;
  absl::flat_hash_map<std::string, std::shared_ptr<Bdev>> bdevs_ ABSL_GUARDED_BY(mutex_);
};

// Checks a module's proposed geometry; EINVAL with the offending field.
Status ValidateGeometry(std::string_view name, const BdevGeometry& geometry);

}  // namespace blobfs

#endif  // BLOBFS_BDEV_REGISTRY_H_
