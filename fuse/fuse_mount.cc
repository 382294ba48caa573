#include "fuse/fuse_mount.h"

#define FUSE_USE_VERSION 34
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <linux/fuse.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

namespace blobfs {
namespace {

Status SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
    return MakeError(errno, "fcntl(O_NONBLOCK) of /dev/fuse: %s", std::strerror(errno));
  }
  return Status();
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
  std::unique_ptr<FuseMount> mount(new FuseMount(session, fd));
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

void FuseMount::Unmount() {
  std::lock_guard<std::mutex> lock(unmount_mutex_);
  if (!mounted_) return;
  mounted_ = false;
  fuse_session_unmount(session_);
}

}  // namespace blobfs
