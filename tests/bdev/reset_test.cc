// BdevChannel::Reset: waits for in-flight I/O on every channel (holding new I/O back meanwhile),
// then resets the module; one reset at a time (EBUSY); read-only descriptors may not reset.
// A test module whose I/O completes only when the test releases it makes the ordering observable.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "bdev/bdev.h"
#include "bdev/driver.h"
#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "common/async_semaphore.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr uint32_t kBlock = 4096;

// Shared by the test and the module. Every request waits at the gate of its channel's reactor
// (the gate is only touched on that reactor) until the test releases it.
struct GateState {
  absl::Mutex mutex;
  std::vector<std::string> events ABSL_GUARDED_BY(mutex);
  std::atomic<int> resets{0};
  std::atomic<int> waiting{0};
  Status reset_result;
  AsyncSemaphore gate{0};  // used when all I/O runs on one reactor

  void Log(std::string event) {
    absl::MutexLock lock(&mutex);
    events.push_back(std::move(event));
  }
  std::vector<std::string> Events() {
    absl::MutexLock lock(&mutex);
    return events;
  }
};

class GatedChannel final : public DriverChannel {
 public:
  explicit GatedChannel(GateState* state) : state_(state) {}
  Task<Status> Submit(const IoRequest& request) override {
    const std::string what =
        std::string(IoTypeName(request.type)) + "@" + std::to_string(request.offset_blocks);
    state_->Log("start " + what);
    ++state_->waiting;
    co_await state_->gate.Acquire();
    --state_->waiting;
    state_->Log("done " + what);
    co_return OkStatus();
  }

 private:
  GateState* state_;
};

class GatedDriver final : public BdevDriver {
 public:
  explicit GatedDriver(GateState* state) : state_(state) {}
  const char* module_name() const override { return "gated"; }
  bool Supports(IoType type) const override {
    return type == IoType::kRead || type == IoType::kWrite;
  }
  Result<std::unique_ptr<DriverChannel>> CreateChannel(Reactor&) override {
    return std::unique_ptr<DriverChannel>(new GatedChannel(state_));
  }
  Task<Status> Reset() override {
    state_->Log("reset");
    ++state_->resets;
    co_return state_->reset_result;
  }

 private:
  GateState* state_;
};

class BdevResetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    BdevGeometry geometry;
    geometry.block_size = kBlock;
    geometry.num_blocks = 64;
    auto bdev = registry_.Register("g", geometry, std::make_unique<GatedDriver>(&state_));
    ASSERT_TRUE(bdev.ok()) << ErrText(bdev);
    reactor_ = bdev_test::NewReactor();
  }

  GateState state_;  // outlives the registry and so the module
  BdevRegistry registry_;
  std::unique_ptr<Reactor> reactor_;
};

// Runs one operation in the background, recording its result.
struct Op {
  bool done = false;
  Status status;
};

Task<void> DoWrite(BdevChannel* channel, uint64_t block, Op* op) {
  std::vector<std::byte> data(kBlock);
  op->status = co_await channel->Write(block * kBlock, data);
  op->done = true;
}

Task<void> DoReset(BdevChannel* channel, Op* op) {
  op->status = co_await channel->Reset();
  op->done = true;
}

// Yields until `done()` or the spin budget runs out; false on the latter.
template <typename Pred>
Task<bool> SpinUntil(Pred done, int spins = 1000) {
  for (int i = 0; i < spins; ++i) {
    if (done()) co_return true;
    co_await Reactor::Current()->Yield();
  }
  co_return done();
}

Task<void> Spin(int times) {
  for (int i = 0; i < times; ++i) co_await Reactor::Current()->Yield();
}

Task<void> ResetWaitsForInFlightIo(BdevRegistry* registry, GateState* state) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open("g", OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  Reactor* reactor = Reactor::Current();
  Op io, reset, late;
  reactor->Spawn(DoWrite(channel.get(), 1, &io));
  CO_ASSERT_TRUE(co_await SpinUntil([state] { return state->waiting.load() == 1; }));

  reactor->Spawn(DoReset(channel.get(), &reset));
  co_await Spin(50);
  EXPECT_FALSE(reset.done) << "the reset must wait for the write in flight";
  EXPECT_EQ(state->resets.load(), 0);

  // I/O submitted while the reset waits is held back: it does not reach the module.
  reactor->Spawn(DoWrite(channel.get(), 2, &late));
  co_await Spin(50);
  EXPECT_FALSE(late.done);
  EXPECT_EQ(state->waiting.load(), 1);

  state->gate.Release();  // the first write completes
  CO_ASSERT_TRUE(co_await SpinUntil([&reset] { return reset.done; }));
  EXPECT_OK(reset.status);
  EXPECT_EQ(state->resets.load(), 1);
  EXPECT_TRUE(io.done);
  EXPECT_OK(io.status);

  // Now the held-back write reaches the module; let it finish.
  CO_ASSERT_TRUE(co_await SpinUntil([state] { return state->waiting.load() == 1; }));
  state->gate.Release();
  CO_ASSERT_TRUE(co_await SpinUntil([&late] { return late.done; }));
  EXPECT_OK(late.status);
  EXPECT_THAT(state->Events(), ElementsAre("start write@1", "done write@1", "reset",
                                           "start write@2", "done write@2"));
}

TEST_F(BdevResetTest, ResetWaitsForInFlightIoAndHoldsBackNewIo) {
  RunSync(*reactor_, ResetWaitsForInFlightIo(&registry_, &state_));
}

Task<void> ConcurrentResetIsBusy(BdevRegistry* registry, GateState* state) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open("g", OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  Reactor* reactor = Reactor::Current();
  Op io, first;
  reactor->Spawn(DoWrite(channel.get(), 0, &io));
  CO_ASSERT_TRUE(co_await SpinUntil([state] { return state->waiting.load() == 1; }));
  reactor->Spawn(DoReset(channel.get(), &first));
  co_await Spin(10);
  CO_ASSERT_TRUE(!first.done);

  Status second = co_await channel->Reset();
  EXPECT_EQ(ErrCode(second), EBUSY) << ErrText(second);
  EXPECT_THAT(ErrText(second), HasSubstr("'g'"));

  state->gate.Release();
  CO_ASSERT_TRUE(co_await SpinUntil([&first] { return first.done; }));
  EXPECT_OK(first.status);
  EXPECT_EQ(state->resets.load(), 1);
  // Once it is over, resetting again works.
  EXPECT_OK(co_await channel->Reset());
  EXPECT_EQ(state->resets.load(), 2);
}

TEST_F(BdevResetTest, SecondConcurrentResetIsEbusy) {
  RunSync(*reactor_, ConcurrentResetIsBusy(&registry_, &state_));
}

Task<void> ResetWithoutIo(BdevRegistry* registry, GateState* state) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open("g", OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  EXPECT_OK(co_await channel->Reset());
  EXPECT_EQ(state->resets.load(), 1);
  // The module's failure is the reset's result, and the channel works afterwards.
  state->reset_result = MakeError(EIO, "module reset failed");
  Status failed = co_await channel->Reset();
  EXPECT_EQ(ErrCode(failed), EIO) << ErrText(failed);
  EXPECT_EQ(state->resets.load(), 2);
  state->reset_result = OkStatus();
  Op io;
  Reactor::Current()->Spawn(DoWrite(channel.get(), 3, &io));
  CO_ASSERT_TRUE(co_await SpinUntil([state] { return state->waiting.load() == 1; }));
  state->gate.Release();
  CO_ASSERT_TRUE(co_await SpinUntil([&io] { return io.done; }));
  EXPECT_OK(io.status);
  EXPECT_OK(co_await channel->Reset());
  EXPECT_EQ(state->resets.load(), 3);
}

TEST_F(BdevResetTest, ResetWithNothingInFlightResetsTheModuleAndReportsItsResult) {
  RunSync(*reactor_, ResetWithoutIo(&registry_, &state_));
}

Task<void> ReadOnlyReset(BdevRegistry* registry, GateState* state) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open("g", OpenMode::kReadOnly));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  Status reset = co_await channel->Reset();
  EXPECT_EQ(ErrCode(reset), EBADF) << ErrText(reset);
  EXPECT_THAT(ErrText(reset), HasSubstr("'g'"));
  EXPECT_EQ(state->resets.load(), 0);
}

TEST_F(BdevResetTest, ResetThroughAReadOnlyDescriptorIsEbadf) {
  RunSync(*reactor_, ReadOnlyReset(&registry_, &state_));
}

Task<void> ResetMalloc(BdevRegistry* registry) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open("m", OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  std::vector<std::byte> data = bdev_test::Pattern(kBlock, 1);
  CO_ASSERT_OK(co_await channel->Write(0, data));
  EXPECT_OK(co_await channel->Reset());
  std::vector<std::byte> back(kBlock);
  CO_ASSERT_OK(co_await channel->Read(0, back));
  EXPECT_TRUE(bdev_test::SameBytes(back, data));  // a reset keeps the data
}

TEST_F(BdevResetTest, MallocResetKeepsData) {
  ASSERT_TRUE(CreateMallocBdev(registry_, "m", {.size_bytes = 1 << 20}).ok());
  RunSync(*reactor_, ResetMalloc(&registry_));
}

Task<void> ResetRemoved(BdevRegistry* registry, GateState* state) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open("g", OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  CO_ASSERT_OK(registry->Unregister("g"));
  Status reset = co_await channel->Reset();
  EXPECT_EQ(ErrCode(reset), ENODEV) << ErrText(reset);
  EXPECT_THAT(ErrText(reset), HasSubstr("'g'"));
  EXPECT_EQ(state->resets.load(), 0);
}

TEST_F(BdevResetTest, ResetOfARemovedBdevIsEnodev) {
  RunSync(*reactor_, ResetRemoved(&registry_, &state_));
}

// --- Two reactors: the reset drains the other reactor's channel too. ---

struct CrossState {
  std::unique_ptr<BdevChannel> channel;
  Op io;
  Op reset;
};

Task<void> OpenOn(BdevDescriptor* descriptor, CrossState* cross) {
  CO_ASSIGN_OR_FAIL(cross->channel, descriptor->OpenChannel());
}

Task<void> StartWrite(CrossState* cross) {
  Reactor::Current()->Spawn(DoWrite(cross->channel.get(), 5, &cross->io));
  co_return;
}

Task<void> ReleaseOne(GateState* state) {
  state->gate.Release();
  co_return;
}

Task<void> WaitFor(Op* op) {
  bool done = co_await SpinUntil([op] { return op->done; }, 1000000);
  EXPECT_TRUE(done);
}

Task<void> ResetAndSignal(CrossState* cross, absl::Notification* finished) {
  cross->reset.status = co_await cross->channel->Reset();
  cross->reset.done = true;
  finished->Notify();
}

Task<void> CloseOn(CrossState* cross) {
  cross->channel.reset();
  co_return;
}

TEST_F(BdevResetTest, ResetWaitsForIoOnAnotherReactor) {
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry_.Open("g", OpenMode::kReadWrite));
  auto io_thread = bdev_test::NewReactorThread();
  auto reset_thread = bdev_test::NewReactorThread();
  CrossState on_io, on_reset;
  io_thread->BlockOn(OpenOn(descriptor.get(), &on_io));
  reset_thread->BlockOn(OpenOn(descriptor.get(), &on_reset));
  ASSERT_NE(on_io.channel, nullptr);
  ASSERT_NE(on_reset.channel, nullptr);

  io_thread->BlockOn(StartWrite(&on_io));
  while (state_.waiting.load() != 1) std::this_thread::yield();  // the write is in the module

  absl::Notification reset_finished;
  reset_thread->reactor().Spawn(ResetAndSignal(&on_reset, &reset_finished));
  // However long this takes, the reset cannot finish while the write is held.
  for (int i = 0; i < 100; ++i) std::this_thread::yield();
  EXPECT_FALSE(reset_finished.HasBeenNotified());
  EXPECT_EQ(state_.resets.load(), 0);

  io_thread->BlockOn(ReleaseOne(&state_));
  reset_finished.WaitForNotification();
  EXPECT_OK(on_reset.reset.status);
  io_thread->BlockOn(WaitFor(&on_io.io));
  EXPECT_OK(on_io.io.status);
  EXPECT_THAT(state_.Events(), ElementsAre("start write@5", "done write@5", "reset"));

  io_thread->BlockOn(CloseOn(&on_io));
  reset_thread->BlockOn(CloseOn(&on_reset));
}

}  // namespace
}  // namespace blobfs
