// Crash consistency of the whole filesystem, in the manner of CrashMonkey's ACE workloads: a
// workload of namespace and data changes (create, write, link, rename across directories and over
// an existing name, symlink, xattr, truncate, unlink, mkdir, rmdir, directories that split and
// shrink) with an fsync or syncfs after each group, the device's writes recorded. Then, for a
// crash after every request — each write since the last flush durable or not, in several
// combinations, one torn or not — the image must
//  - check clean (fsck: the store verified, then the filesystem), read-only as it is (the journal
//    replayed in memory) and after a read-write load replayed it;
//  - show exactly the tree (names, types, modes, links, sizes, targets, xattrs) of one fsync
//    point: the last one acknowledged before the crash or the one in flight, never a mix and
//    never older; and every file whose content is the same at both points, that content. (A file
//    overwritten in the step in flight may show old and new blocks, as on ext4 with
//    data=ordered: overwrites of allocated blocks are not journaled.)
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "blobfs/fs_check.h"
#include "tests/blobfs/fs_harness.h"

namespace blobfs::fs_test {
namespace {

using bdev_test::ErrText;

// A tree as paths → what a user sees of each (type, mode, links, size, target, xattrs), and the
// regular files' contents (paths → a hash).
using Tree = std::map<std::string, std::string>;
struct Snapshot {
  Tree tree;
  Tree contents;
};

class CrashConsistencyTest : public FsTest {
 protected:
  uint64_t device_size() const override { return uint64_t{16} << 20; }
  // Commits only when the workload asks (fsync, syncfs), so each fsync point is one commit.
  MountOptions mount_options() const override {
    MountOptions options;
    options.commit_interval = std::chrono::hours(1);
    return options;
  }

  uint64_t Ino(uint64_t parent, const std::string& name) {
    auto attr = Lookup(parent, name);
    CHECK_OK(attr);
    return attr->ino;
  }
  uint64_t MkDir(uint64_t parent, const std::string& name) {
    auto attr = Run(fs_->MkDir(root_caller_, parent, name, 0755));
    CHECK_OK(attr);
    return attr->ino;
  }
  // Creates (or opens) `name`, writes `data` at `offset`, and keeps the handle open.
  uint64_t WriteFile(uint64_t parent, const std::string& name, uint64_t offset,
                     const std::string& data) {
    auto created = Create(parent, name);
    CHECK_OK(created);
    CHECK_OK(Write(created->handle, offset, data));
    handles_.push_back({created->handle, created->attr.ino});
    return created->handle;
  }
  void Fsync(uint64_t handle) { CHECK_OK(Run(fs_->Fsync(handle, false))); }
  void FsyncDir(uint64_t ino) {
    auto handle = Run(fs_->OpenDir(root_caller_, ino));
    CHECK_OK(handle);
    CHECK_OK(Run(fs_->FsyncDir(*handle, false)));
    CHECK_OK(Run(fs_->ReleaseDir(*handle)));
  }

  // The tree of `fs`, every entry under the root.
  static Snapshot Walk(FileSystem& fs, Reactor& reactor) {
    Snapshot snapshot;
    Tree& tree = snapshot.tree;
    Credentials caller;
    std::vector<std::pair<uint64_t, std::string>> dirs = {{fs.root_ino(), ""}};
    while (!dirs.empty()) {
      auto [dir, prefix] = dirs.back();
      dirs.pop_back();
      auto handle = RunSync(reactor, fs.OpenDir(caller, dir));
      CHECK_OK(handle);
      std::vector<std::string> names;
      FileSystem::DirEmitter collect = [&](const DirListEntry& entry) {
        if (entry.name != "." && entry.name != "..") names.emplace_back(entry.name);
        return true;
      };
      CHECK_OK(RunSync(reactor, fs.ReadDir(*handle, 0, collect)));
      CHECK_OK(RunSync(reactor, fs.ReleaseDir(*handle)));
      for (const std::string& name : names) {
        const std::string path = prefix + "/" + name;
        auto attr = RunSync(reactor, fs.Lookup(caller, dir, name));
        CHECK(attr.ok()) << path << ": " << ErrText(attr);
        std::string seen = absl::StrFormat("mode %o nlink %d size %d", attr->mode, attr->nlink,
                                           attr->size);
        if (S_ISDIR(attr->mode)) {
          dirs.push_back({attr->ino, path});
        } else if (S_ISLNK(attr->mode)) {
          auto target = RunSync(reactor, fs.ReadLink(attr->ino));
          CHECK_OK(target);
          seen += " -> " + *target;
        } else {
          auto open = RunSync(reactor, fs.Open(caller, attr->ino, O_RDONLY));
          CHECK_OK(open);
          std::string content(attr->size, '\0');
          iovec iov{content.data(), content.size()};
          auto got = RunSync(reactor, fs.Read(*open, 0, std::span<const iovec>(&iov, 1)));
          CHECK(got.ok() && *got == content.size()) << path << ": " << ErrText(got);
          CHECK_OK(RunSync(reactor, fs.Release(*open)));
          snapshot.contents[path] = absl::StrFormat("%016x", std::hash<std::string>()(content));
        }
        auto xattrs = RunSync(reactor, fs.ListXattr(caller, attr->ino));
        CHECK_OK(xattrs);
        for (const std::string& xattr : *xattrs) {
          auto value = RunSync(reactor, fs.GetXattr(caller, attr->ino, xattr));
          CHECK_OK(value);
          seen += " " + xattr + "=" + *value;
        }
        tree[path] = seen;
        RunSync(reactor, fs.Forget(attr->ino, 1));
      }
    }
    return snapshot;
  }

  // An fsync point: the tree now, and where the write log stood when the sync began and ended.
  void Point(const std::string& name, size_t began) {
    Snapshot snapshot = Walk(*fs_, *reactor_);
    points_.push_back({name, std::move(snapshot.tree), std::move(snapshot.contents), began,
                       Log().size()});
  }
  const std::vector<WriteLogEntry>& Log() {
    for (WriteLogEntry& entry : injector_->TakeWriteLog()) log_.push_back(std::move(entry));
    return log_;
  }

  struct SyncPoint {
    std::string name;
    Tree tree;
    Tree contents;
    size_t began;  // log size when its sync started
    size_t ended;  // log size when it returned
  };
  std::vector<SyncPoint> points_;
  std::vector<WriteLogEntry> log_;
  std::vector<std::pair<uint64_t, uint64_t>> handles_;  // open files: handle, inode
};

// What differs between `found` and `expected`, one line each.
std::string Difference(const Tree& found, const Tree& expected) {
  std::string lines;
  for (const auto& [path, seen] : found) {
    auto it = expected.find(path);
    if (it == expected.end()) {
      lines += "\n  unexpected " + path + ": " + seen;
    } else if (it->second != seen) {
      lines += "\n  " + path + ": " + seen + ", expected " + it->second;
    }
  }
  for (const auto& [path, seen] : expected) {
    if (!found.contains(path)) lines += "\n  missing " + path + ": " + seen;
  }
  return lines;
}

// Fills the "crash" bdev with `image` (the whole device).
Task<Status> WriteImage(BdevRegistry* registry, const std::vector<std::byte>* image) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> descriptor,
                      registry->Open("crash", OpenMode::kReadWrite));
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevChannel> channel, descriptor->OpenChannel());
  co_return co_await channel->Write(0, *image);
}

Task<Result<std::vector<std::byte>>> ReadImage(BdevRegistry* registry, uint64_t size) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> descriptor,
                      registry->Open("dev", OpenMode::kReadOnly));
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevChannel> channel, descriptor->OpenChannel());
  std::vector<std::byte> image(size);
  CO_RETURN_IF_ERROR(co_await channel->Read(0, image));
  co_return image;
}

TEST_P(CrashConsistencyTest, EveryCrashStateChecksCleanAndShowsOneSyncPoint) {
  ASSERT_ASSIGN_OR_FAIL(std::vector<std::byte> initial, Run(ReadImage(&registry_, device_size())));
  injector_->StartRecording();
  Point("mounted", 0);

  size_t began = Log().size();
  const uint64_t a = MkDir(root(), "A");
  const uint64_t b = MkDir(root(), "B");
  const uint64_t foo = WriteFile(a, "foo", 0, std::string(10000, 'a'));
  Fsync(foo);
  Point("create and fsync a file", began);

  began = Log().size();
  ASSERT_OK(Run(fs_->Link(root_caller_, Ino(a, "foo"), a, "bar")));
  ASSERT_OK(Run(fs_->Rename(root_caller_, a, "bar", b, "baz", 0)));
  ASSERT_OK(Run(fs_->SetXattr(root_caller_, Ino(a, "foo"), "user.k", "v", 0)));
  FsyncDir(b);
  Point("link, rename across, xattr", began);

  began = Log().size();
  const uint64_t big = WriteFile(a, "big", 0, std::string(300 << 10, 'b'));
  ASSERT_OK(Run(fs_->Symlink(root_caller_, b, "ln", "../A/foo")));
  ASSERT_OK(Run(fs_->Unlink(root_caller_, a, "foo")));
  Fsync(big);
  Point("big file, symlink, unlink of a linked file", began);

  began = Log().size();
  const uint64_t baz = WriteFile(b, "baz", 100, std::string(5000, 'z'));
  SetAttrRequest truncate;
  truncate.valid = SetAttrRequest::kSize;
  truncate.size = 70000;
  ASSERT_OK(Run(fs_->SetAttr(root_caller_, Ino(a, "big"), truncate, std::nullopt)));
  const uint64_t sub = MkDir(a, "sub");
  WriteFile(sub, "x", 0, "x");
  Fsync(baz);
  Point("overwrite, truncate, mkdir", began);

  began = Log().size();
  ASSERT_OK(Run(fs_->Rename(root_caller_, b, "baz", sub, "x", 0)));
  MkDir(root(), "C");
  ASSERT_OK(Run(fs_->RmDir(root_caller_, root(), "C")));
  ASSERT_OK(Run(fs_->SyncFs()));
  Point("rename over an existing file, rmdir", began);

  began = Log().size();
  // Long names, so that a few dozen fill several directory blocks (a step stays below the
  // inodes that make a commit due on its own, kept small by this small device's journal).
  auto many = [](int i) { return absl::StrFormat("many-%03d-%s", i, std::string(200, 'n')); };
  for (int i = 0; i < 36; ++i) {
    WriteFile(a, many(i), 0, std::string(i * 137 % 3000, static_cast<char>('A' + i % 26)));
  }
  ASSERT_OK(Run(fs_->SyncFs()));
  Point("a directory that splits", began);

  // Closed and forgotten first, as the kernel does, so that the unlinks below leave nothing
  // referenced: their inodes go at once.
  for (auto [handle, ino] : handles_) {
    ASSERT_OK(Run(fs_->Release(handle)));
    Run(fs_->Forget(ino, 1));
  }
  handles_.clear();
  began = Log().size();
  for (int i = 0; i < 36; i += 2) ASSERT_OK(Run(fs_->Unlink(root_caller_, a, many(i))));
  for (int i = 1; i < 20; i += 2) ASSERT_OK(Run(fs_->Rename(root_caller_, a, many(i), b, many(i), 0)));
  ASSERT_OK(Run(fs_->SyncFs()));
  Point("unlinks and renames out of it", began);
  const std::vector<WriteLogEntry>& log = Log();
  injector_->StopRecording();
  ASSERT_GT(log.size(), 50u);

  // The crash states.
  ASSERT_OK(CreateMallocBdev(registry_, "crash", {.size_bytes = device_size(), .block_size = 4096}));
  std::mt19937_64 random(11);
  // States per crash point (BLOBFS_CRASH_VARIANTS): all writes since the last flush, then random
  // subsets with one write torn.
  const int variants = std::getenv("BLOBFS_CRASH_VARIANTS") != nullptr
                           ? std::max(1, std::atoi(std::getenv("BLOBFS_CRASH_VARIANTS")))
                           : 3;
  std::map<std::string, int> found_points;
  int states = 0;
  std::vector<std::byte> image(initial.size());
  for (size_t cut = 0; cut <= log.size(); ++cut) {
    size_t durable_end = 0;
    for (size_t i = 0; i < cut; ++i) {
      if (log[i].type == IoType::kFlush) durable_end = i + 1;
    }
    std::vector<size_t> in_flight;
    for (size_t i = durable_end; i < cut; ++i) {
      if (log[i].type == IoType::kWrite) in_flight.push_back(i);
    }
    // The sync points the state may show: the last acknowledged, or the one in flight.
    size_t oldest = 0;
    size_t newest = 0;
    for (size_t p = 0; p < points_.size(); ++p) {
      if (points_[p].ended <= cut) oldest = p;
      if (points_[p].began < cut || p == 0) newest = p;
    }
    for (int variant = 0; variant < variants; ++variant) {
      std::memcpy(image.data(), initial.data(), image.size());
      auto apply = [&image](const WriteLogEntry& entry, size_t bytes) {
        std::memcpy(image.data() + entry.offset, entry.data.data(), bytes);
      };
      for (size_t i = 0; i < durable_end; ++i) {
        if (log[i].type == IoType::kWrite) apply(log[i], log[i].length);
      }
      const uint64_t mask = variant == 0 ? ~uint64_t{0} : random();
      size_t torn = variant >= 1 && !in_flight.empty() ? in_flight[random() % in_flight.size()]
                                                       : SIZE_MAX;
      for (size_t k = 0; k < in_flight.size(); ++k) {
        const size_t i = in_flight[k];
        if (((mask >> (k % 64)) & 1) == 0 && i != torn) continue;
        const size_t sectors = log[i].length / 512;
        apply(log[i], i == torn && sectors > 1 ? 512 * (1 + random() % (sectors - 1))
                                               : log[i].length);
      }
      SCOPED_TRACE(absl::StrFormat("crash after %d of %d requests (variant %d): between '%s' and '%s'",
                                   cut, log.size(), variant, points_[oldest].name,
                                   points_[newest].name));
      ASSERT_OK(Run(WriteImage(&registry_, &image)));
      for (bool read_write : {false, true}) {
        SCOPED_TRACE(read_write ? "replayed by a read-write load" : "replayed in memory");
        if (read_write) {
          // A read-write load replays the journal onto the device; the next load finds it done.
          auto device = registry_.Open("crash", OpenMode::kReadWrite);
          ASSERT_OK(device.status());
          auto store = Run(BlobStore::Load(std::move(*device), {}));
          ASSERT_TRUE(store.ok()) << ErrText(store);
          (*store).reset();
        }
        {
          auto device = registry_.Open("crash", OpenMode::kReadOnly);
          ASSERT_OK(device.status());
          auto store = Run(BlobStore::Load(std::move(*device), {.read_only = true, .verify = true}));
          ASSERT_TRUE(store.ok()) << ErrText(store);
          auto report = Run(CheckFileSystem(**store));
          ASSERT_TRUE(report.ok()) << ErrText(report);
          ASSERT_TRUE(report->clean()) << report->problems[0];
          ASSERT_OK(Run((*store)->Unload()));
        }
        auto device = registry_.Open("crash", OpenMode::kReadOnly);
        ASSERT_OK(device.status());
        auto store = Run(BlobStore::Load(std::move(*device), {.read_only = true}));
        ASSERT_TRUE(store.ok()) << ErrText(store);
        MountOptions read_only;
        read_only.read_only = true;
        auto fs = Run(FileSystem::Mount(std::move(*store), read_only));
        ASSERT_TRUE(fs.ok()) << ErrText(fs);
        const Snapshot found = Walk(**fs, *reactor_);
        const Tree& tree = found.tree;
        ASSERT_OK(Run((*fs)->Unmount()));
        size_t match = SIZE_MAX;
        for (size_t p = oldest; p <= newest; ++p) {
          if (points_[p].tree == tree) match = p;
        }
        ASSERT_NE(match, SIZE_MAX) << "the tree is no sync point from '" << points_[oldest].name
                                   << "' to '" << points_[newest].name << "': "
                                   << Difference(tree, points_[newest].tree);
        // Contents the points in reach agree on.
        for (const auto& [path, content] : points_[match].contents) {
          bool settled = true;
          for (size_t p = oldest; p <= newest; ++p) {
            auto it = points_[p].contents.find(path);
            settled = settled && it != points_[p].contents.end() && it->second == content;
          }
          if (settled) {
            EXPECT_EQ(found.contents.at(path), content) << path;
          }
        }
        ++found_points[points_[match].name];
      }
      ++states;
    }
  }
  LOG(INFO) << states << " crash states over " << log.size() << " requests";
  for (const auto& [name, count] : found_points) LOG(INFO) << "  " << count << " showed '" << name << "'";
  EXPECT_GE(found_points.size(), points_.size() - 1);
}

INSTANTIATE_TEST_SUITE_P(Backings, CrashConsistencyTest, ::testing::Values(Backing::kMalloc),
                         BackingName);

}  // namespace
}  // namespace blobfs::fs_test
