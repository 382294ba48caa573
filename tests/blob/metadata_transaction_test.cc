// MetadataTransaction: write order around the commit point, flushes, and releases that run only
// after a durable commit. Observed through an error bdev's write log over a malloc bdev.
#include "blob/metadata_transaction.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "bdev/error_bdev.h"
#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "common/sync_bridge.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h
using Order = MetadataTransaction::Order;

AlignedBuffer PageFilledWith(uint8_t byte) {
  AlignedBuffer page(kPageSize, kPageSize);
  std::memset(page.data(), byte, page.size());
  return page;
}

class MetadataTransactionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reactor_ = NewReactor();
    ASSERT_TRUE(CreateMallocBdev(registry_, "base", {.size_bytes = 1 << 20}).ok());
    auto error = CreateErrorBdev(registry_, "md", "base");
    ASSERT_TRUE(error.ok()) << error.error().ToString();
    injector_ = GetErrorInjector(**error);
    injector_->StartRecording();
    auto descriptor = registry_.Open("md", OpenMode::kReadWrite);
    ASSERT_TRUE(descriptor.ok());
    descriptor_ = std::move(descriptor).value();
  }
  void TearDown() override { descriptor_.reset(); }

  // Commits `transaction` on a channel opened for the purpose.
  Status Commit(MetadataTransaction& transaction) {
    return RunSync(*reactor_, CommitOn(descriptor_.get(), &transaction));
  }
  static Task<Status> CommitOn(BdevDescriptor* descriptor, MetadataTransaction* transaction) {
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevChannel> channel, descriptor->OpenChannel());
    co_return co_await transaction->Commit(*channel);
  }

  std::unique_ptr<Reactor> reactor_;
  BdevRegistry registry_;
  ErrorInjector* injector_ = nullptr;
  std::unique_ptr<BdevDescriptor> descriptor_;
};

TEST_F(MetadataTransactionTest, PagesBeforeTheCommitPointAreFlushedFirst) {
  MetadataTransaction transaction;
  transaction.AddPageWrite(7, PageFilledWith(0xc7), Order::kCommitPoint);
  transaction.AddPageWrite(3, PageFilledWith(0xa3), Order::kBeforeCommitPoint);
  transaction.AddPageWrite(5, PageFilledWith(0xa5), Order::kBeforeCommitPoint);
  int released = 0;
  transaction.AfterCommit([&released] { ++released; });
  ASSERT_OK(Commit(transaction));
  EXPECT_EQ(released, 1);

  std::vector<WriteLogEntry> log = injector_->TakeWriteLog();
  ASSERT_EQ(log.size(), 5u);
  // Two chain pages (either order), a flush, the commit point, a flush.
  std::vector<uint64_t> first_two = {log[0].offset / kPageSize,
                                     log[1].offset / kPageSize};
  std::sort(first_two.begin(), first_two.end());
  EXPECT_EQ(first_two, (std::vector<uint64_t>{3, 5}));
  EXPECT_EQ(log[0].type, IoType::kWrite);
  EXPECT_EQ(log[2].type, IoType::kFlush);
  EXPECT_EQ(log[3].type, IoType::kWrite);
  EXPECT_EQ(log[3].offset, 7 * kPageSize);
  EXPECT_EQ(static_cast<uint8_t>(log[3].data[0]), 0xc7);
  EXPECT_EQ(log[4].type, IoType::kFlush);
  EXPECT_TRUE(transaction.empty()) << "a committed transaction is spent";
}

TEST_F(MetadataTransactionTest, ALaterWriteOfTheSamePageReplacesTheEarlierOne) {
  MetadataTransaction transaction;
  transaction.AddPageWrite(2, PageFilledWith(0x01), Order::kBeforeCommitPoint);
  transaction.AddPageWrite(2, PageFilledWith(0x02), Order::kBeforeCommitPoint);
  EXPECT_EQ(transaction.page_writes(), 1u);
  ASSERT_OK(Commit(transaction));
  std::vector<WriteLogEntry> log = injector_->TakeWriteLog();
  ASSERT_EQ(log.size(), 2u);  // the page and the final flush; no commit point, no middle flush
  EXPECT_EQ(static_cast<uint8_t>(log[0].data[0]), 0x02);
  EXPECT_EQ(log[1].type, IoType::kFlush);
}

TEST_F(MetadataTransactionTest, ACommitPointAloneNeedsOneFlush) {
  MetadataTransaction transaction;
  transaction.AddPageWrite(6, PageFilledWith(0x06), Order::kCommitPoint);
  ASSERT_OK(Commit(transaction));
  std::vector<WriteLogEntry> log = injector_->TakeWriteLog();
  ASSERT_EQ(log.size(), 2u);  // nothing to order it after: the write and the final flush
  EXPECT_EQ(log[0].type, IoType::kWrite);
  EXPECT_EQ(log[1].type, IoType::kFlush);
}

TEST_F(MetadataTransactionTest, MultiPageWritesAndUnmapsBeforeReleases) {
  MetadataTransaction transaction;
  AlignedBuffer pages(3 * kPageSize, kPageSize);
  std::memset(pages.data(), 0x5a, pages.size());
  transaction.AddPageWrite(10, std::move(pages), Order::kBeforeCommitPoint);
  transaction.AddPageWrite(1, PageFilledWith(0x01), Order::kCommitPoint);
  transaction.UnmapAfterCommit(64 * kPageSize, 8 * kPageSize);
  size_t log_size_at_release = 0;
  transaction.AfterCommit([&] { log_size_at_release = injector_->TakeWriteLog().size(); });
  ASSERT_OK(Commit(transaction));
  // The three-page write, a flush, the commit point, a flush, then the unmap; then the release.
  EXPECT_EQ(log_size_at_release, 5u);
}

TEST_F(MetadataTransactionTest, UnmapsThatTouchOrOverlapGoOutAsOne) {
  MetadataTransaction transaction;
  transaction.AddPageWrite(1, PageFilledWith(0x01), Order::kCommitPoint);
  // Out of order: [40, 48) and [32, 40) touch, [44, 52) overlaps them, [60, 62) stands apart.
  transaction.UnmapAfterCommit(40 * kPageSize, 8 * kPageSize);
  transaction.UnmapAfterCommit(60 * kPageSize, 2 * kPageSize);
  transaction.UnmapAfterCommit(32 * kPageSize, 8 * kPageSize);
  transaction.UnmapAfterCommit(44 * kPageSize, 8 * kPageSize);
  ASSERT_OK(Commit(transaction));
  std::vector<WriteLogEntry> unmaps;
  for (WriteLogEntry& entry : injector_->TakeWriteLog()) {
    if (entry.type == IoType::kUnmap) unmaps.push_back(std::move(entry));
  }
  ASSERT_EQ(unmaps.size(), 2u);
  EXPECT_EQ(unmaps[0].offset, 32 * kPageSize);
  EXPECT_EQ(unmaps[0].length, 20 * kPageSize);
  EXPECT_EQ(unmaps[1].offset, 60 * kPageSize);
  EXPECT_EQ(unmaps[1].length, 2 * kPageSize);
}

TEST_F(MetadataTransactionTest, AFailedCommitRunsNoReleaseAndStopsBeforeTheCommitPoint) {
  injector_->AddRule({.io_types = IoTypeBit(IoType::kWrite),
                      .offset = 4 * kPageSize,
                      .length = kPageSize,
                      .error = EIO});
  MetadataTransaction transaction;
  transaction.AddPageWrite(4, PageFilledWith(0xa4), Order::kBeforeCommitPoint);
  transaction.AddPageWrite(9, PageFilledWith(0xc9), Order::kCommitPoint);
  bool released = false;
  transaction.AfterCommit([&released] { released = true; });
  Status status = Commit(transaction);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().code(), EIO);
  EXPECT_NE(status.error().message().find("metadata commit"), std::string::npos);
  EXPECT_FALSE(released);
  for (const WriteLogEntry& entry : injector_->TakeWriteLog()) {
    EXPECT_NE(entry.offset, 9 * kPageSize) << "the commit point must not be written";
  }
}

TEST_F(MetadataTransactionTest, AFailedFlushFailsTheCommit) {
  injector_->AddRule({.io_types = IoTypeBit(IoType::kFlush), .error = EIO, .count = 1});
  MetadataTransaction transaction;
  transaction.AddPageWrite(1, PageFilledWith(0x11), Order::kBeforeCommitPoint);
  transaction.AddPageWrite(2, PageFilledWith(0x22), Order::kCommitPoint);
  bool released = false;
  transaction.AfterCommit([&released] { released = true; });
  EXPECT_FALSE(Commit(transaction).ok());
  EXPECT_FALSE(released);
}

}  // namespace
}  // namespace blobfs
