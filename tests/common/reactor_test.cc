// Reactor: message ordering, many concurrent tasks, timers, io_uring operations, hopping between
// reactors, and shutdown that lets work in flight finish.
#include "common/reactor.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "common/async_event.h"
#include "common/async_semaphore.h"
#include "common/clock.h"
#include "common/sync_bridge.h"
#include "common/uring_ops.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

using std::chrono::milliseconds;

std::unique_ptr<Reactor> NewReactor() {
  auto created = Reactor::Create();
  CHECK(created.ok()) << created.error().ToString();
  return std::move(created).value();
}

std::unique_ptr<ReactorThread> NewReactorThread() {
  auto started = ReactorThread::Start();
  CHECK(started.ok()) << started.error().ToString();
  return std::move(started).value();
}

TEST(ReactorTest, PostedMessagesRunInOrderPerSender) {
  auto thread = NewReactorThread();
  constexpr int kSenders = 4;
  constexpr int kMessages = 5000;
  std::vector<std::vector<int>> seen(kSenders);  // touched only on the reactor thread
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s) {
    senders.emplace_back([&, s] {
      for (int i = 0; i < kMessages; ++i) {
        thread->reactor().Post([&seen, s, i] { seen[s].push_back(i); });
      }
    });
  }
  for (auto& sender : senders) sender.join();
  absl::Notification drained;
  thread->reactor().Post([&] { drained.Notify(); });
  drained.WaitForNotification();
  for (int s = 0; s < kSenders; ++s) {
    ASSERT_EQ(seen[s].size(), static_cast<size_t>(kMessages));
    for (int i = 0; i < kMessages; ++i) ASSERT_EQ(seen[s][i], i) << "sender " << s;
  }
}

// Every message reaches a reactor that keeps falling asleep between messages (a lost wake-up
// would leave one waiting until the timeout).
TEST(ReactorTest, MessagesWakeASleepingReactorEveryTime) {
  auto thread = NewReactorThread();
  for (int i = 0; i < 20000; ++i) {
    absl::Notification ran;
    thread->reactor().Post([&ran] { ran.Notify(); });
    ASSERT_TRUE(ran.WaitForNotificationWithTimeout(absl::Seconds(10))) << "message " << i;
  }
}

TEST(ReactorTest, MessagesRunOnTheReactorThread) {
  auto thread = NewReactorThread();
  std::thread::id ran_on;
  Reactor* current = nullptr;
  absl::Notification done;
  thread->reactor().Post([&] {
    ran_on = std::this_thread::get_id();
    current = Reactor::Current();
    done.Notify();
  });
  done.WaitForNotification();
  EXPECT_NE(ran_on, std::this_thread::get_id());
  EXPECT_EQ(current, &thread->reactor());
  EXPECT_EQ(Reactor::Current(), nullptr);
}

Task<void> SleepAndCount(Reactor* reactor, int index, std::atomic<int>* finished) {
  // A mix of timers and yields so thousands of tasks are suspended at once.
  co_await reactor->Sleep(std::chrono::microseconds(index % 50));
  co_await reactor->Yield();
  finished->fetch_add(1);
}

TEST(ReactorTest, ThousandsOfConcurrentTasks) {
  auto reactor = NewReactor();
  constexpr int kTasks = 10000;
  std::atomic<int> finished{0};
  for (int i = 0; i < kTasks; ++i) reactor->Spawn(SleepAndCount(reactor.get(), i, &finished));
  reactor->RequestStop();
  reactor->Run();  // returns only once every spawned task has finished
  EXPECT_EQ(finished.load(), kTasks);
  EXPECT_TRUE(reactor->Idle());
}

Task<void> SlowWork(Reactor* reactor, std::atomic<int>* finished) {
  co_await reactor->Sleep(milliseconds(20));
  int pipe_fds[2];
  CHECK_EQ(pipe(pipe_fds), 0);
  char byte = 'x';
  CHECK_EQ(co_await uring::Write(pipe_fds[1], &byte, 1, 0), 1);
  char back = 0;
  CHECK_EQ(co_await uring::Read(pipe_fds[0], &back, 1, 0), 1);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  CHECK_EQ(back, 'x');
  finished->fetch_add(1);
}

TEST(ReactorTest, ShutdownWaitsForWorkInFlight) {
  std::atomic<int> finished{0};
  {
    auto thread = NewReactorThread();
    for (int i = 0; i < 100; ++i) thread->reactor().Spawn(SlowWork(&thread->reactor(), &finished));
    // Destruction requests a stop at once, while all 100 tasks are sleeping or doing I/O.
  }
  EXPECT_EQ(finished.load(), 100);
}

TEST(ReactorTest, StopRequestedIsVisibleToLongRunningTasks) {
  auto thread = NewReactorThread();
  std::atomic<int> rounds{0};
  std::atomic<bool> started{false};
  auto poller = [](Reactor* reactor, std::atomic<int>* count, std::atomic<bool>* up) -> Task<void> {
    up->store(true);
    while (!reactor->stop_requested()) {
      count->fetch_add(1);
      co_await reactor->Sleep(std::chrono::microseconds(100));
    }
  };
  thread->reactor().Spawn(poller(&thread->reactor(), &rounds, &started));
  while (!started.load()) std::this_thread::yield();
  thread.reset();  // must return: the poller sees the stop request and ends
  EXPECT_GE(rounds.load(), 1);
}

Task<int64_t> TimedSleep(Reactor* reactor, milliseconds duration) {
  int64_t start = MonotonicNanos();
  co_await reactor->Sleep(duration);
  co_return MonotonicNanos() - start;
}

TEST(ReactorTest, SleepLastsAtLeastItsDuration) {
  auto reactor = NewReactor();
  int64_t slept = RunSync(*reactor, TimedSleep(reactor.get(), milliseconds(15)));
  EXPECT_GE(slept, 15'000'000);
}

Task<std::vector<std::thread::id>> HopAround(Reactor* first, Reactor* second) {
  std::vector<std::thread::id> threads;
  co_await Reactor::SwitchTo(*first);
  threads.push_back(std::this_thread::get_id());
  co_await Reactor::SwitchTo(*second);
  threads.push_back(std::this_thread::get_id());
  EXPECT_EQ(Reactor::Current(), second);
  co_await Reactor::SwitchTo(*first);
  threads.push_back(std::this_thread::get_id());
  co_return threads;
}

Task<void> SleepThenMark(Reactor* reactor, bool* woke) {
  co_await reactor->Sleep(std::chrono::seconds(1));
  *woke = true;
}

// With nothing runnable and a timer pending, a blocking iteration of a polling loop returns at
// once instead of waiting for the timer.
void ExpectIterationDoesNotWaitForTheTimer(Reactor& reactor) {
  bool woke = false;
  reactor.Spawn(SleepThenMark(&reactor, &woke));
  reactor.RunOnce(/*may_block=*/true);  // Starts the task: that is work.
  reactor.RunOnce(/*may_block=*/true);
  EXPECT_FALSE(woke);
  while (!woke) reactor.RunOnce(/*may_block=*/true);
}

TEST(ReactorTest, PollingHoldKeepsTheLoopFromSleeping) {
  auto reactor = NewReactor();
  std::optional<Reactor::PollingHold> hold(std::in_place, *reactor);
  ExpectIterationDoesNotWaitForTheTimer(*reactor);
  // Without the hold, the same iteration sleeps until the timer fires.
  hold.reset();
  bool woke = false;
  reactor->Spawn(SleepThenMark(reactor.get(), &woke));
  reactor->RunOnce(/*may_block=*/true);
  reactor->RunOnce(/*may_block=*/true);
  EXPECT_TRUE(woke);
}

TEST(ReactorTest, IdleSpinPollsForAWhileAfterWork) {
  auto created = Reactor::Create(Reactor::Options{.idle_spin = std::chrono::seconds(30)});
  ASSERT_TRUE(created.ok());
  Reactor& reactor = **created;
  ExpectIterationDoesNotWaitForTheTimer(reactor);
  // Work that wakes a sleeping loop counts too: idle long enough to sleep, the loop is woken by
  // a message from another thread, and the iteration after it polls.
  auto idle = Reactor::Create(Reactor::Options{.idle_spin = std::chrono::milliseconds(20)});
  ASSERT_TRUE(idle.ok());
  std::this_thread::sleep_for(milliseconds(50));
  bool woke = false;
  std::thread poster([&] {
    std::this_thread::sleep_for(milliseconds(50));
    (*idle)->Spawn(SleepThenMark(idle->get(), &woke));
  });
  (*idle)->RunOnce(/*may_block=*/true);  // Sleeps until the message arrives, then starts the task.
  poster.join();
  (*idle)->RunOnce(/*may_block=*/true);
  EXPECT_FALSE(woke);
  while (!woke) (*idle)->RunOnce(/*may_block=*/true);
}

TEST(ReactorTest, ReactorThreadRunsOnItsCpu) {
  const int cpu = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN)) - 1;
  auto started = ReactorThread::Start(Reactor::Options{.cpu = cpu});
  ASSERT_TRUE(started.ok());
  int ran_on = -1;
  (*started)->BlockOn([](int* where) -> Task<void> {
    *where = sched_getcpu();
    co_return;
  }(&ran_on));
  EXPECT_EQ(ran_on, cpu);
}

TEST(ReactorTest, CoroutinesHopBetweenReactors) {
  auto a = NewReactorThread();
  auto b = NewReactorThread();
  std::vector<std::thread::id> threads = a->BlockOn(HopAround(&a->reactor(), &b->reactor()));
  ASSERT_EQ(threads.size(), 3u);
  EXPECT_NE(threads[0], threads[1]);
  EXPECT_EQ(threads[0], threads[2]);
}

Task<Status> FileRoundTrip(std::string path) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) co_return MakeError(errno, "open %s", path);
  std::string text = "written through io_uring";
  int written = co_await uring::Write(fd, text.data(), text.size(), 4096);
  EXPECT_EQ(written, static_cast<int>(text.size()));
  EXPECT_EQ(co_await uring::Fsync(fd, /*data_only=*/true), 0);
  std::string back(text.size(), '\0');
  iovec iov[2] = {{back.data(), 10}, {back.data() + 10, back.size() - 10}};
  EXPECT_EQ(co_await uring::Readv(fd, iov, 2, 4096), static_cast<int>(text.size()));
  EXPECT_EQ(back, text);
  close(fd);
  // A closed descriptor fails with -EBADF instead of crashing.
  EXPECT_EQ(co_await uring::Read(fd, back.data(), 1, 0), -EBADF);
  co_return OkStatus();
}

TEST(ReactorTest, UringOperationsOnAFile) {
  char dir_template[] = "/tmp/reactor_test.XXXXXX";
  ASSERT_NE(mkdtemp(dir_template), nullptr);
  std::string path = std::string(dir_template) + "/file";
  auto reactor = NewReactor();
  Status status = RunSync(*reactor, FileRoundTrip(path));
  EXPECT_TRUE(status.ok()) << status.error().ToString();
  unlink(path.c_str());
  rmdir(dir_template);
}

Task<void> TakeUnit(AsyncSemaphore* semaphore, std::vector<int>* order, int id, AsyncEvent* go) {
  co_await semaphore->Acquire();
  order->push_back(id);
  co_await go->Wait();
  semaphore->Release();
}

TEST(ReactorTest, SemaphoreQueuesWaitersInOrder) {
  auto reactor = NewReactor();
  AsyncSemaphore semaphore(2);
  AsyncEvent go;
  std::vector<int> order;
  for (int id = 0; id < 6; ++id) reactor->Spawn(TakeUnit(&semaphore, &order, id, &go));
  for (int i = 0; i < 10; ++i) reactor->RunOnce(/*may_block=*/false);
  EXPECT_EQ(order, (std::vector<int>{0, 1}));  // only two units
  EXPECT_EQ(semaphore.waiting(), 4u);
  go.Set();
  reactor->RequestStop();
  reactor->Run();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(semaphore.available(), 2u);
}

}  // namespace
}  // namespace blobfs
