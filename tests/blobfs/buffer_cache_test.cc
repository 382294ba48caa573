// FileData over BufferCache on a blob store: the cache's memory stays near its cap whatever the
// files' sizes, and sequential reads read ahead (later reads are served from memory) while random
// reads do not. BufferCache alone: dirty buffers are never evicted, and an allocation in a cache
// full of them passes over a bounded number.
#include <sys/uio.h>

#include <cstring>
#include <memory>
#include <vector>

#include "blobfs/buffer_cache.h"
#include "blobfs/file_data.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"
#include "tests/blob/blob_store_test_util.h"

namespace blobfs {
namespace {

using blob_test::StoreHarness;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint64_t kCap = 2 * kMiB;
constexpr uint32_t kBuffer = 64 * 1024;

class BufferCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK(h_.Init({.cluster_size = 4096, .md_pages = 64}));
    cache_ = std::make_unique<BufferCache>(
        h_.store(), BufferCacheOptions{.capacity_bytes = kCap, .buffer_size = kBuffer});
    auto blob = h_.Create({.num_clusters = (64 * kMiB) / 4096, .thin = true});
    ASSERT_OK(blob.status());
    blob_ = *blob;
    auto data = h_.Run(FileData::Open(*cache_, h_.channel(), *blob_, 0, 0));
    ASSERT_OK(data.status());
    data_ = std::move(*data);
  }
  void TearDown() override {
    data_->Discard();
    data_.reset();
    cache_.reset();
    ASSERT_OK(h_.Close(blob_));
  }
  Status WriteAt(uint64_t offset, std::vector<std::byte>& bytes) {
    iovec iov{bytes.data(), bytes.size()};
    return h_.Run(data_->Write(offset, std::span<const iovec>(&iov, 1))).status();
  }
  // A read into `out`, as BlobFileSystem::Read makes it.
  Task<Result<size_t>> ReadInto(uint64_t offset, iovec out) {
    co_return co_await data_->ReadInPlace(offset, out.iov_len,
                                          CopyingInto(std::span<const iovec>(&out, 1)));
  }
  // Reads as blobfs does, then runs the readahead the read planned (to its end, here).
  Status ReadAt(uint64_t offset, std::vector<std::byte>& bytes) {
    const iovec iov{bytes.data(), bytes.size()};
    Status read = h_.Run(ReadInto(offset, iov)).status();
    if (std::optional<Task<void>> ahead = data_->TakeReadahead(); ahead.has_value()) {
      h_.Run(std::move(*ahead));
    }
    return read;
  }
  // Writes `data` to the blob and reopens the file over a new, empty cache.
  void WriteAndReopenCold(std::vector<std::byte>& data) {
    ASSERT_OK(WriteAt(0, data));
    ASSERT_OK(h_.Run(data_->WriteBack()));
    data_->Discard();
    data_.reset();
    cache_ = std::make_unique<BufferCache>(
        h_.store(), BufferCacheOptions{.capacity_bytes = 8 * kMiB, .buffer_size = kBuffer});
    auto reopened = h_.Run(FileData::Open(*cache_, h_.channel(), *blob_, data.size(), 0));
    ASSERT_OK(reopened.status());
    data_ = std::move(*reopened);
  }

  StoreHarness h_{128 * kMiB, 4096};
  std::unique_ptr<BufferCache> cache_;
  Blob* blob_ = nullptr;
  std::unique_ptr<FileData> data_;
};

TEST_F(BufferCacheTest, MemoryStaysNearTheCapForFilesManyTimesItsSize) {
  // 32 MiB written and read back through a 2 MiB cache: at most one request's buffers over it.
  std::vector<std::byte> chunk = bdev_test::Pattern(256 * 1024, 4);
  uint64_t peak = 0;
  for (uint64_t offset = 0; offset < 32 * kMiB; offset += chunk.size()) {
    ASSERT_OK(WriteAt(offset, chunk));
    peak = std::max(peak, cache_->bytes());
  }
  EXPECT_LE(peak, kCap + chunk.size() + kBuffer);
  ASSERT_OK(h_.Run(data_->WriteBack()));
  std::vector<std::byte> back(chunk.size());
  for (uint64_t offset = 0; offset < 32 * kMiB; offset += back.size()) {
    ASSERT_OK(ReadAt(offset, back));
    ASSERT_TRUE(bdev_test::SameBytes(back, chunk)) << offset;
    peak = std::max(peak, cache_->bytes());
  }
  // Reads may hold what they read ahead on top of the cap.
  EXPECT_LE(peak, kCap + chunk.size() + cache_->readahead_max() + kBuffer);
  EXPECT_GT(peak, kCap / 2);  // The cache was used, not bypassed.
}

TEST_F(BufferCacheTest, EvictionPassesOverABoundedNumberOfDirtyBuffers) {
  // A cache full with 100 dirty buffers, of which the one allocated 81st is made clean.
  constexpr int kBuffers = 100;
  BufferCache cache(h_.store(), {.capacity_bytes = kBuffers * kBuffer, .buffer_size = kBuffer});
  std::vector<bool> evicted(kBuffers + 2, false);
  std::vector<BufferCache::Handle> handles;
  for (int i = 0; i < kBuffers; ++i) {
    handles.push_back(cache.Allocate(this, i, 16, [&evicted, i] { evicted[i] = true; }));
    handles.back()->dirty = 1;
  }
  handles[80]->dirty = 0;
  // The first allocation past the cap passes over the 64 oldest (dirty) buffers and gives up:
  // dirty buffers stay whatever the cap. The next one reaches the clean buffer.
  cache.Allocate(this, kBuffers, 16, [&evicted] { evicted[kBuffers] = true; });
  EXPECT_FALSE(evicted[80]);
  EXPECT_TRUE(cache.over_capacity());
  cache.Allocate(this, kBuffers + 1, 16, [&evicted] { evicted[kBuffers + 1] = true; });
  for (int i = 0; i <= kBuffers + 1; ++i) EXPECT_EQ(evicted[i], i == 80) << i;
  EXPECT_EQ(cache.bytes(), uint64_t{kBuffers + 1} * kBuffer);
}

TEST_F(BufferCacheTest, SequentialReadsReadAheadAndRandomReadsDoNot) {
  std::vector<std::byte> data = bdev_test::Pattern(16 * kMiB, 8);
  WriteAndReopenCold(data);

  // Sequential 64 KiB reads: after the first few, the device is read far less often than once
  // per request, and more bytes are read than asked for at the moment of reading.
  std::vector<std::byte> piece(kBuffer);
  uint64_t served_from_memory = 0;
  for (uint64_t offset = 0; offset < 4 * kMiB; offset += piece.size()) {
    const uint64_t before = h_.injector().bytes_read();
    ASSERT_OK(ReadAt(offset, piece));
    served_from_memory += h_.injector().bytes_read() == before;
  }
  EXPECT_GT(served_from_memory, 4 * kMiB / kBuffer / 2);
  // Random 4 KiB reads far apart read only what they ask for (rounded to blocks).
  std::vector<std::byte> small(4096);
  for (uint64_t offset : {12 * kMiB, 6 * kMiB + 40960, 15 * kMiB, 9 * kMiB}) {
    const uint64_t before = h_.injector().bytes_read();
    ASSERT_OK(ReadAt(offset, small));
    EXPECT_LE(h_.injector().bytes_read() - before, kBuffer);
    EXPECT_TRUE(bdev_test::SameBytes(small, std::span(data).subspan(offset, 4096)));
  }
}

TEST_F(BufferCacheTest, ReadaheadRunsBesideCallsAndNeverOverwritesAWrite) {
  std::vector<std::byte> data = bdev_test::Pattern(4 * kMiB, 9);
  WriteAndReopenCold(data);
  std::vector<std::byte> written = bdev_test::Pattern(8192, 10);
  std::vector<std::byte> piece(kBuffer);
  std::vector<std::byte> back(written.size());
  // Two sequential reads start a stream; the second plans a load of the window after it. The
  // load runs as a task of its own while a write lands in that window and a read follows it.
  Status status = h_.Run([&]() -> Task<Status> {
    for (uint64_t offset : {uint64_t{0}, uint64_t{kBuffer}}) {
      iovec iov{piece.data(), piece.size()};
      CO_RETURN_IF_ERROR(co_await ReadInto(offset, iov));
    }
    std::optional<Task<void>> ahead = data_->TakeReadahead();
    if (!ahead.has_value()) co_return MakeError(EINVAL, "no readahead after a sequential read");
    Reactor::Current()->Spawn(std::move(*ahead));
    co_await Reactor::Current()->Yield();  // The load starts: it waits for the device now.
    iovec in{written.data(), written.size()};
    CO_RETURN_IF_ERROR(co_await data_->Write(2 * kBuffer + 4096, std::span<const iovec>(&in, 1)));
    iovec out{back.data(), back.size()};
    CO_RETURN_IF_ERROR(co_await ReadInto(2 * kBuffer + 4096, out));
    co_return Status();
  }());
  ASSERT_OK(status);
  EXPECT_TRUE(bdev_test::SameBytes(back, written));
  // Once everything settled: the written bytes, and the blob's bytes around them.
  std::vector<std::byte> window(4 * kBuffer);
  ASSERT_OK(ReadAt(0, window));
  std::vector<std::byte> expected(data.begin(), data.begin() + window.size());
  std::copy(written.begin(), written.end(), expected.begin() + 2 * kBuffer + 4096);
  EXPECT_TRUE(bdev_test::SameBytes(window, expected));
}

TEST_F(BufferCacheTest, ASmallFileTakesMemoryForItsBlocksOnlyAndGrowsWithIt) {
  // 5,000 bytes: two 4 KiB blocks, in an 8 KiB buffer (not a 64 KiB one).
  std::vector<std::byte> head = bdev_test::Pattern(5000, 11);
  ASSERT_OK(WriteAt(0, head));
  EXPECT_EQ(cache_->bytes(), 8192u);
  // Appending to 20,000 bytes (five blocks) moves it to 32 KiB, keeping what was written.
  std::vector<std::byte> more = bdev_test::Pattern(15000, 12);
  ASSERT_OK(WriteAt(5000, more));
  EXPECT_EQ(cache_->bytes(), 32768u);
  std::vector<std::byte> back(20000);
  ASSERT_OK(ReadAt(0, back));
  std::vector<std::byte> expected = head;
  expected.insert(expected.end(), more.begin(), more.end());
  EXPECT_TRUE(bdev_test::SameBytes(back, expected));
  // A write far past the end: the first buffer now lies wholly below the size and holds all of
  // its blocks, so the hole between reads as zeroes from memory.
  std::vector<std::byte> far = bdev_test::Pattern(4096, 13);
  ASSERT_OK(WriteAt(3 * kBuffer, far));
  EXPECT_EQ(cache_->bytes(), uint64_t{kBuffer} + 4096);
  std::vector<std::byte> whole(3 * kBuffer + 4096);
  ASSERT_OK(ReadAt(0, whole));
  expected.resize(3 * kBuffer);
  expected.insert(expected.end(), far.begin(), far.end());
  EXPECT_TRUE(bdev_test::SameBytes(whole, expected));
}

TEST_F(BufferCacheTest, ATruncateThatGrowsTheFileGrowsItsLastBuffer) {
  std::vector<std::byte> head = bdev_test::Pattern(3000, 14);
  ASSERT_OK(WriteAt(0, head));
  EXPECT_EQ(cache_->bytes(), 4096u);
  ASSERT_OK(h_.Run(data_->Truncate(40000)));  // Ten blocks: a 64 KiB buffer.
  EXPECT_EQ(cache_->bytes(), uint64_t{kBuffer});
  std::vector<std::byte> back(40000);
  ASSERT_OK(ReadAt(0, back));
  std::vector<std::byte> expected = head;
  expected.resize(40000, std::byte{0});
  EXPECT_TRUE(bdev_test::SameBytes(back, expected));
}

TEST_F(BufferCacheTest, TheCapCountsTheMemoryBuffersHold) {
  // 512 one-block buffers fill a 2 MiB cap exactly; one more evicts the least recently used.
  BufferCache cache(h_.store(), {.capacity_bytes = 2 * kMiB, .buffer_size = kBuffer});
  std::vector<bool> evicted(513, false);
  for (int i = 0; i < 512; ++i) cache.Allocate(this, i, 1, [&evicted, i] { evicted[i] = true; });
  EXPECT_EQ(cache.bytes(), 2 * kMiB);
  EXPECT_FALSE(cache.over_capacity());
  BufferCache::Handle last = cache.Allocate(this, 512, 1, [&evicted] { evicted[512] = true; });
  EXPECT_TRUE(evicted[0]);
  EXPECT_FALSE(evicted[1]);
  // Growing one to a full buffer makes room for its 60 KiB more in the same way.
  std::memset(last->memory, 0x5a, 4096);
  cache.Grow(last, 16);
  EXPECT_EQ(last->blocks, 16u);
  EXPECT_EQ(last->memory[4095], std::byte{0x5a});
  EXPECT_EQ(cache.bytes(), 2 * kMiB);
  for (int i = 1; i <= 15; ++i) EXPECT_TRUE(evicted[i]) << i;
  EXPECT_FALSE(evicted[16]);
}

}  // namespace
}  // namespace blobfs
