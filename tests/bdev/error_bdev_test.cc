// The error module: transparent forwarding, failure rules (range, type mask, skip, count, first
// rule decides), the write log and its replay, DropWritesAfter (a simulated power cut), and
// removal together with the base bdev.
#include "bdev/error_bdev.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "bdev/bdev.h"
#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr uint32_t kBlock = 4096;
constexpr uint64_t kSize = 256 * kBlock;

// What a test body gets: channels to the error bdev and to its base, the injector, the registry.
struct Channels {
  BdevChannel* err;
  BdevChannel* base;
  ErrorInjector* injector;
  BdevRegistry* registry;
};

// An error bdev "err" over a malloc bdev "base", with channels to both, on the test's reactor.
class ErrorBdevTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reactor_ = bdev_test::NewReactor();
    auto base = CreateMallocBdev(registry_, "base", {.size_bytes = kSize});
    ASSERT_TRUE(base.ok()) << ErrText(base);
    base_ = *base;
    auto error = CreateErrorBdev(registry_, "err", "base");
    ASSERT_TRUE(error.ok()) << ErrText(error);
    error_ = *error;
    injector_ = GetErrorInjector(*error_);
    ASSERT_NE(injector_, nullptr);
  }

  using Body = Task<void> (*)(Channels);

  void Run(Body body) { RunSync(*reactor_, WithChannels(&registry_, injector_, body)); }

  static Task<void> WithChannels(BdevRegistry* registry, ErrorInjector* injector, Body body) {
    CO_ASSIGN_OR_FAIL(auto err_descriptor, registry->Open("err", OpenMode::kReadWrite));
    CO_ASSIGN_OR_FAIL(auto base_descriptor, registry->Open("base", OpenMode::kReadWrite));
    CO_ASSIGN_OR_FAIL(auto err, err_descriptor->OpenChannel());
    CO_ASSIGN_OR_FAIL(auto base, base_descriptor->OpenChannel());
    co_await body({err.get(), base.get(), injector, registry});
  }

  std::unique_ptr<Reactor> reactor_;
  BdevRegistry registry_;
  std::shared_ptr<Bdev> base_;
  std::shared_ptr<Bdev> error_;
  ErrorInjector* injector_ = nullptr;
};

TEST_F(ErrorBdevTest, LooksLikeItsBase) {
  EXPECT_STREQ(error_->module_name(), "error");
  EXPECT_EQ(error_->geometry().block_size, base_->geometry().block_size);
  EXPECT_EQ(error_->geometry().num_blocks, base_->geometry().num_blocks);
  EXPECT_NE(error_->geometry().uuid, base_->geometry().uuid);
  EXPECT_EQ(GetErrorInjector(*base_), nullptr);
  EXPECT_EQ(injector_->injected_failures(), 0u);
  auto missing = CreateErrorBdev(registry_, "err2", "nothing");
  EXPECT_EQ(ErrCode(missing), ENOENT) << ErrText(missing);
  auto taken = CreateErrorBdev(registry_, "base", "err");  // the name is taken
  EXPECT_EQ(ErrCode(taken), EEXIST) << ErrText(taken);
}

Task<void> Transparent(Channels c) {
  const std::vector<std::byte> a = Pattern(2 * kBlock, 1);
  const std::vector<std::byte> b = Pattern(kBlock, 2);
  CO_ASSERT_OK(co_await c.err->Write(4 * kBlock, a));
  CO_ASSERT_OK(co_await c.base->Write(10 * kBlock, b));
  std::vector<std::byte> back_a(2 * kBlock), back_b(kBlock);
  CO_ASSERT_OK(co_await c.base->Read(4 * kBlock, back_a));
  EXPECT_TRUE(SameBytes(back_a, a));
  CO_ASSERT_OK(co_await c.err->Read(10 * kBlock, back_b));
  EXPECT_TRUE(SameBytes(back_b, b));
  CO_ASSERT_OK(co_await c.err->WriteZeroes(4 * kBlock, kBlock));
  CO_ASSERT_OK(co_await c.err->Unmap(5 * kBlock, kBlock));
  CO_ASSERT_OK(co_await c.err->Flush());
  CO_ASSERT_OK(co_await c.base->Read(4 * kBlock, back_a));
  EXPECT_TRUE(AllZero(back_a));
  EXPECT_EQ(c.injector->injected_failures(), 0u);
}

TEST_F(ErrorBdevTest, WithoutRulesEverythingPassesThrough) { Run(Transparent); }

Task<Status> ReadAt(BdevChannel* channel, uint64_t offset, uint64_t length) {
  std::vector<std::byte> buffer(length);
  co_return co_await channel->Read(offset, buffer);
}

Task<Status> WriteAt(BdevChannel* channel, uint64_t offset, uint64_t length, uint32_t seed) {
  std::vector<std::byte> buffer = Pattern(length, seed);
  co_return co_await channel->Write(offset, buffer);
}

Task<void> RangeRule(Channels c) {
  // Reads touching bytes [8 KiB, 12 KiB) fail with EREMOTEIO.
  c.injector->AddRule({.io_types = IoTypeBit(IoType::kRead),
                       .offset = 2 * kBlock,
                       .length = kBlock,
                       .error = EREMOTEIO});
  Status overlapping = co_await ReadAt(c.err, kBlock, 2 * kBlock);
  EXPECT_EQ(ErrCode(overlapping), EREMOTEIO) << ErrText(overlapping);
  EXPECT_THAT(ErrText(overlapping), HasSubstr("'err'"));
  Status exact = co_await ReadAt(c.err, 2 * kBlock, kBlock);
  EXPECT_EQ(ErrCode(exact), EREMOTEIO) << ErrText(exact);
  Status covering = co_await ReadAt(c.err, 0, 8 * kBlock);
  EXPECT_EQ(ErrCode(covering), EREMOTEIO) << ErrText(covering);
  EXPECT_OK(co_await ReadAt(c.err, kBlock, kBlock));      // just before
  EXPECT_OK(co_await ReadAt(c.err, 3 * kBlock, kBlock));  // just after
  EXPECT_OK(co_await ReadAt(c.err, 100 * kBlock, kBlock));
  // Writes to the range are not affected.
  EXPECT_OK(co_await WriteAt(c.err, 2 * kBlock, kBlock, 3));
  EXPECT_EQ(c.injector->injected_failures(), 3u);
  // The base bdev is never affected.
  EXPECT_OK(co_await ReadAt(c.base, 2 * kBlock, kBlock));
}

TEST_F(ErrorBdevTest, RuleFailsOverlappingReadsOnly) { Run(RangeRule); }

Task<void> SkipRule(Channels c) {
  c.injector->AddRule({.io_types = IoTypeBit(IoType::kRead), .error = EIO, .skip = 2});
  EXPECT_OK(co_await ReadAt(c.err, 0, kBlock));
  EXPECT_OK(co_await ReadAt(c.err, kBlock, kBlock));
  // Non-matching requests do not count towards the skip... nor are they failed.
  EXPECT_OK(co_await WriteAt(c.err, 0, kBlock, 1));
  for (int i = 0; i < 3; ++i) {
    Status status = co_await ReadAt(c.err, 0, kBlock);
    EXPECT_EQ(ErrCode(status), EIO) << i << ": " << ErrText(status);
  }
  EXPECT_EQ(c.injector->injected_failures(), 3u);
}

TEST_F(ErrorBdevTest, SkipLetsTheFirstMatchingRequestsThrough) { Run(SkipRule); }

Task<void> CountRule(Channels c) {
  c.injector->AddRule({.io_types = IoTypeBit(IoType::kWrite), .error = ENOSPC, .count = 2});
  for (int i = 0; i < 2; ++i) {
    Status status = co_await WriteAt(c.err, 0, kBlock, 1);
    EXPECT_EQ(ErrCode(status), ENOSPC) << ErrText(status);
  }
  for (int i = 0; i < 3; ++i) EXPECT_OK(co_await WriteAt(c.err, 0, kBlock, 1));
  EXPECT_EQ(c.injector->injected_failures(), 2u);

  // skip and count together: one through, one failed, then through again.
  c.injector->ClearRules();
  c.injector->AddRule({.io_types = IoTypeBit(IoType::kRead), .error = EIO, .skip = 1, .count = 1});
  EXPECT_OK(co_await ReadAt(c.err, 0, kBlock));
  EXPECT_EQ(ErrCode(co_await ReadAt(c.err, 0, kBlock)), EIO);
  EXPECT_OK(co_await ReadAt(c.err, 0, kBlock));
  EXPECT_OK(co_await ReadAt(c.err, 0, kBlock));
  EXPECT_EQ(c.injector->injected_failures(), 3u);
}

TEST_F(ErrorBdevTest, CountLimitsTheFailures) { Run(CountRule); }

Task<void> FailedWritesDoNotReachTheBase(Channels c) {
  const std::vector<std::byte> before = Pattern(kBlock, 1);
  CO_ASSERT_OK(co_await c.base->Write(0, before));
  c.injector->AddRule(
      {.io_types = IoTypeBit(IoType::kWrite) | IoTypeBit(IoType::kWriteZeroes), .error = EIO});
  EXPECT_EQ(ErrCode(co_await WriteAt(c.err, 0, kBlock, 2)), EIO);
  EXPECT_EQ(ErrCode(co_await c.err->WriteZeroes(0, kBlock)), EIO);
  std::vector<std::byte> back(kBlock);
  CO_ASSERT_OK(co_await c.base->Read(0, back));
  EXPECT_TRUE(SameBytes(back, before));
}

TEST_F(ErrorBdevTest, FailedWritesDoNotReachTheBase) { Run(FailedWritesDoNotReachTheBase); }

Task<void> TypeMask(Channels c) {
  c.injector->AddRule({.io_types = IoTypeBit(IoType::kWrite) | IoTypeBit(IoType::kFlush),
                       .offset = 0,
                       .length = kBlock,
                       .error = EROFS});
  EXPECT_OK(co_await ReadAt(c.err, 0, kBlock));
  EXPECT_EQ(ErrCode(co_await WriteAt(c.err, 0, kBlock, 1)), EROFS);
  EXPECT_OK(co_await WriteAt(c.err, kBlock, kBlock, 1));  // outside the range
  // Flushes match whatever the range.
  EXPECT_EQ(ErrCode(co_await c.err->Flush()), EROFS);
  EXPECT_OK(co_await c.err->WriteZeroes(0, kBlock));
  EXPECT_OK(co_await c.err->Unmap(0, kBlock));
  EXPECT_EQ(c.injector->injected_failures(), 2u);

  c.injector->ClearRules();
  EXPECT_OK(co_await WriteAt(c.err, 0, kBlock, 1));
  EXPECT_OK(co_await c.err->Flush());
  EXPECT_EQ(c.injector->injected_failures(), 2u);  // a running total

  // All types by default.
  c.injector->AddRule({.error = EIO});
  EXPECT_EQ(ErrCode(co_await ReadAt(c.err, 0, kBlock)), EIO);
  EXPECT_EQ(ErrCode(co_await WriteAt(c.err, 0, kBlock, 1)), EIO);
  EXPECT_EQ(ErrCode(co_await c.err->WriteZeroes(0, kBlock)), EIO);
  EXPECT_EQ(ErrCode(co_await c.err->Unmap(0, kBlock)), EIO);
  EXPECT_EQ(ErrCode(co_await c.err->Flush()), EIO);
  c.injector->ClearRules();
  EXPECT_OK(co_await ReadAt(c.err, 0, kBlock));
}

TEST_F(ErrorBdevTest, TypeMaskAndClearRules) { Run(TypeMask); }

Task<void> FirstRuleDecides(Channels c) {
  // The first rule matches every write: while it skips, the second never gets a say.
  c.injector->AddRule(
      {.io_types = IoTypeBit(IoType::kWrite), .error = ENOSPC, .skip = 1, .count = 1});
  c.injector->AddRule({.io_types = IoTypeBit(IoType::kWrite), .error = EIO});
  EXPECT_OK(co_await WriteAt(c.err, 0, kBlock, 1));
  EXPECT_EQ(ErrCode(co_await WriteAt(c.err, 0, kBlock, 1)), ENOSPC);
  EXPECT_OK(co_await WriteAt(c.err, 0, kBlock, 1));
  // A rule that does not match (reads only) leaves the decision to the next one.
  c.injector->ClearRules();
  c.injector->AddRule({.io_types = IoTypeBit(IoType::kRead), .error = ENOSPC});
  c.injector->AddRule({.io_types = IoTypeBit(IoType::kWrite), .error = EIO});
  EXPECT_EQ(ErrCode(co_await WriteAt(c.err, 0, kBlock, 1)), EIO);
  EXPECT_EQ(ErrCode(co_await ReadAt(c.err, 0, kBlock)), ENOSPC);
}

TEST_F(ErrorBdevTest, TheFirstMatchingRuleDecides) { Run(FirstRuleDecides); }

Task<void> WriteLog(Channels c) {
  const std::vector<std::byte> a = Pattern(2 * kBlock, 1);
  const std::vector<std::byte> b = Pattern(kBlock, 2);
  CO_ASSERT_OK(co_await c.err->Write(0, a));  // before recording: not logged
  c.injector->StartRecording();
  CO_ASSERT_OK(co_await c.err->Write(3 * kBlock, a));
  std::vector<std::byte> ignored(kBlock);
  CO_ASSERT_OK(co_await c.err->Read(0, ignored));  // reads are not logged
  CO_ASSERT_OK(co_await c.err->WriteZeroes(kBlock, 2 * kBlock));
  CO_ASSERT_OK(co_await c.err->Unmap(8 * kBlock, kBlock));
  CO_ASSERT_OK(co_await c.err->Flush());
  CO_ASSERT_OK(co_await c.err->Write(20 * kBlock, b));
  CO_ASSERT_OK(co_await c.base->Write(30 * kBlock, b));  // bypasses the error bdev

  std::vector<WriteLogEntry> log = c.injector->TakeWriteLog();
  CO_ASSERT_TRUE(log.size() == 5u);
  EXPECT_EQ(log[0].type, IoType::kWrite);
  EXPECT_EQ(log[0].offset, 3u * kBlock);
  EXPECT_EQ(log[0].length, 2u * kBlock);
  EXPECT_TRUE(SameBytes(log[0].data, a));
  EXPECT_EQ(log[1].type, IoType::kWriteZeroes);
  EXPECT_EQ(log[1].offset, uint64_t{kBlock});
  EXPECT_EQ(log[1].length, 2u * kBlock);
  EXPECT_THAT(log[1].data, IsEmpty());
  EXPECT_EQ(log[2].type, IoType::kUnmap);
  EXPECT_EQ(log[2].offset, 8u * kBlock);
  EXPECT_EQ(log[2].length, uint64_t{kBlock});
  EXPECT_EQ(log[3].type, IoType::kFlush);
  EXPECT_EQ(log[4].type, IoType::kWrite);
  EXPECT_EQ(log[4].offset, 20u * kBlock);
  EXPECT_TRUE(SameBytes(log[4].data, b));
  for (const WriteLogEntry& entry : log) EXPECT_FALSE(entry.dropped);

  // Taking the log starts a new one; failed writes are not logged; stopping ends logging.
  EXPECT_THAT(c.injector->TakeWriteLog(), IsEmpty());
  c.injector->AddRule({.io_types = IoTypeBit(IoType::kWrite), .error = EIO, .count = 1});
  EXPECT_EQ(ErrCode(co_await c.err->Write(0, b)), EIO);
  CO_ASSERT_OK(co_await c.err->Write(kBlock, b));
  c.injector->StopRecording();
  CO_ASSERT_OK(co_await c.err->Write(2 * kBlock, b));
  log = c.injector->TakeWriteLog();
  CO_ASSERT_TRUE(log.size() == 1u);
  EXPECT_EQ(log[0].offset, uint64_t{kBlock});
}

TEST_F(ErrorBdevTest, WriteLogRecordsModifyingRequestsInOrder) { Run(WriteLog); }

Task<Status> ReadAll(BdevChannel* channel, std::vector<std::byte>* out) {
  out->assign(kSize, std::byte{0});
  co_return co_await channel->Read(0, *out);
}

Task<void> OpenFreshAndReplay(BdevRegistry* registry, std::string name,
                              std::span<const WriteLogEntry> prefix, std::vector<std::byte>* out) {
  CO_ASSIGN_OR_FAIL(auto bdev, CreateMallocBdev(*registry, name, {.size_bytes = kSize}));
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open(name, OpenMode::kReadWrite));
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  CO_ASSERT_OK(co_await ReplayWriteLog(prefix, *channel));
  CO_ASSERT_OK(co_await ReadAll(channel.get(), out));
}

Task<void> Replay(Channels c) {
  c.injector->StartRecording();
  // Overlapping writes, zeroes and unmaps: each prefix leaves a different state.
  std::vector<std::vector<std::byte>> states;
  std::vector<std::byte> state;
  CO_ASSERT_OK(co_await ReadAll(c.base, &state));
  states.push_back(state);
  for (int step = 0; step < 8; ++step) {
    switch (step % 4) {
      case 0:
        CO_ASSERT_OK(co_await WriteAt(c.err, step * kBlock, 6 * kBlock, 10 + step));
        break;
      case 1:
        CO_ASSERT_OK(co_await c.err->WriteZeroes((step + 2) * kBlock, 2 * kBlock));
        break;
      case 2:
        CO_ASSERT_OK(co_await c.err->Unmap((step - 1) * kBlock, kBlock));
        break;
      case 3:
        CO_ASSERT_OK(co_await c.err->Flush());
        break;
    }
    CO_ASSERT_OK(co_await ReadAll(c.base, &state));
    states.push_back(state);
  }
  std::vector<WriteLogEntry> log = c.injector->TakeWriteLog();
  CO_ASSERT_TRUE(log.size() == 8u);
  for (size_t prefix = 0; prefix <= log.size(); ++prefix) {
    std::vector<std::byte> replayed;
    co_await OpenFreshAndReplay(c.registry, "replay" + std::to_string(prefix),
                                std::span(log).first(prefix), &replayed);
    EXPECT_TRUE(SameBytes(replayed, states[prefix])) << "prefix of " << prefix;
  }
}

TEST_F(ErrorBdevTest, ReplayingAPrefixReproducesTheStateAfterIt) { Run(Replay); }

Task<void> DropWrites(Channels c) {
  const std::vector<std::byte> old = Pattern(8 * kBlock, 1);
  CO_ASSERT_OK(co_await c.base->Write(0, old));
  c.injector->StartRecording();
  c.injector->DropWritesAfter(2);
  std::vector<std::vector<std::byte>> data;
  for (int i = 0; i < 4; ++i) data.push_back(Pattern(kBlock, 20 + i));
  CO_ASSERT_OK(co_await c.err->Write(0, data[0]));       // applied
  CO_ASSERT_OK(co_await c.err->Flush());                 // flushes do not count as writes
  CO_ASSERT_OK(co_await c.err->Write(kBlock, data[1]));  // applied
  // The power is now out: everything is acknowledged, nothing reaches the base.
  CO_ASSERT_OK(co_await c.err->Write(2 * kBlock, data[2]));
  CO_ASSERT_OK(co_await c.err->Flush());
  CO_ASSERT_OK(co_await c.err->WriteZeroes(3 * kBlock, kBlock));
  CO_ASSERT_OK(co_await c.err->Unmap(4 * kBlock, kBlock));
  CO_ASSERT_OK(co_await c.err->Write(5 * kBlock, data[3]));

  std::vector<std::byte> base(8 * kBlock);
  CO_ASSERT_OK(co_await c.base->Read(0, base));
  EXPECT_TRUE(SameBytes(std::span(base).first(kBlock), data[0]));
  EXPECT_TRUE(SameBytes(std::span(base).subspan(kBlock, kBlock), data[1]));
  EXPECT_TRUE(SameBytes(std::span(base).subspan(2 * kBlock), std::span(old).subspan(2 * kBlock)))
      << "dropped requests must not reach the base";

  std::vector<WriteLogEntry> log = c.injector->TakeWriteLog();
  CO_ASSERT_TRUE(log.size() == 8u);
  const std::vector<IoType> types = {IoType::kWrite, IoType::kFlush, IoType::kWrite,
                                     IoType::kWrite, IoType::kFlush, IoType::kWriteZeroes,
                                     IoType::kUnmap, IoType::kWrite};
  const std::vector<bool> dropped = {false, false, false, true, true, true, true, true};
  for (size_t i = 0; i < log.size(); ++i) {
    EXPECT_EQ(log[i].type, types[i]) << i;
    EXPECT_EQ(log[i].dropped, dropped[i]) << i;
  }
  EXPECT_TRUE(SameBytes(log[3].data, data[2]));

  // The power comes back.
  c.injector->StopDropping();
  CO_ASSERT_OK(co_await c.err->Write(6 * kBlock, data[3]));
  CO_ASSERT_OK(co_await c.base->Read(0, base));
  EXPECT_TRUE(SameBytes(std::span(base).subspan(6 * kBlock, kBlock), data[3]));
  std::vector<WriteLogEntry> after = c.injector->TakeWriteLog();
  CO_ASSERT_TRUE(after.size() == 1u);
  EXPECT_FALSE(after[0].dropped);

  // Replaying the log skips the dropped entries: only the two applied writes land.
  std::vector<std::byte> replayed;
  co_await OpenFreshAndReplay(c.registry, "replayed", log, &replayed);
  EXPECT_TRUE(SameBytes(std::span(replayed).first(kBlock), data[0]));
  EXPECT_TRUE(SameBytes(std::span(replayed).subspan(kBlock, kBlock), data[1]));
  EXPECT_TRUE(AllZero(std::span(replayed).subspan(2 * kBlock)));
}

TEST_F(ErrorBdevTest, DropWritesAfterAcknowledgesButDoesNotApply) { Run(DropWrites); }

Task<void> DropImmediately(Channels c) {
  c.injector->DropWritesAfter(0);  // without recording
  CO_ASSERT_OK(co_await WriteAt(c.err, 0, kBlock, 1));
  CO_ASSERT_OK(co_await c.err->Flush());
  std::vector<std::byte> base(kBlock);
  CO_ASSERT_OK(co_await c.base->Read(0, base));
  EXPECT_TRUE(AllZero(base));
  EXPECT_THAT(c.injector->TakeWriteLog(), IsEmpty());
  // Reads still go to the base.
  const std::vector<std::byte> direct = Pattern(kBlock, 2);
  CO_ASSERT_OK(co_await c.base->Write(0, direct));
  std::vector<std::byte> through(kBlock);
  CO_ASSERT_OK(co_await c.err->Read(0, through));
  EXPECT_TRUE(SameBytes(through, direct));
}

TEST_F(ErrorBdevTest, DropWritesAfterZeroDropsEverything) { Run(DropImmediately); }

Task<void> RemovedWithBase(Channels c) {
  CO_ASSERT_OK(c.registry->Unregister("base"));
  // The base descriptor was opened outside a reactor, so the removal is immediate.
  EXPECT_EQ(c.registry->Find("err"), nullptr);
  EXPECT_EQ(c.registry->Find("base"), nullptr);
  Status read = co_await ReadAt(c.err, 0, kBlock);
  EXPECT_EQ(ErrCode(read), ENODEV) << ErrText(read);
  EXPECT_THAT(ErrText(read), HasSubstr("'err'"));
  Status write = co_await WriteAt(c.base, 0, kBlock, 1);
  EXPECT_EQ(ErrCode(write), ENODEV) << ErrText(write);
}

TEST_F(ErrorBdevTest, HotRemovingTheBaseRemovesTheErrorBdev) {
  std::weak_ptr<Bdev> weak_error = error_;
  std::weak_ptr<Bdev> weak_base = base_;
  Run(RemovedWithBase);
  EXPECT_TRUE(error_->removed());
  EXPECT_TRUE(base_->removed());
  error_.reset();
  base_.reset();
  EXPECT_TRUE(weak_error.expired());
  EXPECT_TRUE(weak_base.expired()) << "the error bdev's descriptor on the base must be closed";
}

Task<void> CreateOnReactor(BdevRegistry* registry, std::shared_ptr<Bdev>* out) {
  CO_ASSIGN_OR_FAIL(*out, CreateErrorBdev(*registry, "err_r", "base"));
}

Task<void> SpinUntilRemoved(Bdev* bdev, bool* removed) {
  for (int i = 0; i < 1000 && !bdev->removed(); ++i) co_await Reactor::Current()->Yield();
  *removed = bdev->removed();
}

TEST_F(ErrorBdevTest, ErrorBdevCreatedOnAReactorIsRemovedThere) {
  std::shared_ptr<Bdev> on_reactor;
  RunSync(*reactor_, CreateOnReactor(&registry_, &on_reactor));
  ASSERT_NE(on_reactor, nullptr);
  ASSERT_OK(registry_.Unregister("base"));
  EXPECT_EQ(registry_.Find("err"), nullptr);  // created outside: removed inline
  EXPECT_FALSE(on_reactor->removed());        // notified through its reactor
  bool removed = false;
  RunSync(*reactor_, SpinUntilRemoved(on_reactor.get(), &removed));
  EXPECT_TRUE(removed);
  EXPECT_EQ(registry_.Find("err_r"), nullptr);
}

TEST_F(ErrorBdevTest, BaseRemovalLeavesANewBdevOfTheSameNameAlone) {
  // The error bdev is unregistered but kept alive by a descriptor (so it still listens to its
  // base), and its name is reused.
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry_.Open("err", OpenMode::kReadOnly));
  ASSERT_OK(registry_.Unregister("err"));
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> newcomer,
                        CreateMallocBdev(registry_, "err", {.size_bytes = kSize}));
  ASSERT_OK(registry_.Unregister("base"));
  EXPECT_EQ(registry_.Find("err").get(), newcomer.get())
      << "removing the base took an unrelated bdev with it";
  EXPECT_FALSE(newcomer->removed());
}

TEST_F(ErrorBdevTest, RemovingTheErrorBdevLeavesTheBase) {
  ASSERT_OK(registry_.Unregister("err"));
  EXPECT_TRUE(error_->removed());
  EXPECT_FALSE(base_->removed());
  EXPECT_NE(registry_.Find("base"), nullptr);
  std::weak_ptr<Bdev> weak = error_;
  error_.reset();
  EXPECT_TRUE(weak.expired());
  // The base can be opened and removed on its own now.
  ASSERT_OK(registry_.Unregister("base"));
}

}  // namespace
}  // namespace blobfs
