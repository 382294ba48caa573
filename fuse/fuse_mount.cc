#include "fuse/fuse_mount.h"

#define FUSE_USE_VERSION 34
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/str_split.h"

namespace blobfs {
namespace {

Status SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return MakeError(errno, "fcntl(O_NONBLOCK) of /dev/fuse: %s", std::strerror(errno));
  }
  return Status();
}

// A mountinfo path field with its octal escapes (\040 for a space, ...) undone.
std::string UnescapeMountPath(std::string_view field) {
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string path;
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && octal(field[i + 1]) && octal(field[i + 2]) &&
        octal(field[i + 3])) {
      path.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                       (field[i + 3] - '0')));
      i += 3;
    } else {
      path.push_back(field[i]);
    }
  }
  return path;
}

// The "major:minor" of the newest FUSE mount on `mountpoint`, from /proc/self/mountinfo.
Result<std::string> FuseMountDevice(const std::string& mountpoint) {
  std::ifstream mountinfo("/proc/self/mountinfo");
  std::string line, device;
  while (std::getline(mountinfo, line)) {
    // ID PARENT MAJOR:MINOR ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER_OPTIONS
    const std::vector<std::string> fields = absl::StrSplit(line, ' ');
    const auto separator = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 5 || separator == fields.end() || separator + 1 == fields.end()) continue;
    if ((separator + 1)->rfind("fuse", 0) != 0) continue;
    if (UnescapeMountPath(fields[4]) == mountpoint) device = fields[2];
  }
  if (device.empty()) return MakeError(ENOENT, "%s is not a FUSE mount point", mountpoint);
  return device;
}

}  // namespace

Result<std::unique_ptr<FuseMount>> FuseMount::Mount(const std::string& mountpoint,
                                                    const std::string& options) {
  std::vector<std::string> argv_strings{"blobfs"};
  if (!options.empty()) {
    argv_strings.push_back("-o");
    argv_strings.push_back(options);
  }
  std::vector<char*> argv;
  for (std::string& arg : argv_strings) argv.push_back(arg.data());
  fuse_args args = FUSE_ARGS_INIT(static_cast<int>(argv.size()), argv.data());
  // No operations: libfuse only mounts; the requests are read by our own transport.
  const fuse_lowlevel_ops ops{};
  fuse_session* session = fuse_session_new(&args, &ops, sizeof(ops), nullptr);
  // fuse_session_new replaces args with a parsed copy of its own, ours to free.
  fuse_opt_free_args(&args);
  if (session == nullptr) {
    // libfuse printed which option it did not know.
    return MakeError(EINVAL, "libfuse refused the mount options \"%s\"", options);
  }
  if (fuse_session_mount(session, mountpoint.c_str()) != 0) {
    fuse_session_destroy(session);
    return MakeError(EIO, "mounting FUSE on %s failed (see the message above)", mountpoint);
  }
  const int fd = fuse_session_fd(session);
  Status nonblocking = SetNonBlocking(fd);
  std::unique_ptr<FuseMount> mount(new FuseMount(session, fd, mountpoint));
  if (!nonblocking.ok()) return nonblocking.error();
  return mount;
}

FuseMount::~FuseMount() {
  Unmount();
  fuse_session_destroy(session_);
}

Result<int> FuseMount::CloneFd() const {
  const int clone = open("/dev/fuse", O_RDWR | O_CLOEXEC | O_NONBLOCK);
  if (clone < 0) return MakeError(errno, "open /dev/fuse: %s", std::strerror(errno));
  uint32_t source = static_cast<uint32_t>(fd_);
  if (ioctl(clone, FUSE_DEV_IOC_CLONE, &source) != 0) {
    const int error = errno;
    close(clone);
    return MakeError(error, "FUSE_DEV_IOC_CLONE: %s", std::strerror(error));
  }
  return clone;
}

Status FuseMount::SetReadahead(uint32_t kib) const {
  ASSIGN_OR_RETURN(std::string device, FuseMountDevice(mountpoint_));
  const std::string path = "/sys/class/bdi/" + device + "/read_ahead_kb";
  std::ofstream setting(path);
  if (!setting || !(setting << kib << "\n") || !setting.flush()) {
    return MakeError(errno != 0 ? errno : EIO, "writing %s: %s", path, std::strerror(errno));
  }
  return Status();
}

void FuseMount::Unmount() {
  std::lock_guard<std::mutex> lock(unmount_mutex_);
  if (!mounted_) return;
  mounted_ = false;
  fuse_session_unmount(session_);
}

}  // namespace blobfs
