// blobfs: the mount daemon. Mounts a blobfs image through FUSE and serves it until unmounted.
//
// Contract: `blobfs IMAGE MOUNTPOINT [-o OPTIONS] [-f] [-d] [--flags]` — the form mount.fuse3
// uses, so `mount -t fuse.blobfs IMAGE DIR -o OPTIONS` and fstab lines work. OPTIONS are
// mount_options.h's. Without -f (or -d, which also logs every request's outcome) the daemon
// goes to the background once the filesystem is mounted; startup errors are printed first and
// make the exit status 1. With --passthrough, IMAGE is a host directory served by the
// passthrough fsdev (for comparisons). An image is locked for the daemon's life (image_lock.h):
// a second daemon on it waits up to --lock_wait_ms, then fails. The daemon ends when the filesystem is
// unmounted (umount, fusermount3 -u) or on SIGINT/SIGTERM/SIGHUP (it unmounts itself); it then
// writes everything back and unloads the store cleanly, and exits 0 (1 if that failed).
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bdev/registry.h"
#include "bdev/uring_bdev.h"
#include "blob/blob_store.h"
#include "blobfs/filesystem.h"
#include "blobfs/format/fs_super.h"
#include "common/sync_bridge.h"
#include "dispatcher/dispatcher.h"
#include "fsdev/blobfs_fsdev.h"
#include "fsdev/passthrough_fsdev.h"
#include "fuse/fuse_mount.h"
#include "fuse/fuse_server.h"
#include "fuse/fuse_uring.h"
#include "fuse/proc_groups.h"
#include "gflags/gflags.h"
#include "glog/logging.h"
#include "tools/daemon_startup.h"
#include "tools/flag_syntax.h"
#include "tools/image_lock.h"
#include "tools/mount_options.h"

DEFINE_uint64(lock_wait_ms, 30000,
              "how long to wait for another program (an unmounting daemon) to release the image");
DEFINE_uint64(slots, 16, "FUSE requests served at once per reactor");
DEFINE_uint64(spin_us, 100,
              "after a request, poll /dev/fuse this long before sleeping (0: never poll)");
DEFINE_uint64(cache_mb, 256, "the buffer cache's memory cap, MiB");
DEFINE_uint32(readahead_kb, 1024,
              "the kernel's readahead on the mount, KiB (root only; 0 keeps the kernel's 128)");
DEFINE_bool(uring, true,
            "serve FUSE over io_uring (a pinned reactor per CPU) when the fuse module allows it "
            "(/sys/module/fuse/parameters/enable_uring)");
DEFINE_uint64(uring_entries, 8, "FUSE io_uring entries per CPU queue");
DEFINE_bool(passthrough, false,
            "serve IMAGE as a host directory through the passthrough fsdev instead (to measure "
            "FUSE apart from blobfs)");

namespace blobfs {
namespace {

constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;
// blobfs runs on one reactor: another reactor's requests would hop there and back, and waking a
// sleeping thread twice per request costs more than serving it. More reactors pay off only for
// large transfers (reactors=N).
constexpr uint32_t kDefaultReactors = 1;

struct DaemonArgs {
  std::string image;
  std::string mountpoint;
  std::string options;
  bool foreground = false;
  bool debug = false;
};

// Takes -o OPTIONS (repeatable, also -oOPTIONS), -f and -d out of argv; the rest stays for gflags.
Result<DaemonArgs> TakeFuseArgs(int& argc, char** argv) {
  DaemonArgs args;
  std::vector<std::string> positional;
  int kept = 1;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "-o") {
      if (i + 1 == argc) return MakeError(EINVAL, "-o needs a value");
      if (!args.options.empty()) args.options += ',';
      args.options += argv[++i];
    } else if (arg.starts_with("-o") && arg.size() > 2 && arg[2] != '-') {
      if (!args.options.empty()) args.options += ',';
      args.options += arg.substr(2);
    } else if (arg == "-f") {
      args.foreground = true;
    } else if (arg == "-d") {
      args.foreground = true;
      args.debug = true;
    } else if (arg.starts_with("-")) {
      argv[kept++] = argv[i];
    } else {
      positional.push_back(arg);
    }
  }
  argc = kept;
  if (positional.size() != 2) {
    return MakeError(EINVAL, "usage: blobfs IMAGE MOUNTPOINT [-o OPTIONS] [-f] [-d]");
  }
  args.image = positional[0];
  args.mountpoint = positional[1];
  return args;
}

Result<std::string> Absolute(const std::string& path) {
  char* resolved = realpath(path.c_str(), nullptr);
  if (resolved == nullptr) return MakeError(errno, "%s: %s", path, std::strerror(errno));
  std::string absolute(resolved);
  std::free(resolved);
  return absolute;
}

Task<Result<std::shared_ptr<Fsdev>>> MountImage(BdevRegistry& registry,
                                                const DaemonMountOptions& options) {
  const OpenMode mode = options.read_only ? OpenMode::kReadOnly : OpenMode::kReadWrite;
  CO_ASSIGN_OR_RETURN(auto device, registry.Open("image", mode));
  BlobStoreLoadOptions load{.bstype = std::string(FsSuper::kBstype),
                            .read_only = options.read_only};
  CO_ASSIGN_OR_RETURN(auto store, co_await BlobStore::Load(std::move(device), std::move(load)));
  MountOptions mount{.read_only = options.read_only, .cache_bytes = FLAGS_cache_mb << 20};
  if (options.commit_interval.has_value()) mount.commit_interval = *options.commit_interval;
  CO_ASSIGN_OR_RETURN(auto fs, co_await FileSystem::Mount(std::move(store), mount));
  co_return MakeBlobfsFsdev(std::move(fs), BlobfsFsdevOptions{});
}

// Serves one reactor's descriptor and counts the reactor out when the session ends.
Task<void> ServeAndCountOut(int fd, Dispatcher& dispatcher, std::atomic<int>& serving,
                            std::function<void()> after_init) {
  FuseServeOptions options{.slots = FLAGS_slots,
                           .spin = std::chrono::microseconds(FLAGS_spin_us),
                           .after_init = std::move(after_init)};
  Status served = co_await ServeFuseDevice(fd, dispatcher, options);
  if (!served.ok()) LOG(ERROR) << "serving /dev/fuse: " << served.error();
  serving.fetch_sub(1, std::memory_order_acq_rel);
}

// Serves one FUSE io_uring queue and counts it out when the session ends.
Task<void> ServeQueueAndCountOut(int fd, Dispatcher& dispatcher, FuseUringQueueOptions options,
                                 std::atomic<int>& serving, std::atomic<uint64_t>& served) {
  Result<uint64_t> queue = co_await ServeFuseUringQueue(fd, dispatcher, options);
  if (queue.ok()) {
    served.fetch_add(*queue, std::memory_order_relaxed);
  } else {
    LOG(ERROR) << "serving FUSE io_uring queue " << options.qid << ": " << queue.error();
  }
  serving.fetch_sub(1, std::memory_order_acq_rel);
}

// Registers every queue the kernel expects once INIT chose FUSE over io_uring: queue i on the
// reactor pinned to CPU i (reactor r runs on reactor_cpus[r]); the queues of CPUs without one
// (offline, or outside the process's affinity) on reactor 0 with a single entry.
void StartUringQueues(int fd, Dispatcher& dispatcher,
                      std::vector<std::unique_ptr<ReactorThread>>& reactors,
                      const std::vector<int>& reactor_cpus, std::atomic<int>& serving,
                      std::atomic<uint64_t>& served) {
  if ((dispatcher.session().flags & wire::init::kOverIoUring) == 0) {
    LOG(INFO) << "the kernel did not offer FUSE over io_uring: serving /dev/fuse only";
    return;
  }
  Result<uint32_t> queues = PossibleCpuCount();
  if (!queues.ok()) {
    LOG(ERROR) << "FUSE over io_uring: " << queues.error();
    return;
  }
  const size_t payload =
      std::max<size_t>({dispatcher.session().max_write, dispatcher.session().max_read, 8192});
  for (uint32_t qid = 0; qid < *queues; ++qid) {
    const auto cpu_reactor = std::find(reactor_cpus.begin(), reactor_cpus.end(), qid);
    const bool own_reactor = cpu_reactor != reactor_cpus.end();
    const FuseUringQueueOptions options{
        .qid = static_cast<uint16_t>(qid),
        .entries = own_reactor ? static_cast<size_t>(FLAGS_uring_entries) : size_t{1},
        .payload_size = payload};
    serving.fetch_add(1, std::memory_order_acq_rel);
    reactors[own_reactor ? cpu_reactor - reactor_cpus.begin() : 0]->reactor().Spawn(
        ServeQueueAndCountOut(fd, dispatcher, options, serving, served));
  }
  LOG(INFO) << "FUSE over io_uring: " << *queues << " queues, reactors on CPUs "
            << absl::StrJoin(reactor_cpus, ",");
}

// Waits until every reactor is done serving; a termination signal unmounts first.
void WaitForSessionEnd(FuseMount& mount, const std::atomic<int>& serving) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  const timespec tick{0, 100'000'000};
  while (serving.load(std::memory_order_acquire) > 0) {
    const int signal = sigtimedwait(&signals, nullptr, &tick);
    if (signal > 0) {
      LOG(INFO) << "signal " << signal << ": unmounting";
      mount.Unmount();
    }
  }
}

int Run(const DaemonArgs& args, DaemonStartup& startup) {
  auto fail = [&startup](const std::string& message) {
    std::fprintf(stderr, "blobfs: %s\n", message.c_str());
    startup.Failed(kExitFailed);
    return kExitFailed;
  };
  Result<std::string> image = Absolute(args.image);
  if (!image.ok()) return fail(image.error().message());
  Result<std::string> mountpoint = Absolute(args.mountpoint);
  if (!mountpoint.ok()) return fail(mountpoint.error().message());
  Result<DaemonMountOptions> options = ParseMountOptions(args.options, *image, geteuid() == 0);
  if (!options.ok()) return fail(options.error().message());

  // FUSE over io_uring: a reactor per CPU the process may run on, pinned there, so that a
  // request is answered on the CPU its caller sleeps on; reactor 0 (the filesystem's) polls for
  // spin_us after working, so that the others' calls find it awake.
  const bool uring = FLAGS_uring && FuseUringEnabled();
  uint32_t reactor_count = options->reactors;
  if (reactor_count == 0) reactor_count = kDefaultReactors;
  std::vector<int> reactor_cpus;
  if (uring) {
    Result<std::vector<int>> cpus = AllowedCpus();
    if (!cpus.ok()) return fail(cpus.error().ToString());
    reactor_cpus = std::move(*cpus);
    reactor_count = static_cast<uint32_t>(reactor_cpus.size());
  }
  std::vector<std::unique_ptr<ReactorThread>> reactors;
  for (uint32_t i = 0; i < reactor_count; ++i) {
    Reactor::Options reactor_options;
    if (uring) {
      reactor_options.big_sqes = true;
      reactor_options.cpu = reactor_cpus[i];
      if (i == 0) reactor_options.idle_spin = std::chrono::microseconds(FLAGS_spin_us);
    }
    auto reactor = ReactorThread::Start(reactor_options);
    if (!reactor.ok()) return fail(reactor.error().ToString());
    reactors.push_back(std::move(*reactor));
  }
  std::unique_ptr<ImageLock> lock;
  BdevRegistry registry;
  Result<std::shared_ptr<Fsdev>> fsdev = std::shared_ptr<Fsdev>();
  if (FLAGS_passthrough) {
    fsdev = MakePassthroughFsdev({.root = *image});
    if (!fsdev.ok()) return fail(fsdev.error().ToString());
  } else {
    auto locked = ImageLock::Acquire(*image, std::chrono::milliseconds(FLAGS_lock_wait_ms));
    if (!locked.ok()) return fail(locked.error().message());
    lock = std::move(*locked);
    struct stat st {};
    const bool regular = stat(image->c_str(), &st) == 0 && S_ISREG(st.st_mode);
    auto bdev = CreateUringBdev(registry, "image",
                                {.path = *image,
                                 .block_size = regular ? 4096u : 0u,
                                 .read_only = options->read_only});
    if (!bdev.ok()) return fail(bdev.error().ToString());
    fsdev = reactors[0]->BlockOn(MountImage(registry, *options));
    if (!fsdev.ok()) {
      return fail(absl::StrFormat("%s is not a mountable blobfs: %s", *image,
                                  fsdev.error().ToString()));
    }
  }
  auto close_fsdev = [&]() -> Status {
    Status closed = reactors[0]->BlockOn((*fsdev)->Close());
    fsdev->reset();
    return closed;
  };

  Result<std::unique_ptr<FuseMount>> mount = FuseMount::Mount(*mountpoint, options->fuse_options);
  if (!mount.ok()) {
    Status closed = close_fsdev();
    if (!closed.ok()) LOG(ERROR) << "unmounting the image: " << closed.error();
    return fail(mount.error().message());
  }
  // Before INIT is served: the kernel then keeps the smaller of the two.
  if (FLAGS_readahead_kb > 0 && geteuid() == 0) {
    Status readahead = (*mount)->SetReadahead(FLAGS_readahead_kb);
    if (!readahead.ok()) LOG(WARNING) << "readahead left as the kernel set it: " << readahead.error();
  }
  const uint32_t max_readahead = FLAGS_readahead_kb > 0 && geteuid() == 0
                                     ? FLAGS_readahead_kb << 10
                                     : uint32_t{128} << 10;
  Dispatcher dispatcher(**fsdev, DispatcherOptions{.max_write = options->max_write,
                                                   .max_readahead = max_readahead,
                                                   .writeback_cache = options->writeback_cache,
                                                   .io_uring = uring,
                                                   .groups_of = SupplementaryGroupsOf,
                                                   .notify = DeviceNotifier((*mount)->fd())});
  // Every reactor reads its own clone (with io_uring only reactor 0 reads /dev/fuse: INIT,
  // FORGETs and INTERRUPTs): the session's descriptor is libfuse's to close when it unmounts.
  const uint32_t readers = uring ? 1 : reactor_count;
  std::vector<int> fds;
  for (uint32_t i = 0; i < readers; ++i) {
    Result<int> fd = (*mount)->CloneFd();
    if (!fd.ok()) {
      for (int opened : fds) close(opened);
      (*mount)->Unmount();
      (void)close_fsdev();
      return fail(fd.error().message());
    }
    fds.push_back(*fd);
  }
  std::atomic<int> serving{static_cast<int>(readers)};
  std::atomic<uint64_t> served_over_uring{0};
  for (uint32_t i = 0; i < readers; ++i) {
    std::function<void()> after_init;
    if (uring && i == 0) {
      after_init = [&, fd = fds[0]] {
        StartUringQueues(fd, dispatcher, reactors, reactor_cpus, serving, served_over_uring);
      };
    }
    reactors[i]->reactor().Spawn(
        ServeAndCountOut(fds[i], dispatcher, serving, std::move(after_init)));
  }
  LOG(INFO) << *image << " mounted on " << *mountpoint << " (" << reactor_count << " reactors)";
  startup.Succeeded();

  WaitForSessionEnd(**mount, serving);
  for (int fd : fds) close(fd);
  mount->reset();
  const Status closed = close_fsdev();
  if (!closed.ok()) {
    LOG(ERROR) << "unmounting " << *image << ": " << closed.error();
    return kExitFailed;
  }
  if (uring) LOG(INFO) << served_over_uring.load() << " requests served over io_uring";
  LOG(INFO) << *image << " unmounted cleanly";
  return 0;
}

}  // namespace
}  // namespace blobfs

int main(int argc, char** argv) {
  google::InitGoogleLogging(argv[0]);
  FLAGS_logtostderr = true;
  gflags::SetUsageMessage("blobfs IMAGE MOUNTPOINT [-o OPTIONS] [-f] [-d] [--flags]");
  blobfs::Result<blobfs::DaemonArgs> args = blobfs::TakeFuseArgs(argc, argv);
  if (!args.ok()) {
    std::fprintf(stderr, "blobfs: %s\n", args.error().message().c_str());
    return blobfs::kExitUsage;
  }
  blobfs::AcceptDashedFlagNames(argc, argv);
  if (blobfs::Status syntax = blobfs::CheckFlagSyntax(argc, argv); !syntax.ok()) {
    std::fprintf(stderr, "blobfs: %s\n", syntax.error().message().c_str());
    return blobfs::kExitUsage;
  }
  gflags::ParseCommandLineFlags(&argc, &argv, true);
  if (args->debug) FLAGS_v = std::max(FLAGS_v, 1);
  // Termination signals are taken by WaitForSessionEnd; every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  blobfs::Result<blobfs::DaemonStartup> startup = blobfs::DaemonStartup::Begin(!args->foreground);
  if (!startup.ok()) {
    std::fprintf(stderr, "blobfs: %s\n", startup.error().message().c_str());
    return blobfs::kExitFailed;
  }
  return blobfs::Run(*args, *startup);
}
