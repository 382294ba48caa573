// The supplementary groups of a process, from /proc/PID/status, for permission checks on behalf of
// a FUSE caller (the kernel's request carries only its uid, gid and pid).
//
// Contract: an empty list when the process is gone or the file cannot be read or parsed; never
// throws or crashes on odd contents.
#ifndef BLOBFS_FUSE_PROC_GROUPS_H_
#define BLOBFS_FUSE_PROC_GROUPS_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace blobfs {

std::vector<uint32_t> SupplementaryGroupsOf(uint32_t pid);

// The "Groups:" line of a status file's text (for tests).
std::vector<uint32_t> ParseStatusGroups(std::string_view status);

}  // namespace blobfs

#endif  // BLOBFS_FUSE_PROC_GROUPS_H_
