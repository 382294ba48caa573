// The error module: a bdev stacked on another one that injects failures and records writes.
//
// Contract:
//  - With no rules and no recording it forwards every request unchanged to the base bdev (same
//    geometry, its own UUID), so it can stand in anywhere a bdev is used.
//  - Rules fail chosen I/O: by type mask and byte range (the request must overlap it; flushes match
//    any range), after letting `skip` matching requests through ("fail after N ops"), for `count`
//    requests (unbounded by default), with a chosen errno. The first matching rule decides.
//  - The write log records every write, write_zeroes, unmap and flush in the order the base
//    acknowledged them, writes with their data, so crash tests can replay any prefix onto a fresh
//    device (ReplayWriteLog). DropWritesAfter(n) simulates a power cut: after n more modifying
//    requests, modifying requests and flushes are acknowledged but never reach the base (they are
//    logged with dropped = true).
//  - The injector is thread-safe and may be changed while I/O runs. Hot removal of the base removes
//    the error bdev too.
#ifndef BLOBFS_BDEV_ERROR_BDEV_H_
#define BLOBFS_BDEV_ERROR_BDEV_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "bdev/bdev.h"
#include "bdev/registry.h"

namespace blobfs {

inline constexpr uint32_t IoTypeBit(IoType type) { return 1u << static_cast<uint32_t>(type); }
inline constexpr uint32_t kAllIoTypes = (1u << kIoTypeCount) - 1;

struct ErrorRule {
  uint32_t io_types = kAllIoTypes;  // IoTypeBit(...) | ...
  uint64_t offset = 0;              // bytes
  uint64_t length = UINT64_MAX;
  int error = EIO;
  uint64_t skip = 0;                // matching requests let through before failing starts
  uint64_t count = UINT64_MAX;      // matching requests failed after that
};

struct WriteLogEntry {
  IoType type;
  uint64_t offset = 0;  // bytes
  uint64_t length = 0;
  std::vector<std::byte> data;  // kWrite only
  bool dropped = false;         // acknowledged but never applied (after DropWritesAfter)
};

class ErrorInjector {
 public:
  virtual ~ErrorInjector() = default;

  virtual void AddRule(const ErrorRule& rule) = 0;
  virtual void ClearRules() = 0;
  // Requests failed so far by rules.
  virtual uint64_t injected_failures() const = 0;
  // Bytes read successfully through the error bdev so far.
  virtual uint64_t bytes_read() const = 0;

  virtual void StartRecording() = 0;
  virtual void StopRecording() = 0;
  // Returns the log recorded so far and starts a new one.
  virtual std::vector<WriteLogEntry> TakeWriteLog() = 0;

  // After `applied` more modifying requests, acknowledge without applying (a power cut).
  virtual void DropWritesAfter(uint64_t applied) = 0;
  virtual void StopDropping() = 0;
};

// Creates error bdev `name` over the registered bdev `base_name` (opened read-write).
Result<std::shared_ptr<Bdev>> CreateErrorBdev(BdevRegistry& registry, std::string name,
                                              std::string_view base_name);

// The injector of an error bdev; nullptr for bdevs of other modules.
ErrorInjector* GetErrorInjector(Bdev& bdev);

// Applies `entries` in order to `target` (skipping dropped ones): the state a device would hold
// had the power failed right after the last of them.
Task<Status> ReplayWriteLog(std::span<const WriteLogEntry> entries, BdevChannel& target);

}  // namespace blobfs

#endif  // BLOBFS_BDEV_ERROR_BDEV_H_
