// KernelCacheSync on its own: what it knows of nodes' cached pages, its bound, and the
// notifications it writes (page ones from a thread that is not the caller's reactor).
#include "dispatcher/kernel_cache_sync.h"

#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "common/sync_bridge.h"
#include "dispatcher/fuse_wire.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

struct Sent {
  wire::NotifyInvalInodeOut body;
  std::thread::id thread;
};

class KernelCacheSyncTest : public ::testing::Test {
 protected:
  KernelNotify Recorder() {
    return [this](std::span<const iovec> parts) {
      EXPECT_EQ(parts.size(), 2u);
      Sent sent{.body = *static_cast<const wire::NotifyInvalInodeOut*>(parts[1].iov_base),
                .thread = std::this_thread::get_id()};
      absl::MutexLock lock(&mutex_);
      sent_.push_back(sent);
      return Status();
    };
  }
  std::vector<Sent> Take() {
    absl::MutexLock lock(&mutex_);
    return std::exchange(sent_, {});
  }
  // AfterDirectWrite on the reactor; the id of the reactor's thread.
  static Task<std::thread::id> DirectWriteOnReactor(KernelCacheSync& sync, uint64_t node) {
    co_await sync.AfterDirectWrite(node, 4096, 8192);
    co_return std::this_thread::get_id();
  }
  std::thread::id DirectWrite(KernelCacheSync& sync, uint64_t node) {
    return reactor_->BlockOn(DirectWriteOnReactor(sync, node));
  }

  std::unique_ptr<ReactorThread> reactor_ = bdev_test::NewReactorThread();
  absl::Mutex mutex_;
  std::vector<Sent> sent_;
};

TEST_F(KernelCacheSyncTest, PagesOfNodesNotKnownUncachedAreDroppedFromAnotherThread) {
  KernelCacheSync sync(Recorder());
  sync.NoteCreatedEmpty(7);
  DirectWrite(sync, 7);
  EXPECT_TRUE(Take().empty());
  const std::thread::id reactor_thread = DirectWrite(sync, 8);
  std::vector<Sent> sent = Take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].body.ino, 8u);
  EXPECT_EQ(sent[0].body.off, 4096);
  EXPECT_EQ(sent[0].body.len, 8192);
  EXPECT_NE(sent[0].thread, reactor_thread);
  // Read through the page cache, or forgotten: no longer known uncached.
  sync.NotePageCacheUse(7);
  DirectWrite(sync, 7);
  EXPECT_EQ(Take().size(), 1u);
  sync.NoteCreatedEmpty(9);
  sync.NoteForgotten(9);
  DirectWrite(sync, 9);
  EXPECT_EQ(Take().size(), 1u);
}

TEST_F(KernelCacheSyncTest, PastItsBoundItForgetsWhatItKnewRatherThanGrow) {
  KernelCacheSync sync(Recorder());
  for (uint64_t node = 1; node <= KernelCacheSync::kMaxKnownUncached; ++node) {
    sync.NoteCreatedEmpty(node);
  }
  DirectWrite(sync, 1);
  EXPECT_TRUE(Take().empty());
  sync.NoteCreatedEmpty(KernelCacheSync::kMaxKnownUncached + 1);
  DirectWrite(sync, 1);
  EXPECT_EQ(Take().size(), 1u);
}

TEST_F(KernelCacheSyncTest, AttributesAreDroppedAtOnceAndNothingIsSentWithoutANotifier) {
  KernelCacheSync sync(Recorder());
  sync.InvalidateAttributes(5);
  std::vector<Sent> sent = Take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].body.ino, 5u);
  EXPECT_EQ(sent[0].body.off, -1);
  EXPECT_EQ(sent[0].thread, std::this_thread::get_id());
  KernelCacheSync silent(KernelNotify{});
  silent.InvalidateAttributes(5);
  DirectWrite(silent, 5);
  EXPECT_TRUE(Take().empty());
}

}  // namespace
}  // namespace blobfs
