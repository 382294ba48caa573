// FileData: the bytes of one regular file — inline in its inode blob while small, in the blob's
// clusters otherwise — read and written at any offset through the shared BufferCache.
//
// Contract:
//  - The file is the inode's thin blob. While the file is at most inline_max bytes and has never
//    outgrown it, its bytes are the internal xattr "d" (FORMAT.md, "File data") and it has no
//    clusters; past that, byte i is byte i of the blob, holes read as zeroes and take no space.
//  - The size is FileData's (blobfs copies size() into the inode record). Reads stop at the size;
//    writes past it extend it (EFBIG past kMaxFileSize). Bytes past the size always read as zeroes
//    when the size grows again.
//  - Writes land in cache buffers (dirty) and reach the blob in WriteBack, in contiguous runs;
//    WriteBack also writes or removes the inline xattr and grows the blob. None of it is durable
//    until blobfs commits the blob and flushes. A write that needs clusters the store cannot
//    give (counting other files' reservations) is cut short; with nothing written it is ENOSPC.
//  - Sequential reads read ahead in the background: after a read, TakeReadahead hands out the
//    load of the window past it (growing from 128 KiB to the cache's readahead_max(); topped up
//    once half of it was consumed), which the caller runs as a task of its own, without the
//    inode's data lock.
//    A Read of blocks being loaded waits for that load; every call that changes the file's bytes
//    or buffers (Write, Truncate, Fallocate, WriteBack) first waits for all loads to finish, and
//    Discard must not run during one.
//  - Fallocate modes: 0 and FALLOC_FL_KEEP_SIZE allocate; PUNCH_HOLE (with KEEP_SIZE) deallocates
//    whole clusters and zeroes the rest; ZERO_RANGE (optionally KEEP_SIZE) zeroes and allocates;
//    others are EOPNOTSUPP. Seek does SEEK_DATA / SEEK_HOLE (ENXIO at or past the size).
//  - I/O errors are EIO and leave the cache consistent: a failed write-back keeps its data dirty.
//  - One caller at a time, on the filesystem's reactor (blobfs holds the inode's data lock);
//    readahead tasks run beside that caller.
#ifndef BLOBFS_BLOBFS_FILE_DATA_H_
#define BLOBFS_BLOBFS_FILE_DATA_H_

#include <sys/uio.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "blob/blob.h"
#include "blob/blob_store.h"
#include "blobfs/buffer_cache.h"
#include "common/async_event.h"
#include "common/error.h"
#include "common/read_consumer.h"
#include "common/task.h"

namespace blobfs {

class FileData {
 public:
  static constexpr uint64_t kMaxFileSize = uint64_t{16} << 40;  // 16 TiB.
  static constexpr std::string_view kInlineXattr = "d";

  static Task<Result<std::unique_ptr<FileData>>> Open(BufferCache& cache, BlobChannel& channel,
                                                      Blob& blob, uint64_t size,
                                                      uint32_t inline_max);
  ~FileData();
  FileData(const FileData&) = delete;
  FileData& operator=(const FileData&) = delete;

  uint64_t size() const { return size_; }
  bool is_inline() const { return inline_.has_value(); }
  // Hands `consume` (common/read_consumer.h) the bytes of [offset, offset + length), fewer at the
  // end of the file, where they lie: in the cache's buffers (pinned during the call) or the
  // inline data. Returns their number, or the load's error (`consume` is then not called) or
  // consume's.
  Task<Result<size_t>> ReadInPlace(uint64_t offset, uint64_t length, const ReadConsumer& consume);
  // The readahead the last Read planned, registered as in flight; the caller runs the task (on
  // this reactor, keeping the file alive until it ends). nullopt: none planned.
  std::optional<Task<void>> TakeReadahead();
  Task<Result<size_t>> Write(uint64_t offset, std::span<const iovec> in);
  Task<Status> Truncate(uint64_t new_size);
  Task<Status> Fallocate(int mode, uint64_t offset, uint64_t length);
  Task<Result<uint64_t>> Seek(uint64_t offset, int whence);
  Task<Status> WriteBack();
  bool dirty() const { return inline_dirty_ || dirty_buffers_ > 0; }
  uint64_t allocated_bytes() const;
  // Drops every buffer and reservation without writing (the file is gone or unmounting).
  void Discard();

 private:
  FileData(BufferCache& cache, BlobChannel& channel, Blob& blob, uint64_t size,
           uint32_t inline_max, std::optional<std::string> inline_data);

  using Buffers = std::map<uint64_t, BufferCache::Handle>;

  uint32_t block_size() const { return cache_.block_size(); }
  uint64_t buffer_size() const { return cache_.options().buffer_size; }
  // Pins the buffers that cover [begin, end), creating missing ones (empty).
  std::vector<BufferCache::Handle> PinRange(uint64_t begin, uint64_t end);
  static void Unpin(std::span<const BufferCache::Handle> range);
  // Reads the blocks of [begin, end) not yet valid, each contiguous run (up to 1 MiB) with one
  // request, all requests at once; `range` is PinRange(begin, end). A run that fails leaves its
  // blocks invalid.
  Task<Status> LoadRange(std::span<const BufferCache::Handle> range, uint64_t begin, uint64_t end);
  // Consecutive missing blocks of the file, read with one request.
  struct BlockRun {
    uint64_t offset = 0;      // In the file.
    std::vector<iovec> iov{};  // Their memory; blocks adjacent in memory share an entry.
    std::vector<std::pair<BufferCache::Handle, uint32_t>> blocks{};
  };
  // Reads `run` (zeroes past the blob's end) and marks its blocks valid.
  Task<Status> LoadRun(BlockRun& run);
  struct Range {
    uint64_t begin = 0;
    uint64_t end = 0;
  };
  // Sequential-read detection after a read of [offset, offset + length); may plan a readahead.
  void PlanReadahead(uint64_t offset, uint64_t length);
  bool ReadaheadOverlaps(uint64_t begin, uint64_t end) const;
  Task<void> RunReadahead(Range range);
  // Waits until no readahead is in flight and forgets the window (the file is about to change).
  Task<void> WaitForReadahead();
  // The cached buffer `index`, created (empty) if absent, holding at least `blocks` blocks and
  // every block of it below the size (grown if need be: it must not be pinned then).
  BufferCache::Handle GetBuffer(uint64_t index, uint32_t blocks);
  // How many blocks of buffer `index` lie below the offset `end`.
  uint32_t BlocksBelow(uint64_t index, uint64_t end) const;
  // Where block `block` of `buffer` lies in memory (the buffer must hold it).
  std::byte* BlockMemory(BufferCache::Handle buffer, uint32_t block) const;
  // Blob mode: the size becomes `size`. Every buffer holds all of its blocks below the size, which
  // is what lets reads (and readaheads, beside other calls) never grow one: buffers that a
  // growing size reaches grow here.
  void SetSize(uint64_t size);
  // Makes blocks [first, first + count) of `buffer` valid, reading what the blob holds.
  Task<Status> LoadBlocks(BufferCache::Handle buffer, uint32_t first, uint32_t count);
  // Marks a block dirty, reserving its cluster when the blob has none there yet.
  bool MarkDirty(BufferCache::Handle buffer, uint32_t block);
  void ClearDirty(BufferCache::Handle buffer);
  // Moves inline bytes into buffers: the file lives in clusters from now on.
  Task<Status> LeaveInline();
  // Copies bytes into the file at `offset` through the cache (blob mode); `in` may be null for
  // zeroes. Returns what fit.
  Task<Result<size_t>> WriteThroughCache(uint64_t offset, uint64_t length,
                                         std::span<const iovec> in);
  // Writes back and drops the buffers that overlap [offset, offset + length).
  Task<Status> FlushAndDropRange(uint64_t offset, uint64_t length);
  Task<Status> ZeroRange(uint64_t offset, uint64_t length);
  Task<Status> AllocateRange(uint64_t offset, uint64_t length);
  Task<Status> WriteRun(uint64_t offset, std::span<const iovec> iov);
  bool BlockIsData(uint64_t block) const;

  BufferCache& cache_;
  BlobChannel& channel_;
  Blob& blob_;
  const uint32_t inline_max_;
  uint64_t size_;
  std::optional<std::string> inline_;
  bool inline_dirty_ = false;
  Buffers buffers_;
  uint64_t dirty_buffers_ = 0;
  std::set<uint64_t> reserved_clusters_;
  // Readahead: the current stream of reads, its window, and loads.
  uint64_t stream_end_ = 0;    // The furthest byte the stream read.
  uint64_t stream_bytes_ = 0;  // Bytes it read.
  uint64_t readahead_ = 0;     // Window size.
  uint64_t ahead_end_ = 0;  // End of the window loaded or being loaded ahead.
  std::optional<Range> planned_readahead_;
  std::vector<Range> readaheads_;  // In flight.
  AsyncEvent readahead_done_;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_FILE_DATA_H_
