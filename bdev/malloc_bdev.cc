#include "bdev/malloc_bdev.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "common/iov.h"

namespace blobfs {
namespace {

class MallocDriver final : public BdevDriver {
 public:
  MallocDriver(std::byte* memory, uint64_t size, uint32_t block_size)
      : memory_(memory), size_(size), block_size_(block_size) {}
  ~MallocDriver() override { munmap(memory_, size_); }

  const char* module_name() const override { return "malloc"; }
  bool Supports(IoType type) const override {
    return type != IoType::kFlush && type != IoType::kReset;
  }
  uint32_t channel_queue_depth() const override { return 1024; }
  Result<std::unique_ptr<DriverChannel>> CreateChannel(Reactor& reactor) override;

  std::byte* at(uint64_t block) const { return memory_ + block * block_size_; }
  uint32_t block_size() const { return block_size_; }

 private:
  std::byte* const memory_;
  const uint64_t size_;
  const uint32_t block_size_;
};

class MallocChannel final : public DriverChannel {
 public:
  MallocChannel(const MallocDriver& driver, Reactor& reactor) : driver_(driver), reactor_(reactor) {}

  Task<Status> Submit(const IoRequest& request) override {
    const uint64_t length = request.num_blocks * driver_.block_size();
    std::byte* base = driver_.at(request.offset_blocks);
    switch (request.type) {
      case IoType::kRead:
        // A read's bytes land in its buffers while it is in flight, as a device's DMA would: a
        // caller that touches them before the completion sees them overwritten.
        co_await reactor_.Yield();
        IovCopyFromBuffer(request.iov, base, length);
        co_return OkStatus();
      case IoType::kWrite:
        IovCopyToBuffer(request.iov, base, length);
        break;
      case IoType::kWriteZeroes:
      case IoType::kUnmap:
        std::memset(base, 0, length);
        break;
      default:
        co_return MakeError(EOPNOTSUPP, "malloc bdev: %s is not supported", IoTypeName(request.type));
    }
    co_await reactor_.Yield();  // complete on the next iteration, as a device would
    co_return OkStatus();
  }

 private:
  const MallocDriver& driver_;
  Reactor& reactor_;
};

Result<std::unique_ptr<DriverChannel>> MallocDriver::CreateChannel(Reactor& reactor) {
  return std::unique_ptr<DriverChannel>(new MallocChannel(*this, reactor));
}

}  // namespace

Result<std::shared_ptr<Bdev>> CreateMallocBdev(BdevRegistry& registry, std::string name,
                                               const MallocBdevOptions& options) {
  BdevGeometry geometry;
  geometry.block_size = options.block_size;
  geometry.num_blocks = options.block_size == 0 ? 0 : options.size_bytes / options.block_size;
  geometry.optimal_io_boundary_blocks = options.optimal_io_boundary_blocks;
  geometry.max_transfer_blocks = options.max_transfer_blocks;
  RETURN_IF_ERROR(ValidateGeometry(name, geometry));
  if (options.size_bytes % options.block_size != 0) {
    return MakeError(EINVAL, "malloc bdev '%s': size %lu is not a multiple of the block size %u",
                     name, options.size_bytes, options.block_size);
  }
  void* memory = mmap(nullptr, options.size_bytes, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    return MakeError(errno, "malloc bdev '%s': cannot map %lu bytes: %s", name, options.size_bytes,
                     strerror(errno));
  }
  // Like a RAM disk, the memory is committed up front (huge pages where the kernel grants them), so
  // I/O never pays for page faults; MADV_POPULATE_WRITE fails cleanly if the memory is not there.
  madvise(memory, options.size_bytes, MADV_HUGEPAGE);
  if (madvise(memory, options.size_bytes, MADV_POPULATE_WRITE) != 0 && errno != EINVAL) {
    int error = errno;
    munmap(memory, options.size_bytes);
    return MakeError(error == EFAULT ? ENOMEM : error,
                     "malloc bdev '%s': cannot commit %lu bytes of memory: %s", name,
                     options.size_bytes, strerror(error));
  }
  auto driver = std::make_unique<MallocDriver>(static_cast<std::byte*>(memory),
                                               options.size_bytes, options.block_size);
  return registry.Register(std::move(name), geometry, std::move(driver));
}

}  // namespace blobfs
