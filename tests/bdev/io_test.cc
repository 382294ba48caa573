// The I/O contract of a BdevChannel, run against every module: malloc, uring over a temporary file
// (with O_DIRECT where the file system allows it, and buffered), and an error bdev without rules
// stacked on malloc. Round trips, scatter/gather, write_zeroes, unmap, flush, concurrency, and the
// validation of bad requests.
#include <sys/uio.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bdev/bdev.h"
#include "bdev/error_bdev.h"
#include "bdev/malloc_bdev.h"
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
constexpr uint64_t kDeviceSize = 4 << 20;  // 1024 blocks

enum class Module { kMalloc, kUringDirectAuto, kUringBuffered, kErrorOverMalloc };

std::string ModuleName(const ::testing::TestParamInfo<Module>& info) {
  switch (info.param) {
    case Module::kMalloc:
      return "Malloc";
    case Module::kUringDirectAuto:
      return "UringDirectAuto";
    case Module::kUringBuffered:
      return "UringBuffered";
    case Module::kErrorOverMalloc:
      return "ErrorOverMalloc";
  }
  return "Unknown";
}

std::vector<std::byte> Concat(std::span<const std::vector<std::byte>> parts) {
  std::vector<std::byte> all;
  for (const auto& part : parts) all.insert(all.end(), part.begin(), part.end());
  return all;
}

// Buffers of the given sizes, plus the iovec list over them.
struct Segments {
  explicit Segments(const std::vector<size_t>& sizes) {
    for (size_t size : sizes) buffers.emplace_back(size);
    for (auto& buffer : buffers) iov.push_back({buffer.data(), buffer.size()});
  }
  void Fill(std::span<const std::byte> data) {
    size_t at = 0;
    for (auto& buffer : buffers) {
      std::copy(data.begin() + at, data.begin() + at + buffer.size(), buffer.begin());
      at += buffer.size();
    }
  }
  std::vector<std::byte> Flat() const { return Concat(buffers); }

  std::vector<std::vector<std::byte>> buffers;
  std::vector<iovec> iov;
};

class BdevIoTest : public ::testing::TestWithParam<Module> {
 protected:
  void SetUp() override {
    reactor_ = bdev_test::NewReactor();
    switch (GetParam()) {
      case Module::kMalloc: {
        auto made = CreateMallocBdev(registry_, "dev", {.size_bytes = kDeviceSize});
        ASSERT_TRUE(made.ok()) << ErrText(made);
        break;
      }
      case Module::kUringDirectAuto:
      case Module::kUringBuffered: {
        dir_ = std::make_unique<bdev_test::TempDir>();
        UringBdevOptions options;
        options.path = dir_->File("image");
        options.create_size = kDeviceSize;
        options.direct = GetParam() == Module::kUringBuffered ? DirectIo::kOff : DirectIo::kAuto;
        auto made = CreateUringBdev(registry_, "dev", options);
        ASSERT_TRUE(made.ok()) << ErrText(made);
        if (GetParam() == Module::kUringBuffered) {
          EXPECT_FALSE(UringBdevUsesDirectIo(**made));
        }
        break;
      }
      case Module::kErrorOverMalloc: {
        auto base = CreateMallocBdev(registry_, "base", {.size_bytes = kDeviceSize});
        ASSERT_TRUE(base.ok()) << ErrText(base);
        auto made = CreateErrorBdev(registry_, "dev", "base");
        ASSERT_TRUE(made.ok()) << ErrText(made);
        ASSERT_NE(GetErrorInjector(**made), nullptr);
        break;
      }
    }
    auto descriptor = registry_.Open("dev", OpenMode::kReadWrite);
    ASSERT_TRUE(descriptor.ok()) << ErrText(descriptor);
    descriptor_ = std::move(descriptor).value();
    EXPECT_EQ(descriptor_->geometry().block_size, kBlock);
    EXPECT_EQ(descriptor_->geometry().size_bytes(), kDeviceSize);
  }

  // Runs `body(channel)` as a coroutine on the test's reactor, with a channel open for it.
  using Body = Task<void> (*)(BdevChannel*);
  void Run(Body body) { RunSync(*reactor_, WithChannel(descriptor_.get(), body)); }

  static Task<void> WithChannel(BdevDescriptor* descriptor, Body body) {
    CO_ASSIGN_OR_FAIL(std::unique_ptr<BdevChannel> channel, descriptor->OpenChannel());
    co_await body(channel.get());
  }

  // Members are destroyed in reverse: the descriptor before the registry, the file after both.
  std::unique_ptr<bdev_test::TempDir> dir_;
  std::unique_ptr<Reactor> reactor_;
  BdevRegistry registry_;
  std::unique_ptr<BdevDescriptor> descriptor_;
};

Task<void> WriteReadRoundTrip(BdevChannel* channel) {
  // A fresh device reads as zeroes.
  std::vector<std::byte> fresh(8 * kBlock, std::byte{0xee});
  CO_ASSERT_OK(co_await channel->Read(0, fresh));
  EXPECT_TRUE(AllZero(fresh));

  std::vector<std::byte> data = Pattern(3 * kBlock, 1);
  CO_ASSERT_OK(co_await channel->Write(8 * kBlock, data));
  std::vector<std::byte> back(3 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(8 * kBlock, back));
  EXPECT_TRUE(SameBytes(back, data));

  // Neighbours are untouched; an overlapping read sees both.
  std::vector<std::byte> wide(5 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(7 * kBlock, wide));
  EXPECT_TRUE(AllZero(std::span(wide).first(kBlock)));
  EXPECT_TRUE(SameBytes(std::span(wide).subspan(kBlock, 3 * kBlock), data));
  EXPECT_TRUE(AllZero(std::span(wide).last(kBlock)));

  // Overwriting part of it.
  std::vector<std::byte> patch = Pattern(kBlock, 2);
  CO_ASSERT_OK(co_await channel->Write(9 * kBlock, patch));
  CO_ASSERT_OK(co_await channel->Read(8 * kBlock, back));
  EXPECT_TRUE(SameBytes(std::span(back).first(kBlock), std::span(data).first(kBlock)));
  EXPECT_TRUE(SameBytes(std::span(back).subspan(kBlock, kBlock), patch));
  EXPECT_TRUE(SameBytes(std::span(back).last(kBlock), std::span(data).last(kBlock)));
}

TEST_P(BdevIoTest, WriteReadRoundTrip) { Run(WriteReadRoundTrip); }

Task<void> FirstAndLastBlocksAndWholeDevice(BdevChannel* channel) {
  std::vector<std::byte> first = Pattern(kBlock, 3);
  std::vector<std::byte> last = Pattern(kBlock, 4);
  CO_ASSERT_OK(co_await channel->Write(0, first));
  CO_ASSERT_OK(co_await channel->Write(kDeviceSize - kBlock, last));
  std::vector<std::byte> whole(kDeviceSize);
  CO_ASSERT_OK(co_await channel->Read(0, whole));
  EXPECT_TRUE(SameBytes(std::span(whole).first(kBlock), first));
  EXPECT_TRUE(SameBytes(std::span(whole).last(kBlock), last));
  EXPECT_TRUE(AllZero(std::span(whole).subspan(kBlock, kDeviceSize - 2 * kBlock)));

  std::vector<std::byte> everything = Pattern(kDeviceSize, 5);
  CO_ASSERT_OK(co_await channel->Write(0, everything));
  CO_ASSERT_OK(co_await channel->Read(0, whole));
  EXPECT_TRUE(SameBytes(whole, everything));
}

TEST_P(BdevIoTest, FirstAndLastBlocksAndWholeDevice) { Run(FirstAndLastBlocksAndWholeDevice); }

Task<void> ScatterGather(BdevChannel* channel) {
  const std::vector<std::byte> data = Pattern(4 * kBlock, 6);
  // Segments that split blocks at odd places, including one-byte and multi-block segments.
  Segments out({1, 4095, 100, 8092, 3, 1, 4092});
  out.Fill(data);
  CO_ASSERT_OK(co_await channel->Writev(16 * kBlock, out.iov));

  std::vector<std::byte> flat(4 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(16 * kBlock, flat));
  EXPECT_TRUE(SameBytes(flat, data));

  Segments in({7, 12000, 1, 4376});
  CO_ASSERT_OK(co_await channel->Readv(16 * kBlock, in.iov));
  EXPECT_TRUE(SameBytes(in.Flat(), data));

  // A read starting mid-way, gathered into block-sized and odd segments.
  Segments part({kBlock, 1, kBlock - 1});
  CO_ASSERT_OK(co_await channel->Readv(17 * kBlock, part.iov));
  EXPECT_TRUE(SameBytes(part.Flat(), std::span(data).subspan(kBlock, 2 * kBlock)));
}

TEST_P(BdevIoTest, ScatterGatherWithOddSegmentSplits) { Run(ScatterGather); }

Task<void> WriteZeroes(BdevChannel* channel) {
  const std::vector<std::byte> data = Pattern(8 * kBlock, 7);
  CO_ASSERT_OK(co_await channel->Write(32 * kBlock, data));
  CO_ASSERT_OK(co_await channel->WriteZeroes(34 * kBlock, 4 * kBlock));
  std::vector<std::byte> back(8 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(32 * kBlock, back));
  EXPECT_TRUE(SameBytes(std::span(back).first(2 * kBlock), std::span(data).first(2 * kBlock)));
  EXPECT_TRUE(AllZero(std::span(back).subspan(2 * kBlock, 4 * kBlock)));
  EXPECT_TRUE(SameBytes(std::span(back).last(2 * kBlock), std::span(data).last(2 * kBlock)));

  // A large range (more than the 1 MiB zero buffer used for emulation), then the whole device.
  const std::vector<std::byte> big = Pattern(2 << 20, 8);
  CO_ASSERT_OK(co_await channel->Write(kBlock, big));
  CO_ASSERT_OK(co_await channel->WriteZeroes(kBlock, big.size()));
  std::vector<std::byte> big_back(big.size(), std::byte{1});
  CO_ASSERT_OK(co_await channel->Read(kBlock, big_back));
  EXPECT_TRUE(AllZero(big_back));
  CO_ASSERT_OK(co_await channel->WriteZeroes(0, kDeviceSize));
  std::vector<std::byte> whole(kDeviceSize, std::byte{1});
  CO_ASSERT_OK(co_await channel->Read(0, whole));
  EXPECT_TRUE(AllZero(whole));
}

TEST_P(BdevIoTest, WriteZeroesThenReadZeroes) { Run(WriteZeroes); }

Task<void> Unmap(BdevChannel* channel) {
  // Every module here supports unmap (uring punches holes; /tmp file systems support that), and
  // all of them read unmapped blocks back as zeroes.
  EXPECT_TRUE(channel->bdev().Supports(IoType::kUnmap));
  const std::vector<std::byte> data = Pattern(8 * kBlock, 9);
  CO_ASSERT_OK(co_await channel->Write(64 * kBlock, data));
  Status unmapped = co_await channel->Unmap(65 * kBlock, 6 * kBlock);
  CO_ASSERT_OK(unmapped);
  std::vector<std::byte> back(8 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(64 * kBlock, back));
  EXPECT_TRUE(SameBytes(std::span(back).first(kBlock), std::span(data).first(kBlock)));
  EXPECT_TRUE(AllZero(std::span(back).subspan(kBlock, 6 * kBlock)));
  EXPECT_TRUE(SameBytes(std::span(back).last(kBlock), std::span(data).last(kBlock)));
  // Unmapped blocks can be written again.
  CO_ASSERT_OK(co_await channel->Write(66 * kBlock, std::span(data).first(kBlock)));
  std::vector<std::byte> one(kBlock);
  CO_ASSERT_OK(co_await channel->Read(66 * kBlock, one));
  EXPECT_TRUE(SameBytes(one, std::span(data).first(kBlock)));
}

TEST_P(BdevIoTest, UnmapThenReadZeroes) { Run(Unmap); }

Task<void> Flush(BdevChannel* channel) {
  EXPECT_OK(co_await channel->Flush());
  const std::vector<std::byte> data = Pattern(2 * kBlock, 10);
  CO_ASSERT_OK(co_await channel->Write(0, data));
  EXPECT_OK(co_await channel->Flush());
  std::vector<std::byte> back(2 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(0, back));
  EXPECT_TRUE(SameBytes(back, data));
}

TEST_P(BdevIoTest, FlushSucceeds) { Run(Flush); }

// Writes block `index` with a pattern seeded by it.
Task<Status> WriteBlock(BdevChannel* channel, uint64_t index, std::vector<std::byte>* data) {
  *data = Pattern(kBlock, static_cast<uint32_t>(100 + index));
  co_return co_await channel->Write(index * kBlock, *data);
}

Task<Status> CheckBlock(BdevChannel* channel, uint64_t index, const std::vector<std::byte>* want) {
  std::vector<std::byte> back(kBlock);
  Status read = co_await channel->Read(index * kBlock, back);
  if (!read.ok()) co_return read;
  if (!SameBytes(back, *want)) co_return MakeError(EIO, "block %lu differs", index);
  co_return OkStatus();
}

Task<void> ConcurrentIo(BdevChannel* channel) {
  constexpr int kCount = 200;
  std::vector<std::vector<std::byte>> data(kCount);
  std::vector<Task<Status>> writes;
  for (int i = 0; i < kCount; ++i) writes.push_back(WriteBlock(channel, 3 * i + 1, &data[i]));
  CO_ASSERT_OK(co_await WhenAll(std::move(writes)));
  std::vector<Task<Status>> reads;
  for (int i = 0; i < kCount; ++i) reads.push_back(CheckBlock(channel, 3 * i + 1, &data[i]));
  CO_ASSERT_OK(co_await WhenAll(std::move(reads)));
}

TEST_P(BdevIoTest, ManyConcurrentWritesAndReads) { Run(ConcurrentIo); }

// Checks `status` is EINVAL with a message naming the bdev and the operation.
void ExpectInvalid(const Status& status, const char* operation, const char* what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(ErrCode(status), EINVAL) << ErrText(status);
  EXPECT_THAT(ErrText(status), HasSubstr("'dev'"));
  EXPECT_THAT(ErrText(status), HasSubstr(operation));
}

Task<void> BadRequests(BdevChannel* channel) {
  std::vector<std::byte> block(kBlock);
  std::vector<std::byte> odd(kBlock + 512);
  std::vector<std::byte> two(2 * kBlock);
  // Not block multiples.
  ExpectInvalid(co_await channel->Read(100, block), "read", "misaligned read offset");
  ExpectInvalid(co_await channel->Write(512, block), "write", "misaligned write offset");
  ExpectInvalid(co_await channel->Read(0, odd), "read", "read length not a block multiple");
  ExpectInvalid(co_await channel->Write(0, odd), "write", "write length not a block multiple");
  ExpectInvalid(co_await channel->WriteZeroes(kBlock, 100), "write_zeroes", "odd zeroes length");
  ExpectInvalid(co_await channel->WriteZeroes(7, kBlock), "write_zeroes", "odd zeroes offset");
  ExpectInvalid(co_await channel->Unmap(kBlock, kBlock + 1), "unmap", "odd unmap length");
  // Empty ranges.
  ExpectInvalid(co_await channel->Read(0, std::span<std::byte>()), "read", "empty read");
  ExpectInvalid(co_await channel->Write(0, std::span<const std::byte>()), "write", "empty write");
  ExpectInvalid(co_await channel->Readv(0, std::span<const iovec>()), "read", "empty readv");
  ExpectInvalid(co_await channel->WriteZeroes(0, 0), "write_zeroes", "empty write_zeroes");
  ExpectInvalid(co_await channel->Unmap(kBlock, 0), "unmap", "empty unmap");
  // Past the end.
  ExpectInvalid(co_await channel->Read(kDeviceSize, block), "read", "read at the end");
  ExpectInvalid(co_await channel->Write(kDeviceSize - kBlock, two), "write",
                "write across the end");
  ExpectInvalid(co_await channel->Read(kDeviceSize + 64 * kBlock, block), "read",
                "far past the end");
  ExpectInvalid(co_await channel->WriteZeroes(0, kDeviceSize + kBlock), "write_zeroes",
                "zeroes longer than the device");
  ExpectInvalid(co_await channel->Unmap(kDeviceSize - kBlock, 2 * kBlock), "unmap",
                "unmap across the end");
  // Offsets near 2^64, where offset + length wraps around.
  const uint64_t huge = UINT64_MAX - (kBlock - 1);  // a block multiple
  ExpectInvalid(co_await channel->Read(huge, block), "read", "offset near 2^64");
  ExpectInvalid(co_await channel->Write(huge - kBlock, two), "write", "offset + length wraps");
  ExpectInvalid(co_await channel->WriteZeroes(kBlock, huge), "write_zeroes", "length near 2^64");
  ExpectInvalid(co_await channel->Unmap(huge, huge), "unmap", "both near 2^64");
  // More buffers than a scatter/gather list may hold.
  std::vector<std::byte> many(1028 * 1024);
  std::vector<iovec> iov;
  for (size_t i = 0; i < 1028; ++i) iov.push_back({many.data() + i * 1024, 1024});
  ExpectInvalid(co_await channel->Readv(0, iov), "read", "more than IOV_MAX buffers");
  ExpectInvalid(co_await channel->Writev(0, iov), "write", "more than IOV_MAX buffers");

  // None of the refused writes changed anything.
  std::vector<std::byte> whole(kDeviceSize, std::byte{1});
  CO_ASSERT_OK(co_await channel->Read(0, whole));
  EXPECT_TRUE(AllZero(whole));
  // The message names the offset and the length.
  Status past = co_await channel->Read(kDeviceSize, block);
  EXPECT_THAT(ErrText(past), HasSubstr("4096 bytes"));
  EXPECT_THAT(ErrText(past), HasSubstr("offset 4194304"));
}

TEST_P(BdevIoTest, BadRequestsAreEinvalNamingTheBdev) { Run(BadRequests); }

INSTANTIATE_TEST_SUITE_P(AllModules, BdevIoTest,
                         ::testing::Values(Module::kMalloc, Module::kUringDirectAuto,
                                           Module::kUringBuffered, Module::kErrorOverMalloc),
                         ModuleName);

}  // namespace
}  // namespace blobfs
