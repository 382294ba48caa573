#include "bdev/spec.h"

#include <cerrno>
#include <string>
#include <vector>

#include "bdev/error_bdev.h"
#include "bdev/malloc_bdev.h"
#include "bdev/uring_bdev.h"
#include "common/string_util.h"
#include "common/units.h"

namespace blobfs {
namespace {

std::string NextName(BdevRegistry& registry, std::string_view module) {
  for (int n = 0;; ++n) {
    std::string name = std::string(module) + std::to_string(n);
    if (registry.Find(name) == nullptr) return name;
  }
}

Result<uint32_t> ParseU32(std::string_view spec, std::string_view key, std::string_view value) {
  std::optional<uint32_t> number = ParseUnsigned<uint32_t>(value);
  if (!number.has_value() || *number == 0) {
    return MakeError(EINVAL, "bdev spec '%s': %s=%s is not a positive number", spec, key, value);
  }
  return *number;
}

struct KeyValue {
  std::string_view first;   // the key
  std::string_view second;  // the value, empty for a bare flag
};

KeyValue SplitOption(std::string_view option) {
  std::vector<std::string_view> kv = SplitString(option, '=', 2);
  return {kv[0], kv.size() > 1 ? kv[1] : std::string_view()};
}

Result<std::shared_ptr<Bdev>> CreateMalloc(BdevRegistry& registry, std::string_view spec,
                                           const std::vector<std::string_view>& parts) {
  MallocBdevOptions options;
  ASSIGN_OR_RETURN(options.size_bytes, ParseSize(parts[0]));
  for (size_t i = 1; i < parts.size(); ++i) {
    KeyValue kv = SplitOption(parts[i]);
    if (kv.first == "block_size") {
      ASSIGN_OR_RETURN(options.block_size, ParseU32(spec, kv.first, kv.second));
    } else {
      return MakeError(EINVAL, "bdev spec '%s': unknown malloc option '%s'", spec, parts[i]);
    }
  }
  return CreateMallocBdev(registry, NextName(registry, "malloc"), options);
}

Result<std::shared_ptr<Bdev>> CreateUring(BdevRegistry& registry, std::string_view spec,
                                          const std::vector<std::string_view>& parts) {
  UringBdevOptions options;
  options.path = std::string(parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    KeyValue kv = SplitOption(parts[i]);
    if (kv.first == "size") {
      ASSIGN_OR_RETURN(options.create_size, ParseSize(kv.second));
    } else if (kv.first == "block_size") {
      ASSIGN_OR_RETURN(options.block_size, ParseU32(spec, kv.first, kv.second));
    } else if (kv.first == "queue_depth") {
      ASSIGN_OR_RETURN(options.queue_depth, ParseU32(spec, kv.first, kv.second));
    } else if (kv.first == "direct") {
      if (kv.second == "auto") {
        options.direct = DirectIo::kAuto;
      } else if (kv.second == "on") {
        options.direct = DirectIo::kOn;
      } else if (kv.second == "off") {
        options.direct = DirectIo::kOff;
      } else {
        return MakeError(EINVAL, "bdev spec '%s': direct must be auto, on or off", spec);
      }
    } else if (kv.first == "ro" && kv.second.empty()) {
      options.read_only = true;
    } else {
      return MakeError(EINVAL, "bdev spec '%s': unknown uring option '%s'", spec, parts[i]);
    }
  }
  return CreateUringBdev(registry, NextName(registry, "uring"), options);
}

}  // namespace

Result<std::shared_ptr<Bdev>> CreateBdevFromSpec(BdevRegistry& registry, std::string_view spec) {
  std::vector<std::string_view> module_rest = SplitString(spec, ':', 2);
  std::string_view module = module_rest[0];
  std::string_view rest = module_rest.size() > 1 ? module_rest[1] : std::string_view();
  if (rest.empty()) {
    return MakeError(EINVAL, "bdev spec '%s': want MODULE:ARGUMENTS (malloc:, uring: or error:)",
                     spec);
  }
  if (module == "error") {
    ASSIGN_OR_RETURN(std::shared_ptr<Bdev> base, CreateBdevFromSpec(registry, rest));
    return CreateErrorBdev(registry, NextName(registry, "error"), base->name());
  }
  std::vector<std::string_view> parts = SplitString(rest, ',');
  if (module == "malloc") return CreateMalloc(registry, spec, parts);
  if (module == "uring") return CreateUring(registry, spec, parts);
  return MakeError(EINVAL, "bdev spec '%s': unknown module '%s' (malloc, uring or error)", spec,
                   module);
}

}  // namespace blobfs
