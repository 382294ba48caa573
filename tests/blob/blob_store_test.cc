// BlobStore: lifecycle, blob operations and their persistence, on a malloc bdev.
#include "blob/blob_store.h"

#include <cstring>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"
#include "tests/blob/blob_store_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h
using blob_test::Backing;
using blob_test::StoreHarness;

constexpr uint64_t kMiB = 1 << 20;
constexpr uint32_t kCluster = 64 * 1024;

// Every test runs on a malloc bdev and on a uring bdev over an image file.
class BlobStoreTest : public ::testing::TestWithParam<Backing> {
 protected:
  BlobStoreTest() : h_(64 * kMiB, 512, GetParam()) {}
  void SetUp() override {
    ASSERT_OK(h_.Init({.cluster_size = kCluster, .md_pages = 256, .bstype = "test"}));
  }
  // Unload and load again: what is on disk is all there is.
  void Reload() {
    ASSERT_OK(h_.Unload());
    ASSERT_OK(h_.Load({.bstype = "test"}));
    EXPECT_FALSE(h_.store().recovered());
  }
  StoreHarness h_;
};

TEST_P(BlobStoreTest, NewStoreIsEmpty) {
  BlobStoreStats stats = h_.Stats();
  EXPECT_EQ(stats.cluster_size, kCluster);
  EXPECT_EQ(stats.io_unit_size, 512u);
  EXPECT_EQ(stats.total_clusters, 64 * kMiB / kCluster);
  EXPECT_LT(stats.free_clusters, stats.total_clusters);  // the metadata's clusters are used
  EXPECT_EQ(stats.md_pages, 256u);
  EXPECT_EQ(stats.md_pages_used, 0u);
  EXPECT_EQ(stats.blobs, 0u);
  EXPECT_TRUE(h_.Run(h_.store().ListBlobs()).empty());
  EXPECT_EQ(h_.store().super_blob(), kNoBlobId);
}

TEST_P(BlobStoreTest, CreateWriteReadPersist) {
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.num_clusters = 4,
                                                .xattrs = {{"name", "alpha"}, {"x", ""}},
                                                .internal_xattrs = {{"inode", "42"}}}));
  const uint64_t id = blob->id();
  EXPECT_EQ(blob->num_clusters(), 4u);
  EXPECT_EQ(blob->size_bytes(), 4u * kCluster);
  EXPECT_FALSE(blob->thin());
  EXPECT_EQ(blob->extents()->allocated_clusters(), 4u);
  std::vector<std::byte> data = Pattern(3 * kCluster, 7);
  // Crosses cluster boundaries at both ends.
  ASSERT_OK(h_.Write(blob, kCluster / 2, data));
  ASSERT_ASSIGN_OR_FAIL(std::vector<std::byte> back, h_.Read(blob, kCluster / 2, data.size()));
  EXPECT_TRUE(SameBytes(back, data));
  ASSERT_OK(h_.Close(blob));

  Reload();
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), std::vector<uint64_t>{id});
  ASSERT_ASSIGN_OR_FAIL(blob, h_.Open(id));
  EXPECT_EQ(blob->num_clusters(), 4u);
  ASSERT_ASSIGN_OR_FAIL(back, h_.Read(blob, kCluster / 2, data.size()));
  EXPECT_TRUE(SameBytes(back, data));
  EXPECT_EQ(h_.Run(blob->GetXattr("name")).value(), "alpha");
  EXPECT_EQ(h_.Run(blob->GetXattr("x")).value(), "");
  EXPECT_EQ(h_.Run(blob->GetXattr("inode", XattrKind::kInternal)).value(), "42");
  EXPECT_EQ(ErrCode(h_.Run(blob->GetXattr("inode"))), ENOENT);
  EXPECT_EQ(h_.Run(blob->ListXattrs()), (std::vector<std::string>{"name", "x"}));
  EXPECT_EQ(h_.Run(blob->ListXattrs(XattrKind::kInternal)), std::vector<std::string>{"inode"});
  ASSERT_OK(h_.Close(blob));
}

TEST_P(BlobStoreTest, OpeningAnOpenBlobReturnsTheSameObject) {
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create());
  ASSERT_ASSIGN_OR_FAIL(Blob * again, h_.Open(blob->id()));
  EXPECT_EQ(again, blob);
  EXPECT_EQ(h_.Stats().open_blobs, 1u);
  ASSERT_OK(h_.Close(blob));
  EXPECT_EQ(h_.Stats().open_blobs, 1u);
  ASSERT_OK(h_.Close(again));
  EXPECT_EQ(h_.Stats().open_blobs, 0u);
}

TEST_P(BlobStoreTest, XattrsChangeAndPersist) {
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create());
  const uint64_t id = blob->id();
  const std::string big(65536, 'v');
  ASSERT_OK(h_.Run(blob->SetXattr("big", big)));
  ASSERT_OK(h_.Run(blob->SetXattr("a", "1")));
  ASSERT_OK(h_.Run(blob->SetXattr("a", "2")));
  ASSERT_OK(h_.Run(blob->SetXattr("gone", "soon")));
  ASSERT_OK(h_.Run(blob->RemoveXattr("gone")));
  EXPECT_EQ(ErrCode(h_.Run(blob->RemoveXattr("gone"))), ENOENT);
  EXPECT_EQ(ErrCode(h_.Run(blob->SetXattr("", "v"))), EINVAL);
  EXPECT_EQ(ErrCode(h_.Run(blob->SetXattr(std::string(256, 'n'), "v"))), EINVAL);
  EXPECT_EQ(ErrCode(h_.Run(blob->SetXattr(std::string("a\0b", 3), "v"))), EINVAL);
  EXPECT_EQ(ErrCode(h_.Run(blob->SetXattr("huge", std::string(65537, 'v')))), EINVAL);
  ASSERT_OK(h_.Run(blob->SetXattr("a", "internal", XattrKind::kInternal)));
  ASSERT_OK(h_.Close(blob));
  const uint64_t pages_used = h_.Stats().md_pages_used;
  EXPECT_GT(pages_used, 16u);  // 64 KiB of value take many pages

  Reload();
  EXPECT_EQ(h_.Stats().md_pages_used, pages_used);
  ASSERT_ASSIGN_OR_FAIL(blob, h_.Open(id));
  EXPECT_EQ(h_.Run(blob->GetXattr("big")).value(), big);
  EXPECT_EQ(h_.Run(blob->GetXattr("a")).value(), "2");
  EXPECT_EQ(h_.Run(blob->GetXattr("a", XattrKind::kInternal)).value(), "internal");
  EXPECT_EQ(ErrCode(h_.Run(blob->GetXattr("gone"))), ENOENT);
  // Shrinking the metadata frees the chain pages once the commit is durable.
  ASSERT_OK(h_.Run(blob->RemoveXattr("big")));
  ASSERT_OK(h_.Run(blob->Sync()));
  EXPECT_EQ(h_.Stats().md_pages_used, 1u);
  ASSERT_OK(h_.Close(blob));
}

TEST_P(BlobStoreTest, ResizeGrowsAndShrinks) {
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.num_clusters = 2}));
  const uint64_t id = blob->id();
  const uint64_t free_before = h_.Stats().free_clusters;
  ASSERT_OK(h_.Run(blob->Resize(10)));
  EXPECT_EQ(blob->num_clusters(), 10u);
  EXPECT_EQ(h_.Stats().free_clusters, free_before - 8);
  // Sequential growth stays one run.
  EXPECT_EQ(blob->extents()->run_count(), 1u);
  std::vector<std::byte> data = Pattern(10 * kCluster, 3);
  ASSERT_OK(h_.Write(blob, 0, data));
  ASSERT_OK(h_.Run(blob->Resize(3)));
  // Released clusters come back only once the shrink is committed.
  EXPECT_EQ(h_.Stats().free_clusters, free_before - 8);
  ASSERT_OK(h_.Run(blob->Sync()));
  EXPECT_EQ(h_.Stats().free_clusters, free_before - 1);
  EXPECT_EQ(ErrCode(h_.Read(blob, 3 * kCluster, 512)), EINVAL);
  ASSERT_OK(h_.Close(blob));

  Reload();
  ASSERT_ASSIGN_OR_FAIL(blob, h_.Open(id));
  EXPECT_EQ(blob->num_clusters(), 3u);
  ASSERT_ASSIGN_OR_FAIL(std::vector<std::byte> back, h_.Read(blob, 0, 3 * kCluster));
  EXPECT_TRUE(SameBytes(back, std::span(data).first(3 * kCluster)));
  EXPECT_EQ(h_.Stats().free_clusters, free_before - 1);
  ASSERT_OK(h_.Close(blob));
}

TEST_P(BlobStoreTest, DeleteIsRefusedWhileOpenAndFreesEverything) {
  const BlobStoreStats empty = h_.Stats();
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.num_clusters = 5, .xattrs = {{"k", "v"}}}));
  const uint64_t id = blob->id();
  EXPECT_EQ(ErrCode(h_.Run(h_.store().DeleteBlob(id))), EBUSY);
  ASSERT_OK(h_.Close(blob));
  ASSERT_OK(h_.Run(h_.store().DeleteBlob(id)));
  EXPECT_EQ(ErrCode(h_.Open(id)), ENOENT);
  EXPECT_EQ(ErrCode(h_.Run(h_.store().DeleteBlob(id))), ENOENT);
  const BlobStoreStats after = h_.Stats();
  EXPECT_EQ(after.free_clusters, empty.free_clusters);
  EXPECT_EQ(after.md_pages_used, 0u);
  EXPECT_EQ(after.blobs, 0u);
  Reload();
  EXPECT_EQ(ErrCode(h_.Open(id)), ENOENT);
  EXPECT_EQ(h_.Stats().free_clusters, empty.free_clusters);
}

TEST_P(BlobStoreTest, ThinBlobReadsZeroesAndAllocatesOnWrite) {
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.num_clusters = 1000, .thin = true}));
  const uint64_t id = blob->id();
  EXPECT_TRUE(blob->thin());
  EXPECT_EQ(blob->extents()->allocated_clusters(), 0u);
  ASSERT_ASSIGN_OR_FAIL(std::vector<std::byte> back, h_.Read(blob, 0, 2 * kCluster));
  EXPECT_TRUE(AllZero(back));
  // Dirty a cluster the store will hand out again, so stale bytes would show.
  std::vector<std::byte> data = Pattern(4096, 9);
  ASSERT_OK(h_.Write(blob, 500 * kCluster + 8192, data));
  EXPECT_EQ(blob->extents()->allocated_clusters(), 1u);
  ASSERT_ASSIGN_OR_FAIL(back, h_.Read(blob, 500 * kCluster, kCluster));
  EXPECT_TRUE(AllZero(std::span(back).first(8192)));
  EXPECT_TRUE(SameBytes(std::span(back).subspan(8192, 4096), data));
  EXPECT_TRUE(AllZero(std::span(back).subspan(8192 + 4096)));
  ASSERT_OK(h_.Close(blob));
  Reload();
  ASSERT_ASSIGN_OR_FAIL(blob, h_.Open(id));
  EXPECT_EQ(blob->extents()->allocated_clusters(), 1u);
  ASSERT_ASSIGN_OR_FAIL(back, h_.Read(blob, 500 * kCluster + 8192, 4096));
  EXPECT_TRUE(SameBytes(back, data));
  // Deallocate punches the cluster out again.
  ASSERT_OK(h_.Run(blob->Deallocate(500, 1)));
  ASSERT_ASSIGN_OR_FAIL(back, h_.Read(blob, 500 * kCluster, kCluster));
  EXPECT_TRUE(AllZero(back));
  ASSERT_OK(h_.Close(blob));
}

TEST_P(BlobStoreTest, SuperBlobIsRecorded) {
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create());
  const uint64_t id = blob->id();
  ASSERT_OK(h_.Close(blob));
  EXPECT_EQ(ErrCode(h_.Run(h_.store().SetSuperBlob(id + 1))), ENOENT);
  ASSERT_OK(h_.Run(h_.store().SetSuperBlob(id)));
  h_.Crash();  // written at once, not at unload
  ASSERT_OK(h_.Load());
  EXPECT_EQ(h_.store().super_blob(), id);
}

TEST_P(BlobStoreTest, DirtyLoadRecoversBlobsAndMasks) {
  std::vector<uint64_t> ids;
  for (int i = 0; i < 20; ++i) {
    ASSERT_ASSIGN_OR_FAIL(Blob * blob,
                          h_.Create({.num_clusters = static_cast<uint64_t>(i % 4),
                                     .xattrs = {{"i", std::to_string(i)},
                                                {"pad", std::string(i * 700, 'p')}}}));
    ids.push_back(blob->id());
    ASSERT_OK(h_.Close(blob));
  }
  ASSERT_OK(h_.Run(h_.store().DeleteBlob(ids[3])));
  ids.erase(ids.begin() + 3);
  const BlobStoreStats before = h_.Stats();
  h_.Crash();
  ASSERT_OK(h_.Load());
  EXPECT_TRUE(h_.store().recovered());
  const BlobStoreStats after = h_.Stats();
  EXPECT_EQ(after.free_clusters, before.free_clusters);
  EXPECT_EQ(after.md_pages_used, before.md_pages_used);
  EXPECT_EQ(after.blobs, before.blobs);
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), ids);
  for (uint64_t id : ids) {
    ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(id));
    EXPECT_TRUE(h_.Run(blob->GetXattr("i")).ok());
    ASSERT_OK(h_.Close(blob));
  }
}

TEST_P(BlobStoreTest, ReadOnlyBlobsRefuseChangesDurably) {
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.num_clusters = 1}));
  const uint64_t id = blob->id();
  std::vector<std::byte> data = Pattern(4096, 1);
  ASSERT_OK(h_.Write(blob, 0, data));
  ASSERT_OK(h_.Run(blob->SetReadOnly()));
  EXPECT_TRUE(blob->read_only());
  EXPECT_EQ(ErrCode(h_.Write(blob, 0, data)), EROFS);
  EXPECT_EQ(ErrCode(h_.Run(blob->WriteZeroes(h_.channel(), 0, 4096))), EROFS);
  EXPECT_EQ(ErrCode(h_.Run(blob->SetXattr("k", "v"))), EROFS);
  EXPECT_EQ(ErrCode(h_.Run(blob->Resize(2))), EROFS);
  ASSERT_OK(h_.Close(blob));
  Reload();
  ASSERT_ASSIGN_OR_FAIL(blob, h_.Open(id));
  EXPECT_TRUE(blob->read_only());
  EXPECT_EQ(ErrCode(h_.Write(blob, 0, data)), EROFS);
  ASSERT_ASSIGN_OR_FAIL(std::vector<std::byte> back, h_.Read(blob, 0, 4096));
  EXPECT_TRUE(SameBytes(back, data));
  ASSERT_OK(h_.Close(blob));
  // A read-only blob can still be deleted.
  ASSERT_OK(h_.Run(h_.store().DeleteBlob(id)));
}

TEST_P(BlobStoreTest, VectoredIoWriteZeroesAndUnmapAcrossClusters) {
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.num_clusters = 3}));
  std::vector<std::byte> a = Pattern(kCluster - 512, 1), b = Pattern(kCluster + 1024, 2);
  const iovec iov[] = {{a.data(), a.size()}, {b.data(), b.size()}};
  ASSERT_OK(h_.Run(blob->Writev(h_.channel(), 512, iov)));
  std::vector<std::byte> x(kCluster), y(kCluster + 512);
  const iovec read_iov[] = {{x.data(), x.size()}, {y.data(), y.size()}};
  ASSERT_OK(h_.Run(blob->Readv(h_.channel(), 0, read_iov)));
  EXPECT_TRUE(AllZero(std::span(x).first(512)));
  EXPECT_TRUE(SameBytes(std::span(x).subspan(512), a));
  EXPECT_TRUE(SameBytes(std::span(y).first(kCluster + 512), std::span(b).first(kCluster + 512)));
  // Zero a range that straddles the boundary between clusters 0 and 1.
  ASSERT_OK(h_.Run(blob->WriteZeroes(h_.channel(), kCluster - 1024, 2048)));
  ASSERT_ASSIGN_OR_FAIL(std::vector<std::byte> back, h_.Read(blob, kCluster - 1024, 2048));
  EXPECT_TRUE(AllZero(back));
  ASSERT_ASSIGN_OR_FAIL(back, h_.Read(blob, kCluster + 1024, 512));
  EXPECT_TRUE(SameBytes(back, std::span(b).subspan(1024, 512)));  // b starts at kCluster
  EXPECT_OK(h_.Run(blob->Unmap(h_.channel(), 0, 3 * kCluster)));
  EXPECT_EQ(blob->extents()->allocated_clusters(), 3u);  // unmap keeps the allocation
  // Misaligned or out-of-range requests are refused whole.
  EXPECT_EQ(ErrCode(h_.Read(blob, 100, 512)), EINVAL);
  EXPECT_EQ(ErrCode(h_.Read(blob, 0, 100)), EINVAL);
  EXPECT_EQ(ErrCode(h_.Read(blob, 3 * kCluster - 512, 1024)), EINVAL);
  EXPECT_EQ(ErrCode(h_.Run(blob->WriteZeroes(h_.channel(), 3 * kCluster, 512))), EINVAL);
  ASSERT_OK(h_.Close(blob));
}

TEST_P(BlobStoreTest, CommitOfSeveralBlobsIsOneTransaction) {
  std::vector<Blob*> blobs;
  for (int i = 0; i < 3; ++i) {
    ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.xattrs = {{"i", std::to_string(i)}}}));
    blobs.push_back(blob);
  }
  ASSERT_OK(h_.Run(blobs[2]->SetXattr("big", std::string(10000, 'b'))));  // a chain of 3 pages
  h_.injector().StartRecording();
  ASSERT_OK(h_.Run(h_.store().Commit(blobs)));
  std::vector<WriteLogEntry> log = h_.injector().TakeWriteLog();
  h_.injector().StopRecording();
  // One transaction in the journal (a descriptor, two chain pages, three roots, the commit
  // block), one flush, then the five pages in place.
  ASSERT_GE(log.size(), 3u);
  EXPECT_EQ(log[0].type, IoType::kWrite);
  EXPECT_EQ(log[0].length, 7 * kPageSize);
  EXPECT_GE(log[0].offset, h_.store().super_block().journal_start * kPageSize);
  EXPECT_EQ(log[1].type, IoType::kFlush);
  uint64_t in_place = 0;
  for (size_t i = 2; i < log.size(); ++i) {
    EXPECT_EQ(log[i].type, IoType::kWrite) << i;
    in_place += log[i].length;
  }
  EXPECT_EQ(in_place, 5 * kPageSize);
  // Nothing is pending any more: closing writes nothing.
  h_.injector().StartRecording();
  for (Blob* blob : blobs) ASSERT_OK(h_.Close(blob));
  EXPECT_TRUE(h_.injector().TakeWriteLog().empty());
}

TEST_P(BlobStoreTest, BlobsReopenedFromTheMetadataCacheShowTheirLatestCommit) {
  // Neighbouring blobs: opening one caches the pages of the others.
  std::vector<uint64_t> ids;
  for (int i = 0; i < 8; ++i) {
    ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.xattrs = {{"v", "0"}}}));
    ids.push_back(blob->id());
    ASSERT_OK(h_.Close(blob));
  }
  for (int round = 1; round <= 3; ++round) {
    for (uint64_t id : ids) {
      ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(id));
      ASSERT_ASSIGN_OR_FAIL(std::string value, h_.Run(blob->GetXattr("v")));
      EXPECT_EQ(value, std::to_string(round - 1));
      // A value that needs a chain of several pages, then one that fits the root again.
      std::string next = std::to_string(round);
      ASSERT_OK(h_.Run(blob->SetXattr("pad", std::string(round == 2 ? 9000 : 10, 'p'))));
      ASSERT_OK(h_.Run(blob->SetXattr("v", next)));
      ASSERT_OK(h_.Close(blob));
    }
  }
  ASSERT_OK(h_.Run(h_.store().DeleteBlob(ids[3])));
  EXPECT_EQ(ErrCode(h_.Open(ids[3])), ENOENT);
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Open(ids[4]));
  ASSERT_ASSIGN_OR_FAIL(std::string pad, h_.Run(blob->GetXattr("pad")));
  EXPECT_EQ(pad.size(), 10u);
  ASSERT_OK(h_.Close(blob));
}

TEST_P(BlobStoreTest, ACommitDeletesOpenBlobsInTheSameTransaction) {
  const BlobStoreStats empty = h_.Stats();
  ASSERT_ASSIGN_OR_FAIL(Blob * kept, h_.Create({.xattrs = {{"k", "v"}}}));
  const uint64_t kept_id = kept->id();
  std::vector<uint64_t> ids;
  std::vector<Blob*> doomed;
  for (int i = 0; i < 3; ++i) {
    ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.num_clusters = 2, .thin = true}));
    ASSERT_OK(h_.Write(blob, 0, Pattern(4096, i)));
    if (i == 1) ASSERT_OK(h_.Run(blob->SetXattr("big", std::string(10000, 'b'))));
    ASSERT_OK(h_.Run(blob->Sync()));
    // Changes since the last commit go with the blob.
    ASSERT_OK(h_.Write(blob, kCluster, Pattern(4096, 9)));
    ids.push_back(blob->id());
    doomed.push_back(blob);
  }
  // A second reference makes a blob undeletable, and nothing is written or deleted.
  ASSERT_ASSIGN_OR_FAIL(Blob * again, h_.Open(ids[0]));
  std::vector<Blob*> none;
  EXPECT_EQ(ErrCode(h_.Run(h_.store().Commit(none, doomed))), EBUSY);
  ASSERT_OK(h_.Close(again));
  ASSERT_OK(h_.Run(kept->SetXattr("k", "w")));
  std::vector<Blob*> commit = {kept};
  h_.injector().StartRecording();
  ASSERT_OK(h_.Run(h_.store().Commit(commit, doomed)));
  std::vector<WriteLogEntry> log = h_.injector().TakeWriteLog();
  h_.injector().StopRecording();
  // One root written and three zeroed, in the journal, then one flush, then in place; the unmaps
  // of the freed clusters after.
  size_t flushes = 0;
  uint64_t written = 0;
  for (const WriteLogEntry& entry : log) {
    if (entry.type == IoType::kWrite) written += entry.length;
    flushes += entry.type == IoType::kFlush;
  }
  EXPECT_EQ(written, (1 + 4 + 1 + 4) * kPageSize);  // descriptor, 4 images, commit; 4 in place
  EXPECT_EQ(flushes, 1u);
  for (uint64_t id : ids) EXPECT_EQ(ErrCode(h_.Open(id)), ENOENT);
  BlobStoreStats stats = h_.Stats();
  EXPECT_EQ(stats.blobs, 1u);
  EXPECT_EQ(stats.md_pages_used, 1u);
  EXPECT_EQ(stats.free_clusters, empty.free_clusters);
  ASSERT_OK(h_.Close(kept));
  Reload();
  EXPECT_EQ(h_.Run(h_.store().ListBlobs()), std::vector<uint64_t>{kept_id});
  // A dirty load finds the same.
  h_.Crash();
  ASSERT_OK(h_.Load({.bstype = "test"}));
  EXPECT_EQ(h_.Stats().blobs, 1u);
  EXPECT_EQ(h_.Stats().free_clusters, empty.free_clusters);
}

TEST_P(BlobStoreTest, AFailedCommitKeepsTheBlobsItWouldDelete) {
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.num_clusters = 1, .xattrs = {{"k", "v"}}}));
  const uint64_t id = blob->id();
  ASSERT_OK(h_.Run(blob->Sync()));
  const BlobStoreStats before = h_.Stats();
  h_.injector().AddRule({.io_types = IoTypeBit(IoType::kWrite), .error = EIO});
  std::vector<Blob*> none;
  std::vector<Blob*> doomed = {blob};
  EXPECT_EQ(ErrCode(h_.Run(h_.store().Commit(none, doomed))), EIO);
  h_.injector().ClearRules();
  // Still open and intact; a later commit deletes it.
  ASSERT_ASSIGN_OR_FAIL(std::string value, h_.Run(blob->GetXattr("k")));
  EXPECT_EQ(value, "v");
  EXPECT_EQ(h_.Stats().free_clusters, before.free_clusters);
  ASSERT_OK(h_.Run(h_.store().Commit(none, doomed)));
  EXPECT_EQ(ErrCode(h_.Open(id)), ENOENT);
  EXPECT_EQ(h_.Stats().free_clusters, before.free_clusters + 1);
}

TEST_P(BlobStoreTest, ACommitMappingNewClustersFlushesTheirDataFirst) {
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create({.num_clusters = 8, .thin = true}));
  ASSERT_OK(h_.Run(blob->Sync()));
  h_.injector().StartRecording();
  ASSERT_OK(h_.Write(blob, 2 * kCluster, Pattern(4096, 5)));
  ASSERT_OK(h_.Run(blob->Sync()));
  std::vector<WriteLogEntry> log = h_.injector().TakeWriteLog();
  h_.injector().StopRecording();
  // Zeroing and data for the new cluster and the root's journal blocks, a flush, then the
  // commit block, a flush, then the root in place.
  ASSERT_GE(log.size(), 5u);
  const size_t n = log.size();
  EXPECT_EQ(log[n - 4].type, IoType::kFlush);
  EXPECT_EQ(log[n - 3].type, IoType::kWrite);
  EXPECT_EQ(log[n - 3].length, kPageSize);  // the commit block
  EXPECT_EQ(log[n - 2].type, IoType::kFlush);
  EXPECT_EQ(log[n - 1].type, IoType::kWrite);
  EXPECT_EQ(log[n - 1].offset, (h_.store().super_block().md_start + *RootOfBlobId(blob->id())) *
                                   kPageSize);
  for (size_t i = 0; i + 4 < n; ++i) EXPECT_NE(log[i].type, IoType::kFlush) << i;
  ASSERT_OK(h_.Close(blob));
}

TEST_P(BlobStoreTest, UnloadIsRefusedWhileABlobIsOpen) {
  ASSERT_ASSIGN_OR_FAIL(Blob * blob, h_.Create());
  EXPECT_EQ(ErrCode(h_.Run(h_.store().Unload())), EBUSY);
  ASSERT_OK(h_.Close(blob));
  ASSERT_OK(h_.Unload());
}

INSTANTIATE_TEST_SUITE_P(Backings, BlobStoreTest,
                         ::testing::Values(Backing::kMalloc, Backing::kUring),
                         [](const ::testing::TestParamInfo<Backing>& param) {
                           return param.param == Backing::kMalloc ? "malloc" : "uring";
                         });

}  // namespace
}  // namespace blobfs
