#include "tools/daemon_startup.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace blobfs {

Result<DaemonStartup> DaemonStartup::Begin(bool background) {
  if (!background) return DaemonStartup(-1);
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) {
    return MakeError(errno, "pipe: %s", std::strerror(errno));
  }
  const pid_t child = fork();
  if (child < 0) return MakeError(errno, "fork: %s", std::strerror(errno));
  if (child > 0) {
    close(pipe_fds[1]);
    unsigned char status = 1;
    ssize_t got;
    do {
      got = read(pipe_fds[0], &status, 1);
    } while (got < 0 && errno == EINTR);
    if (got != 1) status = 1;  // The child died before it could say.
    _exit(status);
  }
  close(pipe_fds[0]);
  setsid();
  return DaemonStartup(pipe_fds[1]);
}

void DaemonStartup::Succeeded() {
  if (report_fd_ < 0) return;
  const int null_fd = open("/dev/null", O_RDWR);
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    dup2(null_fd, STDOUT_FILENO);
    dup2(null_fd, STDERR_FILENO);
    if (null_fd > STDERR_FILENO) close(null_fd);
  }
  if (chdir("/") != 0) {
    // Nothing to report to any more; staying in the old directory is harmless.
  }
  const unsigned char status = 0;
  (void)!write(report_fd_, &status, 1);
  close(report_fd_);
  report_fd_ = -1;
}

void DaemonStartup::Failed(int status) {
  if (report_fd_ < 0) return;
  const unsigned char byte = static_cast<unsigned char>(status == 0 ? 1 : status);
  (void)!write(report_fd_, &byte, 1);
  close(report_fd_);
  report_fd_ = -1;
}

}  // namespace blobfs
