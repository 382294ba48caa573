// ReactorJob: bdevperf's workload on one reactor — queue_depth worker coroutines sharing one
// BdevChannel, and what they measured.
//
// Contract:
//  - A job is built off the reactor, then Run() is awaited on the channel's reactor. Its data
//    buffers are allocated up front (one per worker, two for verify, each 4096-aligned, carved
//    from one HugePageBuffer per job); nothing is allocated per I/O. Each worker keeps one I/O in
//    flight and issues the next as soon as it completes, until an I/O completes after the deadline
//    (MonotonicNanos) — so each worker completes at least one — or `abort` is set.
//  - Offsets: sequential patterns take the next io_size step of the job's slice from a cursor
//    shared by its workers, wrapping at the slice's end; random patterns draw uniform
//    block-aligned offsets over the whole range from a per-worker SplitMix64. Verify gives worker
//    w of the slice's io_size slots w, w + queue_depth, ... and cycles through them: fill with the
//    pattern of (offset, generation, seed), write, read back, compare; the generation counts the
//    worker's writes. After the timed run the optional final pass re-reads every slot's last
//    write.
//  - The first I/O error or verify mismatch sets `abort` (so every job winds down) and is
//    returned, naming the reactor and worker. Only timed I/O is counted in result(): each read
//    and write (verify does both) adds one operation, its bytes and its latency.
#ifndef BLOBFS_TOOLS_BDEVPERF_JOB_H_
#define BLOBFS_TOOLS_BDEVPERF_JOB_H_

#include <sys/uio.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "bdev/bdev.h"
#include "common/error.h"
#include "common/task.h"
#include "tools/bdevperf_options.h"
#include "common/huge_page_buffer.h"
#include "tools/latency_histogram.h"
#include "tools/splitmix64.h"

namespace blobfs {

struct JobResult {
  uint64_t operations = 0;
  uint64_t bytes = 0;
  int64_t elapsed_ns = 0;  // from Run() until the last worker's last timed I/O completed
  LatencyHistogram latency_ns;
  uint64_t slots_checked = 0;  // by the final verify pass
};

class ReactorJob {
 public:
  // `options` must have passed FitToDevice for this channel's bdev; `index` is the reactor's.
  // Fails only when the data buffers cannot be allocated.
  static Result<std::unique_ptr<ReactorJob>> Create(const BdevperfOptions& options, uint32_t index,
                                                    BdevChannel& channel, std::atomic<bool>& abort);
  ReactorJob(const ReactorJob&) = delete;
  ReactorJob& operator=(const ReactorJob&) = delete;

  Task<Status> Run(int64_t deadline_ns);
  const JobResult& result() const { return result_; }

 private:
  struct Worker {
    uint32_t index = 0;
    std::span<std::byte> data;   // written from, or read into
    std::span<std::byte> check;  // verify: read back into
    iovec data_iov{};
    iovec check_iov{};
    SplitMix64 random{0};
    uint64_t slot_count = 0;  // verify: slots owned
    uint64_t writes = 0;      // verify: generations written
  };

  ReactorJob(const BdevperfOptions& options, uint32_t index, BdevChannel& channel,
             std::atomic<bool>& abort, HugePageBuffer buffers);

  Task<Status> RunIoWorker(Worker& worker, int64_t deadline_ns);
  Task<Status> RunVerifyWorker(Worker& worker, int64_t deadline_ns);
  Task<Status> CheckLastWrites(Worker& worker);
  // Writes the pattern of `generation` at `offset`, reads it back and compares.
  Task<Status> WriteAndCheck(Worker& worker, uint64_t offset, uint64_t generation);
  // Compares the read-back buffer with the expected pattern in the data buffer.
  static Status CompareReadBack(const Worker& worker, uint64_t offset, uint64_t generation);
  uint64_t NextOffset(Worker& worker);
  uint64_t SlotOffset(const Worker& worker, uint64_t k) const;
  void Count(int64_t latency_ns);
  Error Failed(const Worker& worker, const Error& error);

  const BdevperfOptions& options_;
  const uint32_t index_;
  BdevChannel& channel_;
  std::atomic<bool>& abort_;
  const uint32_t block_size_;
  const uint64_t random_positions_;  // block-aligned offsets where an I/O fits in the range
  const Slice slice_;
  uint64_t cursor_;  // the next sequential offset
  HugePageBuffer buffers_;
  std::vector<Worker> workers_;
  JobResult result_;
};

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_BDEVPERF_JOB_H_
