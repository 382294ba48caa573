// A directory index of many entries (200,000 by default; BLOBFS_DIR_SCALE_ENTRIES=1000000 for the
// full figure): insert, look up, list and remove them all, printing the rate of each phase and the
// blocks each cold lookup reads, which must stay flat as the directory grows.
#include <dirent.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "blobfs/dir_tree.h"
#include "common/clock.h"
#include "common/sync_bridge.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

class MemoryDirStorage : public DirStorage {
 public:
  uint32_t block_size() const override { return 4096; }
  Task<Status> ReadBlock(uint64_t index, std::span<std::byte> out) override {
    auto it = blocks.find(index);
    if (it == blocks.end()) {
      std::memset(out.data(), 0, out.size());
    } else {
      std::memcpy(out.data(), it->second.data(), out.size());
    }
    co_return Status();
  }
  Task<Status> WriteBlock(uint64_t index, std::span<const std::byte> data) override {
    blocks[index].assign(data.begin(), data.end());
    co_return Status();
  }
  Task<Status> ReleaseBlock(uint64_t index) override {
    blocks.erase(index);
    co_return Status();
  }
  std::map<uint64_t, std::vector<std::byte>> blocks;
};

uint64_t Entries() {
  const char* text = std::getenv("BLOBFS_DIR_SCALE_ENTRIES");
  return text != nullptr ? std::strtoull(text, nullptr, 10) : 200000;
}

double Rate(uint64_t count, int64_t start) { return count / ((MonotonicNanos() - start) / 1e9); }

TEST(DirIndexScaleTest, ManyEntries) {
  auto reactor = bdev_test::NewReactor();
  auto run = [&](auto task) { return RunSync(*reactor, std::move(task)); };
  MemoryDirStorage storage;
  ASSERT_OK(run(DirTree::Format(storage, 1)));
  DirNodeCache cache(256);
  auto opened = run(DirTree::Open(storage, 1, cache, {}));
  ASSERT_OK(opened.status());
  DirTree& tree = **opened;
  const uint64_t entries = Entries();

  // Blocks a cold lookup reads, at growing sizes.
  auto cold_reads = [&](uint64_t size) {
    DirNodeCache cold_cache(256);
    auto cold = run(DirTree::Open(storage, 1, cold_cache, {}));
    CHECK_OK(cold.status());
    uint64_t before = (*cold)->blocks_read();
    auto found = run((*cold)->Lookup(absl::StrCat("entry-", size / 2)));
    CHECK_OK(found.status());
    CHECK(found->has_value());
    return (*cold)->blocks_read() - before;
  };
  std::vector<std::pair<uint64_t, uint64_t>> reads_at;
  int64_t start = MonotonicNanos();
  for (uint64_t i = 0; i < entries; ++i) {
    ASSERT_OK(run(tree.Insert(absl::StrCat("entry-", i), i + 1, DT_REG)).status());
    if (i + 1 == 10 || i + 1 == 1000 || i + 1 == 100000 || i + 1 == entries) {
      int64_t paused = MonotonicNanos();
      reads_at.emplace_back(i + 1, cold_reads(i + 1));
      start += MonotonicNanos() - paused;
    }
  }
  std::printf("insert %llu entries: %.0f/s\n", static_cast<unsigned long long>(entries),
              Rate(entries, start));
  for (auto [size, reads] : reads_at) {
    std::printf("cold lookup in %llu entries reads %llu blocks\n",
                static_cast<unsigned long long>(size), static_cast<unsigned long long>(reads));
    EXPECT_LE(reads, 5u) << size;  // Header + depth + leaf: logarithmic, never linear.
  }
  start = MonotonicNanos();
  for (uint64_t i = 0; i < entries; ++i) {
    auto found = run(tree.Lookup(absl::StrCat("entry-", i)));
    ASSERT_OK(found.status());
    ASSERT_TRUE(found->has_value());
  }
  std::printf("lookup: %.0f/s\n", Rate(entries, start));
  start = MonotonicNanos();
  uint64_t listed = 0;
  std::function<bool(const DirEntry&)> count = [&](const DirEntry&) {
    ++listed;
    return true;
  };
  ASSERT_OK(run(tree.List(0, count)));
  EXPECT_EQ(listed, entries);
  std::printf("list: %.0f entries/s, %zu blocks in use\n", Rate(entries, start),
              storage.blocks.size());
  start = MonotonicNanos();
  for (uint64_t i = 0; i < entries; ++i) {
    ASSERT_OK(run(tree.Remove(absl::StrCat("entry-", i))).status());
  }
  std::printf("remove: %.0f/s\n", Rate(entries, start));
  EXPECT_EQ(tree.size(), 0u);
  EXPECT_EQ(storage.blocks.size(), 2u);
}

}  // namespace
}  // namespace blobfs
