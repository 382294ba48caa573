// MetadataJournal: what each kind of commit writes and flushes, in which order; releases only
// after a durable commit; a failed log write and a failed checkpoint; a log that wraps; commits too
// big for the log; and, above all, a crash at any moment — every write after the last flush
// durable or not, in any combination, torn or whole — leaves a device whose replay shows one whole
// commit, never older than the last one acknowledged. Observed through an error bdev's write log
// over a malloc bdev.
#include "blob/metadata_journal.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "bdev/error_bdev.h"
#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "blob/format/page.h"
#include "blob/journal_replay.h"
#include "common/sync_bridge.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h
using Order = MetadataTransaction::Order;

constexpr uint64_t kDevicePages = 256;
constexpr PageRange kJournalArea = {192, 64};
const std::vector<PageRange> kJournaled = {{0, 1}, {16, 48}};
constexpr uint64_t kInPlacePage = 10;  // outside the journaled ranges, like a mask

AlignedBuffer PageFilledWith(uint8_t byte) {
  AlignedBuffer page(kPageSize, kPageSize);
  std::memset(page.data(), byte, page.size());
  return page;
}

const Uuid& JournalUuid() {
  static const Uuid uuid = Uuid::Random();
  return uuid;
}

bool InJournal(const WriteLogEntry& entry) {
  return entry.offset >= kJournalArea.start * kPageSize;
}

class MetadataJournalTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reactor_ = NewReactor();
    ASSERT_TRUE(CreateMallocBdev(registry_, "base", {.size_bytes = kDevicePages * kPageSize}).ok());
    auto error = CreateErrorBdev(registry_, "md", "base");
    ASSERT_TRUE(error.ok()) << error.error().ToString();
    injector_ = GetErrorInjector(**error);
    auto descriptor = registry_.Open("md", OpenMode::kReadWrite);
    ASSERT_TRUE(descriptor.ok());
    descriptor_ = std::move(descriptor).value();
    StartJournal(JournalReplay{});
    injector_->StartRecording();
  }
  void TearDown() override {
    RunSync(*reactor_, [](MetadataJournalTest* test) -> Task<void> {
      test->journal_.reset();
      test->channel_.reset();
      co_return;
    }(this));
    descriptor_.reset();
  }

  void StartJournal(const JournalReplay& position) {
    RunSync(*reactor_, [](MetadataJournalTest* test, const JournalReplay* at) -> Task<void> {
      test->journal_.reset();
      if (test->channel_ == nullptr) test->channel_ = test->descriptor_->OpenChannel().value();
      test->journal_ = std::make_unique<MetadataJournal>(
          *test->channel_, MetadataJournal::Options{kJournalArea, JournalUuid(), kJournaled}, *at);
      co_return;
    }(this, &position));
  }

  Status Commit(MetadataTransaction& transaction) {
    return RunSync(*reactor_, journal_->Commit(transaction));
  }

  std::vector<std::byte> DeviceBytes() {
    std::vector<std::byte> bytes(kDevicePages * kPageSize);
    Status read = RunSync(*reactor_, channel_->Read(0, bytes));
    CHECK(read.ok()) << read.error().ToString();
    return bytes;
  }

  std::unique_ptr<Reactor> reactor_;
  BdevRegistry registry_;
  ErrorInjector* injector_ = nullptr;
  std::unique_ptr<BdevDescriptor> descriptor_;
  std::unique_ptr<BdevChannel> channel_;
  std::unique_ptr<MetadataJournal> journal_;
};

// The replay a load would make of `device` (the whole device's bytes), applied to it.
Result<JournalReplay> ReplayOnto(std::vector<std::byte>& device) {
  std::span<const std::byte> area(device.data() + kJournalArea.start * kPageSize,
                                  kJournalArea.length * kPageSize);
  ASSIGN_OR_RETURN(JournalReplay replay, ParseJournal(area, JournalUuid(), kJournaled));
  for (const auto& [target, image] : replay.images) {
    std::memcpy(device.data() + target * kPageSize, image.data(), kPageSize);
  }
  return replay;
}

uint8_t FillOf(const std::vector<std::byte>& device, uint64_t page) {
  return static_cast<uint8_t>(device[page * kPageSize + 100]);
}

TEST_F(MetadataJournalTest, ACommitWithNothingInPlaceCostsOneFlushBeforeItsCheckpoint) {
  MetadataTransaction transaction;
  transaction.AddPageWrite(20, PageFilledWith(0xc7), Order::kCommitPoint);
  transaction.AddPageWrite(0, PageFilledWith(0xc0), Order::kCommitPoint);
  transaction.AddPageWrite(21, PageFilledWith(0xa5), Order::kBeforeCommitPoint);
  int released = 0;
  transaction.AfterCommit([&released] { ++released; });
  ASSERT_OK(Commit(transaction));
  EXPECT_EQ(released, 1);
  EXPECT_TRUE(transaction.empty()) << "a committed transaction is spent";

  std::vector<WriteLogEntry> log = injector_->TakeWriteLog();
  size_t flushes = 0;
  size_t flush_at = 0;
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].type == IoType::kFlush) {
      ++flushes;
      flush_at = i;
    }
  }
  ASSERT_EQ(flushes, 1u);
  for (size_t i = 0; i < log.size(); ++i) {
    if (log[i].type != IoType::kWrite) continue;
    // The log first (one write: descriptor, three images, commit block), then in place.
    EXPECT_EQ(InJournal(log[i]), i < flush_at) << "write " << i << " at " << log[i].offset;
  }
  ASSERT_EQ(log[0].length, 5 * kPageSize);
  std::vector<std::byte> device = DeviceBytes();
  EXPECT_EQ(FillOf(device, 0), 0xc0);
  EXPECT_EQ(FillOf(device, 20), 0xc7);
  EXPECT_EQ(FillOf(device, 21), 0xa5);
}

TEST_F(MetadataJournalTest, ABarrierOrAPageInPlaceFlushesBeforeTheCommitBlock) {
  for (bool in_place : {false, true}) {
    SCOPED_TRACE(in_place ? "a page in place" : "a barrier");
    MetadataTransaction transaction;
    transaction.AddPageWrite(30, PageFilledWith(0x30), Order::kCommitPoint);
    if (in_place) {
      transaction.AddPageWrite(kInPlacePage, PageFilledWith(0x10), Order::kBeforeCommitPoint);
    } else {
      transaction.RequireBarrier();
    }
    ASSERT_OK(Commit(transaction));
    std::vector<WriteLogEntry> log = injector_->TakeWriteLog();
    // [descriptor + image, the page in place] (any order), flush, commit block, flush, in place.
    std::vector<std::string> shape;
    for (const WriteLogEntry& entry : log) {
      if (entry.type == IoType::kFlush) {
        shape.push_back("flush");
      } else if (InJournal(entry)) {
        shape.push_back("log" + std::to_string(entry.length / kPageSize));
      } else {
        shape.push_back("page" + std::to_string(entry.offset / kPageSize));
      }
    }
    if (in_place && shape.size() > 1 && shape[0] == "page10") std::swap(shape[0], shape[1]);
    std::vector<std::string> expected = {"log2", "flush", "log1", "flush", "page30"};
    if (in_place) expected.insert(expected.begin() + 1, "page10");
    EXPECT_EQ(shape, expected);
  }
}

TEST_F(MetadataJournalTest, ALaterWriteOfTheSamePageReplacesTheEarlierOne) {
  MetadataTransaction transaction;
  transaction.AddPageWrite(22, PageFilledWith(0x01), Order::kCommitPoint);
  transaction.AddPageWrite(22, PageFilledWith(0x02), Order::kCommitPoint);
  EXPECT_EQ(transaction.page_writes(), 1u);
  ASSERT_OK(Commit(transaction));
  EXPECT_EQ(FillOf(DeviceBytes(), 22), 0x02);
}

TEST_F(MetadataJournalTest, UnmapsThatTouchOrOverlapGoOutAsOneBeforeTheReleases) {
  MetadataTransaction transaction;
  transaction.AddPageWrite(17, PageFilledWith(0x01), Order::kCommitPoint);
  // Out of order: [40, 48) and [32, 40) touch, [44, 52) overlaps them, [60, 62) stands apart.
  transaction.UnmapAfterCommit(40 * kPageSize, 8 * kPageSize);
  transaction.UnmapAfterCommit(60 * kPageSize, 2 * kPageSize);
  transaction.UnmapAfterCommit(32 * kPageSize, 8 * kPageSize);
  transaction.UnmapAfterCommit(44 * kPageSize, 8 * kPageSize);
  size_t unmaps_at_release = 0;
  std::vector<WriteLogEntry> unmaps;
  transaction.AfterCommit([&] {
    for (WriteLogEntry& entry : injector_->TakeWriteLog()) {
      if (entry.type == IoType::kUnmap) unmaps.push_back(std::move(entry));
    }
    unmaps_at_release = unmaps.size();
  });
  ASSERT_OK(Commit(transaction));
  ASSERT_EQ(unmaps_at_release, 2u);
  EXPECT_EQ(unmaps[0].offset, 32 * kPageSize);
  EXPECT_EQ(unmaps[0].length, 20 * kPageSize);
  EXPECT_EQ(unmaps[1].offset, 60 * kPageSize);
  EXPECT_EQ(unmaps[1].length, 2 * kPageSize);
}

TEST_F(MetadataJournalTest, AFailedLogWriteReleasesNothingWritesNothingInPlaceAndTheJournalGoesOn) {
  injector_->AddRule({.io_types = IoTypeBit(IoType::kWrite),
                      .offset = kJournalArea.start * kPageSize,
                      .length = kJournalArea.length * kPageSize,
                      .error = EIO,
                      .count = 1});
  MetadataTransaction transaction;
  transaction.AddPageWrite(25, PageFilledWith(0xc9), Order::kCommitPoint);
  bool released = false;
  transaction.AfterCommit([&released] { released = true; });
  Status status = Commit(transaction);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), EIO);
  EXPECT_NE(status.error().message().find("metadata commit"), std::string::npos);
  EXPECT_FALSE(released);
  for (const WriteLogEntry& entry : injector_->TakeWriteLog()) {
    EXPECT_TRUE(entry.type != IoType::kWrite || InJournal(entry)) << "written in place";
  }
  MetadataTransaction retry;
  retry.AddPageWrite(25, PageFilledWith(0xca), Order::kCommitPoint);
  ASSERT_OK(Commit(retry));
  std::vector<std::byte> device = DeviceBytes();
  EXPECT_EQ(FillOf(device, 25), 0xca);
  ASSERT_OK(ReplayOnto(device));
  EXPECT_EQ(FillOf(device, 25), 0xca);
}

TEST_F(MetadataJournalTest, AFailedFlushFailsTheCommit) {
  injector_->AddRule({.io_types = IoTypeBit(IoType::kFlush), .error = EIO, .count = 1});
  MetadataTransaction transaction;
  transaction.AddPageWrite(18, PageFilledWith(0x22), Order::kCommitPoint);
  bool released = false;
  transaction.AfterCommit([&released] { released = true; });
  EXPECT_FALSE(Commit(transaction).ok());
  EXPECT_FALSE(released);
}

TEST_F(MetadataJournalTest, AFailedWriteInPlaceAbortsTheJournalAndReplayHasTheCommit) {
  injector_->AddRule({.io_types = IoTypeBit(IoType::kWrite),
                      .offset = 40 * kPageSize,
                      .length = kPageSize,
                      .error = EIO,
                      .count = 1});
  MetadataTransaction transaction;
  transaction.AddPageWrite(40, PageFilledWith(0x40), Order::kCommitPoint);
  EXPECT_EQ(ErrCode(Commit(transaction)), EIO);
  EXPECT_TRUE(journal_->aborted());
  MetadataTransaction later;
  later.AddPageWrite(41, PageFilledWith(0x41), Order::kCommitPoint);
  Status refused = Commit(later);
  EXPECT_EQ(ErrCode(refused), EIO);
  EXPECT_NE(refused.error().message().find("aborted"), std::string::npos);
  std::vector<std::byte> device = DeviceBytes();
  EXPECT_EQ(FillOf(device, 40), 0);
  ASSERT_OK(ReplayOnto(device));
  EXPECT_EQ(FillOf(device, 40), 0x40);
  EXPECT_EQ(FillOf(device, 41), 0);
}

TEST_F(MetadataJournalTest, TheLogWrapsManyTimesAndAReloadGoesOnWhereItStopped) {
  // 3 images + descriptor + commit block = 5 positions each: 64 positions wrap every 13 commits.
  for (int round = 0; round < 2; ++round) {
    for (int c = 1; c <= 100; ++c) {
      MetadataTransaction transaction;
      const auto fill = static_cast<uint8_t>(c + round * 100);
      for (uint64_t page : {16, 33, 63}) {
        transaction.AddPageWrite(page, PageFilledWith(fill), Order::kCommitPoint);
      }
      ASSERT_OK(Commit(transaction));
    }
    // What a load does: replay onto the device as it is, then go on from there.
    std::vector<std::byte> device = DeviceBytes();
    ASSERT_ASSIGN_OR_FAIL(JournalReplay replay, ReplayOnto(device));
    EXPECT_GE(replay.transactions, 1u);
    EXPECT_EQ(replay.next_sequence, 101u + round * 100);
    for (uint64_t page : {16, 33, 63}) EXPECT_EQ(FillOf(device, page), 100 + round * 100);
    StartJournal(replay);
  }
}

TEST_F(MetadataJournalTest, ACommitTooBigForTheLogGoesInPlaceAndInAtomicParts) {
  // The 64-page log takes 46 images a transaction; 48 pages do not fit, whatever their order.
  EXPECT_EQ(journal_->max_transaction_pages(), 46u);
  MetadataTransaction transaction;
  for (uint64_t page = 16; page < 64; ++page) {
    transaction.AddPageWrite(page, PageFilledWith(0x56),
                             page < 24 ? Order::kCommitPoint : Order::kBeforeCommitPoint);
  }
  ASSERT_OK(Commit(transaction));
  MetadataTransaction roots;
  for (uint64_t page = 16; page < 64; ++page) {
    roots.AddPageWrite(page, PageFilledWith(0x57), Order::kCommitPoint);
  }
  ASSERT_OK(Commit(roots));
  std::vector<std::byte> device = DeviceBytes();
  ASSERT_OK(ReplayOnto(device));
  for (uint64_t page = 16; page < 64; ++page) EXPECT_EQ(FillOf(device, page), 0x57) << page;
}

// --- Crashes ------------------------------------------------------------------------------------

TEST_F(MetadataJournalTest, ACrashAnywhereLeavesOneWholeCommitNoOlderThanTheLastAcknowledged) {
  const std::vector<uint64_t> pages = {0, 16, 17, 30, 47};
  constexpr int kCommits = 14;
  std::vector<size_t> acknowledged_at(kCommits + 1, 0);  // write-log size when commit c returned
  std::vector<size_t> started_at(kCommits + 1, 0);
  std::vector<WriteLogEntry> log;
  for (int c = 1; c <= kCommits; ++c) {
    started_at[c] = log.size();
    MetadataTransaction transaction;
    for (uint64_t page : pages) {
      const Order order = page == 16 || page == 17 ? Order::kBeforeCommitPoint : Order::kCommitPoint;
      transaction.AddPageWrite(page, PageFilledWith(static_cast<uint8_t>(c)), order);
    }
    if (c % 4 == 0) transaction.RequireBarrier();
    if (c % 5 == 0) transaction.AddPageWrite(kInPlacePage, PageFilledWith(0xee), Order::kBeforeCommitPoint);
    ASSERT_OK(Commit(transaction));
    for (WriteLogEntry& entry : injector_->TakeWriteLog()) log.push_back(std::move(entry));
    acknowledged_at[c] = log.size();
  }

  std::mt19937_64 random(7);
  const std::vector<std::byte> empty(kDevicePages * kPageSize);
  auto apply = [](std::vector<std::byte>& device, const WriteLogEntry& entry, size_t bytes) {
    if (entry.type == IoType::kWrite) std::memcpy(device.data() + entry.offset, entry.data.data(), bytes);
  };
  size_t states = 0;
  for (size_t cut = 0; cut <= log.size(); ++cut) {
    // Everything up to the last flush before the cut is durable; what came after may or may not be.
    size_t durable_end = 0;
    for (size_t i = 0; i < cut; ++i) {
      if (log[i].type == IoType::kFlush) durable_end = i + 1;
    }
    std::vector<size_t> in_flight;
    for (size_t i = durable_end; i < cut; ++i) {
      if (log[i].type == IoType::kWrite) in_flight.push_back(i);
    }
    int acknowledged = 0;
    int started = 0;
    for (int c = 1; c <= kCommits; ++c) {
      if (acknowledged_at[c] <= cut) acknowledged = c;
      if (started_at[c] < cut) started = c;
    }
    const size_t subsets = in_flight.size() <= 6 ? size_t{1} << in_flight.size() : 64;
    for (size_t s = 0; s < subsets; ++s) {
      for (bool torn : {false, true}) {
        std::vector<std::byte> device = empty;
        for (size_t i = 0; i < durable_end; ++i) apply(device, log[i], log[i].length);
        const uint64_t mask = in_flight.size() <= 6 ? s : random();
        std::vector<size_t> chosen;
        for (size_t k = 0; k < in_flight.size(); ++k) {
          if ((mask >> (k % 64)) & 1) chosen.push_back(in_flight[k]);
        }
        if (torn && chosen.empty()) continue;
        const size_t torn_one = torn ? chosen[random() % chosen.size()] : SIZE_MAX;
        for (size_t i : chosen) {
          const size_t sectors = log[i].length / 512;
          apply(device, log[i], i == torn_one ? 512 * (1 + random() % (sectors - 1)) : log[i].length);
        }
        SCOPED_TRACE("cut after " + std::to_string(cut) + " of " + std::to_string(log.size()) +
                     " requests, subset " + std::to_string(mask) + (torn ? ", one torn" : ""));
        Result<JournalReplay> replay = ReplayOnto(device);
        ASSERT_TRUE(replay.ok()) << ErrText(replay);
        const uint8_t fill = FillOf(device, pages[0]);
        for (uint64_t page : pages) ASSERT_EQ(FillOf(device, page), fill) << "page " << page;
        EXPECT_GE(fill, acknowledged);
        EXPECT_LE(fill, started);
        ++states;
      }
    }
  }
  LOG(INFO) << states << " crash states over " << log.size() << " requests";
  EXPECT_GT(states, 1000u);
}

}  // namespace
}  // namespace blobfs
