// The fsdev conformance suite: the same tests on every module (blobfs on an image file, and
// passthrough over a host directory) — every operation and its errors, lookup counting, calls
// from several reactors at once, and abort of a long read.
#include <dirent.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bdev/registry.h"
#include "bdev/uring_bdev.h"
#include "blob/blob_store.h"
#include "blobfs/filesystem.h"
#include "blobfs/format/fs_super.h"
#include "common/sync_bridge.h"
#include "fsdev/blobfs_fsdev.h"
#include "fsdev/fsdev.h"
#include "fsdev/passthrough_fsdev.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using bdev_test::ErrCode;

enum class Module { kBlobfs, kPassthrough };

std::string ModuleName(const ::testing::TestParamInfo<Module>& info) {
  return info.param == Module::kBlobfs ? "Blobfs" : "Passthrough";
}

class FsdevTest : public ::testing::TestWithParam<Module> {
 protected:
  void SetUp() override {
    reactor_ = bdev_test::NewReactorThread();
    if (GetParam() == Module::kBlobfs) {
      ASSERT_OK(CreateUringBdev(registry_, "image", {.path = dir_.path() + "/image",
                                                     .block_size = 4096,
                                                     .create_size = uint64_t{512} << 20})
                    .status());
      auto fs = reactor_->BlockOn(MountBlobfs());
      ASSERT_OK(fs.status());
      dev_ = MakeBlobfsFsdev(std::move(*fs), BlobfsFsdevOptions{});
    } else {
      const std::string root = dir_.path() + "/root";
      ASSERT_EQ(mkdir(root.c_str(), 0755), 0);
      auto dev = MakePassthroughFsdev({.root = root});
      ASSERT_OK(dev.status());
      dev_ = *dev;
    }
    auto channel = dev_->OpenChannel();
    ASSERT_OK(channel.status());
    channel_ = std::move(*channel);
    root_ = dev_->root_id();
  }
  void TearDown() override {
    channel_.reset();
    if (dev_ != nullptr) EXPECT_OK(reactor_->BlockOn(dev_->Close()));
    dev_.reset();
    reactor_.reset();
  }

  Task<Result<std::unique_ptr<FileSystem>>> MountBlobfs() {
    CO_ASSIGN_OR_RETURN(auto device, registry_.Open("image", OpenMode::kReadWrite));
    BlobStoreInitOptions init{.cluster_size = 4096, .bstype = std::string(FsSuper::kBstype)};
    CO_ASSIGN_OR_RETURN(auto store, co_await BlobStore::Init(std::move(device), std::move(init)));
    MkfsOptions mkfs;
    CO_RETURN_IF_ERROR(co_await FileSystem::Mkfs(*store, std::move(mkfs)));
    // A small cache, so long reads go to the device.
    MountOptions mount{.cache_bytes = uint64_t{4} << 20};
    co_return co_await FileSystem::Mount(std::move(store), mount);
  }

  template <typename T>
  T Call(Task<T> task) {
    return reactor_->BlockOn(std::move(task));
  }
  FsdevEntry MkDir(uint64_t parent, const std::string& name, uint32_t mode = 0755) {
    auto entry = Call(channel_->MkDir(ctx_, parent, name, mode, 0));
    CHECK_OK(entry);
    return *entry;
  }
  FsdevCreateReply Create(uint64_t parent, const std::string& name, uint32_t mode = 0644) {
    auto created = Call(channel_->Create(ctx_, parent, name, S_IFREG | mode, O_RDWR | O_CREAT, 0));
    CHECK_OK(created);
    return *created;
  }
  Result<size_t> Write(uint64_t node, uint64_t handle, uint64_t offset, std::string data) {
    iovec iov{data.data(), data.size()};
    return Call(channel_->Write(ctx_, node, handle, offset, std::span<const iovec>(&iov, 1)));
  }
  Result<std::string> Read(uint64_t node, uint64_t handle, uint64_t offset, size_t length) {
    std::string data(length, '\0');
    iovec iov{data.data(), data.size()};
    auto got = Call(channel_->Read(ctx_, node, handle, offset, std::span<const iovec>(&iov, 1)));
    if (!got.ok()) return got.error();
    data.resize(*got);
    return data;
  }
  // Every name ReadDir lists (handle opened and released here).
  std::multiset<std::string> List(uint64_t dir) {
    auto opened = Call(channel_->OpenDir(ctx_, dir, O_RDONLY));
    CHECK_OK(opened);
    std::multiset<std::string> names;
    uint64_t offset = 0;
    // Three entries per call, to exercise resumption.
    for (bool more = true; more;) {
      int taken = 0;
      FsdevDirEmitter emit = [&](const FsdevDirEntry& entry) {
        if (taken == 3) return false;
        ++taken;
        names.emplace(entry.name);
        offset = entry.offset;
        return true;
      };
      CHECK_OK(Call(channel_->ReadDir(ctx_, dir, opened->handle, offset, emit)));
      more = taken == 3;
    }
    CHECK_OK(Call(channel_->ReleaseDir(ctx_, dir, opened->handle)));
    return names;
  }
  uint64_t Ino(const FsdevEntry& entry) { return entry.attr.ino; }

  bdev_test::TempDir dir_;
  BdevRegistry registry_;
  std::unique_ptr<ReactorThread> reactor_;
  std::shared_ptr<Fsdev> dev_;
  std::unique_ptr<FsdevChannel> channel_;
  uint64_t root_ = 0;
  FsdevContext ctx_;
};

TEST_P(FsdevTest, FilesDirectoriesAndLinks) {
  FsdevEntry dir = MkDir(root_, "d");
  EXPECT_TRUE(S_ISDIR(dir.attr.mode));
  EXPECT_EQ(dir.attr.mode & 07777, 0755u);
  FsdevCreateReply file = Create(dir.node_id, "f");
  EXPECT_TRUE(S_ISREG(file.entry.attr.mode));
  ASSERT_OK(Write(file.entry.node_id, file.open.handle, 0, "hello, fsdev"));
  EXPECT_EQ(*Read(file.entry.node_id, file.open.handle, 7, 100), "fsdev");
  ASSERT_ASSIGN_OR_FAIL(auto attr, Call(channel_->GetAttr(ctx_, file.entry.node_id, file.open.handle)));
  EXPECT_EQ(attr.attr.size, 12u);
  EXPECT_GT(attr.attr_timeout.count(), 0);
  // Lookup finds the same object; a second name is one object with two links.
  ASSERT_ASSIGN_OR_FAIL(auto found, Call(channel_->Lookup(ctx_, dir.node_id, "f")));
  EXPECT_EQ(found.node_id, file.entry.node_id);
  ASSERT_ASSIGN_OR_FAIL(auto linked,
                        Call(channel_->Link(ctx_, file.entry.node_id, root_, "hard")));
  EXPECT_EQ(linked.node_id, file.entry.node_id);
  EXPECT_EQ(linked.attr.nlink, 2u);
  // Symlinks and device nodes.
  ASSERT_ASSIGN_OR_FAIL(auto link, Call(channel_->Symlink(ctx_, dir.node_id, "l", "f")));
  EXPECT_TRUE(S_ISLNK(link.attr.mode));
  EXPECT_EQ(*Call(channel_->ReadLink(ctx_, link.node_id)), "f");
  ASSERT_ASSIGN_OR_FAIL(auto fifo, Call(channel_->MkNod(ctx_, dir.node_id, "p", S_IFIFO | 0666,
                                                        0, 022)));
  EXPECT_EQ(fifo.attr.mode, S_IFIFO | 0644u);  // The umask applied.
  // The listing holds each name once.
  EXPECT_EQ(List(dir.node_id), (std::multiset<std::string>{".", "..", "f", "l", "p"}));
  // Rename with and without flags.
  EXPECT_EQ(ErrCode(Call(channel_->Rename(ctx_, dir.node_id, "l", dir.node_id, "p",
                                          RENAME_NOREPLACE))),
            EEXIST);
  ASSERT_OK(Call(channel_->Rename(ctx_, dir.node_id, "l", root_, "moved", 0)));
  ASSERT_OK(Call(channel_->Rename(ctx_, dir.node_id, "p", root_, "moved", RENAME_EXCHANGE)));
  EXPECT_EQ(Call(channel_->Lookup(ctx_, dir.node_id, "p"))->node_id, link.node_id);
  EXPECT_EQ(Call(channel_->Lookup(ctx_, root_, "moved"))->node_id, fifo.node_id);
  // Removal.
  EXPECT_EQ(ErrCode(Call(channel_->RmDir(ctx_, root_, "d"))), ENOTEMPTY);
  ASSERT_OK(Call(channel_->Unlink(ctx_, dir.node_id, "f")));
  ASSERT_OK(Call(channel_->Unlink(ctx_, dir.node_id, "p")));
  EXPECT_EQ(ErrCode(Call(channel_->Lookup(ctx_, dir.node_id, "f"))), ENOENT);
  EXPECT_EQ(Call(channel_->GetAttr(ctx_, file.entry.node_id, std::nullopt))->attr.nlink, 1u);
  ASSERT_OK(Call(channel_->Release(ctx_, file.entry.node_id, file.open.handle)));
  ASSERT_OK(Call(channel_->RmDir(ctx_, root_, "d")));
}

TEST_P(FsdevTest, AttributesXattrsAndStatfs) {
  FsdevCreateReply file = Create(root_, "f", 0600);
  const uint64_t node = file.entry.node_id;
  FsdevSetAttr change{.valid = FsdevSetAttr::kMode | FsdevSetAttr::kSize | FsdevSetAttr::kMtime,
                      .mode = 0640,
                      .size = 100000,
                      .mtime = {1234567890, 123456789}};
  ASSERT_ASSIGN_OR_FAIL(auto changed, Call(channel_->SetAttr(ctx_, node, change, file.open.handle)));
  EXPECT_EQ(changed.attr.mode & 07777, 0640u);
  EXPECT_EQ(changed.attr.size, 100000u);
  EXPECT_EQ(changed.attr.mtime.tv_sec, 1234567890);
  EXPECT_EQ(changed.attr.mtime.tv_nsec, 123456789);
  FsdevSetAttr now{.valid = FsdevSetAttr::kAtimeNow};
  ASSERT_ASSIGN_OR_FAIL(auto touched, Call(channel_->SetAttr(ctx_, node, now, std::nullopt)));
  EXPECT_GT(touched.attr.atime.tv_sec, 1700000000);
  // Extended attributes with the size-probe rules.
  ASSERT_OK(Call(channel_->SetXattr(ctx_, node, "user.k", "value", 0)));
  EXPECT_EQ(ErrCode(Call(channel_->SetXattr(ctx_, node, "user.k", "x", XATTR_CREATE))), EEXIST);
  EXPECT_EQ(ErrCode(Call(channel_->SetXattr(ctx_, node, "user.nope", "x", XATTR_REPLACE))),
            ENODATA);
  ASSERT_ASSIGN_OR_FAIL(auto probe, Call(channel_->GetXattr(ctx_, node, "user.k", 0)));
  EXPECT_EQ(probe.size, 5u);
  EXPECT_TRUE(probe.data.empty());
  EXPECT_EQ(ErrCode(Call(channel_->GetXattr(ctx_, node, "user.k", 3))), ERANGE);
  EXPECT_EQ(Call(channel_->GetXattr(ctx_, node, "user.k", 100))->data, "value");
  EXPECT_EQ(ErrCode(Call(channel_->GetXattr(ctx_, node, "user.missing", 100))), ENODATA);
  ASSERT_ASSIGN_OR_FAIL(auto list, Call(channel_->ListXattr(ctx_, node, 1000)));
  EXPECT_NE(list.data.find(std::string("user.k\0", 7)), std::string::npos);
  ASSERT_ASSIGN_OR_FAIL(auto list_probe, Call(channel_->ListXattr(ctx_, node, 0)));
  EXPECT_EQ(list_probe.size, list.size);
  ASSERT_OK(Call(channel_->RemoveXattr(ctx_, node, "user.k")));
  EXPECT_EQ(ErrCode(Call(channel_->RemoveXattr(ctx_, node, "user.k"))), ENODATA);
  // Access by mode bits, for root and for another user.
  EXPECT_OK(Call(channel_->Access(ctx_, node, R_OK | W_OK)));
  FsdevContext user{.uid = 1000, .gid = 1000};
  EXPECT_EQ(ErrCode(Call(channel_->Access(user, node, R_OK))), EACCES);
  ASSERT_ASSIGN_OR_FAIL(auto stats, Call(channel_->StatFs(ctx_, root_)));
  EXPECT_GT(stats.blocks, 0u);
  EXPECT_GT(stats.files_free, 0u);
  EXPECT_EQ(stats.name_max, 255u);
  ASSERT_OK(Call(channel_->Flush(ctx_, node, file.open.handle)));
  ASSERT_OK(Call(channel_->Fsync(ctx_, node, file.open.handle, false)));
  ASSERT_OK(Call(channel_->Fsync(ctx_, node, file.open.handle, true)));
  ASSERT_ASSIGN_OR_FAIL(auto dir, Call(channel_->OpenDir(ctx_, root_, O_RDONLY)));
  ASSERT_OK(Call(channel_->FsyncDir(ctx_, root_, dir.handle, false)));
  EXPECT_EQ(ErrCode(Call(channel_->FsyncDir(ctx_, root_, file.open.handle, false))), EBADF);
  EXPECT_EQ(ErrCode(Call(channel_->Flush(ctx_, node, dir.handle))), EBADF);
  ASSERT_OK(Call(channel_->ReleaseDir(ctx_, root_, dir.handle)));
  ASSERT_OK(Call(channel_->SyncFs(ctx_)));
  ASSERT_OK(Call(channel_->Release(ctx_, node, file.open.handle)));
}

TEST_P(FsdevTest, SparseDataCopyAndSeek) {
  FsdevCreateReply file = Create(root_, "sparse");
  const uint64_t node = file.entry.node_id;
  const uint64_t handle = file.open.handle;
  ASSERT_OK(Write(node, handle, 1 << 20, std::string(4096, 'a')));
  EXPECT_EQ(*Call(channel_->Lseek(ctx_, node, handle, 0, SEEK_DATA)), uint64_t{1} << 20);
  EXPECT_EQ(*Call(channel_->Lseek(ctx_, node, handle, 0, SEEK_HOLE)), 0u);
  EXPECT_EQ(ErrCode(Call(channel_->Lseek(ctx_, node, handle, 0, SEEK_END))), EINVAL);
  EXPECT_EQ(*Read(node, handle, 4096, 4), std::string(4, '\0'));
  ASSERT_OK(Call(channel_->Fallocate(ctx_, node, handle, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                                     1 << 20, 4096)));
  EXPECT_EQ(*Read(node, handle, 1 << 20, 4), std::string(4, '\0'));
  ASSERT_OK(Write(node, handle, 0, "copy me"));
  FsdevCreateReply copy = Create(root_, "copy");
  ASSERT_ASSIGN_OR_FAIL(size_t copied,
                        Call(channel_->CopyFileRange(ctx_, node, handle, 0, copy.entry.node_id,
                                                     copy.open.handle, 10, 7)));
  EXPECT_EQ(copied, 7u);
  EXPECT_EQ(*Read(copy.entry.node_id, copy.open.handle, 10, 7), "copy me");
  ASSERT_OK(Call(channel_->Release(ctx_, copy.entry.node_id, copy.open.handle)));
  ASSERT_OK(Call(channel_->Release(ctx_, node, handle)));
}

TEST_P(FsdevTest, ReadInPlaceHandsOverTheBytesOnceOrFails) {
  FsdevCreateReply file = Create(root_, "in-place");
  const uint64_t node = file.entry.node_id;
  const uint64_t handle = file.open.handle;
  std::string content(300 << 10, '\0');
  for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>('a' + i % 23);
  ASSERT_OK(Write(node, handle, 0, content));
  // Across several cache buffers, in pieces; past the end only what the file holds.
  std::string got;
  int calls = 0;
  ReadConsumer collect = [&](std::span<const iovec> data) {
    ++calls;
    for (const iovec& piece : data) got.append(static_cast<const char*>(piece.iov_base), piece.iov_len);
    return Status();
  };
  ASSERT_ASSIGN_OR_FAIL(size_t read,
                        Call(channel_->ReadInPlace(ctx_, node, handle, 1000, 1 << 20, collect)));
  EXPECT_EQ(read, content.size() - 1000);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got, content.substr(1000));
  // At the end: handed nothing, once.
  got.clear();
  ASSERT_ASSIGN_OR_FAIL(read, Call(channel_->ReadInPlace(ctx_, node, handle, content.size(), 4096,
                                                         collect)));
  EXPECT_EQ(read, 0u);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(got, "");
  // The consumer's failure is the read's; a read that fails never reaches the consumer.
  ReadConsumer refuse = [&](std::span<const iovec>) {
    ++calls;
    return MakeError(ENOENT, "the reply found no waiter");
  };
  EXPECT_EQ(ErrCode(Call(channel_->ReadInPlace(ctx_, node, handle, 0, 4096, refuse))), ENOENT);
  EXPECT_EQ(calls, 3);
  EXPECT_EQ(ErrCode(Call(channel_->ReadInPlace(ctx_, node, 999999, 0, 4096, collect))), EBADF);
  EXPECT_EQ(calls, 3);
  ASSERT_OK(Call(channel_->Release(ctx_, node, handle)));
}

TEST_P(FsdevTest, ReadDirPlusTakesLookupsOnlyForAcceptedEntries) {
  FsdevEntry dir = MkDir(root_, "d");
  for (int i = 0; i < 10; ++i) {
    FsdevCreateReply file = Create(dir.node_id, absl::StrCat("f", i));
    ASSERT_OK(Call(channel_->Release(ctx_, file.entry.node_id, file.open.handle)));
    Call(channel_->Forget(file.entry.node_id, 1));
  }
  ASSERT_ASSIGN_OR_FAIL(auto opened, Call(channel_->OpenDir(ctx_, dir.node_id, O_RDONLY)));
  std::vector<FsdevEntry> accepted;
  std::set<std::string> names;
  uint64_t offset = 0;
  for (bool more = true; more;) {
    int taken = 0;
    FsdevDirEmitter emit = [&](const FsdevDirEntry& entry) {
      if (taken == 4) return false;
      ++taken;
      offset = entry.offset;
      EXPECT_TRUE(names.emplace(entry.name).second) << entry.name;
      if (entry.entry != nullptr) accepted.push_back(*entry.entry);
      return true;
    };
    ASSERT_OK(Call(channel_->ReadDirPlus(ctx_, dir.node_id, opened.handle, offset, emit)));
    more = taken == 4;
  }
  ASSERT_OK(Call(channel_->ReleaseDir(ctx_, dir.node_id, opened.handle)));
  EXPECT_EQ(names.size(), 12u);
  ASSERT_EQ(accepted.size(), 10u);
  // Each accepted entry holds exactly one lookup: unlinked and forgotten once, it is gone.
  for (const FsdevEntry& entry : accepted) {
    EXPECT_TRUE(S_ISREG(entry.attr.mode));
    EXPECT_OK(Call(channel_->GetAttr(ctx_, entry.node_id, std::nullopt)));
  }
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(Call(channel_->Unlink(ctx_, dir.node_id, absl::StrCat("f", i))));
  }
  for (const FsdevEntry& entry : accepted) {
    Call(channel_->Forget(entry.node_id, 1));
    EXPECT_EQ(ErrCode(Call(channel_->GetAttr(ctx_, entry.node_id, std::nullopt))), ESTALE);
  }
}

TEST_P(FsdevTest, AnObjectLivesWhileLookedUpOrOpen) {
  FsdevCreateReply file = Create(root_, "f");
  const uint64_t node = file.entry.node_id;
  ASSERT_OK(Write(node, file.open.handle, 0, "still here"));
  ASSERT_ASSIGN_OR_FAIL(auto again, Call(channel_->Lookup(ctx_, root_, "f")));  // 2 lookups.
  ASSERT_OK(Call(channel_->Unlink(ctx_, root_, "f")));
  Call(channel_->Forget(node, 2));
  // Open: still readable through its handle.
  EXPECT_EQ(*Read(node, file.open.handle, 0, 100), "still here");
  ASSERT_OK(Call(channel_->Release(ctx_, node, file.open.handle)));
  EXPECT_EQ(ErrCode(Call(channel_->GetAttr(ctx_, node, std::nullopt))), ESTALE);
  (void)again;
  // An anonymous file linked in later keeps its bytes.
  ASSERT_ASSIGN_OR_FAIL(auto tmp, Call(channel_->TmpFile(ctx_, root_, S_IFREG | 0600, O_RDWR, 0)));
  ASSERT_OK(Write(tmp.entry.node_id, tmp.open.handle, 0, "anonymous"));
  ASSERT_OK(Call(channel_->Link(ctx_, tmp.entry.node_id, root_, "named")).status());
  ASSERT_OK(Call(channel_->Release(ctx_, tmp.entry.node_id, tmp.open.handle)));
  ASSERT_ASSIGN_OR_FAIL(auto named, Call(channel_->Lookup(ctx_, root_, "named")));
  EXPECT_EQ(named.attr.size, 9u);
}

TEST_P(FsdevTest, BadInputGetsTheRightErrno) {
  FsdevCreateReply file = Create(root_, "f");
  FsdevEntry dir = MkDir(root_, "d");
  const std::string long_name(256, 'n');
  const std::string with_slash = "a/b";
  // Names.
  EXPECT_EQ(ErrCode(Call(channel_->Lookup(ctx_, root_, ""))), EINVAL);
  EXPECT_EQ(ErrCode(Call(channel_->Lookup(ctx_, root_, long_name))), ENAMETOOLONG);
  EXPECT_EQ(ErrCode(Call(channel_->MkDir(ctx_, root_, with_slash, 0755, 0))), EINVAL);
  EXPECT_EQ(ErrCode(Call(channel_->Create(ctx_, root_, long_name, 0644, O_CREAT | O_RDWR, 0))),
            ENAMETOOLONG);
  EXPECT_EQ(ErrCode(Call(channel_->Rename(ctx_, root_, "f", root_, with_slash, 0))), EINVAL);
  // Unknown or forged node ids.
  for (uint64_t forged : {uint64_t{0}, uint64_t{0xdeadbeef}, ~uint64_t{0}}) {
    EXPECT_EQ(ErrCode(Call(channel_->GetAttr(ctx_, forged, std::nullopt))), ESTALE) << forged;
    EXPECT_EQ(ErrCode(Call(channel_->Lookup(ctx_, forged, "x"))), ESTALE) << forged;
    Call(channel_->Forget(forged, 1));  // Harmless.
  }
  // Handles: unknown, another object's, a file's used as a directory's.
  const uint64_t handle = file.open.handle;
  std::string buffer(10, '\0');
  iovec iov{buffer.data(), buffer.size()};
  std::span<const iovec> iovs(&iov, 1);
  EXPECT_EQ(ErrCode(Call(channel_->Read(ctx_, file.entry.node_id, 999999, 0, iovs))), EBADF);
  EXPECT_EQ(ErrCode(Call(channel_->Read(ctx_, dir.node_id, handle, 0, iovs))), EBADF);
  EXPECT_EQ(ErrCode(Call(channel_->ReleaseDir(ctx_, file.entry.node_id, handle))), EBADF);
  FsdevDirEmitter all = [](const FsdevDirEntry&) { return true; };
  EXPECT_EQ(ErrCode(Call(channel_->ReadDir(ctx_, file.entry.node_id, handle, 0, all))), EBADF);
  // Operations on the wrong kind of file.
  EXPECT_EQ(ErrCode(Call(channel_->OpenDir(ctx_, file.entry.node_id, O_RDONLY))), ENOTDIR);
  EXPECT_EQ(ErrCode(Call(channel_->RmDir(ctx_, root_, "f"))), ENOTDIR);
  EXPECT_EQ(ErrCode(Call(channel_->Unlink(ctx_, root_, "d"))), EISDIR);
  EXPECT_EQ(ErrCode(Call(channel_->ReadLink(ctx_, file.entry.node_id))), EINVAL);
  EXPECT_EQ(ErrCode(Call(channel_->Lookup(ctx_, file.entry.node_id, "x"))), ENOTDIR);
  EXPECT_EQ(ErrCode(Call(channel_->Open(ctx_, dir.node_id, O_RDWR))), EISDIR);
  // Aborting what is unknown or finished does nothing.
  dev_->Abort(0);
  dev_->Abort(123456);
  EXPECT_EQ(*Read(file.entry.node_id, handle, 0, 10), "");
  ASSERT_OK(Call(channel_->Release(ctx_, file.entry.node_id, handle)));
  EXPECT_EQ(ErrCode(Call(channel_->Release(ctx_, file.entry.node_id, handle))), EBADF);
}

TEST_P(FsdevTest, CallsFromSeveralReactorsAtOnce) {
  constexpr int kReactors = 3;
  constexpr int kFiles = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int r = 0; r < kReactors; ++r) {
    threads.emplace_back([&, r] {
      auto reactor = bdev_test::NewReactorThread();
      auto opened = dev_->OpenChannel();
      CHECK_OK(opened);
      std::unique_ptr<FsdevChannel> channel = std::move(*opened);
      FsdevContext ctx;
      const std::string dir_name = absl::StrCat("r", r);
      auto dir = reactor->BlockOn(channel->MkDir(ctx, root_, dir_name, 0755, 0));
      if (!dir.ok()) {
        ++failures;
        return;
      }
      for (int i = 0; i < kFiles; ++i) {
        const std::string name = absl::StrCat("f", i);
        auto created = reactor->BlockOn(
            channel->Create(ctx, dir->node_id, name, S_IFREG | 0644, O_RDWR | O_CREAT, 0));
        if (!created.ok()) {
          ++failures;
          continue;
        }
        std::string data = absl::StrCat("reactor ", r, " file ", i);
        iovec iov{data.data(), data.size()};
        auto wrote = reactor->BlockOn(channel->Write(ctx, created->entry.node_id,
                                                     created->open.handle, 0,
                                                     std::span<const iovec>(&iov, 1)));
        std::string back(data.size(), '\0');
        iovec back_iov{back.data(), back.size()};
        auto read = reactor->BlockOn(channel->Read(ctx, created->entry.node_id,
                                                   created->open.handle, 0,
                                                   std::span<const iovec>(&back_iov, 1)));
        if (!wrote.ok() || !read.ok() || back != data) ++failures;
        if (!reactor->BlockOn(channel->Release(ctx, created->entry.node_id, created->open.handle))
                 .ok()) {
          ++failures;
        }
      }
      channel.reset();
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  for (int r = 0; r < kReactors; ++r) {
    ASSERT_ASSIGN_OR_FAIL(auto dir, Call(channel_->Lookup(ctx_, root_, absl::StrCat("r", r))));
    EXPECT_EQ(List(dir.node_id).size(), static_cast<size_t>(kFiles + 2));
  }
}

TEST_P(FsdevTest, AbortStopsALongRead) {
  constexpr size_t kSize = 64 << 20;
  FsdevCreateReply file = Create(root_, "big");
  const uint64_t node = file.entry.node_id;
  std::string chunk(1 << 20, 'z');
  for (size_t offset = 0; offset < kSize; offset += chunk.size()) {
    ASSERT_OK(Write(node, file.open.handle, offset, chunk));
  }
  ASSERT_OK(Call(channel_->Fsync(ctx_, node, file.open.handle, false)));
  std::string buffer(kSize, '\0');
  iovec iov{buffer.data(), buffer.size()};
  // Aborted before it starts (an INTERRUPT that overtook its request): nothing is read.
  FsdevContext early{.request_id = 7};
  dev_->Abort(7);
  EXPECT_EQ(ErrCode(Call(channel_->Read(early, node, file.open.handle, 0,
                                        std::span<const iovec>(&iov, 1)))),
            EINTR);
  // Aborted while it runs: it stops short (or EINTR), well before the end.
  FsdevContext late{.request_id = 8};
  std::atomic<bool> done{false};
  std::thread aborter([&] {
    while (!done.load()) {
      dev_->Abort(8);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  auto read = Call(channel_->Read(late, node, file.open.handle, 0, std::span<const iovec>(&iov, 1)));
  done = true;
  aborter.join();
  if (read.ok()) {
    EXPECT_LT(*read, kSize);
  } else {
    EXPECT_EQ(read.error().code(), EINTR);
  }
  // Not aborted: all of it.
  FsdevContext normal{.request_id = 9};
  EXPECT_EQ(*Call(channel_->Read(normal, node, file.open.handle, 0, std::span<const iovec>(&iov, 1))),
            kSize);
  ASSERT_OK(Call(channel_->Release(ctx_, node, file.open.handle)));
}

INSTANTIATE_TEST_SUITE_P(Modules, FsdevTest,
                         ::testing::Values(Module::kBlobfs, Module::kPassthrough), ModuleName);

}  // namespace
}  // namespace blobfs
