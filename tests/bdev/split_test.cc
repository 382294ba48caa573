// What the generic bdev layer does to requests before a module sees them: splitting at the optimal
// I/O boundary and at the maximum transfer size, bounce buffers for misaligned memory,
// write_zeroes emulation, unsupported types, and the per-channel queue depth. A recording module
// checks every request it receives against the limits of driver.h and keeps the data in memory.
#include <sys/uio.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "bdev/bdev.h"
#include "bdev/driver.h"
#include "common/iov.h"
#include "bdev/registry.h"
#include "common/aligned_buffer.h"
#include "common/async_semaphore.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr uint32_t kBlock = 4096;
constexpr uint64_t kBlocks = 1024;

struct Recorded {
  IoType type;
  uint64_t offset_blocks;
  uint64_t num_blocks;
  std::vector<iovec> iov;
  bool data_all_zero = false;  // writes: whether the data written was all zeroes

  // For readable failure output and ElementsAre.
  std::string ToString() const {
    return absl::StrFormat("%s(%d,%d)", IoTypeName(type), offset_blocks, num_blocks);
  }
};

// Shared between the test and the module (which the bdev owns).
struct DriverState {
  BdevGeometry geometry;
  bool supports_write_zeroes = true;
  bool supports_unmap = true;
  bool supports_flush = false;
  uint32_t queue_depth = 128;
  bool gated = false;  // Submit waits for gate.Release() before completing

  std::vector<std::byte> memory = std::vector<std::byte>(kBlocks * kBlock);
  std::vector<Recorded> requests;
  std::vector<std::string> violations;
  int in_flight = 0;
  int max_in_flight = 0;
  AsyncSemaphore gate{0};

  std::vector<std::string> Requests() const {
    std::vector<std::string> out;
    for (const Recorded& r : requests) out.push_back(r.ToString());
    return out;
  }
};

void Check(DriverState& state, const IoRequest& request) {
  const BdevGeometry& g = state.geometry;
  auto violation = [&](const std::string& what) {
    state.violations.push_back(absl::StrFormat("%s(%d,%d): %s", IoTypeName(request.type),
                                               request.offset_blocks, request.num_blocks, what));
  };
  if (request.type == IoType::kFlush) return;
  if (request.num_blocks == 0) violation("empty");
  if (request.offset_blocks > g.num_blocks ||
      request.num_blocks > g.num_blocks - request.offset_blocks) {
    violation("outside the device");
  }
  if (request.type != IoType::kRead && request.type != IoType::kWrite) return;
  if (g.max_transfer_blocks != 0 && request.num_blocks > g.max_transfer_blocks) {
    violation("longer than max_transfer_blocks");
  }
  if (g.optimal_io_boundary_blocks != 0 &&
      request.offset_blocks % g.optimal_io_boundary_blocks + request.num_blocks >
          g.optimal_io_boundary_blocks) {
    violation("crosses the optimal I/O boundary");
  }
  if (!IovAligned(request.iov, g.required_alignment)) violation("misaligned buffer");
  if (IovLength(request.iov) != request.num_blocks * g.block_size) violation("iov length");
}

class RecordingChannel final : public DriverChannel {
 public:
  explicit RecordingChannel(std::shared_ptr<DriverState> state) : state_(std::move(state)) {}

  Task<Status> Submit(const IoRequest& request) override {
    DriverState& s = *state_;
    Check(s, request);
    Recorded record{request.type, request.offset_blocks, request.num_blocks,
                    std::vector<iovec>(request.iov.begin(), request.iov.end())};
    const uint64_t length = request.num_blocks * s.geometry.block_size;
    std::byte* at = s.memory.data() + request.offset_blocks * s.geometry.block_size;
    if (request.type == IoType::kWrite) {
      std::vector<std::byte> data(length);
      IovCopyToBuffer(request.iov, data.data(), length);
      record.data_all_zero = AllZero(data);
    }
    s.requests.push_back(std::move(record));
    s.max_in_flight = std::max(s.max_in_flight, ++s.in_flight);
    co_await Reactor::Current()->Yield();  // complete later, like a device
    if (s.gated) co_await s.gate.Acquire();
    switch (request.type) {
      case IoType::kRead:
        IovCopyFromBuffer(request.iov, at, length);
        break;
      case IoType::kWrite:
        IovCopyToBuffer(request.iov, at, length);
        break;
      case IoType::kWriteZeroes:
      case IoType::kUnmap:
        std::memset(at, 0, length);
        break;
      default:
        break;
    }
    --s.in_flight;
    co_return OkStatus();
  }

 private:
  std::shared_ptr<DriverState> state_;
};

class RecordingDriver final : public BdevDriver {
 public:
  explicit RecordingDriver(std::shared_ptr<DriverState> state) : state_(std::move(state)) {}
  const char* module_name() const override { return "recording"; }
  bool Supports(IoType type) const override {
    switch (type) {
      case IoType::kRead:
      case IoType::kWrite:
        return true;
      case IoType::kWriteZeroes:
        return state_->supports_write_zeroes;
      case IoType::kUnmap:
        return state_->supports_unmap;
      case IoType::kFlush:
        return state_->supports_flush;
      case IoType::kReset:
        return false;
    }
    return false;
  }
  uint32_t channel_queue_depth() const override { return state_->queue_depth; }
  Result<std::unique_ptr<DriverChannel>> CreateChannel(Reactor&) override {
    return std::unique_ptr<DriverChannel>(new RecordingChannel(state_));
  }

 private:
  std::shared_ptr<DriverState> state_;
};

class BdevSplitTest : public ::testing::Test {
 protected:
  void SetUp() override { reactor_ = bdev_test::NewReactor(); }

  void TearDown() override {
    descriptor_.reset();
    if (state_ != nullptr) {
      EXPECT_THAT(state_->violations, IsEmpty());
    }
  }

  // Registers bdev "rec" with the given limits; `configure` adjusts the module's state first.
  void Make(uint32_t boundary, uint32_t max_transfer, uint32_t alignment = 1) {
    state_ = std::make_shared<DriverState>();
    state_->geometry.block_size = kBlock;
    state_->geometry.num_blocks = kBlocks;
    state_->geometry.optimal_io_boundary_blocks = boundary;
    state_->geometry.max_transfer_blocks = max_transfer;
    state_->geometry.required_alignment = alignment;
    auto bdev =
        registry_.Register("rec", state_->geometry, std::make_unique<RecordingDriver>(state_));
    ASSERT_TRUE(bdev.ok()) << ErrText(bdev);
    auto descriptor = registry_.Open("rec", OpenMode::kReadWrite);
    ASSERT_TRUE(descriptor.ok()) << ErrText(descriptor);
    descriptor_ = std::move(descriptor).value();
  }

  using Body = Task<void> (*)(BdevChannel*, DriverState*);
  void Run(Body body) { RunSync(*reactor_, WithChannel(descriptor_.get(), state_.get(), body)); }

  static Task<void> WithChannel(BdevDescriptor* descriptor, DriverState* state, Body body) {
    CO_ASSIGN_OR_FAIL(std::unique_ptr<BdevChannel> channel, descriptor->OpenChannel());
    co_await body(channel.get(), state);
  }

  std::unique_ptr<Reactor> reactor_;
  BdevRegistry registry_;
  std::shared_ptr<DriverState> state_;
  std::unique_ptr<BdevDescriptor> descriptor_;
};

std::span<const std::byte> Blocks(const DriverState* state, uint64_t first, uint64_t count) {
  return std::span(state->memory).subspan(first * kBlock, count * kBlock);
}

Task<void> SplitAtBoundary(BdevChannel* channel, DriverState* state) {
  const std::vector<std::byte> data = Pattern(4 * kBlock, 1);
  CO_ASSERT_OK(co_await channel->Write(6 * kBlock, data));
  EXPECT_THAT(state->Requests(), ElementsAre("write(6,2)", "write(8,2)"));
  EXPECT_TRUE(SameBytes(Blocks(state, 6, 4), data));

  state->requests.clear();
  std::vector<std::byte> back(4 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(6 * kBlock, back));
  EXPECT_THAT(state->Requests(), ElementsAre("read(6,2)", "read(8,2)"));
  EXPECT_TRUE(SameBytes(back, data));

  // Inside one window: not split. Exactly three windows: three requests.
  state->requests.clear();
  std::vector<std::byte> window(8 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(8 * kBlock, window));
  EXPECT_THAT(state->Requests(), ElementsAre("read(8,8)"));
  state->requests.clear();
  const std::vector<std::byte> three = Pattern(24 * kBlock, 2);
  CO_ASSERT_OK(co_await channel->Write(0, three));
  EXPECT_THAT(state->Requests(), ElementsAre("write(0,8)", "write(8,8)", "write(16,8)"));
  EXPECT_TRUE(SameBytes(Blocks(state, 0, 24), three));
}

TEST_F(BdevSplitTest, RequestsCrossingTheBoundaryAreSplitExactlyThere) {
  Make(/*boundary=*/8, /*max_transfer=*/0);
  Run(SplitAtBoundary);
}

Task<void> SplitAtMaxTransfer(BdevChannel* channel, DriverState* state) {
  const std::vector<std::byte> data = Pattern(10 * kBlock, 3);
  CO_ASSERT_OK(co_await channel->Write(1 * kBlock, data));
  EXPECT_THAT(state->Requests(), ElementsAre("write(1,4)", "write(5,4)", "write(9,2)"));
  EXPECT_TRUE(SameBytes(Blocks(state, 1, 10), data));
  state->requests.clear();
  std::vector<std::byte> back(10 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(1 * kBlock, back));
  EXPECT_THAT(state->Requests(), ElementsAre("read(1,4)", "read(5,4)", "read(9,2)"));
  EXPECT_TRUE(SameBytes(back, data));
  state->requests.clear();
  std::vector<std::byte> exact(4 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(100 * kBlock, exact));
  EXPECT_THAT(state->Requests(), ElementsAre("read(100,4)"));
}

TEST_F(BdevSplitTest, LongRequestsAreSplitAtMaxTransfer) {
  Make(/*boundary=*/0, /*max_transfer=*/4);
  Run(SplitAtMaxTransfer);
}

Task<void> SplitAtBoth(BdevChannel* channel, DriverState* state) {
  const std::vector<std::byte> data = Pattern(12 * kBlock, 4);
  CO_ASSERT_OK(co_await channel->Write(6 * kBlock, data));
  EXPECT_THAT(state->Requests(),
              ElementsAre("write(6,2)", "write(8,3)", "write(11,3)", "write(14,2)", "write(16,2)"));
  EXPECT_TRUE(SameBytes(Blocks(state, 6, 12), data));
}

TEST_F(BdevSplitTest, BoundaryAndMaxTransferTogether) {
  Make(/*boundary=*/8, /*max_transfer=*/3);
  Run(SplitAtBoth);
}

Task<void> ScatterGatherAcrossSplits(BdevChannel* channel, DriverState* state) {
  // Segment edges fall inside pieces and at odd byte positions.
  const std::vector<std::byte> data = Pattern(12 * kBlock, 5);
  const std::vector<size_t> sizes = {1000, 5000, 7, 20000, 9, 12 * kBlock - 26016};
  std::vector<std::vector<std::byte>> out;
  std::vector<iovec> out_iov;
  size_t at = 0;
  for (size_t size : sizes) {
    out.emplace_back(data.begin() + at, data.begin() + at + size);
    at += size;
  }
  for (auto& segment : out) out_iov.push_back({segment.data(), segment.size()});
  CO_ASSERT_OK(co_await channel->Writev(5 * kBlock, out_iov));
  EXPECT_TRUE(SameBytes(Blocks(state, 5, 12), data));
  EXPECT_EQ(state->requests.size(), 5u);  // (5,3) (8,3) (11,3) (14,2) (16,1)

  std::vector<std::vector<std::byte>> in = {std::vector<std::byte>(3),
                                            std::vector<std::byte>(12 * kBlock - 4),
                                            std::vector<std::byte>(1)};
  std::vector<iovec> in_iov;
  for (auto& segment : in) in_iov.push_back({segment.data(), segment.size()});
  CO_ASSERT_OK(co_await channel->Readv(5 * kBlock, in_iov));
  std::vector<std::byte> gathered;
  for (auto& segment : in) gathered.insert(gathered.end(), segment.begin(), segment.end());
  EXPECT_TRUE(SameBytes(gathered, data));
}

TEST_F(BdevSplitTest, ScatterGatherDataLandsCorrectlyAcrossSplits) {
  Make(/*boundary=*/8, /*max_transfer=*/3);
  Run(ScatterGatherAcrossSplits);
}

bool UsesMemory(const Recorded& r, const std::byte* begin, const std::byte* end) {
  for (const iovec& segment : r.iov) {
    auto* base = static_cast<const std::byte*>(segment.iov_base);
    if (base < end && base + segment.iov_len > begin) return true;
  }
  return false;
}

Task<void> BounceMisalignedBuffers(BdevChannel* channel, DriverState* state) {
  const std::vector<std::byte> data = Pattern(3 * kBlock, 6);
  // A buffer one byte past an aligned address can never be 4096-aligned.
  AlignedBuffer storage(3 * kBlock + 1, 4096);
  std::span<std::byte> misaligned = storage.span().subspan(1, 3 * kBlock);
  std::copy(data.begin(), data.end(), misaligned.begin());
  CO_ASSERT_OK(co_await channel->Write(2 * kBlock, misaligned));
  EXPECT_TRUE(SameBytes(Blocks(state, 2, 3), data));
  CO_ASSERT_TRUE(state->requests.size() == 1u);
  EXPECT_FALSE(UsesMemory(state->requests[0], storage.data(), storage.data() + storage.size()))
      << "the module must get a bounce buffer, not the caller's memory";

  // Reads into misaligned memory come back right too.
  state->requests.clear();
  std::fill(misaligned.begin(), misaligned.end(), std::byte{0});
  CO_ASSERT_OK(co_await channel->Read(2 * kBlock, misaligned));
  EXPECT_TRUE(SameBytes(misaligned, data));

  // A std::vector offset by one byte, as the brief of this layer promises to handle.
  std::vector<std::byte> vector_storage(2 * kBlock + 1);
  std::span<std::byte> in_vector = std::span(vector_storage).subspan(1, 2 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(3 * kBlock, in_vector));
  EXPECT_TRUE(SameBytes(in_vector, std::span(data).subspan(kBlock, 2 * kBlock)));

  // Aligned addresses but lengths that are not alignment multiples also bounce.
  AlignedBuffer first(2048, 4096);
  AlignedBuffer second(kBlock + 2048, 4096);
  const iovec halves[] = {{first.data(), first.size()}, {second.data(), second.size()}};
  CO_ASSERT_OK(co_await channel->Readv(2 * kBlock, halves));
  EXPECT_TRUE(SameBytes(first.span(), std::span(data).first(2048)));
  EXPECT_TRUE(SameBytes(second.span(), std::span(data).subspan(2048, kBlock + 2048)));

  // Aligned memory goes to the module as it is.
  state->requests.clear();
  AlignedBuffer aligned(kBlock, 4096);
  CO_ASSERT_OK(co_await channel->Read(4 * kBlock, aligned.span()));
  CO_ASSERT_TRUE(state->requests.size() == 1u);
  CO_ASSERT_TRUE(state->requests[0].iov.size() == 1u);
  EXPECT_EQ(state->requests[0].iov[0].iov_base, aligned.data());
  EXPECT_TRUE(SameBytes(aligned.span(), std::span(data).last(kBlock)));
}

TEST_F(BdevSplitTest, MisalignedBuffersAreBounced) {
  Make(/*boundary=*/0, /*max_transfer=*/0, /*alignment=*/4096);
  Run(BounceMisalignedBuffers);
}

Task<void> BounceAndSplit(BdevChannel* channel, DriverState* state) {
  const std::vector<std::byte> data = Pattern(10 * kBlock, 7);
  std::vector<std::byte> storage(10 * kBlock + 3);
  std::span<std::byte> misaligned = std::span(storage).subspan(3, 10 * kBlock);
  std::copy(data.begin(), data.end(), misaligned.begin());
  CO_ASSERT_OK(co_await channel->Write(2 * kBlock, misaligned));
  EXPECT_THAT(state->Requests(), ElementsAre("write(2,2)", "write(4,4)", "write(8,4)"));
  EXPECT_TRUE(SameBytes(Blocks(state, 2, 10), data));
  std::vector<std::byte> back_storage(10 * kBlock + 5);
  std::span<std::byte> back = std::span(back_storage).subspan(5, 10 * kBlock);
  CO_ASSERT_OK(co_await channel->Read(2 * kBlock, back));
  EXPECT_TRUE(SameBytes(back, data));
}

TEST_F(BdevSplitTest, MisalignedBuffersAreBouncedPerSplitPiece) {
  Make(/*boundary=*/4, /*max_transfer=*/0, /*alignment=*/4096);
  Run(BounceAndSplit);
}

// The blocks covered by the recorded requests, each counted once (false if any overlap).
bool CoverExactly(const std::vector<Recorded>& requests, uint64_t first, uint64_t count) {
  std::vector<int> hits(kBlocks, 0);
  for (const Recorded& r : requests) {
    for (uint64_t b = r.offset_blocks; b < r.offset_blocks + r.num_blocks; ++b) ++hits[b];
  }
  for (uint64_t b = 0; b < kBlocks; ++b) {
    int want = (b >= first && b < first + count) ? 1 : 0;
    if (hits[b] != want) return false;
  }
  return true;
}

Task<void> EmulatedWriteZeroes(BdevChannel* channel, DriverState* state) {
  const std::vector<std::byte> data = Pattern(kBlocks * kBlock, 8);
  state->memory = data;
  CO_ASSERT_OK(co_await channel->WriteZeroes(5 * kBlock, 2 * kBlock));
  CO_ASSERT_TRUE(!state->requests.empty());
  for (const Recorded& r : state->requests) {
    EXPECT_EQ(r.type, IoType::kWrite) << r.ToString();
    EXPECT_TRUE(r.data_all_zero) << r.ToString();
  }
  EXPECT_TRUE(CoverExactly(state->requests, 5, 2));
  EXPECT_TRUE(AllZero(Blocks(state, 5, 2)));
  EXPECT_TRUE(SameBytes(Blocks(state, 0, 5), std::span(data).first(5 * kBlock)));
  EXPECT_TRUE(SameBytes(Blocks(state, 7, kBlocks - 7), std::span(data).subspan(7 * kBlock)));

  // Larger than the emulation's 1 MiB zero buffer, and subject to the transfer limit.
  state->requests.clear();
  CO_ASSERT_OK(co_await channel->WriteZeroes(10 * kBlock, 300 * kBlock));
  for (const Recorded& r : state->requests) {
    EXPECT_EQ(r.type, IoType::kWrite) << r.ToString();
    EXPECT_TRUE(r.data_all_zero) << r.ToString();
  }
  EXPECT_TRUE(CoverExactly(state->requests, 10, 300));
  EXPECT_TRUE(AllZero(Blocks(state, 10, 300)));
  EXPECT_TRUE(SameBytes(Blocks(state, 310, kBlocks - 310), std::span(data).subspan(310 * kBlock)));
  std::vector<std::byte> back(300 * kBlock, std::byte{1});
  CO_ASSERT_OK(co_await channel->Read(10 * kBlock, back));
  EXPECT_TRUE(AllZero(back));
}

TEST_F(BdevSplitTest, WriteZeroesIsEmulatedWithZeroWritesWhenUnsupported) {
  Make(/*boundary=*/0, /*max_transfer=*/64);
  state_->supports_write_zeroes = false;
  Run(EmulatedWriteZeroes);
}

TEST_F(BdevSplitTest, EmulatedWriteZeroesRespectsAlignmentAndBoundary) {
  // Needs more alignment than the shared zero buffer has, so it is bounced too.
  Make(/*boundary=*/16, /*max_transfer=*/0, /*alignment=*/8192);
  state_->supports_write_zeroes = false;
  Run(EmulatedWriteZeroes);
}

Task<void> NativeWriteZeroes(BdevChannel* channel, DriverState* state) {
  state->memory = Pattern(kBlocks * kBlock, 9);
  CO_ASSERT_OK(co_await channel->WriteZeroes(5 * kBlock, 20 * kBlock));
  uint64_t blocks = 0;
  for (const Recorded& r : state->requests) {
    EXPECT_EQ(r.type, IoType::kWriteZeroes) << r.ToString();
    blocks += r.num_blocks;
  }
  EXPECT_EQ(blocks, 20u);
  EXPECT_TRUE(CoverExactly(state->requests, 5, 20));
  EXPECT_TRUE(AllZero(Blocks(state, 5, 20)));
}

TEST_F(BdevSplitTest, SupportedWriteZeroesReachesTheModuleAsSuch) {
  Make(/*boundary=*/8, /*max_transfer=*/4);
  Run(NativeWriteZeroes);
}

Task<void> UnsupportedTypes(BdevChannel* channel, DriverState* state) {
  Status unmap = co_await channel->Unmap(0, kBlock);
  EXPECT_EQ(ErrCode(unmap), EOPNOTSUPP) << ErrText(unmap);
  EXPECT_THAT(ErrText(unmap), HasSubstr("'rec'"));
  // No write cache and no flush support: flush succeeds without bothering the module.
  EXPECT_OK(co_await channel->Flush());
  EXPECT_THAT(state->Requests(), IsEmpty());
}

TEST_F(BdevSplitTest, UnsupportedUnmapFailsAndFlushIsANoOp) {
  Make(0, 0);
  state_->supports_unmap = false;
  Run(UnsupportedTypes);
}

Task<void> SupportedFlush(BdevChannel* channel, DriverState* state) {
  EXPECT_OK(co_await channel->Flush());
  EXPECT_THAT(state->Requests(), ElementsAre("flush(0,0)"));
  CO_ASSERT_OK(co_await channel->Unmap(kBlock, 3 * kBlock));
  EXPECT_THAT(state->Requests(), ElementsAre("flush(0,0)", "unmap(1,3)"));
}

TEST_F(BdevSplitTest, SupportedFlushAndUnmapReachTheModule) {
  Make(0, 0);
  state_->supports_flush = true;
  Run(SupportedFlush);
}

Task<void> WriteOne(BdevChannel* channel, uint64_t block, std::span<const std::byte> data,
                    Status* status, int* completed) {
  *status = co_await channel->Write(block * kBlock, data);
  ++*completed;
}

// Releases gated requests one at a time until `*completed` reaches `want`, checking the depth.
Task<void> ReleaseUntil(DriverState* state, const int* completed, int want, int depth) {
  for (int spins = 0; *completed < want; ++spins) {
    if (spins > 100000) {
      ADD_FAILURE() << "only " << *completed << " of " << want << " I/Os completed";
      co_return;
    }
    EXPECT_LE(state->in_flight, depth);
    if (state->gate.waiting() > 0) state->gate.Release();
    co_await Reactor::Current()->Yield();
  }
}

Task<void> QueueDepth(BdevChannel* channel, DriverState* state) {
  constexpr int kIos = 10;
  std::vector<std::vector<std::byte>> data;
  for (int i = 0; i < kIos; ++i) data.push_back(Pattern(kBlock, 20 + i));
  std::vector<Status> statuses(kIos);
  int completed = 0;
  for (int i = 0; i < kIos; ++i) {
    Reactor::Current()->Spawn(WriteOne(channel, i, data[i], &statuses[i], &completed));
  }
  // Let everything that can start do so: only two requests reach the module.
  for (int spins = 0; spins < 100 && state->gate.waiting() < 2; ++spins) {
    co_await Reactor::Current()->Yield();
  }
  for (int spins = 0; spins < 20; ++spins) co_await Reactor::Current()->Yield();
  EXPECT_EQ(state->gate.waiting(), 2u);
  EXPECT_EQ(state->in_flight, 2);
  EXPECT_EQ(state->requests.size(), 2u);
  EXPECT_EQ(completed, 0);

  co_await ReleaseUntil(state, &completed, kIos, 2);
  EXPECT_EQ(state->max_in_flight, 2);
  EXPECT_EQ(state->requests.size(), static_cast<size_t>(kIos));
  for (int i = 0; i < kIos; ++i) {
    EXPECT_OK(statuses[i]);
    EXPECT_TRUE(SameBytes(Blocks(state, i, 1), data[i])) << "block " << i;
  }
  // Queued requests reach the module in the order they were submitted.
  std::vector<uint64_t> order;
  for (const Recorded& r : state->requests) order.push_back(r.offset_blocks);
  EXPECT_THAT(order, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
}

TEST_F(BdevSplitTest, QueueDepthLimitsRequestsInFlightAndQueuesTheRest) {
  Make(0, 0);
  state_->queue_depth = 2;
  state_->gated = true;
  Run(QueueDepth);
}

Task<void> QueueDepthWithSplits(BdevChannel* channel, DriverState* state) {
  const std::vector<std::byte> data = Pattern(10 * kBlock, 30);
  Status status;
  int completed = 0;
  Reactor::Current()->Spawn(WriteOne(channel, 0, data, &status, &completed));
  co_await ReleaseUntil(state, &completed, 1, 2);
  EXPECT_OK(status);
  EXPECT_EQ(state->max_in_flight, 2);
  EXPECT_EQ(state->requests.size(), 10u);
  EXPECT_TRUE(SameBytes(Blocks(state, 0, 10), data));
}

TEST_F(BdevSplitTest, SplitPiecesShareTheQueueDepth) {
  Make(/*boundary=*/0, /*max_transfer=*/1);
  state_->queue_depth = 2;
  state_->gated = true;
  Run(QueueDepthWithSplits);
}

}  // namespace
}  // namespace blobfs
