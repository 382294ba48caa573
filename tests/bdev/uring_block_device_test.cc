// The uring module on a real block device: a loop device over a temporary file, with 512- and
// 4096-byte logical sectors. Covers the block-device paths a regular file never takes (size and
// sector size from ioctls, O_DIRECT alignment from the sector size). Needs root and loop devices;
// skipped (with the reason) where they are unavailable.
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <string>
#include <vector>

#include "bdev/bdev.h"
#include "bdev/registry.h"
#include "bdev/uring_bdev.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h

constexpr uint64_t kImageSize = 16 << 20;

// Runs `command` and returns its first output line, or "" when it fails.
std::string FirstLineOf(const std::string& command) {
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return "";
  std::array<char, 256> line{};
  bool got = fgets(line.data(), line.size(), pipe) != nullptr;
  int status = pclose(pipe);
  if (!got || status != 0) return "";
  std::string text(line.data());
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

// A loop device over a fresh sparse file; detached on destruction.
class LoopDevice {
 public:
  LoopDevice(const std::string& backing, uint32_t sector_size) : backing_(backing) {
    int fd = open(backing.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_CLOEXEC, 0600);
    PCHECK(fd >= 0) << backing;
    PCHECK(ftruncate(fd, kImageSize) == 0);
    close(fd);
    if (geteuid() != 0) return;
    device_ = FirstLineOf("losetup --find --show --sector-size " + std::to_string(sector_size) +
                          " " + backing + " 2>/dev/null");
  }
  ~LoopDevice() {
    if (!device_.empty()) FirstLineOf("losetup --detach " + device_ + " && echo detached");
  }
  const std::string& device() const { return device_; }

 private:
  std::string backing_;
  std::string device_;  // empty when no loop device could be set up
};

Task<void> RoundTrip(BdevRegistry* registry, uint32_t block_size) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open("loop", OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  // Unaligned memory forces the bounce path; the offset is a sector, not a page.
  std::vector<std::byte> data = Pattern(8 * block_size + 1, 5);
  std::span<const std::byte> unaligned = std::span(data).subspan(1);
  CO_ASSERT_OK(co_await channel->Write(block_size, unaligned));
  std::vector<std::byte> back(8 * block_size);
  CO_ASSERT_OK(co_await channel->Read(block_size, back));
  EXPECT_TRUE(SameBytes(back, unaligned));
  CO_ASSERT_OK(co_await channel->WriteZeroes(2 * block_size, 2 * block_size));
  CO_ASSERT_OK(co_await channel->Read(2 * block_size, std::span(back).first(2 * block_size)));
  EXPECT_TRUE(AllZero(std::span(back).first(2 * block_size)));
  CO_ASSERT_OK(co_await channel->Flush());
  // The last block of the device, and one past it.
  const uint64_t last = kImageSize - block_size;
  CO_ASSERT_OK(co_await channel->Write(last, unaligned.first(block_size)));
  Status past = co_await channel->Write(kImageSize, unaligned.first(block_size));
  EXPECT_EQ(ErrCode(past), EINVAL) << ErrText(past);
  CO_ASSERT_OK(co_await channel->Flush());
}

class UringBlockDeviceTest : public ::testing::TestWithParam<uint32_t> {
 protected:
  void SetUp() override { reactor_ = NewReactor(); }
  TempDir dir_;
  std::unique_ptr<Reactor> reactor_;
  BdevRegistry registry_;
};

TEST_P(UringBlockDeviceTest, GeometryComesFromTheDeviceAndDataRoundTrips) {
  const uint32_t sector = GetParam();
  LoopDevice loop(dir_.File("backing.img"), sector);
  if (loop.device().empty()) GTEST_SKIP() << "no loop device (needs root and losetup)";
  UringBdevOptions options;
  options.path = loop.device();
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> bdev, CreateUringBdev(registry_, "loop", options));
  EXPECT_EQ(bdev->geometry().block_size, sector);
  EXPECT_EQ(bdev->geometry().size_bytes(), kImageSize);
  EXPECT_TRUE(UringBdevUsesDirectIo(*bdev));
  EXPECT_GE(bdev->geometry().required_alignment, 512u);
  RunSync(*reactor_, RoundTrip(&registry_, sector));
  ASSERT_OK(registry_.Unregister("loop"));
  bdev.reset();

  // What the loop device flushed is in its backing file.
  std::vector<std::byte> expected = Pattern(8 * sector + 1, 5);
  std::vector<std::byte> on_file(sector);
  int fd = open(dir_.File("backing.img").c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(pread(fd, on_file.data(), sector, sector), static_cast<ssize_t>(sector));
  close(fd);
  EXPECT_TRUE(SameBytes(on_file, std::span(expected).subspan(1, sector)));
}

INSTANTIATE_TEST_SUITE_P(SectorSizes, UringBlockDeviceTest, ::testing::Values(512u, 4096u));

TEST(UringBlockDeviceRefusalTest, BlockSizeBelowTheSectorSizeIsRefusedWithDirectIo) {
  TempDir dir;
  BdevRegistry registry;
  LoopDevice loop(dir.File("backing.img"), 4096);
  if (loop.device().empty()) GTEST_SKIP() << "no loop device (needs root and losetup)";
  UringBdevOptions options;
  options.path = loop.device();
  options.block_size = 512;
  options.direct = DirectIo::kOn;
  auto bdev = CreateUringBdev(registry, "loop", options);
  EXPECT_EQ(ErrCode(bdev), EINVAL) << ErrText(bdev);
  EXPECT_NE(ErrText(bdev).find("alignment"), std::string::npos) << ErrText(bdev);
}

}  // namespace
}  // namespace blobfs
