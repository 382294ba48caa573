// Which timestamps each operation changes, as a table: for every operation, which of atime,
// mtime and ctime move on the inode it acts on and on the directory it changes — and that the
// others stay exactly as they were. The rules are POSIX's as Linux applies them (relatime for
// atime). Rename is covered by rename_matrix_test.
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "tests/blobfs/fs_harness.h"

namespace blobfs::fs_test {
namespace {

using bdev_test::ErrCode;

// Which of the three times an operation must move (the rest must stay).
struct Moves {
  bool atime = false;
  bool mtime = false;
  bool ctime = false;
};
constexpr Moves kNone{};
constexpr Moves kCtime{false, false, true};
constexpr Moves kMtimeCtime{false, true, true};

// The fixture every row starts from: directory "d" holding a regular file "f" with data, a
// subdirectory "sub" and a symlink "l"; the row acts on `subject` (f, unless it says d).
struct Fixture {
  InodeAttr dir;
  InodeAttr file;
  uint64_t handle = 0;
};

struct Row {
  const char* name;
  bool acts_on_dir;  // The subject is "d" itself (no separate parent check).
  Moves subject;
  Moves parent;
  std::function<Status(FileSystem&, const Fixture&)> op;
};

class TimestampsTest : public FsTest {
 protected:
  Fixture Make() {
    Fixture fixture;
    auto dir = Run(fs_->MkDir(root_caller_, root(), "d", 0755));
    CHECK_OK(dir);
    fixture.dir = *dir;
    auto created = Create(dir->ino, "f");
    CHECK_OK(created);
    fixture.file = created->attr;
    fixture.handle = created->handle;
    CHECK_OK(Write(fixture.handle, 0, std::string(10000, 'x')));
    CHECK_OK(Run(fs_->MkDir(root_caller_, dir->ino, "sub", 0755)));
    const std::string target = "f";
    CHECK_OK(Run(fs_->Symlink(root_caller_, dir->ino, "l", target)));
    const std::string value = "v";
    CHECK_OK(Run(fs_->SetXattr(root_caller_, fixture.file.ino, "user.old", value, 0)));
    return fixture;
  }
  void Teardown(const Fixture& fixture) {
    CHECK_OK(Run(fs_->Release(fixture.handle)));
    // Remove whatever the row left in "d", then "d".
    for (const std::string& name : List(fixture.dir.ino)) {
      if (name == "." || name == "..") continue;
      Status removed = Run(fs_->Unlink(root_caller_, fixture.dir.ino, name));
      if (!removed.ok()) CHECK_OK(Run(fs_->RmDir(root_caller_, fixture.dir.ino, name)));
    }
    CHECK_OK(Run(fs_->RmDir(root_caller_, root(), "d")));
  }
  InodeAttr Attr(uint64_t ino) {
    auto attr = Run(fs_->GetAttr(ino));
    CHECK_OK(attr);
    return *attr;
  }
  static void ExpectMoves(const char* what, const InodeAttr& before, const InodeAttr& after,
                          Moves moves) {
    SCOPED_TRACE(what);
    if (moves.atime) {
      EXPECT_GT(after.atime, before.atime);
    } else {
      EXPECT_EQ(after.atime, before.atime);
    }
    if (moves.mtime) {
      EXPECT_GT(after.mtime, before.mtime);
    } else {
      EXPECT_EQ(after.mtime, before.mtime);
    }
    if (moves.ctime) {
      EXPECT_GT(after.ctime, before.ctime);
    } else {
      EXPECT_EQ(after.ctime, before.ctime);
    }
  }
};

TEST_P(TimestampsTest, EachOperationMovesExactlyItsTimes) {
  const Credentials root_caller;
  auto run = [this](auto task) { return Run(std::move(task)); };
  auto set_attr = [&](uint64_t ino, SetAttrRequest request) -> Status {
    return run(fs_->SetAttr(root_caller, ino, request, std::nullopt)).status();
  };
  const std::vector<Row> rows = {
      {"create", true, kMtimeCtime, kNone,
       [&](FileSystem& fs, const Fixture& f) {
         return run(fs.Create(root_caller, f.dir.ino, "new", 0644, O_RDWR | O_CREAT))
             .status();
       }},
      {"mkdir", true, kMtimeCtime, kNone,
       [&](FileSystem& fs, const Fixture& f) {
         return run(fs.MkDir(root_caller, f.dir.ino, "newdir", 0755)).status();
       }},
      {"mknod fifo", true, kMtimeCtime, kNone,
       [&](FileSystem& fs, const Fixture& f) {
         return run(fs.MkNod(root_caller, f.dir.ino, "fifo", S_IFIFO | 0644, 0)).status();
       }},
      {"symlink", true, kMtimeCtime, kNone,
       [&](FileSystem& fs, const Fixture& f) {
         const std::string target = "somewhere";
         return run(fs.Symlink(root_caller, f.dir.ino, "link", target)).status();
       }},
      {"rmdir", true, kMtimeCtime, kNone,
       [&](FileSystem& fs, const Fixture& f) {
         return run(fs.RmDir(root_caller, f.dir.ino, "sub"));
       }},
      {"link", false, kCtime, kMtimeCtime,
       [&](FileSystem& fs, const Fixture& f) {
         return run(fs.Link(root_caller, f.file.ino, f.dir.ino, "g")).status();
       }},
      {"unlink", false, kCtime, kMtimeCtime,
       [&](FileSystem& fs, const Fixture& f) {
         return run(fs.Unlink(root_caller, f.dir.ino, "f"));
       }},
      {"write", false, kMtimeCtime, kNone,
       [&](FileSystem& fs, const Fixture& f) {
         std::string data = "more";
         iovec iov{data.data(), data.size()};
         return run(fs.Write(root_caller, f.handle, 20000, std::span<const iovec>(&iov, 1)))
             .status();
       }},
      {"truncate down", false, kMtimeCtime, kNone,
       [&](FileSystem&, const Fixture& f) {
         return set_attr(f.file.ino, {.valid = SetAttrRequest::kSize, .size = 100});
       }},
      {"truncate up", false, kMtimeCtime, kNone,
       [&](FileSystem&, const Fixture& f) {
         return set_attr(f.file.ino, {.valid = SetAttrRequest::kSize, .size = 1 << 20});
       }},
      {"fallocate punch hole", false, kMtimeCtime, kNone,
       [&](FileSystem& fs, const Fixture& f) {
         return run(fs.Fallocate(root_caller, f.handle, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
                                 4096));
       }},
      {"chmod", false, kCtime, kNone,
       [&](FileSystem&, const Fixture& f) {
         return set_attr(f.file.ino, {.valid = SetAttrRequest::kMode, .mode = 0600});
       }},
      {"chown", false, kCtime, kNone,
       [&](FileSystem&, const Fixture& f) {
         return set_attr(f.file.ino,
                         {.valid = SetAttrRequest::kUid | SetAttrRequest::kGid, .uid = 5, .gid = 6});
       }},
      {"setxattr", false, kCtime, kNone,
       [&](FileSystem& fs, const Fixture& f) {
         const std::string value = "value";
         return run(fs.SetXattr(root_caller, f.file.ino, "user.new", value, 0));
       }},
      {"removexattr", false, kCtime, kNone,
       [&](FileSystem& fs, const Fixture& f) {
         return run(fs.RemoveXattr(root_caller, f.file.ino, "user.old"));
       }},
      {"utimens now", false, {true, true, true}, kNone,
       [&](FileSystem&, const Fixture& f) {
         return set_attr(f.file.ino,
                         {.valid = SetAttrRequest::kAtimeNow | SetAttrRequest::kMtimeNow});
       }},
      {"read (relatime: atime older than mtime)", false, {true, false, false}, kNone,
       [&](FileSystem& fs, const Fixture& f) {
         std::string data(100, '\0');
         iovec iov{data.data(), data.size()};
         return run(fs.Read(f.handle, 0, std::span<const iovec>(&iov, 1))).status();
       }},
      {"getattr, lookup, getxattr, listxattr, readlink", false, kNone, kNone,
       [&](FileSystem& fs, const Fixture& f) -> Status {
         RETURN_IF_ERROR(run(fs.GetAttr(f.file.ino)).status());
         RETURN_IF_ERROR(run(fs.GetXattr(root_caller, f.file.ino, "user.old")).status());
         RETURN_IF_ERROR(run(fs.ListXattr(root_caller, f.file.ino)).status());
         auto found = run(fs.Lookup(root_caller, f.dir.ino, "l"));
         RETURN_IF_ERROR(found.status());
         RETURN_IF_ERROR(run(fs.ReadLink(found->ino)).status());
         run(fs.Forget(found->ino, 1));
         return Status();
       }},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.name);
    Fixture fixture = Make();
    const InodeAttr dir_before = Attr(fixture.dir.ino);
    const InodeAttr file_before = Attr(fixture.file.ino);
    usleep(2000);
    ASSERT_OK(row.op(*fs_, fixture));
    if (row.acts_on_dir) {
      ExpectMoves("directory", dir_before, Attr(fixture.dir.ino), row.subject);
    } else {
      ExpectMoves("file", file_before, Attr(fixture.file.ino), row.subject);
      ExpectMoves("directory", dir_before, Attr(fixture.dir.ino), row.parent);
    }
    Teardown(fixture);
  }
}

TEST_P(TimestampsTest, ExplicitTimesAreKeptAndCtimeIsNow) {
  ASSERT_ASSIGN_OR_FAIL(auto file, Create(root(), "f"));
  const InodeAttr before = *Run(fs_->GetAttr(file.attr.ino));
  usleep(2000);
  SetAttrRequest times{.valid = SetAttrRequest::kAtime | SetAttrRequest::kMtime,
                       .atime = {-5, 1},
                       .mtime = {4102444800, 999999999}};
  ASSERT_ASSIGN_OR_FAIL(auto after, Run(fs_->SetAttr(root_caller_, file.attr.ino, times,
                                                     std::nullopt)));
  EXPECT_EQ(after.atime, (Timestamp{-5, 1}));
  EXPECT_EQ(after.mtime, (Timestamp{4102444800, 999999999}));
  EXPECT_GT(after.ctime, before.ctime);
  // A second read does not move atime once it is newer than mtime and ctime (relatime).
  ASSERT_OK(Run(fs_->SetAttr(root_caller_, file.attr.ino,
                             {.valid = SetAttrRequest::kMtime, .mtime = {1000, 0}}, std::nullopt)));
  std::string data(10, '\0');
  iovec iov{data.data(), data.size()};
  ASSERT_OK(Run(fs_->Read(file.handle, 0, std::span<const iovec>(&iov, 1))).status());
  const InodeAttr once = *Run(fs_->GetAttr(file.attr.ino));
  EXPECT_GT(once.atime, before.atime);
  usleep(2000);
  ASSERT_OK(Run(fs_->Read(file.handle, 0, std::span<const iovec>(&iov, 1))).status());
  EXPECT_EQ(Run(fs_->GetAttr(file.attr.ino))->atime, once.atime);
  ASSERT_OK(Run(fs_->Release(file.handle)));
  // And all of it survives a remount.
  Remount();
  ASSERT_ASSIGN_OR_FAIL(auto again, Lookup(root(), "f"));
  EXPECT_EQ(again.mtime, (Timestamp{1000, 0}));
  EXPECT_EQ(again.atime, once.atime);
  EXPECT_EQ(again.btime, file.attr.btime);
}

INSTANTIATE_TEST_SUITE_P(Backings, TimestampsTest,
                         ::testing::Values(Backing::kMalloc, Backing::kUring), BackingName);

}  // namespace
}  // namespace blobfs::fs_test
