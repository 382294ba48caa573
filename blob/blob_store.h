// BlobStore: numbered blobs (resizable arrays of clusters with extended attributes) on a bdev, in
// the format of FORMAT.md.
//
// Contract:
//  - Lifecycle. Init formats the bdev and returns the store loaded; Load opens an existing store
//    (clean: reads the masks; dirty: rebuilds them from the metadata region and reports it in
//    recovered()); Unload syncs nothing itself — every blob must be closed (EBUSY otherwise) — and
//    writes the masks and then the super block's clean bit. Destroying a store without Unload is
//    what a crash does to it: the next Load takes the dirty path. A store whose metadata commit
//    ever failed refuses a clean Unload (EIO) so that the next Load rebuilds the masks.
//  - Journal. Every metadata transaction goes through the store's journal (metadata_journal.h):
//    after a crash at any moment, the next Load replays it, so each Commit is there whole or not
//    at all, across every blob it names. A read-only Load replays in memory and writes nothing.
//    A store made without a journal (an older blobfs) loads only read-only (EROFS otherwise).
//  - Refusals at Load: a newer format version or an unknown incompat feature (EOPNOTSUPP), another
//    bstype than asked for (EMEDIUMTYPE), an unknown ro_compat feature without read_only (EROFS), a
//    device smaller than the store or with a larger block size than its io unit (EINVAL), and any
//    corruption (EUCLEAN, the message naming the page and field). A read-only store writes nothing;
//    every change fails with EROFS.
//  - Threads. The reactor that calls Init or Load is the metadata reactor. Every metadata method
//    here and on Blob may be called from any reactor: it runs on the metadata reactor and resumes
//    the caller on its own reactor, so metadata changes are serialized there. Blob data I/O runs on
//    the caller's reactor through its BlobChannel and takes no lock unless it must allocate.
//  - In memory first, then commit. Creating a blob, resizing it and changing its xattrs change
//    memory; Commit (or Blob::Sync, or the last Blob close) writes the blobs' metadata in one
//    MetadataTransaction through the journal. Clusters and pages a blob gives up return to the
//    pools (clusters unmapped first) only after the commit is durable.
//  - Delete is refused with EBUSY while the blob is open (never deferred). It commits at once.
//  - ENOSPC when clusters or metadata pages run out, with nothing half-allocated left behind.
//  - The store owns its Blob objects; pointers stay valid until the last Close of that blob.
#ifndef BLOBFS_BLOB_BLOB_STORE_H_
#define BLOBFS_BLOB_BLOB_STORE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "glog/logging.h"
#include "bdev/bdev.h"
#include "blob/blob.h"
#include "blob/blob_channel.h"
#include "blob/cluster_allocator.h"
#include "blob/format/super_block.h"
#include "blob/metadata_journal.h"
#include "blob/metadata_page_cache.h"
#include "blob/metadata_space.h"
#include "blob/metadata_transaction.h"
#include "common/aligned_buffer.h"
#include "common/async_event.h"
#include "common/error.h"
#include "common/reactor.h"
#include "common/run_on.h"
#include "common/task.h"

namespace blobfs {

struct BlobStoreInitOptions {
  // A power of two from 4 KiB to 1 GiB, and at least the bdev's block size.
  uint32_t cluster_size = 1 << 20;
  // Pages of the metadata region (each blob takes at least one). 0 picks one per cluster of the
  // device, at least 64 and at most what a quarter of the device holds.
  uint64_t md_pages = 0;
  // A label of the store's user, at most 16 bytes; Load can insist on it.
  std::string bstype{};
  // Unmap the data area (the metadata region and the journal are always zeroed).
  bool trim = true;
  // Pages of the journal; 0 picks 1/64 of the device, from 256 pages (64 on devices under 8 MiB)
  // to 8192 (32 MiB).
  uint64_t journal_pages = 0;
};

struct BlobStoreLoadOptions {
  // Empty accepts any store; otherwise the store's bstype must match.
  std::string bstype{};
  bool read_only = false;
  // For fsck: rebuild the masks from the metadata region whatever the clean bit says, so every
  // chain is parsed and every cluster claimed once, and when the store is clean compare them with
  // the masks on disk (mask_differences()). Read-write, the rebuilt masks are the ones the unload
  // writes: leaked pages, ids and clusters come back.
  bool verify = false;
};

struct BlobStoreStats {
  uint32_t cluster_size = 0;
  uint32_t io_unit_size = 0;
  uint64_t total_clusters = 0;
  uint64_t free_clusters = 0;
  // Of total_clusters, those the store's own structures hold (super block, masks, metadata
  // region, journal): never data.
  uint64_t metadata_clusters = 0;
  uint64_t md_pages = 0;
  uint64_t md_pages_used = 0;
  uint64_t blobs = 0;
  uint64_t open_blobs = 0;
};

struct BlobCreateOptions {
  uint64_t num_clusters = 0;
  // Thin blobs allocate a cluster on its first write; reads of unallocated clusters return zeroes.
  bool thin = false;
  std::map<std::string, std::string> xattrs{};
  std::map<std::string, std::string> internal_xattrs{};
};

// Metadata pages the store keeps cached (32 MiB), and the aligned window one cache miss reads.
inline constexpr size_t kMetadataCachePages = 8192;
inline constexpr uint32_t kMetadataReadWindowPages = 16;

class BlobStore {
 public:
  static Task<Result<std::unique_ptr<BlobStore>>> Init(std::unique_ptr<BdevDescriptor> device,
                                                       BlobStoreInitOptions options);
  static Task<Result<std::unique_ptr<BlobStore>>> Load(std::unique_ptr<BdevDescriptor> device,
                                                       BlobStoreLoadOptions options);
  // On the metadata reactor's thread (in a task, or after RunSync returned), with no I/O of the
  // store in flight.
  ~BlobStore();
  BlobStore(const BlobStore&) = delete;
  BlobStore& operator=(const BlobStore&) = delete;

  Task<Status> Unload();

  const SuperBlock& super_block() const { return super_; }
  uint32_t cluster_size() const { return super_.cluster_size; }
  uint32_t io_unit_size() const { return super_.io_unit_size; }
  bool read_only() const { return read_only_; }
  // True when Load rebuilt the masks from the metadata region (the store was not clean).
  bool recovered() const { return recovered_; }
  // After a verifying load of a clean store: each way the masks on disk differ from what the
  // metadata region says (clusters, pages or ids marked used that no blob holds, or held but
  // marked free), one line each. Empty when they agree or the store was not clean.
  const std::vector<std::string>& mask_differences() const { return mask_differences_; }
  Reactor& metadata_reactor() { return *md_reactor_; }
  // Journal transactions the Load replayed (in memory only, when read-only).
  uint64_t journal_transactions_replayed() const { return journal_replayed_; }
  // The most pages (a blob root each, committed or deleted, its chain pages, journaled data
  // pages) one Commit makes durable atomically; a larger Commit writes its chain pages in place
  // first, and one whose roots and data pages alone are more is written as several atomic parts.
  // Constant for a loaded store; 0 for a read-only one.
  uint64_t max_atomic_commit_pages() const;

  Task<BlobStoreStats> GetStats();
  // Metadata pages not in use. On the metadata reactor only.
  uint64_t free_md_pages() const { return md_space_.pages() - md_space_.used_pages(); }

  // A channel for blob data I/O on the calling reactor.
  Result<std::unique_ptr<BlobChannel>> OpenChannel();

  // A new blob, open (closing it commits it). ENOSPC when its clusters or its root page cannot be
  // had; EINVAL for bad xattr names or values.
  Task<Result<Blob*>> CreateBlob(BlobCreateOptions options);
  // The open blob, or loads it. ENOENT for an id no blob has; EOPNOTSUPP for a blob with a flag
  // this build does not know in invalid_flags.
  Task<Result<Blob*>> OpenBlob(uint64_t blob_id);
  // Drops one reference; the last one commits the blob's pending changes first (when that fails,
  // the reference is kept and the error returned, so the caller can retry).
  Task<Status> CloseBlob(Blob* blob);
  // EBUSY when open, ENOENT when no such blob.
  Task<Status> DeleteBlob(uint64_t blob_id);
  // The ids of all blobs, ascending.
  Task<std::vector<uint64_t>> ListBlobs();

  // An overwrite of blob data that must be atomic with a commit (a directory block): `bytes` (whole
  // pages, kept alive by the caller until Commit returns) at `offset` (a multiple of the page
  // size) of `blob`, whose clusters there must be mapped.
  struct JournaledWrite {
    Blob* blob;
    uint64_t offset;
    std::span<const std::byte> bytes;
  };

  // Writes the pending changes of all `blobs` and deletes the `deletions` in one transaction,
  // with the `data` overwrites (blobs named there must be in `blobs`); EINVAL for data outside
  // mapped clusters.
  // Each blob to delete must be open by its caller alone, with no write in flight, and not be
  // the super blob (EBUSY otherwise); its uncommitted changes are dropped with it. On success the deleted blobs are closed
  // and gone (their pointers dangle); on failure they stay open as they were.
  Task<Status> Commit(std::span<Blob* const> blobs, std::span<Blob* const> deletions = {},
                      std::span<const JournaledWrite> data = {});

  // The super blob: one blob id the store's user finds its way in by (kNoBlobId for none).
  uint64_t super_blob() const { return super_.super_blob; }
  // Records it in the super block at once (ENOENT unless the blob exists or it is kNoBlobId).
  Task<Status> SetSuperBlob(uint64_t blob_id);

 private:
  friend class Blob;
  BlobStore(std::unique_ptr<BdevDescriptor> device, Reactor& md_reactor);

  // Runs `body` on the metadata reactor and resumes the caller on its own reactor.
  template <typename T>
  Task<T> OnMetadataReactor(Task<T> body);

  static Task<Result<std::unique_ptr<BlobStore>>> DoInit(std::unique_ptr<BdevDescriptor> device,
                                                         BlobStoreInitOptions options);
  static Task<Result<std::unique_ptr<BlobStore>>> DoLoad(std::unique_ptr<BdevDescriptor> device,
                                                         BlobStoreLoadOptions options);
  struct DiskMasks {
    BitArray pages;
    BitArray ids;
    BitArray clusters;
  };
  // Reads and decodes the three masks of a clean store.
  Task<Result<DiskMasks>> ReadMasks();
  Task<Status> LoadMasks();
  // Fills mask_differences_ from the masks on disk and the ones the scan rebuilt.
  Task<Status> CompareMasksWithDisk();
  Task<Status> RecoverFromMetadataRegion();
  // Finds the journal's transactions to replay and either writes them in place and flushes
  // (read-write) or keeps them as read_overlay_ (read-only); then, read-write, starts the
  // journal. Replaces super_ by the journal's newer super block, if any.
  Task<Status> ReplayJournal();
  // Page 0 from the journal, for a super block that failed to decode (`page`, `decode_error`)
  // but whose first sector says where the journal is; `decode_error` when it holds none.
  Task<Result<AlignedBuffer>> SuperBlockFromJournal(std::span<const std::byte> page,
                                                    Error decode_error);
  Task<Result<AlignedBuffer>> ReadJournalArea(uint64_t start, uint64_t length);
  // A blob read of [offset, offset + length) through `map` into `iov`, just done from the disk:
  // puts read_overlay_'s pages in (data pages a read-only load replayed in memory).
  void PatchFromReadOverlay(const ExtentMap& map, uint64_t offset, uint64_t length,
                            std::span<const iovec> iov) const;
  // Reads `count` device pages from `device_page` into a page-aligned buffer, with the pages of
  // read_overlay_ in place of the disk's.
  Task<Result<AlignedBuffer>> ReadPages(uint64_t device_page, uint64_t count);
  // Page `index` of the metadata region, from the cache or read with its window of neighbours.
  Task<Result<AlignedBuffer>> ReadMetadataPage(uint32_t index);
  // Marks the pages, id and clusters of one valid chain found by the dirty load.
  Status ClaimRecoveredBlob(const BlobMetadata& metadata, std::span<const uint32_t> chain);
  // Writes the super block with `super_` as it is now, as a commit point.
  Task<Status> WriteSuperBlock();

  Task<Result<Blob*>> DoCreateBlob(BlobCreateOptions options);
  Task<Result<Blob*>> DoOpenBlob(uint64_t blob_id);
  Task<Status> DoCloseBlob(Blob* blob);
  Task<Status> DoDeleteBlob(uint64_t blob_id);
  Task<Status> DoCommit(std::vector<Blob*> blobs, std::vector<Blob*> deletions,
                        std::span<const JournaledWrite> data = {});
  // Adds the `data` overwrites to `transaction` as commit points at their device pages.
  Status AddJournaledData(std::span<const JournaledWrite> data, MetadataTransaction& transaction);
  // EBUSY, EROFS or EUCLEAN unless `blob` can be deleted by a commit.
  Status CheckDeletable(const Blob& blob) const;
  // Adds `blob`'s deletion to `transaction`: its root zeroed, its clusters unmapped and, once
  // durable, its clusters, pages and id released.
  void AddDeletion(Blob& blob, MetadataTransaction& transaction);
  Task<Status> DoUnload();

  // Reads and parses the chain of `blob_id` from disk, with the indices of its pages.
  Task<Result<std::pair<BlobMetadata, std::vector<uint32_t>>>> ReadChain(uint64_t blob_id);
  // Checks that every cluster of `extents` is marked used (the masks of a clean load are trusted
  // only so far).
  Status CheckClustersClaimed(uint64_t blob_id, const std::vector<ExtentRun>& extents) const;
  // Returns clusters a blob gave up to the allocator. Clusters already free (claimed twice on
  // disk) are left alone and mark the store for recovery instead of failing a CHECK.
  void ReleaseClusters(ClusterRun run);
  // Commits `transaction` through the metadata channel; a failure marks the store for recovery.
  Task<Status> CommitTransaction(MetadataTransaction& transaction);

  // A write that meets unmapped clusters (thin provisioning), on the metadata reactor. Allocates
  // the clusters of [offset, offset + IovLength(iov)) that are unmapped and not being allocated
  // (waiting for those that are), zeroes the parts of new clusters the write does not cover,
  // writes the whole request, and only then publishes the new mappings. Returns false, having
  // written nothing, when every cluster of the range is mapped by then.
  Task<Result<bool>> WriteAllocating(Blob& blob, uint64_t offset, std::span<const iovec> iov);

  Status CheckWritable() const;

  std::unique_ptr<BdevDescriptor> device_;
  Reactor* md_reactor_;
  std::unique_ptr<BdevChannel> md_channel_;
  SuperBlock super_;
  std::unique_ptr<MetadataJournal> journal_;  // Read-write stores only.
  uint64_t journal_replayed_ = 0;
  // A read-only load's replay: device page → the committed image the disk does not hold yet.
  std::map<uint64_t, AlignedBuffer> read_overlay_;
  bool read_only_ = false;
  bool recovered_ = false;
  std::vector<std::string> mask_differences_;
  bool commit_failed_ = false;
  std::unique_ptr<ClusterAllocator> clusters_;
  MetadataSpace md_space_;
  MetadataPageCache md_cache_{kMetadataCachePages};
  // Open blobs by id.
  absl::flat_hash_map<uint64_t, std::unique_ptr<Blob>> open_blobs_;
  // Ids being loaded by OpenBlob or removed by DeleteBlob, with an event set when that ends.
  absl::flat_hash_map<uint64_t, std::shared_ptr<AsyncEvent>> busy_ids_;
};

template <typename T>
Task<T> BlobStore::OnMetadataReactor(Task<T> body) {
  return RunOn(*md_reactor_, std::move(body));
}

}  // namespace blobfs

#endif  // BLOBFS_BLOB_BLOB_STORE_H_
