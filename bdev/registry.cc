#include "bdev/registry.h"

#include <cerrno>

namespace blobfs {
namespace {
bool IsPowerOfTwo(uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }
}  // namespace

Status ValidateGeometry(std::string_view name, const BdevGeometry& g) {
  if (name.empty()) return MakeError(EINVAL, "a bdev needs a non-empty name");
  if (!IsPowerOfTwo(g.block_size) || g.block_size < 512 || g.block_size > 65536) {
    return MakeError(EINVAL, "bdev '%s': block size %u is not a power of two in 512..65536", name,
                     g.block_size);
  }
  if (g.num_blocks == 0) return MakeError(EINVAL, "bdev '%s': it has no blocks", name);
  if (g.num_blocks > UINT64_MAX / g.block_size) {
    return MakeError(EINVAL, "bdev '%s': %lu blocks overflow a 64-bit byte size", name,
                     g.num_blocks);
  }
  if (!IsPowerOfTwo(g.required_alignment)) {
    return MakeError(EINVAL, "bdev '%s': required alignment %u is not a power of two", name,
                     g.required_alignment);
  }
  return OkStatus();
}

Result<std::shared_ptr<Bdev>> BdevRegistry::Register(std::string name, BdevGeometry geometry,
                                                     std::unique_ptr<BdevDriver> driver) {
  RETURN_IF_ERROR(ValidateGeometry(name, geometry));
  if (!driver->Supports(IoType::kRead) || !driver->Supports(IoType::kWrite)) {
    return MakeError(EINVAL, "bdev '%s': module %s must support read and write", name,
                     driver->module_name());
  }
  if (geometry.uuid.is_nil()) geometry.uuid = Uuid::Random();
  absl::MutexLock lock(&mutex_);
  if (bdevs_.contains(std::string(name))) return MakeError(EEXIST, "a bdev named '%s' already exists", name);
  auto bdev = std::make_shared<Bdev>(name, geometry, std::move(driver));
  bdevs_.emplace(std::move(name), bdev);
  return bdev;
}

Result<std::unique_ptr<BdevDescriptor>> BdevRegistry::Open(std::string_view name, OpenMode mode,
                                                           RemoveCallback on_remove) {
  std::shared_ptr<Bdev> bdev = Find(name);
  if (bdev == nullptr) return MakeError(ENOENT, "no bdev named '%s'", name);
  return Bdev::OpenDescriptor(std::move(bdev), mode, std::move(on_remove));
}

Status BdevRegistry::Unregister(std::string_view name) {
  std::shared_ptr<Bdev> bdev;
  {
    absl::MutexLock lock(&mutex_);
    auto it = bdevs_.find(std::string(name));
    if (it == bdevs_.end()) return MakeError(ENOENT, "no bdev named '%s'", name);
    bdev = std::move(it->second);
    bdevs_.erase(it);
  }
  bdev->MarkRemoved();
  return OkStatus();
}

std::shared_ptr<Bdev> BdevRegistry::Find(std::string_view name) const {
  absl::MutexLock lock(&mutex_);
  auto it = bdevs_.find(std::string(name));
  return it == bdevs_.end() ? nullptr : it->second;
}

std::vector<std::string> BdevRegistry::Names() const {
  absl::MutexLock lock(&mutex_);
  std::vector<std::string> names;
  for (const auto& [name, bdev] : bdevs_) names.push_back(name);
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace blobfs
