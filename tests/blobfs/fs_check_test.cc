// CheckFileSystem (fsck.blobfs's filesystem pass): a filesystem made through the API checks clean
// with the right counts, orphans left by a crash are notes, and each kind of damage — made on the
// unmounted store with the blob store and directory index APIs — is found and named; then
// RepairFileSystem (fsck.blobfs -p and -y) repairs each, a second check is clean and the
// undamaged files are intact.
#include "blobfs/fs_check.h"
#include "blobfs/fs_repair.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "blobfs/dir_blob_storage.h"
#include "common/aligned_buffer.h"
#include "blobfs/dir_tree.h"
#include "blobfs/format/inode_record.h"
#include "gmock/gmock.h"
#include "tests/blobfs/fs_harness.h"

namespace blobfs::fs_test {
namespace {

using bdev_test::ErrCode;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

class FsCheckTest : public FsTest {
 protected:
  // Unmounts, checks the store loaded read-only and verifying, and mounts again.
  FsCheckReport Check() {
    if (fs_ != nullptr) {
      EXPECT_OK(Run(fs_->Unmount()));
      fs_.reset();
    }
    FsCheckReport report = CheckUnmounted();
    Mount();
    return report;
  }
  FsCheckReport CheckUnmounted() {
    auto device = registry_.Open("dev", OpenMode::kReadOnly);
    CHECK_OK(device);
    auto store = Run(BlobStore::Load(std::move(*device), {.read_only = true, .verify = true}));
    CHECK_OK(store);
    EXPECT_THAT((*store)->mask_differences(), IsEmpty());
    Result<FsCheckReport> report = Run(CheckFileSystem(**store));
    CHECK_OK(report);
    CHECK_OK(Run((*store)->Unload()));
    return std::move(*report);
  }

  // Unmounts (if mounted) and runs `edit` on the blob of inode `ino` in the store loaded read-write.
  void EditBlob(uint64_t ino, std::function<Task<Status>(BlobStore&, Blob&)> edit) {
    if (fs_ != nullptr) {
      ASSERT_OK(Run(fs_->Unmount()));
      fs_.reset();
    }
    auto store = Run(BlobStore::Load(Device(), BlobStoreLoadOptions{}));
    ASSERT_OK(store.status());
    ASSERT_OK(Run(EditAndClose(**store, ino, std::move(edit))));
    ASSERT_OK(Run((*store)->Unload()));
  }
  static Task<Status> EditAndClose(BlobStore& store, uint64_t ino,
                                   std::function<Task<Status>(BlobStore&, Blob&)> edit) {
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store.OpenBlob(ino));
    Status edited = co_await edit(store, *blob);
    CO_RETURN_IF_ERROR(co_await store.CloseBlob(blob));
    co_return edited;
  }
  // Rewrites the inode record of `ino` after `change`.
  void EditRecord(uint64_t ino, std::function<void(InodeRecord&)> change) {
    EditBlob(ino, [change](BlobStore&, Blob& blob) -> Task<Status> {
      const std::string name(InodeRecord::kXattrName);
      CO_ASSIGN_OR_RETURN(std::string encoded, co_await blob.GetXattr(name, XattrKind::kInternal));
      CO_ASSIGN_OR_RETURN(InodeRecord record, InodeRecord::Decode(encoded));
      change(record);
      co_return co_await blob.SetXattr(name, record.Encode(), XattrKind::kInternal);
    });
  }
  // Changes the entries of directory `dir` through its index.
  void EditDirectory(uint64_t dir, std::function<Task<Status>(DirTree&)> change) {
    EditBlob(dir, [change](BlobStore& store, Blob& blob) -> Task<Status> {
      CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store.OpenChannel());
      CO_ASSIGN_OR_RETURN(FsSuper super, co_await ReadSuper(store));
      DirBlobStorage storage(blob, *channel, super.block_size);
      DirNodeCache cache(4);
      CO_ASSIGN_OR_RETURN(std::unique_ptr<DirTree> tree,
                          co_await DirTree::Open(storage, super.hash_seed, cache));
      CO_RETURN_IF_ERROR(co_await change(*tree));
      co_return co_await storage.WriteBack();
    });
  }
  static Task<Result<FsSuper>> ReadSuper(BlobStore& store) {
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store.OpenBlob(store.super_blob()));
    Result<std::string> encoded =
        co_await blob->GetXattr(std::string(FsSuper::kXattrName), XattrKind::kInternal);
    CO_RETURN_IF_ERROR(co_await store.CloseBlob(blob));
    CO_RETURN_IF_ERROR(encoded.status());
    co_return FsSuper::Decode(*encoded);
  }

  uint64_t MakeFile(uint64_t parent, const std::string& name, const std::string& data = "") {
    auto created = Create(parent, name);
    CHECK_OK(created);
    if (!data.empty()) CHECK_OK(Write(created->handle, 0, data));
    CHECK_OK(Run(fs_->Release(created->handle)));
    return created->attr.ino;
  }
  uint64_t MakeDir(uint64_t parent, const std::string& name) {
    auto made = Run(fs_->MkDir(root_caller_, parent, name, 0755));
    CHECK_OK(made);
    return made->ino;
  }

  // Unmounts (if mounted) and repairs the store loaded read-write and verifying; the returned
  // report's final check must be clean for the caller's CheckUnmounted to be.
  FsRepairReport Repair(FsRepairLevel level) {
    if (fs_ != nullptr) {
      EXPECT_OK(Run(fs_->Unmount()));
      fs_.reset();
    }
    auto store = Run(BlobStore::Load(Device(), {.verify = true}));
    CHECK_OK(store);
    Result<FsRepairReport> report = Run(RepairFileSystem(**store, level));
    CHECK_OK(report);
    CHECK_OK(Run((*store)->Unload()));
    return std::move(*report);
  }
  // Repairs with `level`, expects the repairs to leave nothing and a second check to agree, and
  // mounts again.
  std::vector<std::string> RepairAll(FsRepairLevel level = FsRepairLevel::kSafe) {
    FsRepairReport report = Repair(level);
    EXPECT_FALSE(report.first_check.clean());
    EXPECT_TRUE(report.final_check.clean())
        << (report.final_check.problems.empty() ? "" : report.final_check.problems[0]);
    const FsCheckReport again = CheckUnmounted();
    EXPECT_TRUE(again.clean()) << (again.problems.empty() ? "" : again.problems[0]);
    Mount();
    return report.repairs;
  }
  std::string ReadAll(uint64_t ino) {
    auto opened = Run(fs_->Open(root_caller_, ino, O_RDONLY));
    CHECK_OK(opened);
    std::string data = Read(*opened, 0, 1 << 20);
    CHECK_OK(Run(fs_->Release(*opened)));
    return data;
  }

  static ::testing::Matcher<const std::vector<std::string>&> HasProblem(const std::string& a,
                                                                        const std::string& b) {
    return Contains(AllOf(HasSubstr(a), HasSubstr(b)));
  }
  static std::string Hex(uint64_t ino) { return absl::StrFormat("0x%x", ino); }
};

TEST_P(FsCheckTest, AFilesystemMadeThroughTheApiIsCleanWithItsCounts) {
  const uint64_t dir = MakeDir(root(), "dir");
  MakeDir(dir, "sub");
  const uint64_t small = MakeFile(dir, "small", "inline bytes");
  MakeFile(root(), "big", std::string(3 << 20, 'x'));
  ASSERT_OK(Run(fs_->Link(root_caller_, small, root(), "small-link")).status());
  ASSERT_OK(Run(fs_->Symlink(root_caller_, dir, "sym", "../big")).status());
  ASSERT_OK(Run(fs_->MkNod(root_caller_, dir, "fifo", S_IFIFO | 0644, 0)).status());
  ASSERT_OK(Run(fs_->MkNod(root_caller_, dir, "tty", S_IFCHR | 0600, makedev(5, 0))).status());
  auto created = Create(root(), "truncated");
  ASSERT_OK(created.status());
  SetAttrRequest grow;
  grow.valid = SetAttrRequest::kSize;
  grow.size = uint64_t{1} << 40;
  ASSERT_OK(Run(fs_->SetAttr(root_caller_, created->attr.ino, grow, created->handle)).status());
  ASSERT_OK(Run(fs_->Release(created->handle)));
  const uint64_t gone = MakeFile(dir, "gone");
  ASSERT_OK(Run(fs_->Unlink(root_caller_, dir, "gone")));
  Run(fs_->Forget(gone, 1));  // Unreferenced: the unmount reclaims it.

  const FsCheckReport report = Check();
  EXPECT_THAT(report.problems, IsEmpty());
  EXPECT_TRUE(report.clean());
  EXPECT_EQ(report.directories, 4u);  // The root, the orphan directory, dir, sub.
  EXPECT_EQ(report.regular_files, 3u);
  EXPECT_EQ(report.symlinks, 1u);
  EXPECT_EQ(report.special_files, 2u);
  EXPECT_EQ(report.inodes, 10u);
  EXPECT_EQ(report.entries, 9u);
  EXPECT_EQ(report.orphans, 0u);
}

TEST_P(FsCheckTest, OrphansLeftByACrashAreNotesNotProblems) {
  auto created = Create(root(), "open-then-unlinked");
  ASSERT_OK(created.status());
  ASSERT_OK(Write(created->handle, 0, "still readable").status());
  ASSERT_OK(Run(fs_->Unlink(root_caller_, root(), "open-then-unlinked")));
  ASSERT_OK(Run(fs_->SyncFs()));
  Run(fs_->Abandon());  // The crash, with the file still open.
  fs_.reset();

  const FsCheckReport report = CheckUnmounted();
  EXPECT_TRUE(report.clean()) << report.problems[0];
  EXPECT_EQ(report.orphans, 1u);
  EXPECT_THAT(report.notes, Contains(HasSubstr("the next read-write mount reclaims them")));
  Mount();  // Reclaims it.
  EXPECT_EQ(Check().orphans, 0u);
}

// The orphan entry goes with the commit that carries the unlink: a crash before that commit
// leaves the file linked and no orphan; a commit that failed enters it on its retry.
TEST_P(FsCheckTest, AnUnlinkAndItsOrphanEntryReachTheDeviceTogether) {
  auto kept = Create(root(), "unlinked-but-not-committed");
  ASSERT_OK(kept.status());
  ASSERT_OK(Run(fs_->SyncFs()));
  ASSERT_OK(Run(fs_->Unlink(root_caller_, root(), "unlinked-but-not-committed")));
  Run(fs_->Abandon());
  fs_.reset();
  FsCheckReport report = CheckUnmounted();
  EXPECT_TRUE(report.clean()) << report.problems[0];
  EXPECT_EQ(report.orphans, 0u);
  Mount();
  EXPECT_OK(Lookup(root(), "unlinked-but-not-committed").status());

  auto open = Create(root(), "unlinked-while-a-commit-fails");
  ASSERT_OK(open.status());
  ASSERT_OK(Run(fs_->SyncFs()));
  ASSERT_OK(Run(fs_->Unlink(root_caller_, root(), "unlinked-while-a-commit-fails")));
  injector_->AddRule({.io_types = IoTypeBit(IoType::kWrite)});
  EXPECT_FALSE(Run(fs_->SyncFs()).ok());
  injector_->ClearRules();
  ASSERT_OK(Run(fs_->SyncFs()));
  Run(fs_->Abandon());  // The crash, with the file still open.
  fs_.reset();
  report = CheckUnmounted();
  EXPECT_TRUE(report.clean()) << report.problems[0];
  EXPECT_EQ(report.orphans, 1u);
  Mount();
  EXPECT_EQ(ErrCode(Lookup(root(), "unlinked-while-a-commit-fails")), ENOENT);
  EXPECT_EQ(Check().orphans, 0u);
}

TEST_P(FsCheckTest, FindsAWrongLinkCount) {
  const uint64_t file = MakeFile(root(), "file");
  EditRecord(file, [](InodeRecord& record) { record.nlink = 3; });
  EXPECT_THAT(CheckUnmounted().problems, HasProblem(Hex(file), "nlink 3 but 1 entries"));
}

TEST_P(FsCheckTest, FindsAWrongDirectoryLinkCountAndParent) {
  const uint64_t dir = MakeDir(root(), "dir");
  const uint64_t other = MakeDir(root(), "other");
  EditRecord(dir, [other](InodeRecord& record) {
    record.nlink = 5;
    record.parent = other;
  });
  const FsCheckReport report = CheckUnmounted();
  EXPECT_THAT(report.problems, HasProblem(Hex(dir), "nlink 5, expected 2"));
  EXPECT_THAT(report.problems, HasProblem(Hex(dir), absl::StrCat("parent ", Hex(other))));
}

TEST_P(FsCheckTest, FindsAnInodeNoEntryNames) {
  const uint64_t file = MakeFile(root(), "file");
  EditDirectory(root(), [](DirTree& tree) -> Task<Status> {
    CO_RETURN_IF_ERROR((co_await tree.Remove("file")).status());
    co_return OkStatus();
  });
  EXPECT_THAT(CheckUnmounted().problems, HasProblem(Hex(file), "unreachable"));
}

TEST_P(FsCheckTest, FindsAnEntryNamingNoInodeAndAWrongType) {
  const uint64_t file = MakeFile(root(), "file");
  EditDirectory(root(), [file](DirTree& tree) -> Task<Status> {
    CO_RETURN_IF_ERROR((co_await tree.Insert("dangling", 0xfff00000001ull, DT_REG)).status());
    co_return co_await tree.Replace("file", file, DT_DIR);
  });
  const FsCheckReport report = CheckUnmounted();
  EXPECT_THAT(report.problems, HasProblem("\"dangling\"", "does not exist"));
  EXPECT_THAT(report.problems, HasProblem("\"file\"", "has type 4"));
}

TEST_P(FsCheckTest, FindsAnUnlinkedInodeMissingFromTheOrphanList) {
  const uint64_t root_ino = root();
  const uint64_t file = MakeFile(root_ino, "file");
  EditRecord(file, [](InodeRecord& record) { record.nlink = 0; });
  EditDirectory(root_ino, [](DirTree& tree) -> Task<Status> {
    CO_RETURN_IF_ERROR((co_await tree.Remove("file")).status());
    co_return OkStatus();
  });
  EXPECT_THAT(CheckUnmounted().problems, HasProblem(Hex(file), "not on the orphan list"));
}

TEST_P(FsCheckTest, FindsInlineDataOfTheWrongSizeAndABadSymlink) {
  const uint64_t file = MakeFile(root(), "file", "twelve bytes");
  auto link = Run(fs_->Symlink(root_caller_, root(), "sym", "target"));
  ASSERT_OK(link.status());
  EditRecord(file, [](InodeRecord& record) { record.size = 100; });
  EditRecord(link->ino, [](InodeRecord& record) { record.size = 7; });
  const FsCheckReport report = CheckUnmounted();
  EXPECT_THAT(report.problems, HasProblem(Hex(file), "size 100 but 12 bytes of inline data"));
  EXPECT_THAT(report.problems, HasProblem(Hex(link->ino), "size 7 but a target of 6 bytes"));
}

TEST_P(FsCheckTest, FindsABlobNoInodeOwns) {
  uint64_t stray = 0;
  const uint64_t file = MakeFile(root(), "file");
  EditBlob(file, [&stray](BlobStore& store, Blob&) -> Task<Status> {
    BlobCreateOptions options;
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store.CreateBlob(std::move(options)));
    stray = blob->id();
    co_return co_await store.CloseBlob(blob);
  });
  EXPECT_THAT(CheckUnmounted().problems, HasProblem(Hex(stray), "no inode record"));
}

TEST_P(FsCheckTest, FindsADamagedDirectoryBlock) {
  const uint64_t dir = MakeDir(root(), "dir");
  for (int i = 0; i < 3; ++i) MakeFile(dir, absl::StrCat("f", i));
  EditBlob(dir, [](BlobStore& store, Blob& blob) -> Task<Status> {
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store.OpenChannel());
    AlignedBuffer block(4096, 4096);
    CO_RETURN_IF_ERROR(co_await blob.Read(*channel, 4096, block.span()));  // Block 1: the leaf.
    block.span()[20] ^= std::byte{0xff};
    co_return co_await blob.Write(*channel, 4096, block.span());
  });
  EXPECT_THAT(CheckUnmounted().problems, HasProblem(absl::StrCat("directory ", Hex(dir)), "EUCLEAN"));
}

TEST_P(FsCheckTest, RepairsLinkCountsParentsAndSizes) {
  const uint64_t file = MakeFile(root(), "file", "twelve bytes");
  const uint64_t dir = MakeDir(root(), "dir");
  const uint64_t other = MakeDir(root(), "other");
  const uint64_t kept = MakeFile(other, "kept", "untouched");
  auto link = Run(fs_->Symlink(root_caller_, root(), "sym", "target"));
  ASSERT_OK(link.status());
  EditRecord(file, [](InodeRecord& record) {
    record.nlink = 3;
    record.size = 100;
  });
  EditRecord(dir, [other](InodeRecord& record) {
    record.nlink = 5;
    record.parent = other;
  });
  EditRecord(link->ino, [](InodeRecord& record) { record.size = 7; });
  const std::vector<std::string> repairs = RepairAll();
  EXPECT_THAT(repairs, HasProblem(Hex(file), "nlink set to 1"));
  EXPECT_THAT(repairs, HasProblem(Hex(file), "size set to 12"));
  EXPECT_THAT(repairs, HasProblem(Hex(dir), "nlink set to 2"));
  EXPECT_THAT(repairs, HasProblem(Hex(dir), absl::StrCat("parent set to ", Hex(root()))));
  EXPECT_THAT(repairs, HasProblem(Hex(link->ino), "size set to 6"));
  EXPECT_EQ(ReadAll(file), "twelve bytes");
  EXPECT_EQ(ReadAll(kept), "untouched");
  auto target = Run(fs_->ReadLink(link->ino));
  ASSERT_OK(target.status());
  EXPECT_EQ(*target, "target");
}

TEST_P(FsCheckTest, RepairsEntriesThatNameNoInodeOrTheWrongOne) {
  const uint64_t file = MakeFile(root(), "file", "data");
  const uint64_t reused = MakeFile(root(), "reused", "new owner");
  const uint64_t dir = MakeDir(root(), "dir");
  const uint64_t other = MakeDir(root(), "other");
  EditDirectory(root(), [file, reused](DirTree& tree) -> Task<Status> {
    CO_RETURN_IF_ERROR((co_await tree.Insert("dangling", 0xfff00000001ull, DT_REG)).status());
    // The file's one name with a damaged type, a stale name of a reused number.
    CO_RETURN_IF_ERROR(co_await tree.Replace("file", file, DT_DIR));
    co_return (co_await tree.Insert("stale", reused, DT_LNK)).status();
  });
  // A second name of a directory, outside its parent.
  EditDirectory(other, [dir](DirTree& tree) -> Task<Status> {
    co_return (co_await tree.Insert("alias", dir, DT_DIR)).status();
  });
  const std::vector<std::string> repairs = RepairAll();
  EXPECT_THAT(repairs, HasProblem("\"dangling\"", "removed"));
  EXPECT_THAT(repairs, HasProblem("\"file\"", "given type 8"));
  EXPECT_THAT(repairs, HasProblem("\"stale\"", "removed"));
  EXPECT_THAT(repairs, HasProblem("\"alias\"", "removed"));
  EXPECT_EQ(ErrCode(Lookup(root(), "dangling")), ENOENT);
  EXPECT_EQ(ErrCode(Lookup(root(), "stale")), ENOENT);
  EXPECT_EQ(ErrCode(Lookup(other, "alias")), ENOENT);
  EXPECT_EQ(ReadAll(file), "data");
  EXPECT_EQ(ReadAll(reused), "new owner");
  auto found = Lookup(root(), "dir");
  ASSERT_OK(found.status());
  EXPECT_EQ(found->ino, dir);
}

// Before any repair, an unlink of a stale entry naming a reused number fails and destroys nothing.
TEST_P(FsCheckTest, AnUnlinkOfAStaleEntryTakesNoLinkFromTheInodeNamedNow) {
  const uint64_t reused = MakeFile(root(), "reused", "new owner");
  const uint64_t dir = MakeDir(root(), "dir");
  EditDirectory(root(), [reused, dir](DirTree& tree) -> Task<Status> {
    CO_RETURN_IF_ERROR((co_await tree.Insert("stale", reused, DT_LNK)).status());
    co_return (co_await tree.Insert("stale-dir", dir, DT_REG)).status();
  });
  Mount();
  EXPECT_EQ(ErrCode(Run(fs_->Unlink(root_caller_, root(), "stale"))), EUCLEAN);
  EXPECT_EQ(ErrCode(Run(fs_->RmDir(root_caller_, root(), "stale-dir"))), EUCLEAN);
  MakeFile(root(), "other");
  EXPECT_EQ(ErrCode(Run(fs_->Rename(root_caller_, root(), "other", root(), "stale", 0))),
            EUCLEAN);
  auto attr = Lookup(root(), "reused");
  ASSERT_OK(attr.status());
  EXPECT_EQ(attr->nlink, 1u);
  EXPECT_EQ(ReadAll(reused), "new owner");
  ASSERT_OK(Lookup(root(), "dir").status());
}

TEST_P(FsCheckTest, RepairsUnreachableInodesIntoLostAndFound) {
  const uint64_t dir = MakeDir(root(), "dir");
  const uint64_t inner = MakeFile(dir, "inner", "inside the lost directory");
  const uint64_t file = MakeFile(root(), "file", "lost file");
  EditDirectory(root(), [](DirTree& tree) -> Task<Status> {
    CO_RETURN_IF_ERROR((co_await tree.Remove("file")).status());
    co_return (co_await tree.Remove("dir")).status();
  });
  const std::vector<std::string> repairs = RepairAll();
  EXPECT_THAT(repairs, HasProblem(Hex(file), "linked as /lost+found/#"));
  auto lost = Lookup(root(), "lost+found");
  ASSERT_OK(lost.status());
  EXPECT_TRUE(S_ISDIR(lost->mode));
  auto found_file = Lookup(lost->ino, absl::StrCat("#", file));
  ASSERT_OK(found_file.status());
  EXPECT_EQ(ReadAll(found_file->ino), "lost file");
  auto found_dir = Lookup(lost->ino, absl::StrCat("#", dir));
  ASSERT_OK(found_dir.status());
  auto found_inner = Lookup(found_dir->ino, "inner");
  ASSERT_OK(found_inner.status());
  EXPECT_EQ(found_inner->ino, inner);
  EXPECT_EQ(ReadAll(inner), "inside the lost directory");
}

TEST_P(FsCheckTest, RepairDeletesLeakedInodesAndOnlyMinusYWhatMayHoldData) {
  const uint64_t root_ino = root();
  const uint64_t leaked = MakeFile(root_ino, "leaked");
  const uint64_t kept = MakeFile(root_ino, "kept", "intact");
  EditRecord(leaked, [](InodeRecord& record) { record.nlink = 0; });
  EditDirectory(root_ino, [](DirTree& tree) -> Task<Status> {
    co_return (co_await tree.Remove("leaked")).status();
  });
  uint64_t stray = 0;
  EditBlob(kept, [&stray](BlobStore& store, Blob&) -> Task<Status> {
    BlobCreateOptions options;
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store.CreateBlob(std::move(options)));
    stray = blob->id();
    co_return co_await store.CloseBlob(blob);
  });
  // -p: the leaked inode goes, the blob without a record stays.
  FsRepairReport safe = Repair(FsRepairLevel::kSafe);
  EXPECT_THAT(safe.repairs, HasProblem(Hex(leaked), "deleted"));
  EXPECT_THAT(safe.final_check.problems, HasProblem(Hex(stray), "no inode record"));
  EXPECT_EQ(safe.final_check.problems.size(), 1u);
  const std::vector<std::string> repairs = RepairAll(FsRepairLevel::kAll);
  EXPECT_THAT(repairs, HasProblem(Hex(stray), "deleted"));
  EXPECT_EQ(ReadAll(kept), "intact");
  EXPECT_EQ(Check().inodes, 3u);  // The root, the orphan directory, kept.
}

TEST_P(FsCheckTest, MinusYRebuildsADamagedDirectoryIndexAndTheRootsToo) {
  const uint64_t dir = MakeDir(root(), "dir");
  std::vector<uint64_t> files;
  for (int i = 0; i < 3; ++i) files.push_back(MakeFile(dir, absl::StrCat("f", i), "in dir"));
  const uint64_t top = MakeFile(root(), "top", "in the root");
  // The leaf of dir and the header of the root.
  for (const auto& damaged : {std::pair<uint64_t, uint64_t>{dir, 1}, {root(), 0}}) {
    const uint64_t block = damaged.second;
    EditBlob(damaged.first, [block](BlobStore& store, Blob& blob) -> Task<Status> {
      CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store.OpenChannel());
      AlignedBuffer zeroes(4096, 4096);
      std::memset(zeroes.data(), 0, 4096);
      co_return co_await blob.Write(*channel, block * 4096, zeroes.span());
    });
  }
  // -p leaves it: rebuilding loses names.
  EXPECT_FALSE(Repair(FsRepairLevel::kSafe).final_check.clean());
  const std::vector<std::string> repairs = RepairAll(FsRepairLevel::kAll);
  EXPECT_THAT(repairs, HasProblem(Hex(dir), "index rebuilt"));
  EXPECT_THAT(repairs, HasProblem(Hex(root()), "index rebuilt"));
  auto lost = Lookup(root(), "lost+found");
  ASSERT_OK(lost.status());
  for (uint64_t file : files) {
    ASSERT_OK(Lookup(lost->ino, absl::StrCat("#", file)).status());
    EXPECT_EQ(ReadAll(file), "in dir");
  }
  ASSERT_OK(Lookup(lost->ino, absl::StrCat("#", dir)).status());
  ASSERT_OK(Lookup(lost->ino, absl::StrCat("#", top)).status());
  EXPECT_EQ(ReadAll(top), "in the root");
}

INSTANTIATE_TEST_SUITE_P(Backings, FsCheckTest,
                         ::testing::Values(Backing::kMalloc, Backing::kUring), BackingName);

}  // namespace
}  // namespace blobfs::fs_test
