#include "fuse/proc_groups.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

#include "common/string_util.h"

namespace blobfs {

std::vector<uint32_t> ParseStatusGroups(std::string_view status) {
  constexpr std::string_view kKey = "\nGroups:";
  const size_t at = status.find(kKey);
  if (at == std::string_view::npos) return {};
  std::string_view line = status.substr(at + kKey.size());
  line = line.substr(0, line.find('\n'));
  std::vector<uint32_t> groups;
  for (std::string_view field : SplitString(line, ' ')) {
    while (!field.empty() && field.front() == '\t') field.remove_prefix(1);
    if (field.empty()) continue;
    std::optional<uint32_t> group = ParseUnsigned<uint32_t>(field);
    if (!group.has_value()) return {};
    groups.push_back(*group);
  }
  return groups;
}

std::vector<uint32_t> SupplementaryGroupsOf(uint32_t pid) {
  const std::string path = "/proc/" + std::to_string(pid) + "/status";
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  std::string text(8192, '\0');
  size_t length = 0;
  while (length < text.size()) {
    const ssize_t got = read(fd, text.data() + length, text.size() - length);
    if (got <= 0) break;
    length += static_cast<size_t>(got);
  }
  close(fd);
  text.resize(length);
  return ParseStatusGroups(text);
}

}  // namespace blobfs
