// QoS: the token-bucket QosRateLimiter driven with explicit timestamps (no real clock), and a bdev
// with limits set, whose I/O beyond the limits is queued in order rather than failed.
#include "bdev/qos.h"

#include <cstdint>
#include <memory>
#include <vector>

#include "bdev/bdev.h"
#include "bdev/driver.h"
#include "common/iov.h"
#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "common/when_all.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kStart = 5 * kSecond;  // an arbitrary clock origin

TEST(QosRateLimiterTest, OffByDefaultAndWithZeroLimits) {
  QosRateLimiter limiter;
  EXPECT_FALSE(limiter.enabled());
  EXPECT_FALSE(limiter.limits().enabled());
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(limiter.TryAdmit(1 << 20, kStart), 0);
  limiter.SetLimits({}, kStart);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 10000; ++i) ASSERT_EQ(limiter.TryAdmit(1 << 20, kStart), 0);
}

TEST(QosRateLimiterTest, IopsLimitAdmitsABurstThenPacesOneTokenPerPeriod) {
  QosRateLimiter limiter;
  limiter.SetLimits({.iops = 1000}, kStart);
  EXPECT_TRUE(limiter.enabled());
  EXPECT_EQ(limiter.limits().iops, 1000u);
  EXPECT_EQ(limiter.limits().bytes_per_second, 0u);
  // 1000 IOPS: one millisecond holds one operation, but the burst is never below two.
  EXPECT_EQ(limiter.TryAdmit(4096, kStart), 0);
  EXPECT_EQ(limiter.TryAdmit(4096, kStart), 0);
  int64_t wait = limiter.TryAdmit(4096, kStart);
  EXPECT_NEAR(static_cast<double>(wait), 1'000'000.0, 1000.0);
  // Asking again does not take anything: the wait only shrinks as time passes.
  EXPECT_EQ(limiter.TryAdmit(4096, kStart), wait);
  int64_t half = limiter.TryAdmit(4096, kStart + wait / 2);
  EXPECT_GT(half, 0);
  EXPECT_NEAR(static_cast<double>(half), wait / 2.0, 1000.0);
  // At the promised time it admits, once.
  EXPECT_EQ(limiter.TryAdmit(4096, kStart + wait), 0);
  EXPECT_GT(limiter.TryAdmit(4096, kStart + wait), 0);
  // An idle second refills the bucket to its burst of two, not more.
  const int64_t later = kStart + wait + kSecond;
  EXPECT_EQ(limiter.TryAdmit(4096, later), 0);
  EXPECT_EQ(limiter.TryAdmit(4096, later), 0);
  EXPECT_GT(limiter.TryAdmit(4096, later), 0);
}

TEST(QosRateLimiterTest, WaitingTheReturnedTimeAlwaysAdmits) {
  // Follow the limiter's advice repeatedly at several rates: every retry at now + wait admits.
  for (uint64_t iops : {1u, 3u, 7u, 1000u, 3000u, 12345u, 1000000u}) {
    SCOPED_TRACE(iops);
    QosRateLimiter limiter;
    limiter.SetLimits({.iops = iops}, kStart);
    int64_t now = kStart;
    int admitted = 0;
    for (int i = 0; i < 2000; ++i) {
      int64_t wait = limiter.TryAdmit(512, now);
      if (wait == 0) {
        ++admitted;
        continue;
      }
      now += wait;
      ASSERT_EQ(limiter.TryAdmit(512, now), 0) << "after waiting " << wait << " ns";
      ++admitted;
    }
    EXPECT_EQ(admitted, 2000);
    // Over the whole run the rate held: 2000 ops took at least (2000 - burst) / iops seconds.
    const double burst = std::max(2.0, static_cast<double>(iops) / 1000.0);
    EXPECT_GE(static_cast<double>(now - kStart),
              (2000.0 - burst) / static_cast<double>(iops) * kSecond - 2000.0);
  }
}

TEST(QosRateLimiterTest, BurstIsCappedAtOneMillisecondOfTokens) {
  QosRateLimiter limiter;
  limiter.SetLimits({.iops = 1'000'000}, kStart);  // 1000 per millisecond
  // A long idle period does not bank more than the burst.
  const int64_t later = kStart + 10 * kSecond;
  int admitted = 0;
  while (limiter.TryAdmit(0, later) == 0 && admitted < 100000) ++admitted;
  EXPECT_EQ(admitted, 1000);
  int64_t wait = limiter.TryAdmit(0, later);
  EXPECT_NEAR(static_cast<double>(wait), 1000.0, 2.0);  // one operation's worth: 1 us
}

TEST(QosRateLimiterTest, LargeIoRunsIntoDebtThatIsRepaidFirst) {
  QosRateLimiter limiter;
  limiter.SetLimits({.bytes_per_second = 1'000'000}, kStart);  // burst: 1000 bytes
  EXPECT_EQ(limiter.limits().bytes_per_second, 1'000'000u);
  // 1 MiB is far more than the burst, but any positive budget admits it: large I/O never starves.
  EXPECT_EQ(limiter.TryAdmit(1 << 20, kStart), 0);
  // Now the budget is 1000 - 1048576 bytes: the next I/O, however small, waits for the debt.
  int64_t wait = limiter.TryAdmit(1, kStart);
  const double debt_ns = (1048576.0 - 1000.0 + 1.0) * 1000.0;  // 1 byte per microsecond
  EXPECT_NEAR(static_cast<double>(wait), debt_ns, 2000.0);
  EXPECT_GT(limiter.TryAdmit(1, kStart + wait - 10'000), 0);  // 10 us early: not yet
  EXPECT_EQ(limiter.TryAdmit(1, kStart + wait), 0);
}

TEST(QosRateLimiterTest, BothLimitsMustAgree) {
  QosRateLimiter limiter;
  limiter.SetLimits({.iops = 1'000'000, .bytes_per_second = 1'000'000}, kStart);
  EXPECT_EQ(limiter.TryAdmit(4096, kStart), 0);  // bytes now in debt, IOPS plenty
  int64_t wait = limiter.TryAdmit(4096, kStart);
  EXPECT_NEAR(static_cast<double>(wait), (4096.0 - 1000.0 + 1.0) * 1000.0, 2000.0);
  // And the other way round: plenty of bytes, few operations (a burst of two).
  limiter.SetLimits({.iops = 1000, .bytes_per_second = 1'000'000'000}, kStart);
  EXPECT_EQ(limiter.TryAdmit(1, kStart), 0);
  EXPECT_EQ(limiter.TryAdmit(1, kStart), 0);
  EXPECT_NEAR(static_cast<double>(limiter.TryAdmit(1, kStart)), 1'000'000.0, 1000.0);
}

TEST(QosRateLimiterTest, LimitsCanChangeAtRuntime) {
  QosRateLimiter limiter;
  limiter.SetLimits({.iops = 1000}, kStart);
  EXPECT_EQ(limiter.TryAdmit(0, kStart), 0);
  EXPECT_EQ(limiter.TryAdmit(0, kStart), 0);
  EXPECT_GT(limiter.TryAdmit(0, kStart), 0);
  // Raising the limit applies at once, with a full burst.
  limiter.SetLimits({.iops = 100'000}, kStart);
  EXPECT_EQ(limiter.limits().iops, 100'000u);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(limiter.TryAdmit(0, kStart), 0) << i;
  int64_t wait = limiter.TryAdmit(0, kStart);
  EXPECT_NEAR(static_cast<double>(wait), 10'000.0, 10.0);
  // Lowering it too.
  limiter.SetLimits({.iops = 10}, kStart + 1);
  EXPECT_EQ(limiter.TryAdmit(0, kStart + 1), 0);
  EXPECT_EQ(limiter.TryAdmit(0, kStart + 1), 0);
  EXPECT_NEAR(static_cast<double>(limiter.TryAdmit(0, kStart + 1)), kSecond / 10.0, 1000.0);
  // Turning it off admits everything.
  limiter.SetLimits({}, kStart + 2);
  EXPECT_FALSE(limiter.enabled());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.TryAdmit(1 << 30, kStart + 2), 0);
}

// --- Through a bdev. ---

Task<Status> WriteIndexed(BdevChannel* channel, uint64_t index,
                          const std::vector<std::byte>* data) {
  co_return co_await channel->Write(index * 4096, *data);
}

Task<void> ConcurrentWrites(BdevDescriptor* descriptor, int count, std::vector<Status>* results,
                            bool verify = true) {
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  std::vector<std::vector<std::byte>> data;
  for (int i = 0; i < count; ++i) data.push_back(Pattern(4096, i + 1));
  std::vector<Task<Status>> writes;
  for (int i = 0; i < count; ++i) writes.push_back(WriteIndexed(channel.get(), i, &data[i]));
  Status all = co_await WhenAll(std::move(writes));
  results->push_back(all);
  for (int i = 0; verify && i < count; ++i) {
    std::vector<std::byte> back(4096);
    CO_ASSERT_OK(co_await channel->Read(i * 4096, back));
    EXPECT_TRUE(SameBytes(back, data[i])) << "block " << i;
  }
}

TEST(BdevQosTest, IoBeyondTheIopsLimitIsQueuedNotFailed) {
  BdevRegistry registry;
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> bdev,
                        CreateMallocBdev(registry, "m", {.size_bytes = 1 << 20}));
  bdev->SetQosLimits({.iops = 2000});
  EXPECT_EQ(bdev->qos_limits().iops, 2000u);
  EXPECT_TRUE(bdev->qos_limiter().enabled());
  auto reactor = bdev_test::NewReactor();
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry.Open("m", OpenMode::kReadWrite));
  std::vector<Status> results;
  RunSync(*reactor, ConcurrentWrites(descriptor.get(), 50, &results));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_OK(results[0]);
  BdevStats stats = bdev->GetStats();
  EXPECT_EQ(stats[IoType::kWrite].operations, 50u);
  EXPECT_EQ(stats[IoType::kWrite].errors, 0u);
  EXPECT_EQ(stats[IoType::kRead].operations, 50u);
  EXPECT_TRUE(reactor->Idle());
}

TEST(BdevQosTest, IoBeyondTheByteLimitIsQueuedNotFailed) {
  BdevRegistry registry;
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> bdev,
                        CreateMallocBdev(registry, "m", {.size_bytes = 1 << 20}));
  bdev->SetQosLimits({.bytes_per_second = 8 << 20});  // 20 x 4 KiB twice: ~20 ms
  auto reactor = bdev_test::NewReactor();
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry.Open("m", OpenMode::kReadWrite));
  std::vector<Status> results;
  RunSync(*reactor, ConcurrentWrites(descriptor.get(), 20, &results));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_OK(results[0]);
  EXPECT_EQ(bdev->GetStats()[IoType::kWrite].operations, 20u);
  // Turned off again: all I/O is admitted without queueing.
  bdev->SetQosLimits({});
  EXPECT_FALSE(bdev->qos_limiter().enabled());
  results.clear();
  RunSync(*reactor, ConcurrentWrites(descriptor.get(), 20, &results));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_OK(results[0]);
}

// A module that records the order in which requests reach it.
struct Order {
  std::vector<uint64_t> offsets;
};

// (It keeps no data.)
class OrderChannel final : public DriverChannel {
 public:
  explicit OrderChannel(Order* order) : order_(order) {}
  Task<Status> Submit(const IoRequest& request) override {
    order_->offsets.push_back(request.offset_blocks);
    co_await Reactor::Current()->Yield();
    co_return OkStatus();
  }

 private:
  Order* order_;
};

class OrderDriver final : public BdevDriver {
 public:
  explicit OrderDriver(Order* order) : order_(order) {}
  const char* module_name() const override { return "order"; }
  bool Supports(IoType type) const override {
    return type == IoType::kRead || type == IoType::kWrite;
  }
  Result<std::unique_ptr<DriverChannel>> CreateChannel(Reactor&) override {
    return std::unique_ptr<DriverChannel>(new OrderChannel(order_));
  }

 private:
  Order* order_;
};

TEST(BdevQosTest, QueuedIoIsAdmittedInSubmissionOrderPerChannel) {
  Order order;
  BdevRegistry registry;
  BdevGeometry geometry;
  geometry.block_size = 4096;
  geometry.num_blocks = 256;
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> bdev,
                        registry.Register("o", geometry, std::make_unique<OrderDriver>(&order)));
  bdev->SetQosLimits({.iops = 2000});
  auto reactor = bdev_test::NewReactor();
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry.Open("o", OpenMode::kReadWrite));
  std::vector<Status> results;
  RunSync(*reactor, ConcurrentWrites(descriptor.get(), 30, &results, /*verify=*/false));
  ASSERT_EQ(results.size(), 1u);
  EXPECT_OK(results[0]);
  // All 30 were started at once; the limiter let them reach the module in submission order.
  std::vector<uint64_t> want;
  for (uint64_t i = 0; i < 30; ++i) want.push_back(i);
  EXPECT_EQ(order.offsets, want);
}

}  // namespace
}  // namespace blobfs
