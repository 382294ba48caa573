// Bdev statistics: operations, bytes, errors and latency per I/O type, kept across channel closes
// and added up across reactors.
#include "bdev/stats.h"

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "bdev/bdev.h"
#include "bdev/error_bdev.h"
#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h

constexpr uint32_t kBlock = 4096;

std::shared_ptr<Bdev> MakeMalloc(BdevRegistry& registry, const std::string& name) {
  auto bdev = CreateMallocBdev(registry, name, {.size_bytes = 1 << 20});
  CHECK(bdev.ok()) << bdev.error().ToString();
  return *bdev;
}

void ExpectLatencyConsistent(const IoTypeStats& stats) {
  EXPECT_GE(stats.latency_ns_sum, stats.latency_ns_max);
  if (stats.operations == 0) {
    EXPECT_EQ(stats.latency_ns_sum, 0u);
    EXPECT_EQ(stats.latency_ns_max, 0u);
  }
}

void ExpectNothingOf(const BdevStats& stats, IoType type) {
  EXPECT_EQ(stats[type].operations, 0u) << IoTypeName(type);
  EXPECT_EQ(stats[type].bytes, 0u) << IoTypeName(type);
  EXPECT_EQ(stats[type].errors, 0u) << IoTypeName(type);
}

// 5 reads of 8 KiB; 3 writes of 4 KiB and 2 of 16 KiB; one write_zeroes of 12 KiB; one unmap of
// 4 KiB; two flushes.
Task<void> KnownWorkload(BdevDescriptor* descriptor) {
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  std::vector<std::byte> eight(2 * kBlock), four(kBlock), sixteen(4 * kBlock);
  for (int i = 0; i < 5; ++i) CO_ASSERT_OK(co_await channel->Read(i * kBlock, eight));
  for (int i = 0; i < 3; ++i) CO_ASSERT_OK(co_await channel->Write(i * kBlock, four));
  for (int i = 0; i < 2; ++i) CO_ASSERT_OK(co_await channel->Write(16 * kBlock, sixteen));
  CO_ASSERT_OK(co_await channel->WriteZeroes(0, 3 * kBlock));
  CO_ASSERT_OK(co_await channel->Unmap(kBlock, kBlock));
  CO_ASSERT_OK(co_await channel->Flush());
  CO_ASSERT_OK(co_await channel->Flush());
}

TEST(BdevStatsTest, CountsOperationsAndBytesPerType) {
  BdevRegistry registry;
  std::shared_ptr<Bdev> bdev = MakeMalloc(registry, "m");
  BdevStats before = bdev->GetStats();
  for (size_t i = 0; i < kIoTypeCount; ++i) ExpectNothingOf(before, static_cast<IoType>(i));

  auto reactor = bdev_test::NewReactor();
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry.Open("m", OpenMode::kReadWrite));
  RunSync(*reactor, KnownWorkload(descriptor.get()));

  BdevStats stats = bdev->GetStats();
  EXPECT_EQ(stats[IoType::kRead].operations, 5u);
  EXPECT_EQ(stats[IoType::kRead].bytes, 5u * 2 * kBlock);
  EXPECT_EQ(stats[IoType::kWrite].operations, 5u);
  EXPECT_EQ(stats[IoType::kWrite].bytes, 3u * kBlock + 2u * 4 * kBlock);
  EXPECT_EQ(stats[IoType::kWriteZeroes].operations, 1u);
  EXPECT_EQ(stats[IoType::kWriteZeroes].bytes, 3u * kBlock);
  EXPECT_EQ(stats[IoType::kUnmap].operations, 1u);
  EXPECT_EQ(stats[IoType::kUnmap].bytes, uint64_t{kBlock});
  EXPECT_EQ(stats[IoType::kFlush].operations, 2u);
  EXPECT_EQ(stats[IoType::kFlush].bytes, 0u);
  ExpectNothingOf(stats, IoType::kReset);
  for (size_t i = 0; i < kIoTypeCount; ++i) {
    SCOPED_TRACE(IoTypeName(static_cast<IoType>(i)));
    EXPECT_EQ(stats.by_type[i].errors, 0u);
    ExpectLatencyConsistent(stats.by_type[i]);
  }
}

// Reads that an error rule fails, and some it lets through.
Task<void> FailingReads(BdevDescriptor* descriptor, int* failed) {
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  std::vector<std::byte> block(kBlock);
  for (int i = 0; i < 4; ++i) {
    Status status = co_await channel->Read(i * kBlock, block);  // blocks 2 and 3 fail
    if (!status.ok()) {
      EXPECT_EQ(status.error().code(), EIO) << ErrText(status);
      ++*failed;
    }
  }
  std::vector<std::byte> two(2 * kBlock);
  Status across = co_await channel->Read(kBlock, two);  // overlaps block 2: fails
  EXPECT_EQ(ErrCode(across), EIO) << ErrText(across);
  if (!across.ok()) ++*failed;
  CO_ASSERT_OK(co_await channel->Write(2 * kBlock, block));  // writes are not in the rule
}

TEST(BdevStatsTest, FailedIoCountsAsErrorsWithoutBytes) {
  BdevRegistry registry;
  std::shared_ptr<Bdev> base = MakeMalloc(registry, "base");
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> error, CreateErrorBdev(registry, "err", "base"));
  GetErrorInjector(*error)->AddRule({.io_types = IoTypeBit(IoType::kRead),
                                     .offset = 2 * kBlock,
                                     .length = 2 * kBlock,
                                     .error = EIO});

  auto reactor = bdev_test::NewReactor();
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry.Open("err", OpenMode::kReadWrite));
  int failed = 0;
  RunSync(*reactor, FailingReads(descriptor.get(), &failed));
  EXPECT_EQ(failed, 3);

  BdevStats stats = error->GetStats();
  EXPECT_EQ(stats[IoType::kRead].operations, 5u);
  EXPECT_EQ(stats[IoType::kRead].errors, 3u);
  EXPECT_EQ(stats[IoType::kRead].bytes, 2u * kBlock);  // only the two successful reads
  EXPECT_EQ(stats[IoType::kWrite].operations, 1u);
  EXPECT_EQ(stats[IoType::kWrite].errors, 0u);
  EXPECT_EQ(stats[IoType::kWrite].bytes, uint64_t{kBlock});
  ExpectLatencyConsistent(stats[IoType::kRead]);
  // Injected failures never reached the base bdev.
  BdevStats base_stats = base->GetStats();
  EXPECT_EQ(base_stats[IoType::kRead].operations, 2u);
  EXPECT_EQ(base_stats[IoType::kRead].errors, 0u);
  EXPECT_EQ(base_stats[IoType::kWrite].operations, 1u);
}

Task<void> WriteBlocks(BdevDescriptor* descriptor, int count) {
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  std::vector<std::byte> block(kBlock);
  for (int i = 0; i < count; ++i) CO_ASSERT_OK(co_await channel->Write(i * kBlock, block));
}

TEST(BdevStatsTest, StatsSurviveChannelClose) {
  BdevRegistry registry;
  std::shared_ptr<Bdev> bdev = MakeMalloc(registry, "m");
  auto reactor = bdev_test::NewReactor();
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry.Open("m", OpenMode::kReadWrite));
  RunSync(*reactor, WriteBlocks(descriptor.get(), 3));  // the channel is closed at the end
  EXPECT_EQ(bdev->GetStats()[IoType::kWrite].operations, 3u);
  // A new channel on the same reactor adds to the retired counts; closing the descriptor too.
  RunSync(*reactor, WriteBlocks(descriptor.get(), 4));
  descriptor.reset();
  BdevStats stats = bdev->GetStats();
  EXPECT_EQ(stats[IoType::kWrite].operations, 7u);
  EXPECT_EQ(stats[IoType::kWrite].bytes, 7u * kBlock);
  ExpectLatencyConsistent(stats[IoType::kWrite]);
}

// Two descriptors' channels on one reactor share the reactor's counters: nothing is counted twice.
Task<void> TwoChannelsOneReactor(BdevRegistry* registry) {
  CO_ASSIGN_OR_FAIL(auto first, registry->Open("m", OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto second, registry->Open("m", OpenMode::kReadOnly));
  CO_ASSIGN_OR_FAIL(auto writer, first->OpenChannel());
  CO_ASSIGN_OR_FAIL(auto reader, second->OpenChannel());
  std::vector<std::byte> block(kBlock);
  CO_ASSERT_OK(co_await writer->Write(0, block));
  CO_ASSERT_OK(co_await reader->Read(0, block));
  CO_ASSERT_OK(co_await reader->Read(0, block));
  BdevStats open = writer->bdev().GetStats();
  EXPECT_EQ(open[IoType::kWrite].operations, 1u);
  EXPECT_EQ(open[IoType::kRead].operations, 2u);
  writer.reset();
  BdevStats half = reader->bdev().GetStats();
  EXPECT_EQ(half[IoType::kWrite].operations, 1u);
  EXPECT_EQ(half[IoType::kRead].operations, 2u);
}

TEST(BdevStatsTest, ChannelsOnOneReactorAreCountedOnce) {
  BdevRegistry registry;
  std::shared_ptr<Bdev> bdev = MakeMalloc(registry, "m");
  auto reactor = bdev_test::NewReactor();
  RunSync(*reactor, TwoChannelsOneReactor(&registry));
  BdevStats stats = bdev->GetStats();
  EXPECT_EQ(stats[IoType::kWrite].operations, 1u);
  EXPECT_EQ(stats[IoType::kRead].operations, 2u);
}

Task<void> OpenAndWrite(BdevDescriptor* descriptor, int count, uint64_t first_block,
                        std::unique_ptr<BdevChannel>* keep) {
  CO_ASSIGN_OR_FAIL(*keep, descriptor->OpenChannel());
  std::vector<std::byte> block(kBlock);
  for (int i = 0; i < count; ++i) {
    CO_ASSERT_OK(co_await (*keep)->Write((first_block + i) * kBlock, block));
  }
  std::vector<std::byte> two(2 * kBlock);
  CO_ASSERT_OK(co_await (*keep)->Read(first_block * kBlock, two));
}

Task<void> CloseChannel(std::unique_ptr<BdevChannel> channel) {
  channel.reset();
  co_return;
}

TEST(BdevStatsTest, StatsAddUpAcrossReactors) {
  BdevRegistry registry;
  std::shared_ptr<Bdev> bdev = MakeMalloc(registry, "m");
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry.Open("m", OpenMode::kReadWrite));
  auto a = bdev_test::NewReactorThread();
  auto b = bdev_test::NewReactorThread();
  std::unique_ptr<BdevChannel> on_a, on_b;
  a->BlockOn(OpenAndWrite(descriptor.get(), 3, 0, &on_a));
  b->BlockOn(OpenAndWrite(descriptor.get(), 5, 100, &on_b));
  ASSERT_NE(on_a, nullptr);
  ASSERT_NE(on_b, nullptr);

  // Both channels open: live counters of two reactors.
  BdevStats live = bdev->GetStats();
  EXPECT_EQ(live[IoType::kWrite].operations, 8u);
  EXPECT_EQ(live[IoType::kWrite].bytes, 8u * kBlock);
  EXPECT_EQ(live[IoType::kRead].operations, 2u);
  EXPECT_EQ(live[IoType::kRead].bytes, 4u * kBlock);

  // One closed (retired), one open: the same totals.
  a->BlockOn(CloseChannel(std::move(on_a)));
  BdevStats mixed = bdev->GetStats();
  EXPECT_EQ(mixed[IoType::kWrite].operations, 8u);
  EXPECT_EQ(mixed[IoType::kRead].operations, 2u);

  // More I/O on the first reactor through a new channel, then everything closed.
  a->BlockOn(OpenAndWrite(descriptor.get(), 2, 200, &on_a));
  a->BlockOn(CloseChannel(std::move(on_a)));
  b->BlockOn(CloseChannel(std::move(on_b)));
  BdevStats closed = bdev->GetStats();
  EXPECT_EQ(closed[IoType::kWrite].operations, 10u);
  EXPECT_EQ(closed[IoType::kWrite].bytes, 10u * kBlock);
  EXPECT_EQ(closed[IoType::kRead].operations, 3u);
  EXPECT_EQ(closed[IoType::kRead].errors, 0u);
  ExpectLatencyConsistent(closed[IoType::kWrite]);
  ExpectLatencyConsistent(closed[IoType::kRead]);
}

Task<void> OpenWriteClose(BdevDescriptor* descriptor) {
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  std::vector<std::byte> block(kBlock);
  CO_ASSERT_OK(co_await channel->Write(0, block));
}

// Snapshots taken while channels close on another thread: never lower than an earlier one
// (a closing channel's counts are either live or retired, never missing), and taking them never
// destroys a channel (an earlier version could, under the bdev's lock: a self-deadlock).
TEST(BdevStatsTest, SnapshotsWhileChannelsCloseNeverGoBackwards) {
  BdevRegistry registry;
  std::shared_ptr<Bdev> bdev = MakeMalloc(registry, "m");
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry.Open("m", OpenMode::kReadWrite));
  auto thread = bdev_test::NewReactorThread();
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> backwards{0};
  std::thread monitor([&] {
    uint64_t last = 0;
    while (!stop.load()) {
      uint64_t now = bdev->GetStats()[IoType::kWrite].operations;
      if (now < last) backwards.fetch_add(1);
      last = now;
    }
  });
  constexpr int kCycles = 100000;
  for (int i = 0; i < kCycles; ++i) thread->BlockOn(OpenWriteClose(descriptor.get()));
  stop.store(true);
  monitor.join();
  EXPECT_EQ(backwards.load(), 0u);
  EXPECT_EQ(bdev->GetStats()[IoType::kWrite].operations, uint64_t{kCycles});
}

Task<void> ResetOnce(BdevDescriptor* descriptor) {
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  CO_ASSERT_OK(co_await channel->Reset());
}

TEST(BdevStatsTest, ResetsAreCounted) {
  BdevRegistry registry;
  std::shared_ptr<Bdev> bdev = MakeMalloc(registry, "m");
  auto reactor = bdev_test::NewReactor();
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry.Open("m", OpenMode::kReadWrite));
  RunSync(*reactor, ResetOnce(descriptor.get()));
  BdevStats stats = bdev->GetStats();
  EXPECT_EQ(stats[IoType::kReset].operations, 1u);
  EXPECT_EQ(stats[IoType::kReset].errors, 0u);
  EXPECT_EQ(stats[IoType::kRead].operations, 0u);
}

}  // namespace
}  // namespace blobfs
