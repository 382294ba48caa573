// FsTest: the fixture of the blobfs API tests — a filesystem made and mounted on a malloc bdev
// or an image file (the test parameter), with remount, crash and call helpers.
#ifndef BLOBFS_TESTS_BLOBFS_FS_HARNESS_H_
#define BLOBFS_TESTS_BLOBFS_FS_HARNESS_H_

#include <fcntl.h>

#include <memory>
#include <string>
#include <vector>

#include "bdev/error_bdev.h"
#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "bdev/uring_bdev.h"
#include "blobfs/filesystem.h"
#include "blobfs/format/fs_super.h"
#include "common/sync_bridge.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs::fs_test {

enum class Backing { kMalloc, kUring };

// A fresh blobfs on a `device_size()` device ("base", under error bdev "dev"), mounted as fs_;
// TearDown unmounts.
class FsTest : public ::testing::TestWithParam<Backing> {
 protected:
  virtual uint64_t device_size() const { return uint64_t{256} << 20; }
  virtual MountOptions mount_options() const { return MountOptions{}; }
  // Metadata pages (inodes) of the store; 0: the blob store's default.
  virtual uint64_t md_pages() const { return 0; }

  void SetUp() override {
    reactor_ = bdev_test::NewReactor();
    if (GetParam() == Backing::kMalloc) {
      CHECK_OK(CreateMallocBdev(registry_, "base",
                                {.size_bytes = device_size(), .block_size = 4096}));
    } else {
      dir_ = std::make_unique<bdev_test::TempDir>();
      CHECK_OK(CreateUringBdev(registry_, "base", {.path = dir_->path() + "/image",
                                                   .block_size = 4096,
                                                   .create_size = device_size()}));
    }
    auto error = CreateErrorBdev(registry_, "dev", "base");
    CHECK_OK(error.status());
    injector_ = GetErrorInjector(**error);
    BlobStoreInitOptions init{.cluster_size = 4096, .bstype = std::string(FsSuper::kBstype)};
    if (md_pages() != 0) init.md_pages = md_pages();
    auto store = Run(BlobStore::Init(Device(), std::move(init)));
    ASSERT_OK(store.status());
    ASSERT_OK(Run(FileSystem::Mkfs(**store, MkfsOptions{})));
    ASSERT_OK(Run((*store)->Unload()));
    Mount();
  }
  void TearDown() override {
    if (fs_ != nullptr) EXPECT_OK(Run(fs_->Unmount()));
    fs_.reset();
  }

  template <typename T>
  T Run(Task<T> task) {
    return RunSync(*reactor_, std::move(task));
  }
  std::unique_ptr<BdevDescriptor> Device() {
    auto device = registry_.Open("dev", OpenMode::kReadWrite);
    CHECK_OK(device);
    return std::move(device).value();
  }
  void Mount() {
    auto store = Run(BlobStore::Load(Device(), BlobStoreLoadOptions{}));
    ASSERT_OK(store.status());
    auto fs = Run(FileSystem::Mount(std::move(*store), mount_options()));
    ASSERT_OK(fs.status());
    fs_ = std::move(*fs);
  }
  void Remount() {
    ASSERT_OK(Run(fs_->Unmount()));
    fs_.reset();
    Mount();
  }
  // Everything synced, then the daemon dies: no unmount, no clean unload.
  void CrashAfterSync() {
    ASSERT_OK(Run(fs_->SyncFs()));
    Run(fs_->Abandon());
    fs_.reset();
    Mount();
  }

  uint64_t root() { return fs_->root_ino(); }
  Result<InodeAttr> Lookup(uint64_t parent, const std::string& name) {
    return Run(fs_->Lookup(root_caller_, parent, name));
  }
  Result<FileSystem::Created> Create(uint64_t parent, const std::string& name, int flags = 0) {
    return Run(fs_->Create(root_caller_, parent, name, 0644, O_RDWR | O_CREAT | flags));
  }
  Result<size_t> Write(uint64_t handle, uint64_t offset, const std::string& data) {
    iovec iov{const_cast<char*>(data.data()), data.size()};
    return Run(fs_->Write(root_caller_, handle, offset, std::span<const iovec>(&iov, 1)));
  }
  std::string Read(uint64_t handle, uint64_t offset, size_t length) {
    std::string data(length, '?');
    iovec iov{data.data(), data.size()};
    auto got = Run(fs_->Read(handle, offset, std::span<const iovec>(&iov, 1)));
    CHECK_OK(got);
    data.resize(*got);
    return data;
  }
  std::vector<std::string> List(uint64_t dir) {
    auto handle = Run(fs_->OpenDir(root_caller_, dir));
    CHECK_OK(handle);
    std::vector<std::string> names;
    FileSystem::DirEmitter collect = [&](const DirListEntry& entry) {
      names.emplace_back(entry.name);
      return true;
    };
    CHECK_OK(Run(fs_->ReadDir(*handle, 0, collect)));
    CHECK_OK(Run(fs_->ReleaseDir(*handle)));
    return names;
  }

  ErrorInjector* injector_ = nullptr;
  Credentials root_caller_;
  std::unique_ptr<Reactor> reactor_;
  std::unique_ptr<bdev_test::TempDir> dir_;
  BdevRegistry registry_;
  std::unique_ptr<FileSystem> fs_;
};

inline std::string BackingName(const ::testing::TestParamInfo<Backing>& param_info) {
  return param_info.param == Backing::kMalloc ? "Malloc" : "Uring";
}

}  // namespace blobfs::fs_test

#endif  // BLOBFS_TESTS_BLOBFS_FS_HARNESS_H_
