// A full filesystem loses nothing it accepted: calls whose changes could not be written (new
// directory entries, new directories, file data) fail at once with ENOSPC and change nothing;
// deleting works with no free space at all; the space of deleted files is reclaimed (a commit)
// before a call is told ENOSPC; unmount succeeds and the image checks clean; statfs counts only
// the space file data can use.
#include <fcntl.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "blobfs/fs_check.h"
#include "tests/blobfs/fs_harness.h"

namespace blobfs::fs_test {
namespace {

using bdev_test::ErrCode;

class FullFilesystemTest : public FsTest {
 protected:
  uint64_t device_size() const override { return uint64_t{64} << 20; }

  // Writes `name` in 1 MiB pieces until the data space is full (a short write goes on, as cp
  // does, until a write fails); the bytes written. The file is closed and forgotten, as the
  // kernel forgets it.
  uint64_t Fill(const std::string& name) {
    auto file = Create(root(), name);
    CHECK_OK(file);
    const std::string chunk(1 << 20, 'f');
    uint64_t written = 0;
    while (true) {
      Result<size_t> put = Write(file->handle, written, chunk);
      if (!put.ok()) {
        EXPECT_EQ(put.error().code(), ENOSPC) << put.error().ToString();
        break;
      }
      written += *put;
    }
    CHECK_OK(Run(fs_->Release(file->handle)));
    Run(fs_->Forget(file->attr.ino, 1));
    return written;
  }
  void ExpectCleanAfterUnmount() {
    ASSERT_OK(Run(fs_->Unmount()));
    fs_.reset();
    auto device = registry_.Open("dev", OpenMode::kReadOnly);
    ASSERT_OK(device.status());
    auto store = Run(BlobStore::Load(std::move(*device), {.read_only = true, .verify = true}));
    ASSERT_OK(store.status());
    auto report = Run(CheckFileSystem(**store));
    ASSERT_OK(report.status());
    EXPECT_TRUE(report->clean()) << (report->problems.empty() ? "" : report->problems[0]);
    ASSERT_OK(Run((*store)->Unload()));
    Mount();
  }
};

TEST_P(FullFilesystemTest, NewEntriesFailUpFrontAndEverythingAcceptedSurvivesUnmount) {
  ASSERT_ASSIGN_OR_FAIL(InodeAttr dir, Run(fs_->MkDir(root_caller_, root(), "d", 0755)));
  Fill("big");
  ASSERT_ASSIGN_OR_FAIL(FsStats full, Run(fs_->StatFs()));
  EXPECT_EQ(full.available_blocks, 0u);
  // A directory needs blocks: refused at once, not lost at write-back.
  EXPECT_EQ(ErrCode(Run(fs_->MkDir(root_caller_, root(), "more", 0755))), ENOSPC);
  // Entries: each either made or refused, never accepted and lost.
  std::vector<std::string> made;
  for (int i = 0; i < 1500; ++i) {
    const std::string name = absl::StrFormat("f%04d", i);
    auto created = Create(dir.ino, name);
    if (created.ok()) {
      ASSERT_OK(Run(fs_->Release(created->handle)));
      made.push_back(name);
    } else {
      EXPECT_EQ(created.error().code(), ENOSPC);
    }
  }
  ASSERT_OK(Run(fs_->SyncFs()));
  ExpectCleanAfterUnmount();
  for (const std::string& name : made) EXPECT_OK(Lookup(dir.ino, name));
}

TEST_P(FullFilesystemTest, DeletingWorksWithNoFreeSpaceAndItsSpaceIsReusableAtOnce) {
  // Many files, so that their orphan entries outgrow the orphan directory's first block.
  std::vector<std::string> names;
  for (int i = 0; i < 300; ++i) {
    names.push_back(absl::StrFormat("small-%03d", i));
    ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), names.back()));
    ASSERT_OK(Write(file.handle, 0, std::string(8192, 's')));
    ASSERT_OK(Run(fs_->Release(file.handle)));
    Run(fs_->Forget(file.attr.ino, 1));
  }
  const uint64_t size = Fill("big");
  ASSERT_GT(size, 0u);
  for (const std::string& name : names) ASSERT_OK(Run(fs_->Unlink(root_caller_, root(), name)));
  ASSERT_OK(Run(fs_->Unlink(root_caller_, root(), "big")));
  // No commit has run yet: the space comes back when the write would fail.
  EXPECT_GE(Fill("again"), size);
  ExpectCleanAfterUnmount();
  ASSERT_ASSIGN_OR_FAIL(InodeAttr again, Lookup(root(), "again"));
  EXPECT_GE(again.size, size);
}

TEST_P(FullFilesystemTest, StatfsCountsWhatFileDataCanUse) {
  ASSERT_ASSIGN_OR_FAIL(FsStats empty, Run(fs_->StatFs()));
  EXPECT_LE(empty.available_blocks, empty.free_blocks);
  EXPECT_LE(empty.free_blocks, empty.total_blocks);
  // An empty filesystem uses nearly nothing of its size (its own structures are not counted).
  EXPECT_LE(empty.total_blocks - empty.free_blocks, 16u);
  const uint64_t written = Fill("big");
  // What statfs said was available is what a file could take (within a few blocks).
  EXPECT_LE(written / empty.block_size, empty.available_blocks);
  EXPECT_GE(written / empty.block_size + 16, empty.available_blocks);
}

INSTANTIATE_TEST_SUITE_P(Backings, FullFilesystemTest,
                         ::testing::Values(Backing::kMalloc, Backing::kUring),
                         fs_test::BackingName);

}  // namespace
}  // namespace blobfs::fs_test
