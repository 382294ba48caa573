// DirTree on an in-memory DirStorage: inserts, lookups, removals at sizes that split the tree
// several levels deep, forced hash collisions, listing resumption, shrinking when emptied,
// corrupt blocks and storage errors.
#include <dirent.h>

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "blobfs/dir_tree.h"
#include "common/sync_bridge.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using bdev_test::ErrCode;

// Blocks in a map; unwritten or released blocks read as zeroes. Can fail reads on demand.
class MemoryDirStorage : public DirStorage {
 public:
  explicit MemoryDirStorage(uint32_t block_size) : block_size_(block_size) {}
  uint32_t block_size() const override { return block_size_; }
  Task<Status> ReadBlock(uint64_t index, std::span<std::byte> out) override {
    ++reads;
    if (fail_reads || (fail_reads_after && reads > *fail_reads_after)) {
      co_return MakeError(EIO, "injected read failure");
    }
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
  bool fail_reads = false;
  std::optional<uint64_t> fail_reads_after;  // Reads past this count fail.
  uint64_t reads = 0;

 private:
  uint32_t block_size_;
};

class DirTreeTest : public ::testing::Test {
 protected:
  template <typename T>
  T Run(Task<T> task) {
    return RunSync(*reactor_, std::move(task));
  }
  // Over `cache`, or the fixture's 64-node one.
  std::unique_ptr<DirTree> OpenTree(DirTree::NameHash hash = {}, DirNodeCache* cache = nullptr) {
    auto tree = Run(DirTree::Open(storage_, kSeed, cache != nullptr ? *cache : cache_,
                                  std::move(hash)));
    CHECK_OK(tree.status());
    return std::move(tree).value();
  }
  void SetUp() override { ASSERT_OK(Run(DirTree::Format(storage_, kSeed))); }

  std::vector<DirEntry> ListAll(DirTree& tree, uint64_t after = 0) {
    std::vector<DirEntry> entries;
    std::function<bool(const DirEntry&)> collect = [&](const DirEntry& entry) {
      entries.push_back(entry);
      return true;
    };
    CHECK_OK(Run(tree.List(after, collect)));
    return entries;
  }

  static constexpr uint64_t kSeed = 0x5eed;
  std::unique_ptr<Reactor> reactor_ = bdev_test::NewReactor();
  MemoryDirStorage storage_{4096};
  DirNodeCache cache_{64};
};

// Small blocks make a deep tree from few names; random churn exercises splits, merges of thin
// nodes, and free numbers overflowing the header into free-list blocks. The whole index is
// verified along the way and matches a model after every reopen.
class SmallBlockDirTreeTest : public DirTreeTest {
 protected:
  void SetUp() override {}
  MemoryDirStorage small_{1024};
  DirNodeCache small_cache_{16};
};

TEST_F(SmallBlockDirTreeTest, RandomChurnKeepsTheIndexConsistent) {
  ASSERT_OK(Run(DirTree::Format(small_, kSeed)));
  auto open = [&] {
    auto tree = Run(DirTree::Open(small_, kSeed, small_cache_, {}));
    CHECK_OK(tree.status());
    return std::move(tree).value();
  };
  auto tree = open();
  std::map<std::string, uint64_t> model;
  std::mt19937 random(23);
  uint32_t max_depth = 0;
  uint64_t max_blocks = 0;
  for (int round = 0; round < 12; ++round) {
    // Grow in even rounds, shrink (to empty in the last) in odd ones.
    const bool grow = round % 2 == 0;
    for (int i = 0; i < 3000; ++i) {
      if (grow || model.empty() || random() % 4 == 0) {
        std::string name = absl::StrCat("n", random() % 100000, std::string(random() % 60, 'y'));
        auto inserted = Run(tree->Insert(name, random() % 1000 + 1, DT_REG));
        if (model.count(name)) {
          EXPECT_EQ(ErrCode(inserted), EEXIST);
        } else {
          ASSERT_OK(inserted.status());
          model[name] = 0;
        }
      } else {
        auto it = model.begin();
        std::advance(it, random() % model.size());
        ASSERT_OK(Run(tree->Remove(it->first)).status());
        model.erase(it);
      }
    }
    if (round == 11) {
      for (const auto& [name, unused] : model) ASSERT_OK(Run(tree->Remove(name)).status());
      model.clear();
    }
    max_depth = std::max(max_depth, tree->depth());
    max_blocks = std::max(max_blocks, tree->blocks_in_use());
    SCOPED_TRACE(absl::StrCat("round ", round));
    ASSERT_OK(Run(tree->Verify()));
    tree = open();
    ASSERT_OK(Run(tree->Verify()));
    ASSERT_EQ(tree->size(), model.size());
    std::vector<DirEntry> listed = ListAll(*tree);
    std::set<std::string> names;
    for (const DirEntry& entry : listed) names.insert(entry.name);
    ASSERT_EQ(names.size(), listed.size());
    ASSERT_EQ(names.size(), model.size());
    for (const auto& [name, unused] : model) ASSERT_TRUE(names.count(name)) << name;
  }
  EXPECT_GE(max_depth, 2u);
  EXPECT_GT(max_blocks, 200u);
  EXPECT_EQ(tree->blocks_in_use(), 2u);
  EXPECT_EQ(small_.blocks.size(), 2u);
}

TEST_F(SmallBlockDirTreeTest, VerifyFindsABlockReferencedTwice) {
  ASSERT_OK(Run(DirTree::Format(small_, kSeed)));
  {
    auto tree = Run(DirTree::Open(small_, kSeed, small_cache_, {}));
    ASSERT_OK(tree.status());
    for (int i = 0; i < 400; ++i) {
      ASSERT_OK(Run((*tree)->Insert(absl::StrCat("e", i), i + 1, DT_REG)).status());
    }
    ASSERT_GE((*tree)->depth(), 1u);
    ASSERT_OK(Run((*tree)->Verify()));
  }
  // Copy one leaf over another: both blocks are valid alone, and the copy's cookies lie outside
  // the range its parent gives it.
  std::vector<uint64_t> leaves;
  for (const auto& [index, bytes] : small_.blocks) {
    if (std::to_integer<uint8_t>(bytes[4]) == 2) leaves.push_back(index);
  }
  ASSERT_GE(leaves.size(), 3u);
  small_.blocks[leaves[2]] = small_.blocks[leaves[1]];
  auto tree = Run(DirTree::Open(small_, kSeed, small_cache_, {}));
  ASSERT_OK(tree.status());
  EXPECT_EQ(Run((*tree)->Verify()).error().code(), EUCLEAN);
}

TEST_F(DirTreeTest, AFailedReadLeavesStorageUntouched) {
  DirNodeCache no_cache(0);  // Every call reads its path.
  auto tree = OpenTree({}, &no_cache);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_OK(Run(tree->Insert(absl::StrCat("f", i), i + 1, DT_REG)).status());
  }
  // Fail the k-th read of an insert or a remove, for every k the call makes: storage is
  // byte-for-byte what it was, and the tree still answers right afterwards.
  for (bool insert : {true, false}) {
    for (uint64_t k = 0;; ++k) {
      const auto before = storage_.blocks;
      storage_.fail_reads_after = storage_.reads + k;
      Status status = insert ? Run(tree->Insert("added", 9, DT_REG)).status()
                             : Run(tree->Remove("f17")).status();
      storage_.fail_reads_after.reset();
      if (status.ok()) break;
      EXPECT_EQ(status.error().code(), EIO);
      ASSERT_TRUE(storage_.blocks == before) << "read " << k;
      ASSERT_LT(k, 100u);
    }
  }
  ASSERT_OK(Run(tree->Verify()));
  ASSERT_ASSIGN_OR_FAIL(auto added, Run(tree->Lookup("added")));
  EXPECT_TRUE(added.has_value());
  ASSERT_ASSIGN_OR_FAIL(auto removed, Run(tree->Lookup("f17")));
  EXPECT_FALSE(removed.has_value());
  EXPECT_EQ(tree->size(), 3000u);
}

TEST_F(DirTreeTest, InsertLookupRemoveAcrossSplits) {
  auto tree = OpenTree();
  std::map<std::string, uint64_t> model;
  for (int i = 0; i < 20000; ++i) {
    std::string name = absl::StrCat("file-", i, std::string(i % 40, 'x'));
    ASSERT_ASSIGN_OR_FAIL(uint64_t cookie, Run(tree->Insert(name, 1000 + i, DT_REG)));
    EXPECT_GE(cookie, 256u);
    EXPECT_LT(cookie, uint64_t{1} << 63);
    model[name] = 1000 + i;
  }
  EXPECT_EQ(tree->size(), model.size());
  EXPECT_EQ(ErrCode(Run(tree->Insert("file-7xxxxxxx", 1, DT_REG))), EEXIST);
  // Reopened from storage: everything is found.
  tree = OpenTree();
  for (const auto& [name, ino] : model) {
    ASSERT_ASSIGN_OR_FAIL(auto found, Run(tree->Lookup(name)));
    ASSERT_TRUE(found.has_value()) << name;
    EXPECT_EQ(found->ino, ino);
    EXPECT_EQ(found->name, name);
  }
  ASSERT_ASSIGN_OR_FAIL(auto missing, Run(tree->Lookup("nope")));
  EXPECT_FALSE(missing.has_value());
  // Listing returns each entry once, in cookie order.
  std::vector<DirEntry> listed = ListAll(*tree);
  ASSERT_EQ(listed.size(), model.size());
  for (size_t i = 1; i < listed.size(); ++i) EXPECT_LT(listed[i - 1].cookie, listed[i].cookie);
  // Replace keeps the cookie.
  ASSERT_ASSIGN_OR_FAIL(auto before, Run(tree->Lookup("file-3xxx")));
  ASSERT_OK(Run(tree->Replace("file-3xxx", 42, DT_DIR)));
  ASSERT_ASSIGN_OR_FAIL(auto after, Run(tree->Lookup("file-3xxx")));
  EXPECT_EQ(after->cookie, before->cookie);
  EXPECT_EQ(after->ino, 42u);
  EXPECT_EQ(after->type, DT_DIR);
  EXPECT_EQ(ErrCode(Run(tree->Replace("absent", 1, DT_REG))), ENOENT);
  // Remove everything in a random order: the tree shrinks back to two blocks.
  std::vector<std::string> names;
  for (const auto& [name, ino] : model) names.push_back(name);
  std::shuffle(names.begin(), names.end(), std::mt19937(7));
  for (size_t i = 0; i < names.size(); ++i) {
    ASSERT_ASSIGN_OR_FAIL(DirEntry removed, Run(tree->Remove(names[i])));
    EXPECT_EQ(removed.name, names[i]);
    if (i % 997 == 0) {
      ASSERT_ASSIGN_OR_FAIL(auto gone, Run(tree->Lookup(names[i])));
      EXPECT_FALSE(gone.has_value());
    }
  }
  EXPECT_EQ(tree->size(), 0u);
  EXPECT_EQ(ErrCode(Run(tree->Remove(names[0]))), ENOENT);
  EXPECT_EQ(storage_.blocks.size(), 2u);
  EXPECT_EQ(tree->blocks_in_use(), 2u);
}

TEST_F(DirTreeTest, CollidingNamesGetDistinctCookies) {
  // Every name hashes alike: the sequence byte tells them apart, up to 256.
  auto tree = OpenTree([](std::string_view, uint64_t) { return uint64_t{77}; });
  std::set<uint64_t> cookies;
  for (int i = 0; i < 256; ++i) {
    ASSERT_ASSIGN_OR_FAIL(uint64_t cookie,
                          Run(tree->Insert(absl::StrCat("same-", i), i + 1, DT_REG)));
    EXPECT_TRUE(cookies.insert(cookie).second);
    EXPECT_EQ(cookie >> 8, 77u);
  }
  EXPECT_EQ(ErrCode(Run(tree->Insert("one-too-many", 1, DT_REG))), ENOSPC);
  for (int i = 0; i < 256; ++i) {
    ASSERT_ASSIGN_OR_FAIL(auto found, Run(tree->Lookup(absl::StrCat("same-", i))));
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(found->ino, uint64_t(i + 1));
  }
  ASSERT_OK(Run(tree->Remove("same-100")).status());
  ASSERT_ASSIGN_OR_FAIL(uint64_t reused, Run(tree->Insert("newcomer", 9, DT_REG)));
  EXPECT_EQ(reused & 0xff, 100u);
}

TEST_F(DirTreeTest, CollisionsStraddlingLeavesAreFound) {
  // Few distinct hashes with long names: runs of equal hashes span leaf boundaries.
  auto tree = OpenTree([](std::string_view name, uint64_t) { return uint64_t{name.size() % 5 + 1}; });
  std::vector<std::string> names;
  for (int i = 0; i < 600; ++i) {
    std::string name = absl::StrCat(i, std::string(200 + i % 50, 'n'));
    Result<uint64_t> inserted = Run(tree->Insert(name, i + 1, DT_REG));
    if (!inserted.ok()) {
      EXPECT_EQ(ErrCode(inserted), ENOSPC);  // 256 names share one hash.
      continue;
    }
    names.push_back(name);
  }
  for (const std::string& name : names) {
    ASSERT_ASSIGN_OR_FAIL(auto found, Run(tree->Lookup(name)));
    EXPECT_TRUE(found.has_value()) << name.size();
  }
  EXPECT_EQ(ListAll(*tree).size(), names.size());
}

TEST_F(DirTreeTest, ListingResumesByCookieWhileEntriesComeAndGo) {
  auto tree = OpenTree();
  std::set<std::string> stable;
  for (int i = 0; i < 3000; ++i) {
    std::string name = absl::StrCat("stable", i);
    ASSERT_OK(Run(tree->Insert(name, i + 1, DT_REG)).status());
    stable.insert(name);
  }
  std::mt19937 random(3);
  std::map<std::string, int> seen;
  std::vector<std::string> churn;
  uint64_t cookie = 0;
  while (true) {
    std::vector<DirEntry> batch;
    std::function<bool(const DirEntry&)> collect = [&](const DirEntry& entry) {
      if (batch.size() == 25) return false;
      batch.push_back(entry);
      return true;
    };
    ASSERT_OK(Run(tree->List(cookie, collect)));
    if (batch.empty()) break;
    for (const DirEntry& entry : batch) ++seen[entry.name];
    cookie = batch.back().cookie;
    for (int i = 0; i < 40; ++i) {
      std::string name = absl::StrCat("churn", random());
      if (Run(tree->Insert(name, 1, DT_REG)).ok()) churn.push_back(name);
    }
    for (int i = 0; i < 30 && !churn.empty(); ++i) {
      size_t pick = random() % churn.size();
      ASSERT_OK(Run(tree->Remove(churn[pick])).status());
      churn.erase(churn.begin() + pick);
    }
  }
  for (const std::string& name : stable) EXPECT_EQ(seen[name], 1) << name;
  for (const auto& [name, count] : seen) EXPECT_EQ(count, 1) << name;
}

TEST_F(DirTreeTest, RefusesBadNames) {
  auto tree = OpenTree();
  EXPECT_EQ(ErrCode(Run(tree->Insert("", 1, DT_REG))), EINVAL);
  EXPECT_EQ(ErrCode(Run(tree->Insert("a/b", 1, DT_REG))), EINVAL);
  EXPECT_EQ(ErrCode(Run(tree->Insert(std::string("a\0b", 3), 1, DT_REG))), EINVAL);
  EXPECT_EQ(ErrCode(Run(tree->Insert(std::string(256, 'a'), 1, DT_REG))), ENAMETOOLONG);
  ASSERT_OK(Run(tree->Insert(std::string(255, '\xff'), 1, DT_REG)).status());
}

TEST_F(DirTreeTest, CorruptBlocksAreReportedNotTrusted) {
  {
    auto tree = OpenTree();
    for (int i = 0; i < 2000; ++i) {
      ASSERT_OK(Run(tree->Insert(absl::StrCat("entry", i), i + 1, DT_REG)).status());
    }
  }
  const auto pristine = storage_.blocks;
  std::mt19937 random(11);
  int refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    storage_.blocks = pristine;
    // Damage one byte of one block; every call must fail cleanly or succeed, never crash.
    auto it = storage_.blocks.begin();
    std::advance(it, random() % storage_.blocks.size());
    it->second[random() % it->second.size()] ^= std::byte{static_cast<uint8_t>(1 + random() % 255)};
    DirNodeCache cache(4);
    auto opened = Run(DirTree::Open(storage_, kSeed, cache, {}));
    if (!opened.ok()) {
      EXPECT_EQ(ErrCode(opened), EUCLEAN);
      ++refused;
      continue;
    }
    DirTree& tree = **opened;
    bool failed = false;
    for (int i = 0; i < 2000; i += 37) {
      auto found = Run(tree.Lookup(absl::StrCat("entry", i)));
      if (!found.ok()) {
        EXPECT_EQ(ErrCode(found), EUCLEAN);
        failed = true;
      }
    }
    std::function<bool(const DirEntry&)> all = [](const DirEntry&) { return true; };
    Status listed = Run(tree.List(0, all));
    if (!listed.ok()) {
      EXPECT_EQ(listed.error().code(), EUCLEAN);
      failed = true;
    }
    refused += failed;
  }
  // Every damaged block is checked by CRC, so nearly every trial sees the damage.
  EXPECT_GT(refused, 250);
}

TEST_F(DirTreeTest, TreesOverOneCacheShareItsBound) {
  DirNodeCache shared(16);
  auto first = OpenTree({}, &shared);
  for (int i = 0; i < 300; ++i) {
    ASSERT_OK(Run(first->Insert(absl::StrCat("a", i), i + 1, DT_REG)).status());
  }
  ASSERT_LT(first->blocks_in_use(), 16u);
  auto lookup_all = [&] {
    for (int i = 0; i < 300; ++i) {
      auto found = Run(first->Lookup(absl::StrCat("a", i)));
      ASSERT_OK(found.status());
      ASSERT_TRUE(found->has_value());
    }
  };
  lookup_all();
  const uint64_t reads = first->blocks_read();
  lookup_all();
  EXPECT_EQ(first->blocks_read(), reads) << "the whole first tree fits in the cache";
  // A second directory fills the same cache: the first one's nodes are read again.
  MemoryDirStorage other(4096);
  ASSERT_OK(Run(DirTree::Format(other, kSeed)));
  auto second = Run(DirTree::Open(other, kSeed, shared, {}));
  ASSERT_OK(second.status());
  for (int i = 0; i < 3000; ++i) {
    ASSERT_OK(Run((*second)->Insert(absl::StrCat("b", i), i + 1, DT_REG)).status());
  }
  EXPECT_EQ(shared.size(), 16u);
  lookup_all();
  EXPECT_GT(first->blocks_read(), reads);
}

TEST_F(DirTreeTest, StorageErrorsSurfaceAndTheTreeRecovers) {
  DirNodeCache one_node(1);  // Far smaller than the tree.
  auto tree = OpenTree({}, &one_node);
  for (int i = 0; i < 5000; ++i) {
    ASSERT_OK(Run(tree->Insert(absl::StrCat("n", i), i + 1, DT_REG)).status());
  }
  storage_.fail_reads = true;
  int failures = 0;
  for (int i = 0; i < 5000; i += 101) {
    auto found = Run(tree->Lookup(absl::StrCat("n", i)));
    if (found.ok()) {
      EXPECT_TRUE(found->has_value());  // Served from the cache, and right.
    } else {
      EXPECT_EQ(ErrCode(found), EIO);
      ++failures;
    }
  }
  EXPECT_GT(failures, 0);
  uint64_t expected = 5000;
  auto inserted = Run(tree->Insert("new", 1, DT_REG));
  if (inserted.ok()) {
    ++expected;
  } else {
    EXPECT_EQ(ErrCode(inserted), EIO);
  }
  storage_.fail_reads = false;
  for (int i = 0; i < 5000; i += 101) {
    ASSERT_ASSIGN_OR_FAIL(auto found, Run(tree->Lookup(absl::StrCat("n", i))));
    EXPECT_TRUE(found.has_value());
  }
  EXPECT_EQ(tree->size(), expected);
  EXPECT_EQ(ListAll(*tree).size(), expected);
}

}  // namespace
}  // namespace blobfs
