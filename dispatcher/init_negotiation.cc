#include "dispatcher/init_negotiation.h"

#include <errno.h>

#include <algorithm>

namespace blobfs {
namespace {

constexpr uint32_t kPageSize = 4096;
// The kernel's request size limit without MAX_PAGES (FUSE_DEFAULT_MAX_PAGES_PER_REQ).
constexpr uint32_t kDefaultMaxPages = 32;
// Background requests (readahead, writeback, async direct I/O) the kernel keeps in flight; its
// default of 12 starves a 1 MiB readahead window.
constexpr uint16_t kMaxBackground = 64;
constexpr uint16_t kCongestionThreshold = 48;

// What we ask for, and why:
//  ASYNC_READ       readahead may send several READs at once.
//  ATOMIC_O_TRUNC   open(O_TRUNC) truncates in the OPEN itself (no separate SETATTR).
//  EXPORT_SUPPORT   we answer lookups of "." and "..", so NFS export and open_by_handle work.
//  BIG_WRITES       writes larger than a page (implied by MAX_PAGES on new kernels).
//  AUTO_INVAL_DATA  the kernel drops cached pages when it sees mtime or size change.
//  DO_READDIRPLUS + READDIRPLUS_AUTO  entries with attributes when the kernel will use them.
//  ASYNC_DIO        direct I/O split into parallel requests.
//  PARALLEL_DIROPS  lookups and readdirs of one directory run in parallel.
//  HANDLE_KILLPRIV_V2  the fsdev clears setuid/setgid on write, truncate and chown itself (one
//                   request instead of an extra SETATTR).
//  MAX_PAGES        requests up to max_write (1 MiB).
//  CACHE_SYMLINKS   symlink targets stay in the page cache.
//  SETXATTR_EXT     the extended fuse_setxattr_in (we read either form).
//  INIT_EXT         flags2 in use.
//  DIRECT_IO_ALLOW_MMAP  a direct write (write-only handles get DIRECT_IO: dispatcher_files.cc)
//                   first writes back dirty pages that other handles' mappings hold in its range,
//                   so they cannot land over it later (newer kernels do so without the flag).
//                   Write-only handles cannot be mapped, so the mmap it allows never happens.
// Not asked: POSIX_LOCKS/FLOCK_LOCKS unless the fsdev has locks (the kernel's local locks serve a
// filesystem with one mount); POSIX_ACL (ACLs are stored verbatim, not enforced); DONT_MASK (the
// kernel applies the umask); SPLICE_* (plain reads and writes); WRITEBACK_CACHE only on request.
constexpr uint64_t kWanted = wire::init::kAsyncRead | wire::init::kAtomicOTrunc |
                             wire::init::kExportSupport | wire::init::kBigWrites |
                             wire::init::kAutoInvalData | wire::init::kDoReaddirplus |
                             wire::init::kReaddirplusAuto | wire::init::kAsyncDio |
                             wire::init::kParallelDirops | wire::init::kHandleKillprivV2 |
                             wire::init::kMaxPages | wire::init::kCacheSymlinks |
                             wire::init::kSetxattrExt | wire::init::kInitExt |
                             wire::init::kDirectIoAllowMmap;

size_t ReplySizeFor(uint32_t minor) {
  if (minor < 5) return wire::kCompatInitOutSize;
  if (minor < 23) return wire::kCompat22InitOutSize;
  return sizeof(wire::InitOut);
}

}  // namespace

Result<InitResult> NegotiateInit(const wire::InitIn& in, size_t in_size, const InitWants& wants) {
  InitResult result;
  if (in_size < 8) return MakeError(EINVAL, "INIT of %zu bytes (at least 8)", in_size);
  if (in.major < wire::kMajor) {
    return MakeError(EPROTO, "the kernel speaks FUSE %u.%u; at least 7 is needed", in.major,
                     in.minor);
  }
  result.reply.major = wire::kMajor;
  result.reply.minor = wire::kMaxMinor;
  if (in.major > wire::kMajor) {
    result.reply_size = sizeof(wire::InitOut);
    return result;
  }
  result.complete = true;
  result.minor = std::min(in.minor, wire::kMaxMinor);
  result.reply.minor = result.minor;

  uint64_t offered = in_size >= 16 ? in.flags : 0;
  if ((offered & wire::init::kInitExt) != 0 && in_size >= 20) {
    offered |= uint64_t{in.flags2} << 32;
  }
  uint64_t wanted = kWanted;
  if (wants.writeback_cache) wanted |= wire::init::kWritebackCache;
  if (wants.locks) wanted |= wire::init::kPosixLocks | wire::init::kFlockLocks;
  // OVER_IO_URING: requests then come through per-CPU io_uring queues once the transport has
  // registered them all (until then the kernel holds new requests back).
  if (wants.io_uring) wanted |= wire::init::kOverIoUring;
  result.flags = wanted & offered;

  const uint32_t max_write = std::max(kPageSize, wants.max_write / kPageSize * kPageSize);
  uint32_t max_pages = kDefaultMaxPages;
  if ((result.flags & wire::init::kMaxPages) != 0) max_pages = max_write / kPageSize;
  result.max_write = std::min(max_write, max_pages * kPageSize);
  result.max_read = max_pages * kPageSize;

  result.reply.max_readahead = in_size >= 12 ? wants.max_readahead : 0;
  result.reply.flags = static_cast<uint32_t>(result.flags);
  result.reply.max_background = kMaxBackground;
  result.reply.congestion_threshold = kCongestionThreshold;
  result.reply.max_write = result.max_write;
  result.reply.time_gran = 1;
  if ((result.flags & wire::init::kMaxPages) != 0) {
    result.reply.max_pages = static_cast<uint16_t>(max_pages);
  }
  if ((result.flags & wire::init::kInitExt) != 0) {
    result.reply.flags2 = static_cast<uint32_t>(result.flags >> 32);
  }
  result.reply_size = ReplySizeFor(result.minor);
  return result;
}

}  // namespace blobfs
