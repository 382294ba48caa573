#include "bdev/uring_bdev.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/iov.h"
#include "common/uring_ops.h"

namespace blobfs {
namespace {

constexpr uint32_t kMaxTransferBytes = 1u << 30;

struct OpenedFile {
  int fd = -1;
  bool is_block_device = false;
  bool direct = false;
  uint64_t size = 0;
  uint32_t logical_block_size = 512;
  uint32_t dio_mem_align = 0;     // 0 = direct I/O unavailable
  uint32_t dio_offset_align = 0;
};

class UringDriver final : public BdevDriver {
 public:
  UringDriver(std::string path, OpenedFile file, uint32_t block_size, uint32_t queue_depth)
      : path_(std::move(path)), file_(file), block_size_(block_size), queue_depth_(queue_depth) {}
  ~UringDriver() override { close(file_.fd); }

  const char* module_name() const override { return "uring"; }
  bool Supports(IoType type) const override {
    switch (type) {
      case IoType::kRead:
      case IoType::kWrite:
      case IoType::kFlush:
        return true;
      case IoType::kWriteZeroes:
        return zero_range_works_.load(std::memory_order_relaxed);
      case IoType::kUnmap:
        return punch_hole_works_.load(std::memory_order_relaxed);
      case IoType::kReset:
        return false;
    }
    return false;
  }
  uint32_t channel_queue_depth() const override { return queue_depth_; }
  Result<std::unique_ptr<DriverChannel>> CreateChannel(Reactor& reactor) override;

  Task<Status> Submit(const IoRequest& request);
  bool direct() const { return file_.direct; }

 private:
  Task<Status> Transfer(IoType type, uint64_t offset, uint64_t length, std::span<const iovec> iov);
  Task<Status> Fallocate(IoType type, int mode, uint64_t offset, uint64_t length,
                         std::atomic<bool>& works);
  Error Failure(IoType type, uint64_t offset, uint64_t length, int error) const {
    return MakeError(error, "uring bdev %s: %s of %lu bytes at offset %lu failed: %s", path_,
                     IoTypeName(type), length, offset, strerror(error));
  }

  const std::string path_;
  const OpenedFile file_;
  const uint32_t block_size_;
  const uint32_t queue_depth_;
  std::atomic<bool> zero_range_works_{true};
  std::atomic<bool> punch_hole_works_{true};
};

class UringChannel final : public DriverChannel {
 public:
  explicit UringChannel(UringDriver& driver) : driver_(driver) {}
  Task<Status> Submit(const IoRequest& request) override { return driver_.Submit(request); }

 private:
  UringDriver& driver_;
};

Result<std::unique_ptr<DriverChannel>> UringDriver::CreateChannel(Reactor&) {
  return std::unique_ptr<DriverChannel>(new UringChannel(*this));
}

Task<Status> UringDriver::Submit(const IoRequest& request) {
  const uint64_t offset = request.offset_blocks * block_size_;
  const uint64_t length = request.num_blocks * block_size_;
  switch (request.type) {
    case IoType::kRead:
    case IoType::kWrite:
      co_return co_await Transfer(request.type, offset, length, request.iov);
    case IoType::kFlush: {
      int result = co_await uring::Fsync(file_.fd, /*data_only=*/true);
      if (result < 0) co_return Failure(request.type, 0, 0, -result);
      co_return OkStatus();
    }
    case IoType::kWriteZeroes:
      co_return co_await Fallocate(request.type, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, offset,
                                   length, zero_range_works_);
    case IoType::kUnmap:
      co_return co_await Fallocate(request.type, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                   offset, length, punch_hole_works_);
    case IoType::kReset:
      break;
  }
  co_return MakeError(EOPNOTSUPP, "uring bdev %s: %s is not supported", path_,
                      IoTypeName(request.type));
}

Task<Status> UringDriver::Fallocate(IoType type, int mode, uint64_t offset, uint64_t length,
                                    std::atomic<bool>& works) {
  int result = co_await uring::Fallocate(file_.fd, mode, offset, length);
  if (result == -EOPNOTSUPP) works.store(false, std::memory_order_relaxed);  // the layer adapts
  if (result < 0) co_return Failure(type, offset, length, -result);
  co_return OkStatus();
}

// Reads or writes all `length` bytes, continuing after short transfers.
Task<Status> UringDriver::Transfer(IoType type, uint64_t offset, uint64_t length,
                                   std::span<const iovec> iov) {
  const bool read = type == IoType::kRead;
  IovecList rest;  // only used after a short transfer
  uint64_t done = 0;
  while (done < length) {
    std::span<const iovec> pending = done == 0 ? iov : std::span<const iovec>(rest);
    // Plain if/else: GCC 12 mishandles co_await inside a conditional expression.
    int result;
    if (pending.size() == 1 && read) {
      result = co_await uring::Read(file_.fd, pending[0].iov_base, pending[0].iov_len, offset + done);
    } else if (pending.size() == 1) {
      result = co_await uring::Write(file_.fd, pending[0].iov_base, pending[0].iov_len, offset + done);
    } else if (read) {
      result = co_await uring::Readv(file_.fd, pending.data(), pending.size(), offset + done);
    } else {
      result = co_await uring::Writev(file_.fd, pending.data(), pending.size(), offset + done);
    }
    if (result == -EINTR || result == -EAGAIN) continue;
    if (result < 0) co_return Failure(type, offset, length, -result);
    if (result == 0) co_return Failure(type, offset, length, EIO);  // end of file inside the device
    done += static_cast<uint64_t>(result);
    if (done < length) {
      rest.clear();
      IovSlice(iov, done, length - done, rest);
    }
  }
  co_return OkStatus();
}

Result<OpenedFile> OpenBacking(const UringBdevOptions& options, bool direct) {
  int flags = (options.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | (direct ? O_DIRECT : 0);
  if (options.create_size != 0 && !options.read_only) flags |= O_CREAT;
  OpenedFile file;
  file.direct = direct;
  file.fd = open(options.path.c_str(), flags, 0644);
  if (file.fd < 0) {
    int error = errno;
    if (error == ENOENT) {
      return MakeError(ENOENT, "image file %s does not exist%s", options.path,
                       flags & O_CREAT ? " and its directory is missing"
                                       : " (give a size to create it)");
    }
    if (error == EISDIR) {  // open() refuses to write to a directory before fstat can tell
      return MakeError(EINVAL, "%s is neither a regular file nor a block device", options.path);
    }
    return MakeError(error, "cannot open %s%s: %s", options.path, direct ? " with O_DIRECT" : "",
                     strerror(error));
  }
  auto fail = [&](Error error) {
    close(file.fd);
    return error;
  };
  struct stat st;
  if (fstat(file.fd, &st) != 0) return fail(MakeError(errno, "fstat %s: %s", options.path, strerror(errno)));
  if (S_ISBLK(st.st_mode)) {
    file.is_block_device = true;
    int sector = 0;
    if (ioctl(file.fd, BLKGETSIZE64, &file.size) != 0 || ioctl(file.fd, BLKSSZGET, &sector) != 0) {
      return fail(MakeError(errno, "cannot read the geometry of block device %s: %s", options.path,
                            strerror(errno)));
    }
    file.logical_block_size = static_cast<uint32_t>(sector);
    file.dio_mem_align = file.dio_offset_align = file.logical_block_size;
  } else if (S_ISREG(st.st_mode)) {
    file.size = static_cast<uint64_t>(st.st_size);
    if (options.create_size > file.size && !options.read_only) {
      if (ftruncate(file.fd, static_cast<off_t>(options.create_size)) != 0) {
        return fail(MakeError(errno, "cannot size %s to %lu bytes: %s", options.path,
                              options.create_size, strerror(errno)));
      }
      file.size = options.create_size;
    }
  } else {
    return fail(MakeError(EINVAL, "%s is neither a regular file nor a block device", options.path));
  }
  struct statx sx;
  if (statx(file.fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 && (sx.stx_mask & STATX_DIOALIGN)) {
    file.dio_mem_align = sx.stx_dio_mem_align;
    file.dio_offset_align = sx.stx_dio_offset_align;
  }
  return file;
}

uint32_t ChooseBlockSize(const UringBdevOptions& options, const OpenedFile& file) {
  if (options.block_size != 0) return options.block_size;
  if (file.is_block_device) return file.logical_block_size;
  return std::max<uint32_t>(4096, file.dio_offset_align);
}

}  // namespace

Result<std::shared_ptr<Bdev>> CreateUringBdev(BdevRegistry& registry, std::string name,
                                              const UringBdevOptions& options) {
  bool want_direct = options.direct != DirectIo::kOff;
  auto opened = OpenBacking(options, want_direct);
  if (!opened.ok() && want_direct && opened.error().code() == EINVAL &&
      options.direct == DirectIo::kAuto) {
    want_direct = false;  // the file system refuses O_DIRECT
    opened = OpenBacking(options, false);
  }
  if (!opened.ok()) return opened.error();
  OpenedFile file = *opened;
  const uint32_t block_size = ChooseBlockSize(options, file);
  if (file.direct) {
    std::string why;
    if (file.dio_offset_align == 0) {
      why = "the file system does not support direct I/O on it";
    } else if (block_size % file.dio_offset_align != 0) {
      why = absl::StrFormat("block size %u is not a multiple of its direct I/O alignment %u",
                            block_size, file.dio_offset_align);
    }
    if (!why.empty()) {
      close(file.fd);
      if (options.direct == DirectIo::kOn) {
        return MakeError(EINVAL, "uring bdev '%s': O_DIRECT on %s impossible: %s", name,
                         options.path, why);
      }
      LOG(INFO) << "uring bdev '" << name << "': buffered I/O on " << options.path << ": " << why;
      ASSIGN_OR_RETURN(file, OpenBacking(options, false));
    }
  }
  if (file.size < block_size) {
    close(file.fd);
    return MakeError(EINVAL, "image %s is too small: %lu bytes, less than one %u-byte block",
                     options.path, file.size, block_size);
  }
  if (options.create_size != 0 && file.size < options.create_size) {
    close(file.fd);
    return MakeError(EINVAL, "image %s is too small: %lu bytes, %lu wanted", options.path,
                     file.size, options.create_size);
  }
  BdevGeometry geometry;
  geometry.block_size = block_size;
  geometry.num_blocks = file.size / block_size;
  geometry.required_alignment = file.direct ? std::max<uint32_t>(1, file.dio_mem_align) : 1;
  geometry.write_cache = true;
  geometry.read_only = options.read_only;
  // io_uring lengths are 32-bit; larger requests are split by the generic layer.
  geometry.max_transfer_blocks = kMaxTransferBytes / block_size;
  if (Status valid = ValidateGeometry(name, geometry); !valid.ok()) {
    close(file.fd);
    return valid.error();
  }
  return registry.Register(
      std::move(name), geometry,
      std::make_unique<UringDriver>(options.path, file, block_size, options.queue_depth));
}

bool UringBdevUsesDirectIo(Bdev& bdev) {
  auto* driver = dynamic_cast<UringDriver*>(&bdev.driver());
  return driver != nullptr && driver->direct();
}

}  // namespace blobfs
