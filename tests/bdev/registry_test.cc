// BdevRegistry: registration, lookup, geometry validation, descriptor modes and hot removal
// (remove callbacks, ENODEV for new I/O, the bdev outliving its registration until closed).
#include "bdev/registry.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "bdev/bdev.h"
#include "bdev/malloc_bdev.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

// The smallest possible module: every request succeeds at once.
class NullChannel final : public DriverChannel {
 public:
  Task<Status> Submit(const IoRequest&) override { co_return OkStatus(); }
};

class NullDriver final : public BdevDriver {
 public:
  explicit NullDriver(bool read_write = true) : read_write_(read_write) {}
  const char* module_name() const override { return "null"; }
  bool Supports(IoType type) const override {
    if (type == IoType::kWrite) return read_write_;
    return type == IoType::kRead;
  }
  Result<std::unique_ptr<DriverChannel>> CreateChannel(Reactor&) override {
    return std::unique_ptr<DriverChannel>(new NullChannel());
  }

 private:
  bool read_write_;
};

BdevGeometry Geometry(uint32_t block_size, uint64_t num_blocks) {
  BdevGeometry g;
  g.block_size = block_size;
  g.num_blocks = num_blocks;
  return g;
}

std::shared_ptr<Bdev> MakeMalloc(BdevRegistry& registry, const std::string& name,
                                 uint64_t size = 1 << 20) {
  auto bdev = CreateMallocBdev(registry, name, {.size_bytes = size});
  CHECK(bdev.ok()) << bdev.error().ToString();
  return *bdev;
}

TEST(BdevRegistryTest, RegisterFindAndNames) {
  BdevRegistry registry;
  EXPECT_THAT(registry.Names(), IsEmpty());
  std::shared_ptr<Bdev> b = MakeMalloc(registry, "bravo", 2 << 20);
  std::shared_ptr<Bdev> a = MakeMalloc(registry, "alpha");
  EXPECT_THAT(registry.Names(), ElementsAre("alpha", "bravo"));  // sorted
  EXPECT_EQ(registry.Find("alpha"), a);
  EXPECT_EQ(registry.Find("bravo"), b);
  EXPECT_EQ(registry.Find("charlie"), nullptr);
  EXPECT_EQ(registry.Find(""), nullptr);
  EXPECT_EQ(b->name(), "bravo");
  EXPECT_STREQ(b->module_name(), "malloc");
  EXPECT_EQ(b->geometry().block_size, 4096u);
  EXPECT_EQ(b->geometry().num_blocks, 512u);
  EXPECT_EQ(b->geometry().size_bytes(), uint64_t{2} << 20);
  EXPECT_FALSE(b->removed());
  // Each bdev gets its own random UUID.
  EXPECT_FALSE(a->geometry().uuid.is_nil());
  EXPECT_NE(a->geometry().uuid, b->geometry().uuid);
}

TEST(BdevRegistryTest, RegisterKeepsAGivenUuidAndCreatesOneWhenNil) {
  BdevRegistry registry;
  BdevGeometry g = Geometry(512, 8);
  auto fixed = Uuid::Parse("01234567-89ab-cdef-0123-456789abcdef");
  ASSERT_TRUE(fixed.ok());
  g.uuid = *fixed;
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> with_uuid,
                        registry.Register("fixed", g, std::make_unique<NullDriver>()));
  EXPECT_EQ(with_uuid->geometry().uuid, *fixed);
  ASSERT_ASSIGN_OR_FAIL(
      std::shared_ptr<Bdev> without,
      registry.Register("random", Geometry(512, 8), std::make_unique<NullDriver>()));
  EXPECT_FALSE(without->geometry().uuid.is_nil());
}

TEST(BdevRegistryTest, DuplicateNameIsEexistAndLeavesTheFirstInPlace) {
  BdevRegistry registry;
  std::shared_ptr<Bdev> first = MakeMalloc(registry, "dup");
  auto second = CreateMallocBdev(registry, "dup", {.size_bytes = 4 << 20});
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), EEXIST);
  EXPECT_THAT(second.error().message(), HasSubstr("'dup'"));
  auto third = registry.Register("dup", Geometry(4096, 1), std::make_unique<NullDriver>());
  EXPECT_EQ(ErrCode(third), EEXIST) << ErrText(third);
  EXPECT_EQ(registry.Find("dup"), first);
  EXPECT_EQ(registry.Find("dup")->geometry().num_blocks, 256u);
  EXPECT_THAT(registry.Names(), ElementsAre("dup"));
}

TEST(BdevRegistryTest, UnknownNamesAreEnoent) {
  BdevRegistry registry;
  MakeMalloc(registry, "present");
  auto opened = registry.Open("absent", OpenMode::kReadOnly);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code(), ENOENT);
  EXPECT_THAT(opened.error().message(), HasSubstr("'absent'"));
  Status removed = registry.Unregister("absent");
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code(), ENOENT);
  EXPECT_THAT(removed.error().message(), HasSubstr("'absent'"));
  EXPECT_THAT(registry.Names(), ElementsAre("present"));
}

struct BadGeometry {
  const char* what;
  BdevGeometry geometry;
  const char* message_part;
};

TEST(BdevRegistryTest, InvalidGeometryIsEinvalWithAMessage) {
  BdevGeometry misaligned = Geometry(4096, 8);
  misaligned.required_alignment = 3;
  BdevGeometry zero_alignment = Geometry(4096, 8);
  zero_alignment.required_alignment = 0;
  const std::vector<BadGeometry> cases = {
      {"block size not a power of two", Geometry(3000, 8), "block size 3000"},
      {"block size zero", Geometry(0, 8), "block size 0"},
      {"block size too small", Geometry(256, 8), "block size 256"},
      {"block size too large", Geometry(131072, 8), "block size 131072"},
      {"no blocks", Geometry(4096, 0), "no blocks"},
      {"byte size overflows", Geometry(4096, UINT64_MAX / 2048), "overflow"},
      {"alignment not a power of two", misaligned, "alignment 3"},
      {"alignment zero", zero_alignment, "alignment 0"},
  };
  BdevRegistry registry;
  for (const BadGeometry& c : cases) {
    SCOPED_TRACE(c.what);
    auto bdev = registry.Register("bad", c.geometry, std::make_unique<NullDriver>());
    ASSERT_FALSE(bdev.ok());
    EXPECT_EQ(bdev.error().code(), EINVAL);
    EXPECT_THAT(bdev.error().message(), HasSubstr("'bad'"));
    EXPECT_THAT(bdev.error().message(), HasSubstr(c.message_part));
    Status direct = ValidateGeometry("bad", c.geometry);
    EXPECT_EQ(ErrCode(direct), EINVAL);
  }
  EXPECT_THAT(registry.Names(), IsEmpty());
  // The edges of the allowed range are fine.
  EXPECT_OK(ValidateGeometry("ok", Geometry(512, 1)));
  EXPECT_OK(ValidateGeometry("ok", Geometry(65536, 1)));
}

TEST(BdevRegistryTest, EmptyNameAndReadOnlyModulesAreRefused) {
  BdevRegistry registry;
  auto unnamed = registry.Register("", Geometry(4096, 8), std::make_unique<NullDriver>());
  EXPECT_EQ(ErrCode(unnamed), EINVAL) << ErrText(unnamed);
  auto no_write =
      registry.Register("nowrite", Geometry(4096, 8), std::make_unique<NullDriver>(false));
  ASSERT_FALSE(no_write.ok());
  EXPECT_EQ(no_write.error().code(), EINVAL);
  EXPECT_THAT(no_write.error().message(), HasSubstr("'nowrite'"));
  EXPECT_THAT(registry.Names(), IsEmpty());
}

TEST(BdevRegistryTest, MallocRejectsBadOptions) {
  BdevRegistry registry;
  auto not_multiple = CreateMallocBdev(registry, "m", {.size_bytes = 4096 + 512});
  EXPECT_EQ(ErrCode(not_multiple), EINVAL) << ErrText(not_multiple);
  auto empty = CreateMallocBdev(registry, "m", {.size_bytes = 0});
  EXPECT_EQ(ErrCode(empty), EINVAL) << ErrText(empty);
  auto bad_block = CreateMallocBdev(registry, "m", {.size_bytes = 1 << 20, .block_size = 1000});
  EXPECT_EQ(ErrCode(bad_block), EINVAL) << ErrText(bad_block);
  auto zero_block = CreateMallocBdev(registry, "m", {.size_bytes = 1 << 20, .block_size = 0});
  EXPECT_EQ(ErrCode(zero_block), EINVAL) << ErrText(zero_block);
  EXPECT_THAT(registry.Names(), IsEmpty());
}

Task<void> ReadOnlyDescriptorBody(BdevRegistry* registry) {
  CO_ASSIGN_OR_FAIL(auto descriptor, registry->Open("ro", OpenMode::kReadOnly));
  EXPECT_FALSE(descriptor->writable());
  CO_ASSIGN_OR_FAIL(auto channel, descriptor->OpenChannel());
  std::vector<std::byte> buffer(4096, std::byte{7});
  Status write = co_await channel->Write(0, buffer);
  EXPECT_EQ(ErrCode(write), EBADF) << ErrText(write);
  EXPECT_THAT(ErrText(write), HasSubstr("'ro'"));
  Status writev_status;
  {
    const iovec iov{buffer.data(), buffer.size()};
    writev_status = co_await channel->Writev(0, {&iov, 1});
  }
  EXPECT_EQ(ErrCode(writev_status), EBADF) << ErrText(writev_status);
  Status zeroes = co_await channel->WriteZeroes(0, 4096);
  EXPECT_EQ(ErrCode(zeroes), EBADF) << ErrText(zeroes);
  Status unmap = co_await channel->Unmap(0, 4096);
  EXPECT_EQ(ErrCode(unmap), EBADF) << ErrText(unmap);
  // Reads work, and the refused write changed nothing.
  Status read = co_await channel->Read(0, buffer);
  EXPECT_OK(read);
  EXPECT_TRUE(bdev_test::AllZero(buffer));

  // A read-write descriptor on the same bdev (sharing the reactor channel) can write.
  CO_ASSIGN_OR_FAIL(auto writer, registry->Open("ro", OpenMode::kReadWrite));
  EXPECT_TRUE(writer->writable());
  CO_ASSIGN_OR_FAIL(auto writer_channel, writer->OpenChannel());
  std::vector<std::byte> data = bdev_test::Pattern(4096, 1);
  EXPECT_OK(co_await writer_channel->Write(0, data));
  Status read_back = co_await channel->Read(0, buffer);
  EXPECT_OK(read_back);
  EXPECT_TRUE(bdev_test::SameBytes(buffer, data));
}

TEST(BdevRegistryTest, ReadOnlyDescriptorRefusesWritesWithEbadf) {
  BdevRegistry registry;
  MakeMalloc(registry, "ro");
  auto reactor = NewReactor();
  RunSync(*reactor, ReadOnlyDescriptorBody(&registry));
}

TEST(BdevRegistryTest, OpenChannelOutsideAReactorIsEinval) {
  BdevRegistry registry;
  MakeMalloc(registry, "m");
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry.Open("m", OpenMode::kReadWrite));
  auto channel = descriptor->OpenChannel();
  ASSERT_FALSE(channel.ok());
  EXPECT_EQ(channel.error().code(), EINVAL);
  EXPECT_THAT(channel.error().message(), HasSubstr("'m'"));
}

// Opens a channel on the current reactor and stores it in *out.
Task<void> OpenChannelInto(BdevDescriptor* descriptor, std::unique_ptr<BdevChannel>* out) {
  CO_ASSIGN_OR_FAIL(*out, descriptor->OpenChannel());
}

Task<void> DropChannel(std::unique_ptr<BdevChannel> channel) {
  channel.reset();
  co_return;
}

// I/O on a removed bdev through a channel opened before the removal.
Task<void> IoAfterRemovalBody(BdevChannel* channel, BdevDescriptor* descriptor) {
  std::vector<std::byte> buffer(4096);
  Status read = co_await channel->Read(0, buffer);
  EXPECT_EQ(ErrCode(read), ENODEV) << ErrText(read);
  EXPECT_THAT(ErrText(read), HasSubstr("'gone'"));
  Status write = co_await channel->Write(0, buffer);
  EXPECT_EQ(ErrCode(write), ENODEV) << ErrText(write);
  Status flush = co_await channel->Flush();
  EXPECT_EQ(ErrCode(flush), ENODEV) << ErrText(flush);
  auto another = descriptor->OpenChannel();
  EXPECT_EQ(ErrCode(another), ENODEV) << ErrText(another);
}

TEST(BdevRegistryTest, HotRemoveOutsideAReactorCallsBackInlineAndFailsNewIo) {
  BdevRegistry registry;
  std::weak_ptr<Bdev> weak = MakeMalloc(registry, "gone");
  int calls = 0;
  std::thread::id called_on;
  ASSERT_ASSIGN_OR_FAIL(auto descriptor, registry.Open("gone", OpenMode::kReadWrite, [&] {
    ++calls;
    called_on = std::this_thread::get_id();
  }));
  int other_calls = 0;
  ASSERT_ASSIGN_OR_FAIL(auto other,
                        registry.Open("gone", OpenMode::kReadOnly, [&] { ++other_calls; }));
  ASSERT_ASSIGN_OR_FAIL(auto no_callback, registry.Open("gone", OpenMode::kReadOnly));

  auto reactor = NewReactor();
  std::unique_ptr<BdevChannel> channel;
  RunSync(*reactor, OpenChannelInto(descriptor.get(), &channel));
  ASSERT_NE(channel, nullptr);

  ASSERT_OK(registry.Unregister("gone"));
  // Delivered before Unregister returned, on this thread, once per descriptor.
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(other_calls, 1);
  EXPECT_EQ(called_on, std::this_thread::get_id());
  EXPECT_EQ(registry.Find("gone"), nullptr);
  EXPECT_THAT(registry.Names(), IsEmpty());
  EXPECT_EQ(ErrCode(registry.Open("gone", OpenMode::kReadOnly)), ENOENT);
  EXPECT_EQ(ErrCode(registry.Unregister("gone")), ENOENT);  // only once
  EXPECT_EQ(calls, 1);

  // The bdev lives on for its descriptors and channel, refusing new I/O.
  std::shared_ptr<Bdev> alive = weak.lock();
  ASSERT_NE(alive, nullptr);
  EXPECT_TRUE(alive->removed());
  alive.reset();
  RunSync(*reactor, IoAfterRemovalBody(channel.get(), descriptor.get()));

  // The name can be reused by a new bdev meanwhile.
  std::shared_ptr<Bdev> replacement = MakeMalloc(registry, "gone");
  EXPECT_NE(replacement, weak.lock());
  EXPECT_FALSE(replacement->removed());

  other.reset();
  no_callback.reset();
  EXPECT_FALSE(weak.expired());
  descriptor.reset();
  EXPECT_FALSE(weak.expired()) << "the open channel must keep the bdev alive";
  RunSync(*reactor, DropChannel(std::move(channel)));
  EXPECT_TRUE(weak.expired());
}

Task<void> OpenDescriptorInto(BdevRegistry* registry, std::unique_ptr<BdevDescriptor>* out,
                              int* calls) {
  CO_ASSIGN_OR_FAIL(*out, registry->Open("r", OpenMode::kReadWrite, [calls] { ++*calls; }));
}

Task<void> Nothing() { co_return; }

TEST(BdevRegistryTest, HotRemoveOfADescriptorOpenedOnAReactorIsDeliveredByThatReactor) {
  BdevRegistry registry;
  std::weak_ptr<Bdev> weak = MakeMalloc(registry, "r");
  auto reactor = NewReactor();
  int calls = 0;
  std::unique_ptr<BdevDescriptor> descriptor;
  RunSync(*reactor, OpenDescriptorInto(&registry, &descriptor, &calls));
  ASSERT_NE(descriptor, nullptr);

  ASSERT_OK(registry.Unregister("r"));
  EXPECT_EQ(calls, 0) << "the callback must run on the descriptor's reactor, not inline";
  EXPECT_EQ(registry.Find("r"), nullptr);
  RunSync(*reactor, Nothing());  // lets the reactor run its posted messages
  EXPECT_EQ(calls, 1);
  RunSync(*reactor, Nothing());
  EXPECT_EQ(calls, 1);
  EXPECT_FALSE(weak.expired());
  descriptor.reset();
  EXPECT_TRUE(weak.expired());
}

TEST(BdevRegistryTest, ClosingADescriptorDropsItsPendingRemoveNotification) {
  BdevRegistry registry;
  MakeMalloc(registry, "r");
  auto reactor = NewReactor();
  int calls = 0;
  std::unique_ptr<BdevDescriptor> descriptor;
  RunSync(*reactor, OpenDescriptorInto(&registry, &descriptor, &calls));
  ASSERT_NE(descriptor, nullptr);
  ASSERT_OK(registry.Unregister("r"));
  descriptor.reset();  // before the reactor got to deliver it
  RunSync(*reactor, Nothing());
  EXPECT_EQ(calls, 0);
}

TEST(BdevRegistryTest, ClosedDescriptorsAreNotCalledBack) {
  BdevRegistry registry;
  MakeMalloc(registry, "m");
  int calls = 0;
  {
    ASSERT_ASSIGN_OR_FAIL(auto descriptor,
                          registry.Open("m", OpenMode::kReadOnly, [&] { ++calls; }));
  }
  ASSERT_OK(registry.Unregister("m"));
  EXPECT_EQ(calls, 0);
}

Task<void> OpenOnReactorThread(BdevRegistry* registry, std::unique_ptr<BdevDescriptor>* out,
                               absl::Notification* removed, Reactor** called_on,
                               std::thread::id* thread) {
  CO_ASSIGN_OR_FAIL(*out, registry->Open("t", OpenMode::kReadWrite, [=] {
    *called_on = Reactor::Current();
    *thread = std::this_thread::get_id();
    removed->Notify();
  }));
}

Task<void> DropDescriptor(std::unique_ptr<BdevDescriptor> descriptor) {
  descriptor.reset();
  co_return;
}

TEST(BdevRegistryTest, HotRemoveCallbackRunsOnTheOpeningReactorThread) {
  BdevRegistry registry;
  MakeMalloc(registry, "t");
  auto thread = NewReactorThread();
  std::unique_ptr<BdevDescriptor> descriptor;
  absl::Notification removed;
  Reactor* called_on = nullptr;
  std::thread::id callback_thread;
  thread->BlockOn(
      OpenOnReactorThread(&registry, &descriptor, &removed, &called_on, &callback_thread));
  ASSERT_NE(descriptor, nullptr);
  ASSERT_OK(registry.Unregister("t"));
  removed.WaitForNotification();
  EXPECT_EQ(called_on, &thread->reactor());
  EXPECT_NE(callback_thread, std::this_thread::get_id());
  thread->BlockOn(DropDescriptor(std::move(descriptor)));
}

}  // namespace
}  // namespace blobfs
