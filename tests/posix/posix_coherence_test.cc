// Coherence of the page cache with writes that go around it, as on Linux local filesystems: after
// a direct write (O_DIRECT, synchronous or asynchronous through Linux AIO) or a write through
// another handle completes, a buffered read or a shared mapping shows the new bytes, however busy
// buffered readers kept the pages meanwhile. Part of the POSIX suite (posix_conformance_test.cc
// has how it runs).
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>
#include <thread>

#include "posix_test_util.h"

namespace posix_test {
namespace {

using CoherenceTest = PosixTest;

constexpr size_t kRange = 640 * 1024;

// An aligned buffer for O_DIRECT, filled with `fill`.
struct AlignedBuffer {
  explicit AlignedBuffer(char fill) {
    data = static_cast<char*>(
        mmap(nullptr, kRange, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    memset(data, fill, kRange);
  }
  ~AlignedBuffer() { munmap(data, kRange); }
  char* data;
};

void FillFile(const char* path, char fill) {
  const int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << ErrnoName(errno);
  const std::string data(kRange, fill);
  ASSERT_EQ(pwrite(fd, data.data(), data.size(), 0), static_cast<ssize_t>(kRange));
  ASSERT_EQ(fsync(fd), 0);
  close(fd);
}

// The first byte of `fd` at `offset` that differs from `expected`, or -1.
long FirstMismatch(int fd, char expected) {
  std::string seen(kRange, '\0');
  if (pread(fd, seen.data(), kRange, 0) != static_cast<ssize_t>(kRange)) return 0;
  for (size_t i = 0; i < kRange; ++i) {
    if (seen[i] != expected) return static_cast<long>(i);
  }
  return -1;
}

// Linux AIO through its system calls (no libaio): one write, waited for.
class Aio {
 public:
  Aio() { ok_ = syscall(SYS_io_setup, 1, &context_) == 0; }
  ~Aio() {
    if (ok_) syscall(SYS_io_destroy, context_);
  }
  bool ok() const { return ok_; }
  long Write(int fd, const char* data, size_t size, off_t offset) {
    iocb cb{};
    cb.aio_fildes = fd;
    cb.aio_lio_opcode = IOCB_CMD_PWRITE;
    cb.aio_buf = reinterpret_cast<uint64_t>(data);
    cb.aio_nbytes = size;
    cb.aio_offset = offset;
    iocb* list[1] = {&cb};
    if (syscall(SYS_io_submit, context_, 1, list) != 1) return -errno;
    io_event event{};
    if (syscall(SYS_io_getevents, context_, 1, 1, &event, nullptr) != 1) return -errno;
    return static_cast<long>(event.res);
  }

 private:
  aio_context_t context_ = 0;
  bool ok_ = false;
};

// Buffered readers (two, each opening the file anew, as xfstests' generic/451 has them) keep
// refilling the pages while direct writes of ever new bytes complete, for `duration`; each
// completed write must be what the next buffered read sees. A stale page shows up within a few
// hundred to a few thousand rounds when nothing drops it after the write.
void CheckDirectWritesWhileReadersRead(bool asynchronous, std::chrono::seconds duration) {
  FillFile("f", '0');
  const int direct = open("f", O_RDWR | O_DIRECT);
  ASSERT_GE(direct, 0) << ErrnoName(errno);
  const int buffered = open("f", O_RDONLY);
  ASSERT_GE(buffered, 0) << ErrnoName(errno);
  Aio aio;
  ASSERT_TRUE(aio.ok()) << "io_setup: " << ErrnoName(errno);
  std::atomic<bool> stop{false};
  auto read_loop = [&] {
    std::string sink(kRange, '\0');
    while (!stop.load()) {
      const int fd = open("f", O_RDONLY);
      if (fd < 0 || pread(fd, sink.data(), kRange, 0) < 0) break;
      close(fd);
    }
  };
  std::thread reader(read_loop);
  std::thread reader2(read_loop);
  int stale = 0;
  const auto end = std::chrono::steady_clock::now() + duration;
  for (int round = 0; std::chrono::steady_clock::now() < end && stale == 0; ++round) {
    const char fill = static_cast<char>('a' + round % 26);
    AlignedBuffer buffer(fill);
    const long written = asynchronous ? aio.Write(direct, buffer.data, kRange, 0)
                                      : pwrite(direct, buffer.data, kRange, 0);
    ASSERT_EQ(written, static_cast<long>(kRange)) << "round " << round;
    const long mismatch = FirstMismatch(buffered, fill);
    if (mismatch >= 0) {
      ADD_FAILURE() << "round " << round << ": a buffered read after the direct write shows old "
                    << "bytes from offset " << mismatch;
      ++stale;
    }
  }
  stop = true;
  reader.join();
  reader2.join();
  close(buffered);
  close(direct);
}

TEST_F(CoherenceTest, BufferedReadsSeeAsynchronousDirectWritesAtOnce) {
  CheckDirectWritesWhileReadersRead(true, std::chrono::seconds(6));
}

TEST_F(CoherenceTest, BufferedReadsSeeSynchronousDirectWritesAtOnce) {
  CheckDirectWritesWhileReadersRead(false, std::chrono::seconds(2));
}

TEST_F(CoherenceTest, MappingsAndOtherHandlesSeeWritesThroughAWriteOnlyHandle) {
  FillFile("f", '0');
  const int reader = open("f", O_RDONLY);
  ASSERT_GE(reader, 0) << ErrnoName(errno);
  void* mapped = mmap(nullptr, kRange, PROT_READ, MAP_SHARED, reader, 0);
  ASSERT_NE(mapped, MAP_FAILED) << ErrnoName(errno);
  const char* view = static_cast<const char*>(mapped);
  for (char fill : {'x', 'y', 'z'}) {
    EXPECT_EQ(FirstMismatch(reader, view[0]), -1);  // Pages cached, through both.
    const int writer = open("f", O_WRONLY);
    ASSERT_GE(writer, 0) << ErrnoName(errno);
    const std::string data(kRange, fill);
    ASSERT_EQ(pwrite(writer, data.data(), kRange, 0), static_cast<ssize_t>(kRange));
    close(writer);
    EXPECT_EQ(FirstMismatch(reader, fill), -1) << "through the other handle";
    EXPECT_EQ(view[0], fill) << "through the mapping";
    EXPECT_EQ(view[kRange - 1], fill) << "through the mapping";
  }
  munmap(mapped, kRange);
  close(reader);
}

}  // namespace
}  // namespace posix_test
