// blobfs file data through the API: inline and cluster storage, copy_file_range, O_APPEND, a
// full device (short writes with a consistent size), I/O errors on read and write-back, and a
// corrupt inode record.
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#include <functional>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "blobfs/format/inode_record.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"
#include "tests/blobfs/fs_harness.h"

namespace blobfs {
namespace {

using bdev_test::ErrCode;
using fs_test::Backing;
using fs_test::FsTest;

std::string Pattern(size_t length, int seed) {
  std::string data(length, '\0');
  for (size_t i = 0; i < length; ++i) data[i] = static_cast<char>((i * 131 + seed) % 251);
  return data;
}

class FsDataTest : public FsTest {
 protected:
  // Unmounts, replaces the inode record of `ino` with what `edit` makes of it, mounts again.
  void EditRecord(uint64_t ino, const std::function<std::string(const std::string&)>& edit) {
    ASSERT_OK(Run(fs_->Unmount()));
    fs_.reset();
    auto store = Run(BlobStore::Load(Device(), BlobStoreLoadOptions{}));
    ASSERT_OK(store.status());
    ASSERT_ASSIGN_OR_FAIL(Blob * blob, Run((*store)->OpenBlob(ino)));
    const std::string name(InodeRecord::kXattrName);
    ASSERT_ASSIGN_OR_FAIL(std::string encoded, Run(blob->GetXattr(name, XattrKind::kInternal)));
    ASSERT_OK(Run(blob->SetXattr(name, edit(encoded), XattrKind::kInternal)));
    ASSERT_OK(Run((*store)->CloseBlob(blob)));
    ASSERT_OK(Run((*store)->Unload()));
    Mount();
  }
};

TEST_P(FsDataTest, SmallFilesStayInlineAndMoveOutWhenTheyGrow) {
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "f"));
  ASSERT_OK(Write(file.handle, 0, Pattern(100, 1)));
  ASSERT_OK(Run(fs_->Fsync(file.handle, false)));
  EXPECT_EQ(Run(fs_->GetAttr(file.attr.ino))->blocks, 0u);  // No cluster: the bytes are inline.
  std::string grown = Pattern(100, 1) + Pattern(9900, 2);
  ASSERT_OK(Write(file.handle, 100, Pattern(9900, 2)));
  ASSERT_OK(Run(fs_->Fsync(file.handle, false)));
  EXPECT_GE(Run(fs_->GetAttr(file.attr.ino))->blocks, 10000u / 512);
  SetAttrRequest shrink{.valid = SetAttrRequest::kSize, .size = 50};
  ASSERT_OK(Run(fs_->SetAttr(root_caller_, file.attr.ino, shrink, file.handle)));
  ASSERT_OK(Run(fs_->Release(file.handle)));
  Remount();
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->Open(root_caller_, file.attr.ino, O_RDWR)));
  EXPECT_EQ(Read(handle, 0, 100), grown.substr(0, 50));
  ASSERT_OK(Write(handle, 5000, "x"));
  EXPECT_EQ(Read(handle, 0, 6000), grown.substr(0, 50) + std::string(4950, '\0') + "x");
  ASSERT_OK(Run(fs_->Release(handle)));
}

// fsync, fdatasync, fsyncdir and syncfs return only once the device was told to flush after
// the data and the metadata that reaches it were written.
TEST_P(FsDataTest, SyncCallsFlushTheDeviceAfterTheData) {
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "f"));
  ASSERT_ASSIGN_OR_FAIL(uint64_t dir, Run(fs_->OpenDir(root_caller_, root())));
  std::vector<std::function<Status()>> syncs = {
      [&] { return Run(fs_->Fsync(file.handle, false)); },
      [&] { return Run(fs_->Fsync(file.handle, true)); },
      [&] { return Run(fs_->FsyncDir(dir, false)); },
      [&] { return Run(fs_->SyncFs()); },
  };
  for (size_t i = 0; i < syncs.size(); ++i) {
    SCOPED_TRACE(i);
    ASSERT_OK(Write(file.handle, i * 100000, Pattern(100000, static_cast<int>(i))));
    injector_->StartRecording();
    ASSERT_OK(syncs[i]());
    std::vector<WriteLogEntry> log = injector_->TakeWriteLog();
    injector_->StopRecording();
    ASSERT_FALSE(log.empty());
    // The file's new bytes were written before the last flush (after it, only the journaled
    // pages go in place).
    const auto last_flush = std::find_if(log.rbegin(), log.rend(), [](const WriteLogEntry& entry) {
      return entry.type == IoType::kFlush;
    });
    ASSERT_NE(last_flush, log.rend());
    uint64_t written = 0;
    for (auto it = last_flush; it != log.rend(); ++it) {
      written += it->type == IoType::kWrite ? it->length : 0;
    }
    EXPECT_GE(written, 100000u);
  }
  ASSERT_OK(Run(fs_->ReleaseDir(dir)));
  ASSERT_OK(Run(fs_->Release(file.handle)));
}

TEST_P(FsDataTest, CopyFileRangeAndAppend) {
  ASSERT_ASSIGN_OR_FAIL(auto source, Create(root(), "src"));
  std::string data = Pattern(3 << 20, 3);
  ASSERT_OK(Write(source.handle, 0, data));
  ASSERT_ASSIGN_OR_FAIL(auto target, Create(root(), "dst"));
  ASSERT_ASSIGN_OR_FAIL(size_t copied, Run(fs_->CopyFileRange(root_caller_, source.handle, 1000,
                                                               target.handle, 77, 2 << 20)));
  EXPECT_EQ(copied, size_t{2} << 20);
  EXPECT_EQ(Read(target.handle, 77, 2 << 20), data.substr(1000, 2 << 20));
  EXPECT_EQ(Read(target.handle, 0, 77), std::string(77, '\0'));
  // Past the source's end: a short copy.
  ASSERT_ASSIGN_OR_FAIL(copied, Run(fs_->CopyFileRange(root_caller_, source.handle,
                                                       (3 << 20) - 10, target.handle, 0, 100)));
  EXPECT_EQ(copied, 10u);
  EXPECT_EQ(ErrCode(Run(fs_->CopyFileRange(root_caller_, source.handle, 0, source.handle, 100,
                                           1000))),
            EINVAL);
  ASSERT_OK(Run(fs_->Release(target.handle)));
  ASSERT_ASSIGN_OR_FAIL(uint64_t append,
                        Run(fs_->Open(root_caller_, source.attr.ino, O_WRONLY | O_APPEND)));
  ASSERT_OK(Write(append, 0, "tail"));
  EXPECT_EQ(Run(fs_->GetAttr(source.attr.ino))->size, (3u << 20) + 4);
  EXPECT_EQ(Read(source.handle, 3 << 20, 10), "tail");
  ASSERT_OK(Run(fs_->Release(append)));
  ASSERT_OK(Run(fs_->Release(source.handle)));
}

TEST_P(FsDataTest, ReadErrorsSurfaceAsEioAndPassWhenTheDeviceRecovers) {
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "f"));
  std::string data = Pattern(1 << 20, 4);
  ASSERT_OK(Write(file.handle, 0, data));
  ASSERT_OK(Run(fs_->Release(file.handle)));
  Remount();  // A cold cache.
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->Open(root_caller_, file.attr.ino, O_RDONLY)));
  injector_->AddRule({.io_types = IoTypeBit(IoType::kRead)});
  std::string buffer(4096, '\0');
  iovec iov{buffer.data(), buffer.size()};
  EXPECT_EQ(ErrCode(Run(fs_->Read(handle, 8192, std::span<const iovec>(&iov, 1)))), EIO);
  injector_->ClearRules();
  EXPECT_EQ(Read(handle, 0, 1 << 20), data);
  ASSERT_OK(Run(fs_->Release(handle)));
}

TEST_P(FsDataTest, WriteBackErrorsKeepTheDataForTheNextSync) {
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "f"));
  std::string data = Pattern(512 << 10, 5);
  injector_->AddRule({.io_types = IoTypeBit(IoType::kWrite)});
  ASSERT_OK(Write(file.handle, 0, data));  // Lands in the cache.
  EXPECT_EQ(ErrCode(Run(fs_->Fsync(file.handle, false))), EIO);
  injector_->ClearRules();
  Status retried = Run(fs_->Fsync(file.handle, false));
  ASSERT_OK(retried);
  ASSERT_OK(Run(fs_->Release(file.handle)));
  // When the failed write was a metadata commit, the store refuses a clean unload (EIO) so
  // that the next mount rebuilds its maps; either way the data is there.
  Status unmounted = Run(fs_->Unmount());
  if (!unmounted.ok()) {
    EXPECT_EQ(unmounted.error().code(), EIO);
  }
  fs_.reset();
  Mount();
  ASSERT_ASSIGN_OR_FAIL(auto again, Lookup(root(), "f"));
  EXPECT_EQ(again.size, data.size());
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->Open(root_caller_, again.ino, O_RDONLY)));
  EXPECT_EQ(Read(handle, 0, data.size()), data);
  ASSERT_OK(Run(fs_->Release(handle)));
}

TEST_P(FsDataTest, CorruptInodeRecordsAreReported) {
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "victim"));
  ASSERT_OK(Run(fs_->Release(file.handle)));
  // A version-1 record whose mode has no file type.
  EditRecord(file.attr.ino, [](const std::string&) {
    InodeRecord broken;
    broken.mode = 0644;
    return broken.Encode();
  });
  EXPECT_EQ(ErrCode(Lookup(root(), "victim")), EUCLEAN);
  // The rest of the filesystem is unaffected.
  ASSERT_ASSIGN_OR_FAIL(auto other, Create(root(), "other"));
  ASSERT_OK(Run(fs_->Release(other.handle)));
}

// An inline file whose record claims more bytes than an inline file may hold (it used to abort
// the daemon): its calls fail with EUCLEAN, the rest of the filesystem works on.
TEST_P(FsDataTest, AnInlineFileWhoseSizeDisagreesWithItsDataIsOneError) {
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "victim"));
  const std::string data = "inline bytes";
  iovec iov{const_cast<char*>(data.data()), data.size()};
  ASSERT_OK(Run(fs_->Write(root_caller_, file.handle, 0, std::span<const iovec>(&iov, 1))));
  ASSERT_OK(Run(fs_->Release(file.handle)));
  EditRecord(file.attr.ino, [](const std::string& encoded) {
    InodeRecord record = InodeRecord::Decode(encoded).value();
    record.size = uint64_t{1} << 62;
    return record.Encode();
  });
  ASSERT_ASSIGN_OR_FAIL(auto victim, Lookup(root(), "victim"));
  EXPECT_EQ(ErrCode(Run(fs_->Open(root_caller_, victim.ino, O_RDONLY))), EUCLEAN);
  EXPECT_EQ(ErrCode(Run(fs_->Open(root_caller_, victim.ino, O_RDWR | O_TRUNC))), EUCLEAN);
  ASSERT_ASSIGN_OR_FAIL(auto other, Create(root(), "other"));
  ASSERT_OK(Run(fs_->Release(other.handle)));
}

INSTANTIATE_TEST_SUITE_P(Backings, FsDataTest,
                         ::testing::Values(Backing::kMalloc, Backing::kUring),
                         fs_test::BackingName);

// A buffer cache far smaller than the files: eviction and write-back under pressure.
class FsSmallCacheTest : public FsTest {
 protected:
  MountOptions mount_options() const override {
    MountOptions options;
    options.cache_bytes = 1 << 20;
    return options;
  }
};

TEST_P(FsSmallCacheTest, FilesLargerThanTheCacheReadBackIntact) {
  std::string first = Pattern(24 << 20, 8);
  std::string second = Pattern(16 << 20, 9);
  ASSERT_ASSIGN_OR_FAIL(auto a, Create(root(), "a"));
  ASSERT_ASSIGN_OR_FAIL(auto b, Create(root(), "b"));
  // Interleaved writes to two files, in pieces that do not line up with buffers or blocks.
  constexpr size_t kPiece = 300001;
  for (size_t at = 0; at < first.size(); at += kPiece) {
    ASSERT_OK(Write(a.handle, at, first.substr(at, kPiece)));
    if (at < second.size()) ASSERT_OK(Write(b.handle, at, second.substr(at, kPiece)));
  }
  EXPECT_EQ(Read(a.handle, 0, first.size()), first);
  EXPECT_EQ(Read(b.handle, 5, second.size()), second.substr(5));
  // Overwrite a range across many buffers, then read around its edges.
  std::string patch = Pattern(3 << 20, 10);
  ASSERT_OK(Write(a.handle, 1234567, patch));
  first.replace(1234567, patch.size(), patch);
  EXPECT_EQ(Read(a.handle, 1234000, patch.size() + 2000), first.substr(1234000, patch.size() + 2000));
  ASSERT_OK(Run(fs_->Release(a.handle)));
  ASSERT_OK(Run(fs_->Release(b.handle)));
  Remount();
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->Open(root_caller_, a.attr.ino, O_RDONLY)));
  EXPECT_EQ(Read(handle, 0, first.size()), first);
  ASSERT_OK(Run(fs_->Release(handle)));
}

INSTANTIATE_TEST_SUITE_P(Backings, FsSmallCacheTest,
                         ::testing::Values(Backing::kMalloc, Backing::kUring),
                         fs_test::BackingName);

// A small device: writes run out of clusters.
class FsFullTest : public FsTest {
 protected:
  uint64_t device_size() const override { return uint64_t{32} << 20; }
};

TEST_P(FsFullTest, AFullDeviceCutsWritesShortAndTheSizeMatchesWhatWasWritten) {
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "big"));
  std::string chunk = Pattern(1 << 20, 6);
  uint64_t written = 0;
  Status failure;
  while (true) {
    Result<size_t> put = Write(file.handle, written, chunk);
    if (!put.ok()) {
      failure = put.status();
      break;
    }
    written += *put;
    ASSERT_LT(written, uint64_t{64} << 20) << "a 32 MiB device took more than 64 MiB";
  }
  EXPECT_EQ(failure.error().code(), ENOSPC);
  EXPECT_GT(written, uint64_t{8} << 20);
  EXPECT_EQ(Run(fs_->GetAttr(file.attr.ino))->size, written);
  ASSERT_OK(Run(fs_->Fsync(file.handle, false)));
  ASSERT_OK(Run(fs_->Release(file.handle)));
  Remount();
  ASSERT_ASSIGN_OR_FAIL(auto again, Lookup(root(), "big"));
  EXPECT_EQ(again.size, written);
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->Open(root_caller_, again.ino, O_RDONLY)));
  std::string tail = Read(handle, written - 4096, 4096);
  EXPECT_EQ(tail, chunk.substr((written - 4096) % chunk.size(), 4096));
  ASSERT_OK(Run(fs_->Release(handle)));
  // Deleting it gives the space back: the next file fits again.
  ASSERT_OK(Run(fs_->Unlink(root_caller_, root(), "big")));
  Run(fs_->Forget(again.ino, 1));
  ASSERT_OK(Run(fs_->SyncFs()));
  ASSERT_ASSIGN_OR_FAIL(auto next, Create(root(), "next"));
  ASSERT_OK(Write(next.handle, 0, Pattern(8 << 20, 7)));
  ASSERT_OK(Run(fs_->Release(next.handle)));
}

INSTANTIATE_TEST_SUITE_P(Backings, FsFullTest, ::testing::Values(Backing::kMalloc),
                         fs_test::BackingName);

// Few metadata pages: inodes run out before clusters do.
class FsInodesFullTest : public FsTest {
 protected:
  uint64_t md_pages() const override { return 64; }
};

TEST_P(FsInodesFullTest, RunningOutOfInodesIsEnospcAndLosesNothing) {
  ASSERT_ASSIGN_OR_FAIL(FsStats start, Run(fs_->StatFs()));
  EXPECT_LT(start.free_inodes, 64u);
  ASSERT_ASSIGN_OR_FAIL(auto keep, Create(root(), "keep"));
  std::vector<std::string> names;
  Status failure;
  for (int i = 0; i < 100; ++i) {
    std::string name = absl::StrCat("f", i);
    auto made = Run(fs_->MkNod(root_caller_, root(), name, S_IFREG | 0644, 0));
    if (!made.ok()) {
      failure = made.status();
      break;
    }
    Run(fs_->Forget(made->ino, 1));
    names.push_back(name);
  }
  EXPECT_EQ(failure.error().code(), ENOSPC);
  EXPECT_EQ(names.size(), start.free_inodes - 1);
  ASSERT_ASSIGN_OR_FAIL(FsStats full, Run(fs_->StatFs()));
  EXPECT_EQ(full.free_inodes, 0u);
  // Every kind of new inode is refused; data still goes to existing files.
  EXPECT_EQ(ErrCode(Run(fs_->MkDir(root_caller_, root(), "d", 0755))), ENOSPC);
  EXPECT_EQ(ErrCode(Run(fs_->Symlink(root_caller_, root(), "s", "target"))), ENOSPC);
  EXPECT_EQ(ErrCode(Create(root(), "c")), ENOSPC);
  EXPECT_EQ(ErrCode(Lookup(root(), "d")), ENOENT);
  const std::string data = Pattern(100000, 3);
  ASSERT_OK(Write(keep.handle, 0, data));
  // Existing inodes still grow into the reserve new ones leave, until it runs low: then that is
  // refused too, and the filesystem still commits.
  const std::string value(10000, 'x');
  std::vector<std::string> xattrs;
  Status refused;
  for (int i = 0; i < 10 && refused.ok(); ++i) {
    std::string name = absl::StrCat("user.x", i);
    refused = Run(fs_->SetXattr(root_caller_, keep.attr.ino, name, value, 0));
    if (refused.ok()) xattrs.push_back(name);
  }
  EXPECT_EQ(refused.error().code(), ENOSPC);
  EXPECT_GE(xattrs.size(), 1u);
  ASSERT_OK(Run(fs_->SyncFs()));
  for (const std::string& name : xattrs) {
    ASSERT_OK(Run(fs_->RemoveXattr(root_caller_, keep.attr.ino, name)));
  }
  ASSERT_OK(Run(fs_->SyncFs()));
  // One unlink frees one inode.
  ASSERT_OK(Run(fs_->Unlink(root_caller_, root(), names.back())));
  names.pop_back();
  ASSERT_OK(Run(fs_->SyncFs()));
  ASSERT_ASSIGN_OR_FAIL(auto again, Run(fs_->MkDir(root_caller_, root(), "d", 0755)));
  Run(fs_->Forget(again.ino, 1));
  ASSERT_OK(Run(fs_->Release(keep.handle)));
  Remount();
  std::vector<std::string> listed = List(root());
  for (const std::string& name : names) {
    EXPECT_NE(std::find(listed.begin(), listed.end(), name), listed.end()) << name;
  }
  EXPECT_EQ(listed.size(), names.size() + 4);  // ".", "..", "keep", "d"
  ASSERT_ASSIGN_OR_FAIL(auto file, Lookup(root(), "keep"));
  EXPECT_EQ(file.size, data.size());
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->Open(root_caller_, file.ino, O_RDONLY)));
  EXPECT_EQ(Read(handle, 0, data.size()), data);
  ASSERT_OK(Run(fs_->Release(handle)));
}

INSTANTIATE_TEST_SUITE_P(Backings, FsInodesFullTest,
                         ::testing::Values(Backing::kMalloc, Backing::kUring),
                         fs_test::BackingName);

}  // namespace
}  // namespace blobfs
