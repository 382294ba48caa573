#include "fuse/fuse_uring.h"

#include <liburing.h>
#include <sched.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/reactor.h"
#include "common/uring_ops.h"
#include "common/when_all.h"
#include "dispatcher/fuse_wire.h"
#include "fuse/uring_entry.h"
#include "glog/logging.h"

namespace blobfs {
namespace {

// The command area of a 128-byte SQE starts after the 64-byte base entry's first 48 bytes.
constexpr size_t kSqeCommandOffset = 48;
static_assert(sizeof(io_uring_sqe) == 64);

// FUSE_IO_URING_CMD_REGISTER or _COMMIT_AND_FETCH for `entry` on queue `qid`.
auto RingCommand(int fd, uint32_t command, uint16_t qid, uint64_t commit_id, RingEntry& entry) {
  const iovec* iov = entry.iov;
  return uring::Operation([fd, command, qid, commit_id, iov](io_uring_sqe* sqe) {
    std::memset(sqe, 0, 2 * sizeof(io_uring_sqe));
    sqe->opcode = IORING_OP_URING_CMD;
    sqe->fd = fd;
    sqe->addr = reinterpret_cast<uint64_t>(iov);
    sqe->len = 2;
    sqe->cmd_op = command;
    const wire::uring::CmdReq request{.flags = 0, .commit_id = commit_id, .qid = qid};
    std::memcpy(reinterpret_cast<char*>(sqe) + kSqeCommandOffset, &request, sizeof(request));
  });
}

struct QueueState {
  int fd;
  uint16_t qid;
  DispatcherChannel& channel;
  uint64_t served = 0;
};

bool EndsTheQueue(int result) {
  return result == -ENOTCONN || result == -ECANCELED || result == -ECONNABORTED ||
         result == -ENODEV;
}

Task<Status> ServeEntry(QueueState& state, RingEntry& entry) {
  Reactor& reactor = *Reactor::Current();
  uint32_t command = wire::uring::kCmdRegister;
  uint64_t commit_id = 0;
  while (true) {
    const int result = co_await RingCommand(state.fd, command, state.qid, commit_id, entry);
    if (result == -EAGAIN && command == wire::uring::kCmdRegister) {
      // The kernel has not processed the INIT reply yet.
      co_await reactor.Sleep(std::chrono::milliseconds(1));
      continue;
    }
    if (result == -EINTR) continue;
    if (EndsTheQueue(result)) co_return Status();
    if (result < 0) {
      co_return MakeError(-result, "FUSE io_uring queue %u: %s", state.qid,
                          std::strerror(-result));
    }
    wire::InHeader in;
    std::memcpy(&in, entry.headers().in_out, sizeof(in));
    commit_id = entry.headers().ring_ent_in_out.commit_id;
    command = wire::uring::kCmdCommitAndFetch;
    RingReplySink sink(entry, in.unique);
    Result<std::array<iovec, 3>> request = RequestOf(entry);
    if (!request.ok()) {
      LOG(WARNING) << request.error();
      sink.Fail(EINVAL);
      continue;
    }
    {
      Reactor::PollingHold polling(reactor);
      co_await state.channel.Handle(*request, sink);
    }
    if (!sink.sent()) sink.Fail(EIO);
    ++state.served;
  }
}

}  // namespace

Task<Result<uint64_t>> ServeFuseUringQueue(int fd, Dispatcher& dispatcher,
                                           FuseUringQueueOptions options) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<DispatcherChannel> channel, dispatcher.OpenChannel());
  QueueState state{.fd = fd, .qid = options.qid, .channel = *channel};
  std::vector<std::unique_ptr<RingEntry>> entries;
  std::vector<Task<Status>> served;
  for (size_t i = 0; i < std::max<size_t>(options.entries, 1); ++i) {
    entries.push_back(std::make_unique<RingEntry>(options.payload_size));
    served.push_back(ServeEntry(state, *entries.back()));
  }
  CO_RETURN_IF_ERROR(co_await WhenAll(std::move(served)));
  co_return state.served;
}

Result<uint32_t> PossibleCpuCount() {
  std::ifstream file("/sys/devices/system/cpu/possible");
  std::string list;
  if (!std::getline(file, list)) return MakeError(EIO, "cannot read the possible CPUs");
  uint32_t count = 0;
  const std::vector<std::string> ranges = absl::StrSplit(list, ',', absl::SkipEmpty());
  for (const std::string& range : ranges) {
    std::vector<std::string> ends = absl::StrSplit(range, '-');
    uint32_t first = 0;
    uint32_t last = 0;
    if (ends.empty() || ends.size() > 2 || !absl::SimpleAtoi(ends.front(), &first) ||
        !absl::SimpleAtoi(ends.back(), &last) || last < first) {
      return MakeError(EINVAL, "possible CPUs \"%s\"", list);
    }
    count += last - first + 1;
  }
  if (count == 0) return MakeError(EINVAL, "possible CPUs \"%s\"", list);
  return count;
}

Result<std::vector<int>> AllowedCpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) != 0) {
    return MakeError(errno, "cannot read the CPUs this process may run on");
  }
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  }
  if (cpus.empty()) return MakeError(EINVAL, "the process may run on no CPU");
  return cpus;
}

bool FuseUringEnabled() {
  std::ifstream file("/sys/module/fuse/parameters/enable_uring");
  std::string value;
  return std::getline(file, value) && (value == "Y" || value == "1");
}

}  // namespace blobfs
