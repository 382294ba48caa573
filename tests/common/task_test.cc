// Task<T>: values, move-only results, nesting, error propagation through co_await, deep chains.
#include "common/task.h"

#include <cerrno>
#include <memory>
#include <string>

#include "common/error.h"
#include "common/reactor.h"
#include "common/sync_bridge.h"
#include "common/when_all.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

class TaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto created = Reactor::Create();
    ASSERT_TRUE(created.ok()) << created.error().ToString();
    reactor_ = std::move(created).value();
  }
  std::unique_ptr<Reactor> reactor_;
};

Task<int> Answer() { co_return 42; }

Task<int> Sum(int a, int b) { co_return (co_await Answer()) - 42 + a + b; }

TEST_F(TaskTest, ReturnsValues) { EXPECT_EQ(RunSync(*reactor_, Sum(2, 3)), 5); }

Task<std::unique_ptr<std::string>> MakeString() { co_return std::make_unique<std::string>("moved"); }

TEST_F(TaskTest, ReturnsMoveOnlyValues) {
  std::unique_ptr<std::string> text = RunSync(*reactor_, MakeString());
  EXPECT_EQ(*text, "moved");
}

Task<void> Increment(int* counter) {
  ++*counter;
  co_return;
}

TEST_F(TaskTest, VoidTasks) {
  int counter = 0;
  RunSync(*reactor_, Increment(&counter));
  EXPECT_EQ(counter, 1);
}

TEST_F(TaskTest, UnstartedTaskIsFreedWithoutRunning) {
  int counter = 0;
  { Task<void> never = Increment(&counter); }
  EXPECT_EQ(counter, 0);  // and the sanitizer build checks the frame was freed
}

// Fails at `depth` == 0 and passes the error up through every level.
Task<Result<int>> FailDeep(int depth) {
  if (depth == 0) co_return MakeError(EIO, "disk on fire at the bottom");
  CO_ASSIGN_OR_RETURN(int below, co_await FailDeep(depth - 1));
  co_return below + 1;
}

Task<Result<int>> SucceedDeep(int depth) {
  if (depth == 0) co_return 0;
  CO_ASSIGN_OR_RETURN(int below, co_await SucceedDeep(depth - 1));
  co_return below + 1;
}

TEST_F(TaskTest, ErrorsPropagateThroughNestedAwaits) {
  Result<int> failed = RunSync(*reactor_, FailDeep(200));
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.error().code(), EIO);
  EXPECT_EQ(failed.error().message(), "disk on fire at the bottom");
  Result<int> passed = RunSync(*reactor_, SucceedDeep(200));
  ASSERT_TRUE(passed.ok());
  EXPECT_EQ(*passed, 200);
}

Task<Status> CheckThenFail(int value) {
  if (value < 0) co_return MakeError(ERANGE, "negative: %d", value);
  co_return OkStatus();
}

Task<Status> CheckAll() {
  CO_RETURN_IF_ERROR(co_await CheckThenFail(1));
  CO_RETURN_IF_ERROR(co_await CheckThenFail(-3));
  co_return MakeError(EINVAL, "not reached");
}

TEST_F(TaskTest, ReturnIfErrorInCoroutines) {
  Status status = RunSync(*reactor_, CheckAll());
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), ERANGE);
  EXPECT_EQ(status.error().message(), "negative: -3");
}

// A million synchronously completing awaits in a loop: symmetric transfer keeps the stack flat.
Task<uint64_t> LongChain() {
  uint64_t total = 0;
  for (int i = 0; i < 1'000'000; ++i) total += static_cast<uint64_t>(co_await Answer());
  co_return total;
}

TEST_F(TaskTest, LongChainsDoNotGrowTheStack) {
  EXPECT_EQ(RunSync(*reactor_, LongChain()), 42'000'000u);
}

Task<Status> YieldThen(Reactor* reactor, int* finished, int yields, Status outcome) {
  for (int i = 0; i < yields; ++i) co_await reactor->Yield();
  ++*finished;
  co_return outcome;
}

Task<Status> JoinFour(Reactor* reactor, int* finished) {
  std::vector<Task<Status>> tasks;
  tasks.push_back(YieldThen(reactor, finished, 3, OkStatus()));
  tasks.push_back(YieldThen(reactor, finished, 1, MakeError(EIO, "first failure")));
  tasks.push_back(YieldThen(reactor, finished, 2, MakeError(ENOSPC, "second failure")));
  tasks.push_back(YieldThen(reactor, finished, 0, OkStatus()));
  co_return co_await WhenAll(std::move(tasks));
}

TEST_F(TaskTest, WhenAllRunsEveryTaskAndReportsTheFirstError) {
  int finished = 0;
  Status status = RunSync(*reactor_, JoinFour(reactor_.get(), &finished));
  EXPECT_EQ(finished, 4);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(), "first failure");
}

Task<Status> JoinNone() { co_return co_await WhenAll({}); }

TEST_F(TaskTest, WhenAllOfNothingSucceeds) { EXPECT_TRUE(RunSync(*reactor_, JoinNone()).ok()); }

}  // namespace
}  // namespace blobfs
