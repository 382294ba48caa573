// Rename, every combination: source {file, directory} x target {absent, file, empty directory,
// non-empty directory} x {same parent, other parent} x flags {0, RENAME_NOREPLACE,
// RENAME_EXCHANGE}. Each case checks the errno Linux gives, or the names, link counts, ".." of
// moved directories, timestamps of parents and moved inodes, and the fate of a replaced target —
// then the same after a remount.
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/stat.h>

#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "tests/blobfs/fs_harness.h"

namespace blobfs::fs_test {
namespace {

using bdev_test::ErrCode;

enum class Kind { kFile, kDir };
enum class Target { kAbsent, kFile, kEmptyDir, kFullDir };

struct Case {
  Kind source;
  Target target;
  bool cross;
  unsigned flags;
};

const char* Name(Kind kind) { return kind == Kind::kFile ? "file" : "dir"; }
const char* Name(Target target) {
  switch (target) {
    case Target::kAbsent:
      return "absent";
    case Target::kFile:
      return "file";
    case Target::kEmptyDir:
      return "emptydir";
    case Target::kFullDir:
      return "fulldir";
  }
  return "?";
}
const char* FlagName(unsigned flags) {
  return flags == 0 ? "plain" : flags == RENAME_NOREPLACE ? "noreplace" : "exchange";
}

// The errno Linux returns, 0 for success.
int Expected(const Case& c) {
  if (c.flags == RENAME_EXCHANGE) return c.target == Target::kAbsent ? ENOENT : 0;
  if (c.target == Target::kAbsent) return 0;
  if (c.flags == RENAME_NOREPLACE) return EEXIST;
  if (c.source == Kind::kFile) return c.target == Target::kFile ? 0 : EISDIR;
  switch (c.target) {
    case Target::kFile:
      return ENOTDIR;
    case Target::kEmptyDir:
      return 0;
    default:
      return ENOTEMPTY;
  }
}

bool IsDir(Target target) { return target == Target::kEmptyDir || target == Target::kFullDir; }

class RenameMatrixTest : public FsTest {
 protected:
  // Makes the case's tree under a directory of its own: p1/s and p1/t or p2/t.
  struct Tree {
    InodeAttr p1, p2, source, target;
  };
  Tree Build(const Case& c, const std::string& label) {
    Tree tree;
    auto top = Run(fs_->MkDir(root_caller_, root(), label, 0755));
    CHECK_OK(top);
    tree.p1 = *Run(fs_->MkDir(root_caller_, top->ino, "p1", 0755));
    tree.p2 = c.cross ? *Run(fs_->MkDir(root_caller_, top->ino, "p2", 0755)) : tree.p1;
    tree.source = Make(tree.p1.ino, "s", c.source == Kind::kDir);
    if (c.target != Target::kAbsent) {
      tree.target = Make(tree.p2.ino, "t", IsDir(c.target));
      if (c.target == Target::kFullDir) Make(tree.target.ino, "inner", false);
    }
    return tree;
  }
  InodeAttr Make(uint64_t parent, const std::string& name, bool dir) {
    if (dir) {
      auto made = Run(fs_->MkDir(root_caller_, parent, name, 0755));
      CHECK_OK(made);
      return *made;
    }
    auto made = Run(fs_->MkNod(root_caller_, parent, name, S_IFREG | 0644, 0));
    CHECK_OK(made);
    return *made;
  }
  InodeAttr Attr(uint64_t ino) {
    auto attr = Run(fs_->GetAttr(ino));
    CHECK_OK(attr);
    return *attr;
  }
  // Directories' links: 2 plus their subdirectories.
  static uint32_t DirLinks(int subdirs) { return 2 + subdirs; }

  // Names, counts and ".." as the case leaves them (before and after a remount).
  void CheckOutcome(const Case& c, const Tree& tree) {
    const bool source_dir = c.source == Kind::kDir;
    const bool target_dir = IsDir(c.target);
    auto s = Lookup(tree.p1.ino, "s");
    auto t = Lookup(tree.p2.ino, "t");
    ASSERT_OK(t.status());
    EXPECT_EQ(t->ino, tree.source.ino);
    int p1_subdirs = 0, p2_subdirs = 0;
    if (c.flags == RENAME_EXCHANGE) {
      ASSERT_OK(s.status());
      EXPECT_EQ(s->ino, tree.target.ino);
      p1_subdirs += target_dir;
      p2_subdirs += source_dir;
      if (target_dir) {
        EXPECT_EQ(Lookup(tree.target.ino, "..")->ino, tree.p1.ino);
      }
      if (c.target == Target::kFullDir) {
        EXPECT_OK(Lookup(tree.target.ino, "inner"));
      }
    } else {
      EXPECT_EQ(ErrCode(s), ENOENT);
      p2_subdirs += source_dir;
    }
    if (source_dir) {
      EXPECT_EQ(Lookup(tree.source.ino, "..")->ino, tree.p2.ino);
    }
    if (c.cross) {
      EXPECT_EQ(Attr(tree.p1.ino).nlink, DirLinks(p1_subdirs));
      EXPECT_EQ(Attr(tree.p2.ino).nlink, DirLinks(p2_subdirs));
    } else {
      EXPECT_EQ(Attr(tree.p1.ino).nlink, DirLinks(p1_subdirs + p2_subdirs));
    }
    EXPECT_EQ(Attr(tree.source.ino).nlink, source_dir ? 2u : 1u);
  }

  void RunCase(const Case& c) {
    const std::string label = absl::StrCat(Name(c.source), "-", Name(c.target), "-",
                                           c.cross ? "cross" : "same", "-", FlagName(c.flags));
    SCOPED_TRACE(label);
    Tree tree = Build(c, label);
    const InodeAttr p1_before = Attr(tree.p1.ino);
    const InodeAttr p2_before = Attr(tree.p2.ino);
    const InodeAttr source_before = Attr(tree.source.ino);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    Status status = Run(fs_->Rename(root_caller_, tree.p1.ino, "s", tree.p2.ino, "t", c.flags));
    const int expected = Expected(c);
    if (expected != 0) {
      EXPECT_EQ(status.ok() ? 0 : status.error().code(), expected);
      // Nothing moved, nothing changed.
      EXPECT_EQ(Lookup(tree.p1.ino, "s")->ino, tree.source.ino);
      if (c.target != Target::kAbsent) {
        EXPECT_EQ(Lookup(tree.p2.ino, "t")->ino, tree.target.ino);
      }
      EXPECT_EQ(Attr(tree.p1.ino).mtime, p1_before.mtime);
      EXPECT_EQ(Attr(tree.source.ino).ctime, source_before.ctime);
      return;
    }
    ASSERT_OK(status);
    CheckOutcome(c, tree);
    // Both parents' mtime and ctime, and the moved inode's ctime, advance.
    EXPECT_GT(Attr(tree.p1.ino).mtime, p1_before.mtime);
    EXPECT_GT(Attr(tree.p1.ino).ctime, p1_before.ctime);
    EXPECT_GT(Attr(tree.p2.ino).mtime, p2_before.mtime);
    EXPECT_GT(Attr(tree.source.ino).ctime, source_before.ctime);
    if (c.target != Target::kAbsent) {
      const InodeAttr target = Attr(tree.target.ino);
      if (c.flags == RENAME_EXCHANGE) {
        EXPECT_EQ(target.nlink, IsDir(c.target) ? 2u : 1u);
      } else {
        // Replaced: its last link is gone (the test's lookup reference keeps it readable).
        EXPECT_EQ(target.nlink, 0u);
      }
    }
    Remount();
    CheckOutcome(c, tree);
  }
};

TEST_P(RenameMatrixTest, EveryCombination) {
  int cases = 0;
  for (Kind source : {Kind::kFile, Kind::kDir}) {
    for (Target target : {Target::kAbsent, Target::kFile, Target::kEmptyDir, Target::kFullDir}) {
      for (bool cross : {false, true}) {
        for (unsigned flags : {0u, unsigned{RENAME_NOREPLACE}, unsigned{RENAME_EXCHANGE}}) {
          RunCase({source, target, cross, flags});
          ++cases;
        }
      }
    }
  }
  EXPECT_EQ(cases, 48);
}

TEST_P(RenameMatrixTest, SpecialNamesAndDirectoriesIntoThemselves) {
  ASSERT_ASSIGN_OR_FAIL(auto a, Run(fs_->MkDir(root_caller_, root(), "a", 0755)));
  ASSERT_ASSIGN_OR_FAIL(auto deep, Run(fs_->MkDir(root_caller_, a.ino, "deep", 0755)));
  ASSERT_ASSIGN_OR_FAIL(auto file, Run(fs_->MkNod(root_caller_, a.ino, "f", S_IFREG | 0644, 0)));
  // Into its own subtree, or onto its own descendant by exchange.
  EXPECT_EQ(ErrCode(Run(fs_->Rename(root_caller_, root(), "a", deep.ino, "x", 0))), EINVAL);
  EXPECT_EQ(ErrCode(Run(fs_->Rename(root_caller_, root(), "a", a.ino, "deep", RENAME_EXCHANGE))),
            EINVAL);
  // A name onto itself: success, nothing changes.
  ASSERT_OK(Run(fs_->Rename(root_caller_, a.ino, "f", a.ino, "f", 0)));
  EXPECT_EQ(Lookup(a.ino, "f")->ino, file.ino);
  // "." and ".." are neither source nor target.
  EXPECT_NE(Run(fs_->Rename(root_caller_, a.ino, ".", root(), "x", 0)).ok(), true);
  EXPECT_NE(Run(fs_->Rename(root_caller_, a.ino, "f", a.ino, "..", 0)).ok(), true);
  // Unknown flags and NOREPLACE with EXCHANGE together.
  EXPECT_EQ(ErrCode(Run(fs_->Rename(root_caller_, a.ino, "f", a.ino, "g",
                                    RENAME_NOREPLACE | RENAME_EXCHANGE))),
            EINVAL);
  EXPECT_EQ(ErrCode(Run(fs_->Rename(root_caller_, a.ino, "f", a.ino, "g", 0x100))), EINVAL);
  EXPECT_EQ(Lookup(a.ino, "f")->ino, file.ino);
}

INSTANTIATE_TEST_SUITE_P(Backings, RenameMatrixTest,
                         ::testing::Values(Backing::kMalloc, Backing::kUring), BackingName);

}  // namespace
}  // namespace blobfs::fs_test
