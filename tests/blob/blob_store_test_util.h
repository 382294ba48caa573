// A blob store on a malloc bdev under an error bdev, driven synchronously from a test: the shared
// fixture of the blob store tests.
#ifndef BLOBFS_TESTS_BLOB_BLOB_STORE_TEST_UTIL_H_
#define BLOBFS_TESTS_BLOB_BLOB_STORE_TEST_UTIL_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bdev/error_bdev.h"
#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "bdev/uring_bdev.h"
#include "blob/blob_store.h"
#include "common/sync_bridge.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs::blob_test {

// The device under the store: memory, or an image file in a temporary directory.
enum class Backing { kMalloc, kUring };

class StoreHarness {
 public:
  // A bdev "base" of `size_bytes` with `block_size`-byte blocks, under error bdev "dev".
  explicit StoreHarness(uint64_t size_bytes, uint32_t block_size = 512,
                        Backing backing = Backing::kMalloc)
      : reactor_(bdev_test::NewReactor()) {
    if (backing == Backing::kMalloc) {
      CHECK_OK(CreateMallocBdev(registry_, "base", {.size_bytes = size_bytes,
                                                    .block_size = block_size}));
    } else {
      image_dir_ = std::make_unique<bdev_test::TempDir>();
      CHECK_OK(CreateUringBdev(registry_, "base", {.path = image_dir_->path() + "/image",
                                                   .block_size = block_size,
                                                   .create_size = size_bytes}));
    }
    auto error = CreateErrorBdev(registry_, "dev", "base");
    CHECK_OK(error);
    injector_ = GetErrorInjector(**error);
  }
  ~StoreHarness() { Crash(); }

  Reactor& reactor() { return *reactor_; }
  ErrorInjector& injector() { return *injector_; }
  BdevRegistry& registry() { return registry_; }
  BlobStore& store() { return *store_; }
  bool loaded() const { return store_ != nullptr; }

  template <typename T>
  T Run(Task<T> task) {
    return RunSync(*reactor_, std::move(task));
  }

  Status Init(BlobStoreInitOptions options = {}) {
    return Adopt(Run(BlobStore::Init(OpenDevice(), std::move(options))));
  }
  Status Load(BlobStoreLoadOptions options = {}) {
    return Adopt(Run(BlobStore::Load(OpenDevice(options.read_only), std::move(options))));
  }
  // Unloads cleanly and drops the store (kept when unload fails).
  Status Unload() {
    channel_.reset();
    Status status = Run(store_->Unload());
    if (status.ok()) store_.reset();
    return status;
  }
  // Drops the store without unloading: what a crash leaves.
  void Crash() {
    channel_.reset();
    store_.reset();
  }

  // A data channel on the test's reactor.
  BlobChannel& channel() {
    if (channel_ == nullptr) {
      auto opened = Run([](BlobStore* store) -> Task<Result<std::unique_ptr<BlobChannel>>> {
        co_return store->OpenChannel();
      }(store_.get()));
      CHECK_OK(opened);
      channel_ = std::move(opened).value();
    }
    return *channel_;
  }

  Result<Blob*> Create(BlobCreateOptions options = {}) {
    return Run(store_->CreateBlob(std::move(options)));
  }
  Result<Blob*> Open(uint64_t id) { return Run(store_->OpenBlob(id)); }
  Status Close(Blob* blob) { return Run(store_->CloseBlob(blob)); }
  Status Write(Blob* blob, uint64_t offset, std::span<const std::byte> data) {
    return Run(blob->Write(channel(), offset, data));
  }
  Result<std::vector<std::byte>> Read(Blob* blob, uint64_t offset, size_t length) {
    std::vector<std::byte> data(length);
    Status status = Run(blob->Read(channel(), offset, data));
    if (!status.ok()) return status.error();
    return data;
  }
  BlobStoreStats Stats() { return Run(store_->GetStats()); }

 private:
  std::unique_ptr<BdevDescriptor> OpenDevice(bool read_only = false) {
    auto descriptor =
        registry_.Open("dev", read_only ? OpenMode::kReadOnly : OpenMode::kReadWrite);
    CHECK_OK(descriptor);
    return std::move(descriptor).value();
  }
  Status Adopt(Result<std::unique_ptr<BlobStore>> store) {
    if (!store.ok()) return store.error();
    store_ = std::move(store).value();
    return OkStatus();
  }

  std::unique_ptr<bdev_test::TempDir> image_dir_;
  std::unique_ptr<Reactor> reactor_;
  BdevRegistry registry_;
  ErrorInjector* injector_ = nullptr;
  std::unique_ptr<BlobStore> store_;
  std::unique_ptr<BlobChannel> channel_;
};

}  // namespace blobfs::blob_test

#endif  // BLOBFS_TESTS_BLOB_BLOB_STORE_TEST_UTIL_H_
