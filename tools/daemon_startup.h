// DaemonStartup: how the mount daemon goes to the background without hiding its startup errors.
// The process forks before it starts any thread; the parent waits until the child reports that
// the filesystem is mounted and served (exit 0) or that it failed (the child's exit status, its
// message already printed on the shared stderr). A child that dies without reporting makes the
// parent exit 1.
//
// Contract: Begin(true) forks and returns only in the child (the parent exits there); Begin(false)
// stays in the foreground and reports nothing. Succeeded() starts the daemon's quiet life: a new
// session, stdin/stdout/stderr on /dev/null, working directory "/". Failed() reports `status`.
// Each is called at most once.
#ifndef BLOBFS_TOOLS_DAEMON_STARTUP_H_
#define BLOBFS_TOOLS_DAEMON_STARTUP_H_

#include "common/error.h"

namespace blobfs {

class DaemonStartup {
 public:
  static Result<DaemonStartup> Begin(bool background);
  void Succeeded();
  void Failed(int status);

 private:
  explicit DaemonStartup(int report_fd) : report_fd_(report_fd) {}
  int report_fd_;  // -1 in the foreground.
};

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_DAEMON_STARTUP_H_
