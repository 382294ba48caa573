// BlobStore across reactors: the metadata reactor on one thread, data I/O and metadata calls from
// others — thin allocation races, metadata calls that hop reactors, concurrent opens — and work
// that runs while a large commit serializes.
#include <atomic>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "blob/blob_store.h"
#include "common/sync_bridge.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h

constexpr uint32_t kCluster = 64 * 1024;
constexpr uint64_t kPiece = 4096;

class BlobStoreConcurrencyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(CreateMallocBdev(registry_, "dev", {.size_bytes = 256 << 20, .block_size = 512})
                    .ok());
    auto descriptor = registry_.Open("dev", OpenMode::kReadWrite);
    ASSERT_TRUE(descriptor.ok());
    md_ = NewReactorThread();
    auto store = md_->BlockOn(BlobStore::Init(std::move(descriptor).value(),
                                              {.cluster_size = kCluster, .md_pages = 1024}));
    ASSERT_TRUE(store.ok()) << store.error().ToString();
    store_ = std::move(store).value();
    for (auto& writer : writers_) writer = NewReactorThread();
  }
  void TearDown() override {
    if (store_ != nullptr) {
      EXPECT_OK(md_->BlockOn(store_->Unload()));
      md_->BlockOn([](std::unique_ptr<BlobStore> store) -> Task<void> {
        store.reset();
        co_return;
      }(std::move(store_)));
    }
  }

  // On the calling reactor: writes piece `piece` (kPiece bytes, a pattern seeded by it) of every
  // cluster in [0, clusters) of `blob`.
  static Task<Status> WritePieces(BlobStore* store, Blob* blob, uint64_t clusters, uint64_t piece) {
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store->OpenChannel());
    for (uint64_t cluster = 0; cluster < clusters; ++cluster) {
      std::vector<std::byte> data = Pattern(kPiece, static_cast<uint32_t>(cluster * 16 + piece));
      CO_RETURN_IF_ERROR(co_await blob->Write(*channel, cluster * kCluster + piece * kPiece, data));
    }
    co_return OkStatus();
  }

  BdevRegistry registry_;
  std::unique_ptr<ReactorThread> md_;
  std::unique_ptr<BlobStore> store_;
  std::unique_ptr<ReactorThread> writers_[2];
};

TEST_F(BlobStoreConcurrencyTest, WritersRacingForThinClustersShareOneAllocation) {
  constexpr uint64_t kClusters = 200;
  auto created = md_->BlockOn(store_->CreateBlob({.num_clusters = kClusters, .thin = true}));
  ASSERT_OK(created);
  Blob* blob = *created;
  const uint64_t free_before = md_->BlockOn(store_->GetStats()).free_clusters;

  // Two reactors write different pieces of the same clusters at the same time; every first
  // write of a cluster races the other reactor's.
  std::vector<Status> results(2, OkStatus());
  std::vector<std::thread> threads;
  for (int w = 0; w < 2; ++w) {
    threads.emplace_back([&, w] {
      results[w] = writers_[w]->BlockOn(WritePieces(store_.get(), blob, kClusters, w + 1));
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_OK(results[0]);
  ASSERT_OK(results[1]);

  EXPECT_EQ(blob->extents()->allocated_clusters(), kClusters);
  EXPECT_EQ(md_->BlockOn(store_->GetStats()).free_clusters, free_before - kClusters);
  // Both writers' data landed in each cluster, and the rest of it reads as zeroes.
  Status read = md_->BlockOn([](BlobStore* store, Blob* b) -> Task<Status> {
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store->OpenChannel());
    std::vector<std::byte> cluster(kCluster);
    for (uint64_t c = 0; c < kClusters; ++c) {
      CO_RETURN_IF_ERROR(co_await b->Read(*channel, c * kCluster, cluster));
      for (uint64_t piece = 0; piece < kCluster / kPiece; ++piece) {
        std::span<const std::byte> got = std::span(cluster).subspan(piece * kPiece, kPiece);
        const bool written = piece == 1 || piece == 2;
        const bool right =
            written ? SameBytes(got, Pattern(kPiece, static_cast<uint32_t>(c * 16 + piece)))
                    : AllZero(got);
        if (!right) co_return MakeError(EIO, "cluster %u piece %u is wrong", c, piece);
      }
    }
    co_return OkStatus();
  }(store_.get(), blob));
  EXPECT_OK(read);
  ASSERT_OK(md_->BlockOn(store_->CloseBlob(blob)));
}

TEST_F(BlobStoreConcurrencyTest, MetadataCallsFromOtherReactorsResumeThere) {
  std::atomic<int> wrong_reactor{0};
  auto work = [&](int w) {
    Reactor* self = &writers_[w]->reactor();
    Status status = writers_[w]->BlockOn([](BlobStore* store, Reactor* me, int seed,
                                            std::atomic<int>* wrong) -> Task<Status> {
      for (int i = 0; i < 50; ++i) {
        CO_ASSIGN_OR_RETURN(Blob * blob, co_await store->CreateBlob({.num_clusters = 1}));
        if (Reactor::Current() != me) ++*wrong;
        CO_RETURN_IF_ERROR(co_await blob->SetXattr("seed", std::to_string(seed * 1000 + i)));
        CO_RETURN_IF_ERROR(co_await blob->Resize(2));
        CO_ASSIGN_OR_RETURN(std::string value, co_await blob->GetXattr("seed"));
        if (value != std::to_string(seed * 1000 + i)) co_return MakeError(EIO, "xattr lost");
        const uint64_t id = blob->id();
        CO_RETURN_IF_ERROR(co_await store->CloseBlob(blob));
        if (Reactor::Current() != me) ++*wrong;
        if (i % 2 == 0) CO_RETURN_IF_ERROR(co_await store->DeleteBlob(id));
      }
      co_return OkStatus();
    }(store_.get(), self, w, &wrong_reactor));
    EXPECT_OK(status);
  };
  std::thread a(work, 0), b(work, 1);
  a.join();
  b.join();
  EXPECT_EQ(wrong_reactor.load(), 0);
  EXPECT_EQ(md_->BlockOn(store_->GetStats()).blobs, 50u);
}

TEST_F(BlobStoreConcurrencyTest, ConcurrentOpensShareOneBlob) {
  auto created = md_->BlockOn(store_->CreateBlob({.xattrs = {{"k", "v"}}}));
  ASSERT_OK(created);
  const uint64_t id = (*created)->id();
  ASSERT_OK(md_->BlockOn(store_->CloseBlob(*created)));
  Blob* opened[2] = {nullptr, nullptr};
  std::thread threads[2];
  for (int w = 0; w < 2; ++w) {
    threads[w] = std::thread([&, w] {
      Result<Blob*> blob = writers_[w]->BlockOn(store_->OpenBlob(id));
      ASSERT_OK(blob);
      opened[w] = *blob;
    });
  }
  for (auto& thread : threads) thread.join();
  ASSERT_NE(opened[0], nullptr);
  EXPECT_EQ(opened[0], opened[1]);
  ASSERT_OK(md_->BlockOn(store_->CloseBlob(opened[0])));
  ASSERT_OK(md_->BlockOn(store_->CloseBlob(opened[1])));
  EXPECT_EQ(md_->BlockOn(store_->GetStats()).open_blobs, 0u);
}

TEST_F(BlobStoreConcurrencyTest, ALargeCommitLetsOtherWorkRunBeforeItHasSerializedEveryBlob) {
  constexpr int kBlobs = 200;
  std::vector<Blob*> blobs;
  for (int i = 0; i < kBlobs; ++i) {
    auto created = md_->BlockOn(store_->CreateBlob({}));
    ASSERT_OK(created);
    ASSERT_OK(md_->BlockOn((*created)->SetXattr("k", "v")));
    blobs.push_back(*created);
  }
  // A task spawned beside the commit changes the first blob and the last one. It runs at the
  // commit's first pause: past the first blob's snapshot, before the last one's.
  Status committed = md_->BlockOn([](BlobStore* store, std::vector<Blob*> all) -> Task<Status> {
    Reactor::Current()->Spawn([](Blob* first, Blob* last) -> Task<void> {
      EXPECT_OK(co_await first->SetXattr("k", "changed"));
      EXPECT_OK(co_await last->SetXattr("k", "changed"));
    }(all.front(), all.back()));
    co_return co_await store->Commit(all);
  }(store_.get(), blobs));
  ASSERT_OK(committed);
  EXPECT_TRUE(blobs.front()->dirty()) << "the change after its snapshot waits for the next commit";
  EXPECT_FALSE(blobs.back()->dirty()) << "its snapshot, taken after the change, was committed";
  for (Blob* blob : blobs) ASSERT_OK(md_->BlockOn(store_->CloseBlob(blob)));
}

}  // namespace
}  // namespace blobfs
