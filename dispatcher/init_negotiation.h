// INIT negotiation: what the dispatcher answers to the kernel's FUSE_INIT, as a pure function so
// every branch is testable without a kernel.
//
// Contract:
//  - Major below 7: refused (EPROTO). Major above 7: the reply offers 7.kMaxMinor and nothing
//    else, and the kernel retries INIT with major 7. Major 7: the protocol minor is the smaller
//    of the kernel's and ours; the reply has the size that minor expects (8, 24 or 64 bytes).
//  - Flags are chosen deliberately (init_negotiation.cc says why each one) and only among those
//    the kernel offered; flags2 is used only when the kernel sent INIT_EXT.
//  - max_write is the wanted size rounded down to pages (at least 4 KiB); it is 1 MiB-capable
//    only with MAX_PAGES, otherwise the kernel's old 128 KiB request limit applies.
//  - max_readahead is the wanted one (the kernel keeps the smaller of it and the mount's bdi
//    read_ahead_kb, which the daemon may raise: FuseMount::SetReadahead).
#ifndef BLOBFS_DISPATCHER_INIT_NEGOTIATION_H_
#define BLOBFS_DISPATCHER_INIT_NEGOTIATION_H_

#include <cstddef>
#include <cstdint>

#include "common/error.h"
#include "dispatcher/fuse_wire.h"

namespace blobfs {

struct InitWants {
  uint32_t max_write = 1 << 20;
  uint32_t max_readahead = 1 << 20;
  bool writeback_cache = false;
  bool locks = false;  // The fsdev implements flock and POSIX record locks.
  bool io_uring = false;  // The transport serves FUSE over io_uring when the kernel offers it.
};

struct InitResult {
  // False when the reply only announces our major (the kernel will send INIT again).
  bool complete = false;
  uint32_t minor = 0;
  uint64_t flags = 0;  // Negotiated, flags2 in the high half.
  uint32_t max_write = 0;
  uint32_t max_read = 0;  // Largest READ the kernel will send.
  wire::InitOut reply{};
  size_t reply_size = 0;
};

// `in` holds what the kernel sent (zero-filled beyond `in_size` bytes).
Result<InitResult> NegotiateInit(const wire::InitIn& in, size_t in_size, const InitWants& wants);

}  // namespace blobfs

#endif  // BLOBFS_DISPATCHER_INIT_NEGOTIATION_H_
