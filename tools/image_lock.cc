#include "tools/image_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/clock.h"

namespace blobfs {

Result<std::unique_ptr<ImageLock>> ImageLock::Acquire(const std::string& path,
                                                      std::chrono::milliseconds wait) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return MakeError(errno, "open %s: %s", path, std::strerror(errno));
  const int64_t deadline = MonotonicNanos() + std::chrono::nanoseconds(wait).count();
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    if (error != EWOULDBLOCK && error != EINTR) {
      close(fd);
      return MakeError(error, "lock %s: %s", path, std::strerror(error));
    }
    if (MonotonicNanos() >= deadline) {
      close(fd);
      return MakeError(EBUSY,
                       "%s is in use by another program (a mounted blobfs daemon, mkfs or fsck) "
                       "and stayed so for %lld ms",
                       path, static_cast<long long>(wait.count()));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return std::unique_ptr<ImageLock>(new ImageLock(fd));
}

ImageLock::~ImageLock() { close(fd_); }

}  // namespace blobfs
