// Permission checks for callers other than root, as Linux makes them: search and write permission
// on directories, the sticky bit, who may chmod, chown and chgrp, the setuid/setgid clearing
// rules, who may set which times, access(2) and open(2) modes — and what root may skip.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/falloc.h>

#include <string>
#include <vector>

#include "tests/blobfs/fs_harness.h"

namespace blobfs::fs_test {
namespace {

using bdev_test::ErrCode;

class PermissionsTest : public FsTest {
 protected:
  void SetUp() override {
    FsTest::SetUp();
    // A world-writable, world-searchable playground owned by root.
    auto dir = Run(fs_->MkDir(root_caller_, root(), "p", 0777));
    ASSERT_OK(dir.status());
    dir_ = dir->ino;
    ASSERT_OK(Chmod(root_caller_, dir_, 0777));
  }
  Status Chmod(const Credentials& who, uint64_t ino, uint32_t mode) {
    return Run(fs_->SetAttr(who, ino, {.valid = SetAttrRequest::kMode, .mode = mode},
                            std::nullopt))
        .status();
  }
  Status Chown(const Credentials& who, uint64_t ino, std::optional<uint32_t> uid,
               std::optional<uint32_t> gid) {
    SetAttrRequest request;
    if (uid) {
      request.valid |= SetAttrRequest::kUid;
      request.uid = *uid;
    }
    if (gid) {
      request.valid |= SetAttrRequest::kGid;
      request.gid = *gid;
    }
    return Run(fs_->SetAttr(who, ino, request, std::nullopt)).status();
  }
  uint32_t ModeOf(uint64_t ino) { return Run(fs_->GetAttr(ino))->mode & 07777; }
  // A regular file made by `who` in `parent`.
  InodeAttr MakeFile(const Credentials& who, uint64_t parent, const std::string& name,
                     uint32_t mode) {
    auto made = Run(fs_->MkNod(who, parent, name, S_IFREG | mode, 0));
    CHECK_OK(made);
    CHECK_OK(Chmod(root_caller_, made->ino, mode));  // Past the umask-free create, exactly.
    return *Run(fs_->GetAttr(made->ino));
  }

  const Credentials user_{.uid = 1000, .gid = 1000, .groups = {1000, 3000}};
  const Credentials other_{.uid = 1001, .gid = 1001};
  uint64_t dir_ = 0;
};

TEST_P(PermissionsTest, DirectoriesNeedSearchToLookUpAndWriteToChange) {
  ASSERT_ASSIGN_OR_FAIL(auto closed, Run(fs_->MkDir(root_caller_, dir_, "closed", 0700)));
  MakeFile(root_caller_, closed.ino, "inside", 0644);
  EXPECT_EQ(ErrCode(Run(fs_->Lookup(user_, closed.ino, "inside"))), EACCES);
  EXPECT_EQ(ErrCode(Run(fs_->OpenDir(user_, closed.ino))), EACCES);
  // Search only (x): names resolve, the listing does not open.
  ASSERT_OK(Chmod(root_caller_, closed.ino, 0711));
  EXPECT_OK(Run(fs_->Lookup(user_, closed.ino, "inside")));
  EXPECT_EQ(ErrCode(Run(fs_->OpenDir(user_, closed.ino))), EACCES);
  // Read and search, no write: nothing may be added, removed or renamed.
  ASSERT_OK(Chmod(root_caller_, closed.ino, 0755));
  const std::string target = "t";
  EXPECT_EQ(ErrCode(Run(fs_->MkNod(user_, closed.ino, "n", S_IFREG | 0644, 0))), EACCES);
  EXPECT_EQ(ErrCode(Run(fs_->MkDir(user_, closed.ino, "n", 0755))), EACCES);
  EXPECT_EQ(ErrCode(Run(fs_->Symlink(user_, closed.ino, "n", target))), EACCES);
  EXPECT_EQ(ErrCode(Run(fs_->Create(user_, closed.ino, "n", 0644, O_CREAT | O_RDWR))), EACCES);
  InodeAttr mine = MakeFile(user_, dir_, "mine", 0644);
  EXPECT_EQ(ErrCode(Run(fs_->Link(user_, mine.ino, closed.ino, "n"))), EACCES);
  EXPECT_EQ(ErrCode(Run(fs_->Unlink(user_, closed.ino, "inside"))), EACCES);
  EXPECT_EQ(ErrCode(Run(fs_->Rename(user_, closed.ino, "inside", dir_, "moved", 0))), EACCES);
  EXPECT_EQ(ErrCode(Run(fs_->Rename(user_, dir_, "mine", closed.ino, "n", 0))), EACCES);
  // Root needs none of it.
  EXPECT_OK(Run(fs_->MkNod(root_caller_, closed.ino, "n", S_IFREG | 0644, 0)));
  ASSERT_OK(Chmod(root_caller_, closed.ino, 0));
  EXPECT_OK(Run(fs_->Lookup(root_caller_, closed.ino, "n")));
  EXPECT_OK(Run(fs_->Unlink(root_caller_, closed.ino, "n")));
}

TEST_P(PermissionsTest, TheStickyBitKeepsOthersFromRemovingWhatTheyDoNotOwn) {
  ASSERT_OK(Chmod(root_caller_, dir_, 01777));
  MakeFile(user_, dir_, "users", 0666);
  MakeFile(user_, dir_, "users2", 0666);
  EXPECT_EQ(ErrCode(Run(fs_->Unlink(other_, dir_, "users"))), EPERM);
  EXPECT_EQ(ErrCode(Run(fs_->Rename(other_, dir_, "users", dir_, "taken", 0))), EPERM);
  // Nor replace it by renaming over it.
  MakeFile(other_, dir_, "others", 0666);
  EXPECT_EQ(ErrCode(Run(fs_->Rename(other_, dir_, "others", dir_, "users", 0))), EPERM);
  // The file's owner, the directory's owner (root here) may.
  EXPECT_OK(Run(fs_->Unlink(user_, dir_, "users")));
  EXPECT_OK(Run(fs_->Unlink(root_caller_, dir_, "users2")));
  // A directory owned by the user: the user may remove others' files in it.
  ASSERT_ASSIGN_OR_FAIL(auto own, Run(fs_->MkDir(user_, dir_, "own", 01777)));
  ASSERT_OK(Chmod(user_, own.ino, 01777));
  MakeFile(other_, own.ino, "theirs", 0644);
  EXPECT_OK(Run(fs_->Unlink(user_, own.ino, "theirs")));
}

TEST_P(PermissionsTest, OnlyOwnersChmodAndOnlyRootGivesFilesAway) {
  InodeAttr file = MakeFile(user_, dir_, "f", 0644);
  EXPECT_EQ(ErrCode(Chmod(other_, file.ino, 0777)), EPERM);
  EXPECT_OK(Chmod(user_, file.ino, 0600));
  EXPECT_EQ(ModeOf(file.ino), 0600u);
  // chown to someone else: root only; to oneself (no change): allowed.
  EXPECT_EQ(ErrCode(Chown(user_, file.ino, other_.uid, std::nullopt)), EPERM);
  EXPECT_OK(Chown(user_, file.ino, user_.uid, std::nullopt));
  EXPECT_EQ(ErrCode(Chown(other_, file.ino, std::nullopt, other_.gid)), EPERM);
  // chgrp by the owner: to a group it is in, not to one it is not in.
  EXPECT_EQ(ErrCode(Chown(user_, file.ino, std::nullopt, 4000)), EPERM);
  EXPECT_OK(Chown(user_, file.ino, std::nullopt, 3000));
  EXPECT_EQ(Run(fs_->GetAttr(file.ino))->gid, 3000u);
  EXPECT_OK(Chown(root_caller_, file.ino, other_.uid, other_.gid));
  EXPECT_EQ(Run(fs_->GetAttr(file.ino))->uid, other_.uid);
}

TEST_P(PermissionsTest, SetuidAndSetgidAreClearedAsLinuxClearsThem) {
  // chmod by an owner outside the file's group drops setgid.
  InodeAttr file = MakeFile(user_, dir_, "f", 0755);
  ASSERT_OK(Chown(root_caller_, file.ino, std::nullopt, 5000));
  ASSERT_OK(Chmod(user_, file.ino, 02755));
  EXPECT_EQ(ModeOf(file.ino), 0755u);
  // In the group, it stays.
  ASSERT_OK(Chown(user_, file.ino, std::nullopt, 3000));
  ASSERT_OK(Chmod(user_, file.ino, 06755));
  EXPECT_EQ(ModeOf(file.ino), 06755u);
  // chown/chgrp by the owner drops setuid and setgid of an executable.
  ASSERT_OK(Chown(user_, file.ino, std::nullopt, 1000));
  EXPECT_EQ(ModeOf(file.ino), 0755u);
  // A setgid file that is not group-executable (mandatory locking) keeps setgid on chown.
  ASSERT_OK(Chmod(user_, file.ino, 06745));
  ASSERT_OK(Chown(user_, file.ino, std::nullopt, 3000));
  EXPECT_EQ(ModeOf(file.ino), 02745u);
  // A write by another user clears setuid and setgid.
  ASSERT_OK(Chmod(user_, file.ino, 06777));
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->Open(other_, file.ino, O_WRONLY)));
  std::string data = "x";
  iovec iov{data.data(), data.size()};
  ASSERT_OK(Run(fs_->Write(other_, handle, 0, std::span<const iovec>(&iov, 1))).status());
  ASSERT_OK(Run(fs_->Release(handle)));
  EXPECT_EQ(ModeOf(file.ino), 0777u);
}

TEST_P(PermissionsTest, ChangesOfContentsAndOwnerDropTheCapabilityAndSayWhichInodeChanged) {
  std::vector<uint64_t> changed;
  fs_->SetAttributesChangedHandler([&changed](uint64_t ino) { changed.push_back(ino); });
  const std::string cap = "capability bytes";
  InodeAttr file = MakeFile(root_caller_, dir_, "f", 06777);
  auto set_cap = [&] {
    ASSERT_OK(Run(fs_->SetXattr(root_caller_, file.ino, "security.capability", cap, 0)));
  };
  auto has_cap = [&] {
    return Run(fs_->GetXattr(root_caller_, file.ino, "security.capability")).ok();
  };
  auto write_as = [&](const Credentials& who) {
    ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->Open(who, file.ino, O_WRONLY)));
    std::string data = "x";
    iovec iov{data.data(), data.size()};
    ASSERT_OK(Run(fs_->Write(who, handle, 0, std::span<const iovec>(&iov, 1))).status());
    ASSERT_OK(Run(fs_->Release(handle)));
  };
  // Root's write keeps setuid/setgid but not the capability.
  set_cap();
  write_as(root_caller_);
  EXPECT_FALSE(has_cap());
  EXPECT_EQ(ModeOf(file.ino), 06777u);
  EXPECT_EQ(changed, std::vector<uint64_t>{file.ino});
  // Nothing to drop: nobody is told.
  changed.clear();
  write_as(root_caller_);
  EXPECT_TRUE(changed.empty());
  // Another user's fallocate drops both.
  set_cap();
  ASSERT_ASSIGN_OR_FAIL(uint64_t handle, Run(fs_->Open(other_, file.ino, O_RDWR)));
  ASSERT_OK(Run(fs_->Fallocate(other_, handle, FALLOC_FL_KEEP_SIZE, 0, 8192)));
  ASSERT_OK(Run(fs_->Release(handle)));
  EXPECT_FALSE(has_cap());
  EXPECT_EQ(ModeOf(file.ino), 0777u);
  EXPECT_EQ(changed, std::vector<uint64_t>{file.ino});
  // chown drops it whoever chowns; so does a truncate.
  set_cap();
  ASSERT_OK(Chown(root_caller_, file.ino, other_.uid, std::nullopt));
  EXPECT_FALSE(has_cap());
  set_cap();
  ASSERT_OK(Run(fs_->SetAttr(root_caller_, file.ino,
                             {.valid = SetAttrRequest::kSize, .size = 0}, std::nullopt))
                .status());
  EXPECT_FALSE(has_cap());
  fs_->SetAttributesChangedHandler({});
}

TEST_P(PermissionsTest, WhoMayWriteAFileMayRemoveItsCapabilityButSetItOrOtherSecurityXattrsNot) {
  // The kernel removes security.capability before a write in a REMOVEXATTR made with the
  // writer's credentials (its own capability check came first, for calls from user space).
  InodeAttr file = MakeFile(root_caller_, dir_, "f", 0644);
  for (const char* name : {"security.capability", "security.other"}) {
    ASSERT_OK(Run(fs_->SetXattr(root_caller_, file.ino, name, "v", 0)));
  }
  EXPECT_EQ(ErrCode(Run(fs_->RemoveXattr(other_, file.ino, "security.capability"))), EACCES);
  ASSERT_OK(Chmod(root_caller_, file.ino, 0666));
  EXPECT_OK(Run(fs_->RemoveXattr(other_, file.ino, "security.capability")));
  EXPECT_EQ(ErrCode(Run(fs_->RemoveXattr(other_, file.ino, "security.other"))), EPERM);
  EXPECT_EQ(ErrCode(Run(fs_->SetXattr(other_, file.ino, "security.capability", "v", 0))), EPERM);
}

TEST_P(PermissionsTest, WritersMayTouchOwnersMaySetTimes) {
  InodeAttr file = MakeFile(user_, dir_, "f", 0666);
  SetAttrRequest now{.valid = SetAttrRequest::kAtimeNow | SetAttrRequest::kMtimeNow};
  SetAttrRequest explicit_times{.valid = SetAttrRequest::kAtime | SetAttrRequest::kMtime,
                                .atime = {100, 0},
                                .mtime = {200, 0}};
  // "now" needs write permission (or ownership); explicit times need ownership.
  EXPECT_OK(Run(fs_->SetAttr(other_, file.ino, now, std::nullopt)));
  EXPECT_EQ(ErrCode(Run(fs_->SetAttr(other_, file.ino, explicit_times, std::nullopt))), EPERM);
  EXPECT_OK(Run(fs_->SetAttr(user_, file.ino, explicit_times, std::nullopt)));
  ASSERT_OK(Chmod(user_, file.ino, 0644));
  EXPECT_EQ(ErrCode(Run(fs_->SetAttr(other_, file.ino, now, std::nullopt))), EACCES);
  EXPECT_OK(Run(fs_->SetAttr(user_, file.ino, now, std::nullopt)));
  EXPECT_OK(Run(fs_->SetAttr(root_caller_, file.ino, explicit_times, std::nullopt)));
  // Truncation is a write: the file's write permission decides.
  SetAttrRequest truncate{.valid = SetAttrRequest::kSize, .size = 0};
  EXPECT_EQ(ErrCode(Run(fs_->SetAttr(other_, file.ino, truncate, std::nullopt))), EACCES);
  EXPECT_OK(Run(fs_->SetAttr(user_, file.ino, truncate, std::nullopt)));
}

TEST_P(PermissionsTest, AccessAndOpenFollowTheModeBits) {
  struct Row {
    uint32_t mode;
    int mask;
    bool owner_ok, group_ok, other_ok;
  };
  // The user owns the file; other_ is put in its group for the group column.
  const Row rows[] = {
      {0400, R_OK, true, false, false}, {0040, R_OK, false, true, false},
      {0004, R_OK, false, false, true}, {0200, W_OK, true, false, false},
      {0020, W_OK, false, true, false}, {0002, W_OK, false, false, true},
      {0100, X_OK, true, false, false}, {0010, X_OK, false, true, false},
      {0001, X_OK, false, false, true}, {0644, R_OK | W_OK, true, false, false},
      // The owner class decides for the owner even when others have more.
      {0077, R_OK, false, true, true},
  };
  InodeAttr file = MakeFile(user_, dir_, "f", 0644);
  const Credentials group_member{.uid = 1002, .gid = 1000};
  const Credentials stranger{.uid = 1003, .gid = 1003};
  for (const Row& row : rows) {
    SCOPED_TRACE(row.mode);
    ASSERT_OK(Chmod(root_caller_, file.ino, row.mode));
    auto check = [&](const Credentials& who, bool ok) {
      Status status = Run(fs_->Access(who, file.ino, row.mask));
      EXPECT_EQ(status.ok() ? 0 : status.error().code(), ok ? 0 : EACCES);
    };
    check(user_, row.owner_ok);
    check(group_member, row.group_ok);
    check(stranger, row.other_ok);
  }
  // open(2) checks the same bits for its access mode.
  ASSERT_OK(Chmod(root_caller_, file.ino, 0604));
  EXPECT_OK(Run(fs_->Open(stranger, file.ino, O_RDONLY)));
  EXPECT_EQ(ErrCode(Run(fs_->Open(stranger, file.ino, O_WRONLY))), EACCES);
  EXPECT_EQ(ErrCode(Run(fs_->Open(stranger, file.ino, O_RDWR))), EACCES);
  EXPECT_EQ(ErrCode(Run(fs_->Open(group_member, file.ino, O_RDONLY))), EACCES);
  EXPECT_OK(Run(fs_->Open(user_, file.ino, O_RDWR)));
  // Root reads and writes anything, but executes only what has an x bit; directories it searches.
  ASSERT_OK(Chmod(root_caller_, file.ino, 0));
  EXPECT_OK(Run(fs_->Access(root_caller_, file.ino, R_OK | W_OK)));
  EXPECT_OK(Run(fs_->Open(root_caller_, file.ino, O_RDWR)));
  EXPECT_EQ(ErrCode(Run(fs_->Access(root_caller_, file.ino, X_OK))), EACCES);
  ASSERT_OK(Chmod(root_caller_, file.ino, 0001));
  EXPECT_OK(Run(fs_->Access(root_caller_, file.ino, X_OK)));
  ASSERT_ASSIGN_OR_FAIL(auto closed, Run(fs_->MkDir(root_caller_, dir_, "closed", 0)));
  ASSERT_OK(Chmod(root_caller_, closed.ino, 0));
  EXPECT_OK(Run(fs_->Access(root_caller_, closed.ino, R_OK | W_OK | X_OK)));
}

INSTANTIATE_TEST_SUITE_P(Backings, PermissionsTest,
                         ::testing::Values(Backing::kMalloc, Backing::kUring), BackingName);

}  // namespace
}  // namespace blobfs::fs_test
