// FsdevRegistry (names, descriptors, remove events) and AbortTracker (live and early aborts).
#include "fsdev/registry.h"

#include <memory>
#include <string>
#include <vector>

#include "fsdev/abort_tracker.h"
#include "fsdev/passthrough_fsdev.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using bdev_test::ErrCode;

std::shared_ptr<Fsdev> MakeDev(const std::string& name, const std::string& root) {
  auto dev = MakePassthroughFsdev({.name = name, .root = root, .threads = 1});
  CHECK_OK(dev);
  return *dev;
}

TEST(FsdevRegistryTest, NamesDescriptorsAndRemoveEvents) {
  bdev_test::TempDir dir;
  FsdevRegistry registry;
  ASSERT_OK(registry.Register(MakeDev("a", dir.path())));
  ASSERT_OK(registry.Register(MakeDev("b", dir.path())));
  EXPECT_EQ(ErrCode(registry.Register(MakeDev("a", dir.path()))), EEXIST);
  EXPECT_EQ(registry.Names(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(ErrCode(registry.Open("c", {})), ENODEV);

  int removed = 0;
  std::unique_ptr<FsdevDescriptor> first, second, other;
  ASSERT_ASSIGN_OR_FAIL(first, registry.Open("a", {.max_write = 4096}, [&] { ++removed; }));
  EXPECT_EQ(first->options().max_write, 4096u);
  EXPECT_EQ(first->fsdev().name(), "a");
  // A callback that closes its own descriptor and the other one of the same fsdev.
  ASSERT_ASSIGN_OR_FAIL(second, registry.Open("a", {}, [&] {
                          ++removed;
                          second.reset();
                          first.reset();
                        }));
  ASSERT_ASSIGN_OR_FAIL(other, registry.Open("b", {}, [&] { ADD_FAILURE() << "b removed"; }));
  ASSERT_ASSIGN_OR_FAIL(auto unregistered, registry.Unregister("a"));
  EXPECT_EQ(unregistered->name(), "a");
  EXPECT_GE(removed, 1);
  EXPECT_EQ(first, nullptr);
  EXPECT_EQ(ErrCode(registry.Open("a", {})), ENODEV);
  EXPECT_EQ(ErrCode(registry.Unregister("a")), ENODEV);
  EXPECT_EQ(registry.Names(), (std::vector<std::string>{"b"}));
  other.reset();
}

TEST(AbortTrackerTest, AbortsLiveAndEarlyRequestsOnly) {
  AbortTracker tracker;
  {
    AbortTracker::Scope live(tracker, 5);
    EXPECT_FALSE(live.aborted());
    tracker.Abort(6);  // Another request: not this one.
    EXPECT_FALSE(live.aborted());
    tracker.Abort(5);
    EXPECT_TRUE(live.aborted());
  }
  // An abort that came before its request.
  tracker.Abort(7);
  {
    AbortTracker::Scope early(tracker, 7);
    EXPECT_TRUE(early.aborted());
  }
  // Once used, it is gone: the same id again starts clean.
  AbortTracker::Scope again(tracker, 7);
  EXPECT_FALSE(again.aborted());
  // Id 0 is never abortable.
  tracker.Abort(0);
  AbortTracker::Scope zero(tracker, 0);
  EXPECT_FALSE(zero.aborted());
  // Early aborts are bounded: the oldest are dropped.
  for (uint64_t id = 100; id < 100 + AbortTracker::kPendingAborts + 10; ++id) tracker.Abort(id);
  AbortTracker::Scope dropped(tracker, 100);
  EXPECT_FALSE(dropped.aborted());
  AbortTracker::Scope kept(tracker, 100 + AbortTracker::kPendingAborts + 9);
  EXPECT_TRUE(kept.aborted());
}

}  // namespace
}  // namespace blobfs
