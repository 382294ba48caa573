#include "tools/mount_options.h"

#include <cerrno>
#include <string>
#include <vector>

#include "common/string_util.h"
#include "common/units.h"

namespace blobfs {
namespace {

bool IsFstabOnly(std::string_view option) {
  return option == "defaults" || option == "auto" || option == "noauto" || option == "nofail" ||
         option == "user" || option == "users" || option == "owner" || option == "group" ||
         option == "_netdev" || option.starts_with("x-") || option.starts_with("comment=");
}

// The value of "key=value" when `option` has that key.
std::optional<std::string_view> ValueOf(std::string_view option, std::string_view key) {
  if (option.size() <= key.size() || !option.starts_with(key) || option[key.size()] != '=') {
    return std::nullopt;
  }
  return option.substr(key.size() + 1);
}

}  // namespace

Result<DaemonMountOptions> ParseMountOptions(std::string_view options, std::string_view image,
                                             bool root) {
  DaemonMountOptions parsed;
  std::vector<std::string> fuse;
  bool has_fsname = false;
  bool has_subtype = false;
  bool has_allow_other = false;
  bool has_default_permissions = false;
  for (std::string_view option : SplitString(options, ',')) {
    if (option.empty() || IsFstabOnly(option)) continue;
    if (option == "writeback_cache") {
      parsed.writeback_cache = true;
    } else if (auto max_write = ValueOf(option, "max_write")) {
      Result<uint64_t> bytes = ParseSize(*max_write);
      if (!bytes.ok() || *bytes < 4096 || *bytes > (1u << 20)) {
        return MakeError(EINVAL, "max_write=%s: from 4k to 1M", std::string(*max_write));
      }
      parsed.max_write = static_cast<uint32_t>(*bytes);
    } else if (auto commit = ValueOf(option, "commit")) {
      std::optional<uint32_t> seconds = ParseUnsigned<uint32_t>(*commit);
      if (!seconds.has_value() || *seconds > 3600) {
        return MakeError(EINVAL, "commit=%s: seconds from 0 to 3600", std::string(*commit));
      }
      parsed.commit_interval = std::chrono::seconds(*seconds);
    } else if (auto reactors = ValueOf(option, "reactors")) {
      std::optional<uint32_t> count = ParseUnsigned<uint32_t>(*reactors);
      if (!count.has_value() || *count < 1 || *count > 64) {
        return MakeError(EINVAL, "reactors=%s: from 1 to 64", std::string(*reactors));
      }
      parsed.reactors = *count;
    } else {
      if (option == "ro") parsed.read_only = true;
      if (option == "rw") parsed.read_only = false;
      has_fsname |= option.starts_with("fsname=");
      has_subtype |= option.starts_with("subtype=");
      has_allow_other |= option == "allow_other";
      has_default_permissions |= option == "default_permissions";
      fuse.emplace_back(option);
    }
  }
  // libfuse splits at commas, and takes "\," as a literal comma.
  std::string escaped_image;
  for (char c : image) {
    if (c == ',' || c == '\\') escaped_image.push_back('\\');
    escaped_image.push_back(c);
  }
  if (!has_fsname) fuse.push_back("fsname=" + escaped_image);
  if (!has_subtype) fuse.push_back("subtype=blobfs");
  if (root && !has_allow_other) fuse.push_back("allow_other");
  // The kernel checks permissions on every path walk, cached entries too; blobfs checks each call
  // it gets as well, but a cached entry reaches it without a lookup.
  if (!has_default_permissions) fuse.push_back("default_permissions");
  for (const std::string& option : fuse) {
    if (!parsed.fuse_options.empty()) parsed.fuse_options += ',';
    parsed.fuse_options += option;
  }
  return parsed;
}

}  // namespace blobfs
