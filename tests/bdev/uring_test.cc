// The uring module: opening and creating image files, refusing what is not a usable image,
// choosing O_DIRECT, read-only images, flush, and data persisting across close and re-open.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bdev/bdev.h"
#include "bdev/registry.h"
#include "bdev/uring_bdev.h"
#include "common/when_all.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h
using ::testing::HasSubstr;

constexpr uint32_t kBlock = 4096;

// Writes `size` bytes of `data` (or zeroes) to a new file.
void MakeFile(const std::string& path, size_t size, std::span<const std::byte> data = {}) {
  int fd = open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0644);
  PCHECK(fd >= 0) << path;
  std::vector<std::byte> contents(size);
  std::copy(data.begin(), data.begin() + std::min(data.size(), size), contents.begin());
  PCHECK(write(fd, contents.data(), size) == static_cast<ssize_t>(size));
  close(fd);
}

std::vector<std::byte> ReadFile(const std::string& path, uint64_t offset, size_t size) {
  std::vector<std::byte> data(size);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  PCHECK(fd >= 0) << path;
  PCHECK(pread(fd, data.data(), size, static_cast<off_t>(offset)) == static_cast<ssize_t>(size));
  close(fd);
  return data;
}

int64_t FileSize(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return -1;
  return st.st_size;
}

UringBdevOptions Options(const std::string& path, uint64_t create_size = 0,
                         DirectIo direct = DirectIo::kAuto) {
  UringBdevOptions options;
  options.path = path;
  options.create_size = create_size;
  options.direct = direct;
  return options;
}

class UringBdevTest : public ::testing::Test {
 protected:
  void SetUp() override { reactor_ = bdev_test::NewReactor(); }

  TempDir dir_;
  std::unique_ptr<Reactor> reactor_;
  BdevRegistry registry_;
};

TEST_F(UringBdevTest, MissingFileIsEnoentNamingThePath) {
  const std::string path = dir_.File("missing.img");
  auto bdev = CreateUringBdev(registry_, "u", Options(path));
  ASSERT_FALSE(bdev.ok());
  EXPECT_EQ(bdev.error().code(), ENOENT);
  EXPECT_THAT(bdev.error().message(), HasSubstr(path));
  EXPECT_EQ(FileSize(path), -1) << "nothing is created without create_size";
  EXPECT_EQ(registry_.Find("u"), nullptr);
}

TEST_F(UringBdevTest, CreateSizeCreatesTheFile) {
  const std::string path = dir_.File("new.img");
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> bdev,
                        CreateUringBdev(registry_, "u", Options(path, 8 << 20)));
  EXPECT_EQ(FileSize(path), 8 << 20);
  EXPECT_STREQ(bdev->module_name(), "uring");
  EXPECT_EQ(bdev->geometry().block_size, kBlock);
  EXPECT_EQ(bdev->geometry().num_blocks, (8u << 20) / kBlock);
  EXPECT_TRUE(bdev->geometry().write_cache);
  EXPECT_TRUE(bdev->Supports(IoType::kFlush));
  EXPECT_EQ(registry_.Find("u"), bdev);
}

Task<void> ReadBack(BdevRegistry* registry, std::string name, uint64_t offset,
                    std::vector<std::byte>* out) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open(name, OpenMode::kReadOnly));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  CO_ASSERT_OK(co_await channel->Read(offset, *out));
}

TEST_F(UringBdevTest, CreateSizeGrowsASmallerFileAndKeepsItsData) {
  const std::string path = dir_.File("grow.img");
  const std::vector<std::byte> head = Pattern(2 * kBlock, 1);
  MakeFile(path, 2 * kBlock, head);
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> bdev,
                        CreateUringBdev(registry_, "u", Options(path, 1 << 20)));
  EXPECT_EQ(FileSize(path), 1 << 20);
  EXPECT_EQ(bdev->geometry().num_blocks, 256u);
  std::vector<std::byte> back(4 * kBlock);
  RunSync(*reactor_, ReadBack(&registry_, "u", 0, &back));
  EXPECT_TRUE(SameBytes(std::span(back).first(2 * kBlock), head));
  EXPECT_TRUE(AllZero(std::span(back).subspan(2 * kBlock)));
}

TEST_F(UringBdevTest, ALargerFileKeepsItsSize) {
  const std::string path = dir_.File("big.img");
  MakeFile(path, 64 * kBlock);
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> bdev,
                        CreateUringBdev(registry_, "u", Options(path, 16 * kBlock)));
  EXPECT_EQ(FileSize(path), 64 * kBlock);
  EXPECT_EQ(bdev->geometry().num_blocks, 64u);
}

TEST_F(UringBdevTest, FileSmallerThanOneBlockIsEinvalTooSmall) {
  const int fds_before = bdev_test::OpenFdCount();
  for (size_t size : {size_t{0}, size_t{100}, size_t{kBlock - 1}}) {
    SCOPED_TRACE(size);
    const std::string path = dir_.File("tiny" + std::to_string(size));
    MakeFile(path, size);
    auto bdev = CreateUringBdev(registry_, "u", Options(path));
    ASSERT_FALSE(bdev.ok());
    EXPECT_EQ(bdev.error().code(), EINVAL);
    EXPECT_THAT(bdev.error().message(), HasSubstr("too small"));
    EXPECT_THAT(bdev.error().message(), HasSubstr(path));
  }
  // A trailing partial block is simply not part of the device.
  const std::string odd = dir_.File("odd");
  MakeFile(odd, 3 * kBlock + 100);
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> bdev,
                        CreateUringBdev(registry_, "odd", Options(odd)));
  EXPECT_EQ(bdev->geometry().num_blocks, 3u);
  ASSERT_OK(registry_.Unregister("odd"));
  bdev.reset();
  EXPECT_EQ(bdev_test::OpenFdCount(), fds_before) << "a refused image leaked its descriptor";
}

TEST_F(UringBdevTest, DirectoriesAndCharacterDevicesAreEinval) {
  const int fds_before = bdev_test::OpenFdCount();
  for (DirectIo direct : {DirectIo::kAuto, DirectIo::kOff}) {
    for (bool read_only : {false, true}) {
      SCOPED_TRACE(testing::Message()
                   << "direct=" << static_cast<int>(direct) << " read_only=" << read_only);
      UringBdevOptions directory = Options(dir_.path(), 0, direct);
      directory.read_only = read_only;
      auto from_directory = CreateUringBdev(registry_, "d", directory);
      EXPECT_EQ(ErrCode(from_directory), EINVAL) << ErrText(from_directory);
      EXPECT_THAT(ErrText(from_directory), HasSubstr(dir_.path()));

      UringBdevOptions null = Options("/dev/null", 0, direct);
      null.read_only = read_only;
      auto from_null = CreateUringBdev(registry_, "n", null);
      EXPECT_EQ(ErrCode(from_null), EINVAL) << ErrText(from_null);
      EXPECT_THAT(ErrText(from_null), HasSubstr("/dev/null"));
    }
  }
  EXPECT_EQ(registry_.Names().size(), 0u);
  EXPECT_EQ(bdev_test::OpenFdCount(), fds_before);
}

// Whether `dir`'s file system reports a direct I/O alignment for its files (statx DIOALIGN).
bool FileSystemDoesDirectIo(const std::string& dir) {
  const std::string probe = dir + "/probe";
  MakeFile(probe, kBlock);
  int fd = open(probe.c_str(), O_RDWR | O_DIRECT | O_CLOEXEC);
  bool works = false;
  if (fd >= 0) {
    struct statx sx;
    works = statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) == 0 &&
            (sx.stx_mask & STATX_DIOALIGN) != 0 && sx.stx_dio_offset_align != 0 &&
            kBlock % sx.stx_dio_offset_align == 0;
    close(fd);
  }
  unlink(probe.c_str());
  return works;
}

Task<void> WriteAndCheck(BdevRegistry* registry, std::string name) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open(name, OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  const std::vector<std::byte> data = Pattern(3 * kBlock, 7);
  // A std::vector is not necessarily aligned for O_DIRECT: the layer bounces it when needed.
  std::vector<std::byte> storage(3 * kBlock + 1);
  std::copy(data.begin(), data.end(), storage.begin() + 1);
  CO_ASSERT_OK(co_await channel->Write(kBlock, std::span(storage).subspan(1, 3 * kBlock)));
  std::vector<std::byte> back(3 * kBlock + 1);
  CO_ASSERT_OK(co_await channel->Read(kBlock, std::span(back).subspan(1, 3 * kBlock)));
  EXPECT_TRUE(SameBytes(std::span(back).subspan(1), data));
  CO_ASSERT_OK(co_await channel->Flush());
}

// Checks kOn, kAuto and kOff on the file system of `dir`: kOn either uses O_DIRECT or fails with
// EINVAL; kAuto uses it exactly when kOn can; kOff never does. I/O works in every case.
void CheckDirectModes(const std::string& dir, BdevRegistry& registry, Reactor& reactor) {
  const bool can = FileSystemDoesDirectIo(dir);
  SCOPED_TRACE(dir + (can ? " (direct I/O expected to work)" : " (no direct I/O)"));
  const std::string path = dir + "/direct.img";

  auto on = CreateUringBdev(registry, "on", Options(path, 1 << 20, DirectIo::kOn));
  if (can) {
    ASSERT_TRUE(on.ok()) << ErrText(on);
    EXPECT_TRUE(UringBdevUsesDirectIo(**on));
    EXPECT_GT((*on)->geometry().required_alignment, 1u);
    RunSync(reactor, WriteAndCheck(&registry, "on"));
    ASSERT_OK(registry.Unregister("on"));
  } else {
    ASSERT_FALSE(on.ok());
    EXPECT_EQ(on.error().code(), EINVAL) << ErrText(on);
    EXPECT_THAT(on.error().message(), HasSubstr("O_DIRECT"));
  }

  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> automatic,
                        CreateUringBdev(registry, "auto", Options(path, 1 << 20, DirectIo::kAuto)));
  EXPECT_EQ(UringBdevUsesDirectIo(*automatic), can);
  RunSync(reactor, WriteAndCheck(&registry, "auto"));
  ASSERT_OK(registry.Unregister("auto"));

  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> off,
                        CreateUringBdev(registry, "off", Options(path, 1 << 20, DirectIo::kOff)));
  EXPECT_FALSE(UringBdevUsesDirectIo(*off));
  EXPECT_EQ(off->geometry().required_alignment, 1u);
  RunSync(reactor, WriteAndCheck(&registry, "off"));
  ASSERT_OK(registry.Unregister("off"));
}

TEST_F(UringBdevTest, DirectIoOnTheTemporaryDirectory) {
  CheckDirectModes(dir_.path(), registry_, *reactor_);
}

TEST_F(UringBdevTest, DirectIoOnTmpfs) {
  struct stat st;
  if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode)) GTEST_SKIP() << "no /dev/shm";
  TempDir shm("/dev/shm");
  CheckDirectModes(shm.path(), registry_, *reactor_);
}

TEST_F(UringBdevTest, DirectIoWith512ByteBlocksDependsOnTheAlignment) {
  if (!FileSystemDoesDirectIo(dir_.path())) GTEST_SKIP() << "no direct I/O here";
  struct statx sx;
  const std::string probe = dir_.File("probe");
  MakeFile(probe, kBlock);
  ASSERT_EQ(statx(AT_FDCWD, probe.c_str(), 0, STATX_DIOALIGN, &sx), 0);
  UringBdevOptions options = Options(dir_.File("small.img"), 1 << 20, DirectIo::kOn);
  options.block_size = 512;
  auto on = CreateUringBdev(registry_, "on", options);
  if (sx.stx_dio_offset_align <= 512) {
    // 512-byte blocks are a multiple of the direct I/O alignment: O_DIRECT it is.
    ASSERT_TRUE(on.ok()) << ErrText(on);
    EXPECT_TRUE(UringBdevUsesDirectIo(**on));
    EXPECT_EQ((*on)->geometry().block_size, 512u);
    RunSync(*reactor_, WriteAndCheck(&registry_, "on"));
  } else {
    // Too small for direct I/O here: kOn refuses, kAuto falls back to buffered I/O.
    EXPECT_EQ(ErrCode(on), EINVAL) << ErrText(on);
    options.direct = DirectIo::kAuto;
    ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> fallback,
                          CreateUringBdev(registry_, "auto", options));
    EXPECT_FALSE(UringBdevUsesDirectIo(*fallback));
    RunSync(*reactor_, WriteAndCheck(&registry_, "auto"));
  }
}

TEST_F(UringBdevTest, BlockSizeOption) {
  UringBdevOptions options = Options(dir_.File("b.img"), 1 << 20, DirectIo::kOff);
  options.block_size = 512;
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> bdev, CreateUringBdev(registry_, "b", options));
  EXPECT_EQ(bdev->geometry().block_size, 512u);
  EXPECT_EQ(bdev->geometry().num_blocks, 2048u);
  const int fds_before = bdev_test::OpenFdCount();
  options.block_size = 1000;
  auto bad = CreateUringBdev(registry_, "bad", options);
  EXPECT_EQ(ErrCode(bad), EINVAL) << ErrText(bad);
  EXPECT_EQ(bdev_test::OpenFdCount(), fds_before);
  // A taken name: the file opened for it is closed again.
  auto taken = CreateUringBdev(registry_, "b", Options(dir_.File("b.img")));
  EXPECT_EQ(ErrCode(taken), EEXIST) << ErrText(taken);
  EXPECT_EQ(bdev_test::OpenFdCount(), fds_before);
}

// Whether fallocate(mode) works on files in `dir`.
bool FallocateWorks(const std::string& dir, int mode) {
  const std::string probe = dir + "/fallocate-probe";
  MakeFile(probe, 4 * kBlock);
  int fd = open(probe.c_str(), O_RDWR | O_CLOEXEC);
  PCHECK(fd >= 0);
  bool works = fallocate(fd, mode, kBlock, kBlock) == 0;
  close(fd);
  unlink(probe.c_str());
  return works;
}

Task<void> ZeroAndUnmap(BdevRegistry* registry, std::string name) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open(name, OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  const std::vector<std::byte> data = Pattern(16 * kBlock, 13);
  CO_ASSERT_OK(co_await channel->Write(0, data));
  CO_ASSERT_OK(co_await channel->WriteZeroes(2 * kBlock, 3 * kBlock));
  CO_ASSERT_OK(co_await channel->WriteZeroes(8 * kBlock, 2 * kBlock));  // after any fallback
  if (channel->bdev().Supports(IoType::kUnmap)) {
    CO_ASSERT_OK(co_await channel->Unmap(12 * kBlock, kBlock));
  } else {
    CO_ASSERT_OK(co_await channel->WriteZeroes(12 * kBlock, kBlock));
  }
  std::vector<std::byte> back(16 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(0, back));
  std::vector<std::byte> want = data;
  std::fill(want.begin() + 2 * kBlock, want.begin() + 5 * kBlock, std::byte{0});
  std::fill(want.begin() + 8 * kBlock, want.begin() + 10 * kBlock, std::byte{0});
  std::fill(want.begin() + 12 * kBlock, want.begin() + 13 * kBlock, std::byte{0});
  EXPECT_TRUE(SameBytes(back, want));
}

// write_zeroes is fallocate(ZERO_RANGE) where the file system has it and falls back to writing
// zeroes where it does not (tmpfs), learning that on the first attempt; unmap punches holes.
void CheckZeroing(const std::string& dir, BdevRegistry& registry, Reactor& reactor) {
  const bool zero_range = FallocateWorks(dir, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE);
  const bool punch_hole = FallocateWorks(dir, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE);
  SCOPED_TRACE(dir + (zero_range ? " (zero range)" : " (no zero range)") +
               (punch_hole ? " (punch hole)" : " (no punch hole)"));
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> bdev,
                        CreateUringBdev(registry, "z", Options(dir + "/zero.img", 1 << 20)));
  RunSync(reactor, ZeroAndUnmap(&registry, "z"));
  EXPECT_EQ(bdev->Supports(IoType::kWriteZeroes), zero_range);
  EXPECT_EQ(bdev->Supports(IoType::kUnmap), punch_hole);
  ASSERT_OK(registry.Unregister("z"));
}

TEST_F(UringBdevTest, WriteZeroesAndUnmapOnTheTemporaryDirectory) {
  CheckZeroing(dir_.path(), registry_, *reactor_);
}

TEST_F(UringBdevTest, WriteZeroesAndUnmapOnTmpfs) {
  struct stat st;
  if (stat("/dev/shm", &st) != 0 || !S_ISDIR(st.st_mode)) GTEST_SKIP() << "no /dev/shm";
  TempDir shm("/dev/shm");
  CheckZeroing(shm.path(), registry_, *reactor_);
}

Task<void> ReadOnlyImage(BdevRegistry* registry, const std::vector<std::byte>* contents) {
  // A read-only image makes a read-only bdev: opening it for writing is refused up front.
  auto writable = registry->Open("ro", OpenMode::kReadWrite);
  EXPECT_EQ(ErrCode(writable), EROFS) << ErrText(writable);
  EXPECT_THAT(ErrText(writable), HasSubstr("read-only"));
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open("ro", OpenMode::kReadOnly));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  std::vector<std::byte> back(2 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(0, back));
  EXPECT_TRUE(SameBytes(back, std::span(*contents).first(2 * kBlock)));
  const std::vector<std::byte> data = Pattern(kBlock, 9);
  Status write = co_await channel->Write(0, data);
  EXPECT_EQ(ErrCode(write), EBADF) << ErrText(write);
}

TEST_F(UringBdevTest, ReadOnlyImageRefusesWrites) {
  const std::string path = dir_.File("ro.img");
  const std::vector<std::byte> contents = Pattern(16 * kBlock, 3);
  MakeFile(path, contents.size(), contents);
  chmod(path.c_str(), 0444);
  UringBdevOptions options = Options(path);
  options.read_only = true;
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> bdev, CreateUringBdev(registry_, "ro", options));
  EXPECT_EQ(bdev->geometry().num_blocks, 16u);
  RunSync(*reactor_, ReadOnlyImage(&registry_, &contents));
  EXPECT_TRUE(SameBytes(ReadFile(path, 0, contents.size()), contents));

  // read_only never creates or grows a file.
  UringBdevOptions missing = Options(dir_.File("absent.img"), 1 << 20);
  missing.read_only = true;
  EXPECT_EQ(ErrCode(CreateUringBdev(registry_, "absent", missing)), ENOENT);
  EXPECT_EQ(FileSize(dir_.File("absent.img")), -1);
  UringBdevOptions grow = Options(path, 1 << 20);
  grow.read_only = true;
  auto not_grown = CreateUringBdev(registry_, "grow", grow);
  EXPECT_EQ(ErrCode(not_grown), EINVAL) << ErrText(not_grown);
  EXPECT_THAT(ErrText(not_grown), HasSubstr("too small"));
  EXPECT_EQ(FileSize(path), static_cast<int64_t>(contents.size()));
}

Task<void> WriteAt(BdevRegistry* registry, std::string name, uint64_t offset,
                   const std::vector<std::byte>* data) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open(name, OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  CO_ASSERT_OK(co_await channel->Write(offset, *data));
  CO_ASSERT_OK(co_await channel->Flush());
}

TEST_F(UringBdevTest, DataPersistsAcrossCloseAndReopen) {
  const std::string path = dir_.File("persist.img");
  const std::vector<std::byte> data = Pattern(5 * kBlock, 11);
  std::weak_ptr<Bdev> weak;
  {
    ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> first,
                          CreateUringBdev(registry_, "first", Options(path, 1 << 20)));
    weak = first;
  }
  RunSync(*reactor_, WriteAt(&registry_, "first", 7 * kBlock, &data));
  ASSERT_OK(registry_.Unregister("first"));
  EXPECT_TRUE(weak.expired());  // the bdev is gone and its file closed
  // The bytes are in the file...
  EXPECT_TRUE(SameBytes(ReadFile(path, 7 * kBlock, data.size()), data));
  // ...and a new bdev over it (without create_size) reads them back.
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> again,
                        CreateUringBdev(registry_, "second", Options(path)));
  EXPECT_EQ(again->geometry().num_blocks, 256u);
  std::vector<std::byte> back(5 * kBlock);
  RunSync(*reactor_, ReadBack(&registry_, "second", 7 * kBlock, &back));
  EXPECT_TRUE(SameBytes(back, data));
}

Task<Status> WriteThenVerify(BdevChannel* channel, uint64_t block) {
  const std::vector<std::byte> data = Pattern(kBlock, static_cast<uint32_t>(block));
  CO_RETURN_IF_ERROR(co_await channel->Write(block * kBlock, data));
  std::vector<std::byte> back(kBlock);
  CO_RETURN_IF_ERROR(co_await channel->Read(block * kBlock, back));
  if (!SameBytes(back, data)) co_return MakeError(EIO, "block %lu differs", block);
  co_return OkStatus();
}

Task<void> ManyInFlight(BdevRegistry* registry) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open("qd", OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  std::vector<Task<Status>> tasks;
  for (uint64_t block = 0; block < 64; ++block)
    tasks.push_back(WriteThenVerify(channel.get(), block));
  CO_ASSERT_OK(co_await WhenAll(std::move(tasks)));
}

TEST_F(UringBdevTest, SmallQueueDepthStillCompletesEverything) {
  UringBdevOptions options = Options(dir_.File("qd.img"), 1 << 20);
  options.queue_depth = 2;
  ASSERT_TRUE(CreateUringBdev(registry_, "qd", options).ok());
  RunSync(*reactor_, ManyInFlight(&registry_));
}

}  // namespace
}  // namespace blobfs
