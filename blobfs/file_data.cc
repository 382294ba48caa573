#include "blobfs/file_data.h"

#include <fcntl.h>
#include <linux/falloc.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "common/iov.h"
#include "common/rounding.h"
#include "common/when_all.h"

namespace blobfs {
namespace {

// Sequential reads start reading ahead once this much was read in a row.
constexpr uint64_t kReadaheadStart = 128 << 10;
// A read or write-back request carries at most this much: 256 blocks of 4 KiB, at most one
// buffer each, well under the kernel's IOV_MAX of 1024 buffers.
constexpr uint64_t kMaxWriteRun = 1 << 20;

// Adds `length` bytes at `memory` to the end of `run`, extending its last buffer when `memory`
// follows it: the kernel pins a buffer's pages in one call, and a call per 4 KiB page is costly
// (interrupts are masked and unmasked around each, a trap on some hypervisors).
void AppendToRun(std::vector<iovec>& run, std::byte* memory, size_t length) {
  if (!run.empty() && static_cast<std::byte*>(run.back().iov_base) + run.back().iov_len == memory) {
    run.back().iov_len += length;
  } else {
    run.push_back({memory, length});
  }
}

// Copies `length` bytes between `iov` (starting `iov_offset` bytes in) and `flat`.
void CopyFromIov(std::span<const iovec> iov, uint64_t iov_offset, std::byte* flat,
                 uint64_t length) {
  IovecList part;
  IovSlice(iov, iov_offset, length, part);
  IovCopyToBuffer(part, flat, length);
}

// Pins a buffer for the life of a scope that awaits.
class PinnedBuffer {
 public:
  explicit PinnedBuffer(BufferCache::Handle buffer) : buffer_(buffer) { ++buffer_->pins; }
  ~PinnedBuffer() { --buffer_->pins; }
  PinnedBuffer(const PinnedBuffer&) = delete;
  PinnedBuffer& operator=(const PinnedBuffer&) = delete;

 private:
  BufferCache::Handle buffer_;
};

}  // namespace

Task<Result<std::unique_ptr<FileData>>> FileData::Open(BufferCache& cache, BlobChannel& channel,
                                                       Blob& blob, uint64_t size,
                                                       uint32_t inline_max) {
  std::optional<std::string> inline_data;
  Result<std::string> stored =
      co_await blob.GetXattr(std::string(kInlineXattr), XattrKind::kInternal);
  if (stored.ok()) {
    if (stored->size() > size || size > inline_max) {
      co_return MakeError(EUCLEAN, "inode 0x%x: %d inline bytes for a size of %d (inline_max %d)",
                          blob.id(), stored->size(), size, inline_max);
    }
    inline_data = std::move(*stored);
    inline_data->resize(size, '\0');
  } else if (stored.error().code() != ENOENT) {
    co_return stored.error();
  } else if (size == 0 && blob.num_clusters() == 0 && inline_max > 0) {
    inline_data.emplace();  // A new file starts inline.
  }
  co_return std::unique_ptr<FileData>(
      new FileData(cache, channel, blob, size, inline_max, std::move(inline_data)));
}

FileData::FileData(BufferCache& cache, BlobChannel& channel, Blob& blob, uint64_t size,
                   uint32_t inline_max, std::optional<std::string> inline_data)
    : cache_(cache),
      channel_(channel),
      blob_(blob),
      inline_max_(inline_max),
      size_(size),
      inline_(std::move(inline_data)) {}

FileData::~FileData() { Discard(); }

void FileData::Discard() {
  CHECK(readaheads_.empty()) << "buffers discarded under a readahead";
  for (auto& [index, buffer] : buffers_) cache_.Free(buffer);
  buffers_.clear();
  dirty_buffers_ = 0;
  cache_.Unreserve(reserved_clusters_.size() * cache_.cluster_size());
  reserved_clusters_.clear();
  inline_dirty_ = false;
}

uint64_t FileData::allocated_bytes() const {
  return (blob_.extents()->allocated_clusters() + reserved_clusters_.size()) *
         cache_.cluster_size();
}

uint32_t FileData::BlocksBelow(uint64_t index, uint64_t end) const {
  const uint64_t base = index * buffer_size();
  if (end <= base) return 0;
  return static_cast<uint32_t>(std::min<uint64_t>(cache_.blocks_per_buffer(),
                                                   DivideRoundingUp(end - base, block_size())));
}

std::byte* FileData::BlockMemory(BufferCache::Handle buffer, uint32_t block) const {
  DCHECK_LT(block, buffer->blocks) << "block past the buffer's memory";
  return buffer->memory + uint64_t{block} * block_size();
}

BufferCache::Handle FileData::GetBuffer(uint64_t index, uint32_t blocks) {
  blocks = std::max({blocks, BlocksBelow(index, size_), uint32_t{1}});
  if (auto it = buffers_.find(index); it != buffers_.end()) {
    cache_.Grow(it->second, blocks);
    cache_.Touch(it->second);
    return it->second;
  }
  BufferCache::Handle buffer =
      cache_.Allocate(this, index, blocks, [this, index] { buffers_.erase(index); });
  buffers_.emplace(index, buffer);
  return buffer;
}

void FileData::SetSize(uint64_t size) {
  if (size > size_) {
    for (auto it = buffers_.lower_bound(size_ / buffer_size());
         it != buffers_.end() && it->first * buffer_size() < size; ++it) {
      cache_.Grow(it->second, BlocksBelow(it->first, size));
    }
  }
  size_ = size;
}

Task<Status> FileData::LoadBlocks(BufferCache::Handle buffer, uint32_t first, uint32_t count) {
  const uint64_t base = buffer->index * buffer_size();
  uint32_t block = first;
  while (block < first + count) {
    if ((buffer->valid >> block & 1) != 0) {
      ++block;
      continue;
    }
    uint32_t run_end = block;
    while (run_end < first + count && (buffer->valid >> run_end & 1) == 0) ++run_end;
    uint64_t offset = base + uint64_t{block} * block_size();
    uint64_t length = uint64_t{run_end - block} * block_size();
    std::byte* target = BlockMemory(buffer, block);
    DCHECK_LE(run_end, buffer->blocks);
    uint64_t blob_end = blob_.size_bytes();
    uint64_t readable = offset >= blob_end ? 0 : std::min(length, blob_end - offset);
    if (readable > 0) {
      CO_RETURN_IF_ERROR(co_await blob_.Read(channel_, offset, std::span(target, readable)));
    }
    std::memset(target + readable, 0, length - readable);
    for (uint32_t b = block; b < run_end; ++b) buffer->valid |= 1u << b;
    block = run_end;
  }
  co_return Status();
}

bool FileData::MarkDirty(BufferCache::Handle buffer, uint32_t block) {
  if ((buffer->dirty >> block & 1) != 0) return true;
  uint64_t cluster = (buffer->index * buffer_size() + uint64_t{block} * block_size()) /
                     cache_.cluster_size();
  if (!reserved_clusters_.contains(cluster) && !blob_.extents()->Lookup(cluster).has_value()) {
    if (!cache_.Reserve(cache_.cluster_size())) return false;
    reserved_clusters_.insert(cluster);
  }
  if (buffer->dirty == 0) ++dirty_buffers_;
  buffer->dirty |= 1u << block;
  return true;
}

void FileData::ClearDirty(BufferCache::Handle buffer) {
  if (buffer->dirty != 0) --dirty_buffers_;
  buffer->dirty = 0;
}

std::vector<BufferCache::Handle> FileData::PinRange(uint64_t begin, uint64_t end) {
  std::vector<BufferCache::Handle> range;
  for (uint64_t index = begin / buffer_size(); index <= (end - 1) / buffer_size(); ++index) {
    range.push_back(GetBuffer(index, BlocksBelow(index, end)));
    ++range.back()->pins;
  }
  return range;
}

void FileData::Unpin(std::span<const BufferCache::Handle> range) {
  for (BufferCache::Handle buffer : range) --buffer->pins;
}

Task<Status> FileData::LoadRun(BlockRun& run) {
  const uint64_t run_length = uint64_t{run.blocks.size()} * block_size();
  const uint64_t blob_end = blob_.size_bytes();
  uint64_t readable = run.offset >= blob_end ? 0 : std::min(run_length, blob_end - run.offset);
  readable = readable / block_size() * block_size();
  if (readable > 0) {
    IovecList head;
    IovSlice(run.iov, 0, readable, head);
    CO_RETURN_IF_ERROR(co_await blob_.Readv(channel_, run.offset, head));
  }
  if (readable < run_length) {
    IovecList tail;
    IovSlice(run.iov, readable, run_length - readable, tail);
    IovZero(tail, run_length - readable);
  }
  for (auto& [buffer, block] : run.blocks) buffer->valid |= 1u << block;
  co_return Status();
}

Task<Status> FileData::LoadRange(std::span<const BufferCache::Handle> range, uint64_t begin,
                                 uint64_t end) {
  const uint64_t first_index = begin / buffer_size();
  std::vector<BlockRun> runs;
  bool extending = false;  // The last block looked at was missing (runs.back() ends there).
  const uint64_t end_block = DivideRoundingUp(end, block_size());
  for (uint64_t file_block = begin / block_size(); file_block < end_block; ++file_block) {
    BufferCache::Handle buffer = range[file_block * block_size() / buffer_size() - first_index];
    uint32_t block = static_cast<uint32_t>(file_block % cache_.blocks_per_buffer());
    if ((buffer->valid >> block & 1) != 0) {
      extending = false;
      continue;
    }
    if (!extending || uint64_t{runs.back().blocks.size()} * block_size() >= kMaxWriteRun) {
      runs.push_back(BlockRun{.offset = file_block * block_size()});
      extending = true;
    }
    AppendToRun(runs.back().iov, BlockMemory(buffer, block), block_size());
    runs.back().blocks.emplace_back(buffer, block);
  }
  if (runs.empty()) co_return Status();
  if (runs.size() == 1) co_return co_await LoadRun(runs.front());
  // All at once: the device gets a deeper queue than one request at a time.
  std::vector<Task<Status>> loads;
  loads.reserve(runs.size());
  for (BlockRun& run : runs) loads.push_back(LoadRun(run));
  co_return co_await WhenAll(std::move(loads));
}

Task<Result<size_t>> FileData::ReadInPlace(uint64_t offset, uint64_t length,
                                           const ReadConsumer& consume) {
  length = offset >= size_ ? 0 : std::min(length, size_ - offset);
  if (length == 0) {
    CO_RETURN_IF_ERROR(consume({}));
    co_return size_t{0};
  }
  if (inline_.has_value()) {
    const iovec piece{inline_->data() + offset, length};
    CO_RETURN_IF_ERROR(consume(std::span(&piece, 1)));
    co_return static_cast<size_t>(length);
  }
  // Blocks a readahead is loading arrive with it.
  while (ReadaheadOverlaps(offset, offset + length)) {
    readahead_done_.Reset();
    co_await readahead_done_.Wait();
  }
  std::vector<BufferCache::Handle> range = PinRange(offset, offset + length);
  Status status = co_await LoadRange(range, offset, offset + length);
  if (status.ok()) {
    const uint64_t first_index = offset / buffer_size();
    std::vector<iovec> pieces;
    for (uint64_t at = offset; at < offset + length;) {
      BufferCache::Handle buffer = range[at / buffer_size() - first_index];
      const uint64_t within = at % buffer_size();
      const uint64_t take = std::min(offset + length - at, buffer_size() - within);
      DCHECK_LE(within + take, uint64_t{buffer->blocks} * block_size());
      AppendToRun(pieces, buffer->memory + within, take);
      at += take;
    }
    status = consume(pieces);
  }
  Unpin(range);
  CO_RETURN_IF_ERROR(status);
  PlanReadahead(offset, length);
  co_return static_cast<size_t>(length);
}

void FileData::PlanReadahead(uint64_t offset, uint64_t length) {
  const uint64_t end = offset + length;
  const uint64_t window_max = cache_.readahead_max();
  // A stream's reads land near the furthest point it reached (the kernel sends several of them
  // at once, so they may arrive out of order); any other read starts a new stream.
  if (offset + window_max >= stream_end_ && offset <= stream_end_ + window_max) {
    stream_bytes_ += length;
    stream_end_ = std::max(stream_end_, end);
  } else {
    stream_bytes_ = length;
    stream_end_ = end;
    readahead_ = 0;
    ahead_end_ = 0;
  }
  if (stream_bytes_ < kReadaheadStart) return;
  readahead_ = std::min<uint64_t>(std::max(readahead_ * 2, kReadaheadStart), window_max);
  // The window past the stream's end is topped up once half of it was consumed, so that each
  // load is large and the device never idles while the caller consumes.
  const uint64_t want_end = std::min(size_, stream_end_ + readahead_);
  const uint64_t from = std::max(ahead_end_, stream_end_);
  if (want_end > from && (want_end - from >= readahead_ / 2 || want_end == size_)) {
    planned_readahead_ = Range{.begin = from, .end = want_end};
    ahead_end_ = want_end;
  }
}

bool FileData::ReadaheadOverlaps(uint64_t begin, uint64_t end) const {
  for (const Range& load : readaheads_) {
    if (load.begin < end && begin < load.end) return true;
  }
  return false;
}

std::optional<Task<void>> FileData::TakeReadahead() {
  if (!planned_readahead_.has_value()) return std::nullopt;
  const Range range = *planned_readahead_;
  planned_readahead_.reset();
  readaheads_.push_back(range);
  return RunReadahead(range);
}

Task<void> FileData::RunReadahead(Range range) {
  std::vector<BufferCache::Handle> pinned = PinRange(range.begin, range.end);
  // A failed load leaves its blocks invalid: the Read that needs them loads them again and
  // reports the error.
  (void)co_await LoadRange(pinned, range.begin, range.end);
  Unpin(pinned);
  auto it = std::find_if(readaheads_.begin(), readaheads_.end(), [&](const Range& load) {
    return load.begin == range.begin && load.end == range.end;
  });
  readaheads_.erase(it);
  readahead_done_.Set();
}

Task<void> FileData::WaitForReadahead() {
  planned_readahead_.reset();
  ahead_end_ = 0;
  while (!readaheads_.empty()) {
    readahead_done_.Reset();
    co_await readahead_done_.Wait();
  }
}

Task<Result<size_t>> FileData::WriteThroughCache(uint64_t offset, uint64_t length,
                                                 std::span<const iovec> in) {
  uint64_t done = 0;
  while (done < length) {
    uint64_t at = offset + done;
    uint64_t index = at / buffer_size();
    uint64_t within = at % buffer_size();
    uint64_t take = std::min(length - done, buffer_size() - within);
    uint32_t first = static_cast<uint32_t>(within / block_size());
    uint32_t last = static_cast<uint32_t>((within + take - 1) / block_size());
    BufferCache::Handle buffer = GetBuffer(index, last + 1);
    PinnedBuffer pin(buffer);
    // Edge blocks the write covers only in part keep their other bytes.
    if (within % block_size() != 0) CO_RETURN_IF_ERROR(co_await LoadBlocks(buffer, first, 1));
    if ((within + take) % block_size() != 0) {
      CO_RETURN_IF_ERROR(co_await LoadBlocks(buffer, last, 1));
    }
    uint32_t accepted = first;
    while (accepted <= last && MarkDirty(buffer, accepted)) ++accepted;
    if (accepted <= last) {
      // Out of space at block `accepted`: keep what went in before it.
      uint64_t fits = accepted == first ? 0 : uint64_t{accepted} * block_size() - within;
      take = std::min(take, fits);
    }
    if (take > 0) {
      std::byte* target = BlockMemory(buffer, first) + within % block_size();
      if (in.empty()) {
        std::memset(target, 0, take);
      } else {
        CopyFromIov(in, done, target, take);
      }
      for (uint32_t b = first; b < accepted; ++b) buffer->valid |= 1u << b;
    }
    done += take;
    if (accepted <= last) break;
  }
  co_return static_cast<size_t>(done);
}

Task<Status> FileData::LeaveInline() {
  std::string content = std::move(*inline_);
  inline_.reset();
  inline_dirty_ = true;
  if (content.empty()) co_return Status();
  co_await cache_.RefreshFreeSpace();
  iovec iov{content.data(), content.size()};
  CO_ASSIGN_OR_RETURN(size_t moved,
                      co_await WriteThroughCache(0, content.size(), std::span(&iov, 1)));
  if (moved < content.size()) {
    Discard();
    inline_ = std::move(content);
    co_return MakeError(ENOSPC, "no space to move inode 0x%x's %d bytes out of line", blob_.id(),
                        inline_->size());
  }
  co_return Status();
}

Task<Result<size_t>> FileData::Write(uint64_t offset, std::span<const iovec> in) {
  co_await WaitForReadahead();
  uint64_t length = IovLength(in);
  if (length == 0) co_return size_t{0};
  if (offset >= kMaxFileSize) {
    co_return MakeError(EFBIG, "write at %d is past the largest file (%d bytes)", offset,
                        kMaxFileSize);
  }
  length = std::min(length, kMaxFileSize - offset);
  if (inline_.has_value()) {
    if (offset + length <= inline_max_) {
      if (inline_->size() < offset + length) inline_->resize(offset + length, '\0');
      CopyFromIov(in, 0, reinterpret_cast<std::byte*>(inline_->data()) + offset, length);
      size_ = std::max(size_, offset + length);
      inline_dirty_ = true;
      co_return static_cast<size_t>(length);
    }
    CO_RETURN_IF_ERROR(co_await LeaveInline());
  }
  co_await cache_.RefreshFreeSpace();
  CO_ASSIGN_OR_RETURN(size_t written, co_await WriteThroughCache(offset, length, in));
  if (written == 0) co_return MakeError(ENOSPC, "no space left for inode 0x%x", blob_.id());
  SetSize(std::max<uint64_t>(size_, offset + written));
  if (cache_.over_capacity()) CO_RETURN_IF_ERROR(co_await WriteBack());
  co_return written;
}

Task<Status> FileData::WriteRun(uint64_t offset, std::span<const iovec> iov) {
  co_return co_await blob_.Writev(channel_, offset, iov);
}

Task<Status> FileData::WriteBack() {
  co_await WaitForReadahead();
  if (inline_dirty_) {
    if (inline_.has_value()) {
      CO_RETURN_IF_ERROR(co_await blob_.SetXattr(std::string(kInlineXattr), *inline_,
                                                 XattrKind::kInternal));
    } else {
      Status removed = co_await blob_.RemoveXattr(std::string(kInlineXattr), XattrKind::kInternal);
      if (!removed.ok() && removed.error().code() != ENOENT) co_return removed;
    }
    inline_dirty_ = false;
  }
  if (dirty_buffers_ == 0) co_return Status();
  uint64_t clusters = DivideRoundingUp(size_, cache_.cluster_size());
  if (blob_.num_clusters() < clusters) CO_RETURN_IF_ERROR(co_await blob_.Resize(clusters));

  // Runs of contiguous dirty blocks, across buffers, each one Writev.
  std::vector<BufferCache::Handle> pinned;
  for (auto& [index, buffer] : buffers_) {
    if (buffer->dirty != 0) {
      pinned.push_back(buffer);
      ++buffer->pins;
    }
  }
  Status status;
  std::vector<iovec> run;
  uint64_t run_offset = 0;
  std::vector<std::pair<BufferCache::Handle, uint32_t>> run_blocks;
  auto flush_run = [&]() -> Task<Status> {
    if (run.empty()) co_return Status();
    CO_RETURN_IF_ERROR(co_await WriteRun(run_offset, run));
    for (auto& [buffer, block] : run_blocks) {
      buffer->dirty &= ~(1u << block);
      if (buffer->dirty == 0) --dirty_buffers_;
    }
    run.clear();
    run_blocks.clear();
    co_return Status();
  };
  uint64_t blob_end = blob_.size_bytes();
  for (BufferCache::Handle buffer : pinned) {
    for (uint32_t block = 0; status.ok() && block < cache_.blocks_per_buffer(); ++block) {
      if ((buffer->dirty >> block & 1) == 0) continue;
      uint64_t offset = buffer->index * buffer_size() + uint64_t{block} * block_size();
      if (offset >= blob_end) {
        // Past the size after a truncate: nothing to keep.
        buffer->dirty &= ~(1u << block);
        if (buffer->dirty == 0) --dirty_buffers_;
        continue;
      }
      const uint64_t run_length = uint64_t{run_blocks.size()} * block_size();
      bool continues = !run.empty() && offset == run_offset + run_length;
      if (!continues || run_length >= kMaxWriteRun) {
        status = co_await flush_run();
        if (!status.ok()) break;
      }
      if (run.empty()) run_offset = offset;
      AppendToRun(run, BlockMemory(buffer, block), block_size());
      run_blocks.emplace_back(buffer, block);
    }
  }
  if (status.ok()) status = co_await flush_run();
  for (BufferCache::Handle buffer : pinned) --buffer->pins;
  // Clusters now mapped no longer need their reservation.
  auto extents = blob_.extents();
  for (auto it = reserved_clusters_.begin(); it != reserved_clusters_.end();) {
    if (extents->Lookup(*it).has_value()) {
      cache_.Unreserve(cache_.cluster_size());
      it = reserved_clusters_.erase(it);
    } else {
      ++it;
    }
  }
  co_return status;
}

Task<Status> FileData::FlushAndDropRange(uint64_t offset, uint64_t length) {
  CO_RETURN_IF_ERROR(co_await WriteBack());
  uint64_t first = offset / buffer_size();
  uint64_t last = (offset + length - 1) / buffer_size();
  for (auto it = buffers_.lower_bound(first); it != buffers_.end() && it->first <= last;) {
    if (it->second->pins != 0) {
      ++it;
      continue;
    }
    cache_.Free(it->second);
    it = buffers_.erase(it);
  }
  co_return Status();
}

Task<Status> FileData::Truncate(uint64_t new_size) {
  co_await WaitForReadahead();
  if (new_size > kMaxFileSize) {
    co_return MakeError(EFBIG, "size %d is past the largest file (%d bytes)", new_size,
                        kMaxFileSize);
  }
  if (inline_.has_value()) {
    if (new_size <= inline_max_) {
      inline_->resize(new_size, '\0');
      size_ = new_size;
      inline_dirty_ = true;
      co_return Status();
    }
    CO_RETURN_IF_ERROR(co_await LeaveInline());
  }
  if (new_size < size_) {
    // Bytes past the new size must read as zeroes if the file grows again: zero them.
    CO_RETURN_IF_ERROR(co_await ZeroRange(new_size, size_ - new_size));
    uint64_t keep = DivideRoundingUp(new_size, cache_.cluster_size());
    if (keep < blob_.num_clusters()) CO_RETURN_IF_ERROR(co_await blob_.Resize(keep));
    for (auto it = reserved_clusters_.lower_bound(keep); it != reserved_clusters_.end();) {
      cache_.Unreserve(cache_.cluster_size());
      it = reserved_clusters_.erase(it);
    }
  }
  SetSize(new_size);
  co_return Status();
}

Task<Status> FileData::ZeroRange(uint64_t offset, uint64_t length) {
  uint64_t end = std::min(offset + length, size_);
  if (offset >= end) co_return Status();
  if (inline_.has_value()) {
    std::memset(inline_->data() + offset, 0, end - offset);
    inline_dirty_ = true;
    co_return Status();
  }
  const uint64_t bs = block_size();
  const uint64_t cs = cache_.cluster_size();
  // Partial blocks at the edges: zeroes through the cache.
  uint64_t inner_start = RoundUp(offset, bs);
  uint64_t inner_end = end / bs * bs;
  if (inner_start >= inner_end) {
    co_await cache_.RefreshFreeSpace();
    CO_ASSIGN_OR_RETURN(size_t zeroed, co_await WriteThroughCache(offset, end - offset, {}));
    if (zeroed < end - offset) co_return MakeError(ENOSPC, "no space to zero a partial block");
    co_return Status();
  }
  co_await cache_.RefreshFreeSpace();
  if (offset < inner_start) {
    CO_ASSIGN_OR_RETURN(size_t zeroed, co_await WriteThroughCache(offset, inner_start - offset, {}));
    if (zeroed < inner_start - offset) co_return MakeError(ENOSPC, "no space to zero a block");
  }
  if (inner_end < end) {
    CO_ASSIGN_OR_RETURN(size_t zeroed, co_await WriteThroughCache(inner_end, end - inner_end, {}));
    if (zeroed < end - inner_end) co_return MakeError(ENOSPC, "no space to zero a block");
  }
  // Whole blocks: the cache gives them up, the blob deallocates whole clusters and zeroes the
  // rest of what it has mapped.
  CO_RETURN_IF_ERROR(co_await FlushAndDropRange(inner_start, inner_end - inner_start));
  uint64_t blob_end = blob_.size_bytes();
  uint64_t first_cluster = DivideRoundingUp(inner_start, cs);
  uint64_t end_cluster = std::min(inner_end, blob_end) / cs;
  uint64_t zero_head_end = std::min(first_cluster * cs, inner_end);
  if (first_cluster < end_cluster) {
    CO_RETURN_IF_ERROR(co_await blob_.Deallocate(first_cluster, end_cluster - first_cluster));
  } else {
    end_cluster = first_cluster;
    zero_head_end = inner_end;
  }
  for (auto [start, stop] : {std::pair{inner_start, zero_head_end},
                             std::pair{std::max(end_cluster * cs, zero_head_end), inner_end}}) {
    stop = std::min(stop, blob_end);
    if (start < stop) CO_RETURN_IF_ERROR(co_await blob_.WriteZeroes(channel_, start, stop - start));
  }
  co_return Status();
}

Task<Status> FileData::AllocateRange(uint64_t offset, uint64_t length) {
  const uint64_t cs = cache_.cluster_size();
  uint64_t end_cluster = DivideRoundingUp(offset + length, cs);
  if (blob_.num_clusters() < end_cluster) CO_RETURN_IF_ERROR(co_await blob_.Resize(end_cluster));
  auto extents = blob_.extents();
  std::vector<uint64_t> missing;
  for (uint64_t cluster = offset / cs; cluster < end_cluster;) {
    std::optional<uint64_t> mapped = extents->NextMapped(cluster);
    uint64_t hole_end = std::min(end_cluster, mapped.value_or(end_cluster));
    for (; cluster < hole_end; ++cluster) {
      if (!reserved_clusters_.contains(cluster)) missing.push_back(cluster);
    }
    if (cluster < end_cluster) cluster = extents->NextUnmapped(cluster);
  }
  if (missing.empty()) co_return Status();
  co_await cache_.RefreshFreeSpace();
  if (!cache_.Reserve(missing.size() * cs)) {
    co_return MakeError(ENOSPC, "fallocate needs %d clusters the store does not have",
                        missing.size());
  }
  // Allocating a thin cluster is writing it: zeroes, in runs.
  AlignedBuffer zeroes(cs, 4096);
  Status status;
  for (size_t i = 0; status.ok() && i < missing.size();) {
    size_t j = i + 1;
    while (j < missing.size() && missing[j] == missing[j - 1] + 1 && j - i < 256) ++j;
    std::vector<iovec> iov(j - i, iovec{zeroes.data(), cs});
    status = co_await WriteRun(missing[i] * cs, iov);
    i = j;
  }
  cache_.Unreserve(missing.size() * cs);
  co_return status;
}

Task<Status> FileData::Fallocate(int mode, uint64_t offset, uint64_t length) {
  co_await WaitForReadahead();
  constexpr int kKnown = FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE;
  if ((mode & ~kKnown) != 0) co_return MakeError(EOPNOTSUPP, "fallocate mode 0x%x", mode);
  const bool punch = (mode & FALLOC_FL_PUNCH_HOLE) != 0;
  const bool zero = (mode & FALLOC_FL_ZERO_RANGE) != 0;
  const bool keep_size = (mode & FALLOC_FL_KEEP_SIZE) != 0;
  if (punch && (zero || !keep_size)) {
    co_return MakeError(EOPNOTSUPP, "PUNCH_HOLE needs KEEP_SIZE and excludes ZERO_RANGE");
  }
  if (length == 0 || offset > kMaxFileSize || length > kMaxFileSize - offset) {
    co_return MakeError(length == 0 ? EINVAL : EFBIG, "fallocate of [%d, +%d)", offset, length);
  }
  uint64_t end = offset + length;
  if (punch) co_return co_await ZeroRange(offset, length);
  if (zero) CO_RETURN_IF_ERROR(co_await ZeroRange(offset, length));
  if (inline_.has_value() && (keep_size ? size_ : std::max(size_, end)) <= inline_max_) {
    // Inline bytes are always allocated; only the size may change.
    if (!keep_size && end > size_) {
      inline_->resize(end, '\0');
      size_ = end;
      inline_dirty_ = true;
    }
    co_return Status();
  }
  if (inline_.has_value()) CO_RETURN_IF_ERROR(co_await LeaveInline());
  CO_RETURN_IF_ERROR(co_await AllocateRange(offset, length));
  if (!keep_size) SetSize(std::max(size_, end));
  co_return Status();
}

bool FileData::BlockIsData(uint64_t block) const {
  uint64_t at = block * block_size();
  if (blob_.extents()->Lookup(at / cache_.cluster_size()).has_value()) return true;
  auto it = buffers_.find(at / buffer_size());
  if (it == buffers_.end()) return false;
  return (it->second->dirty >> (block % cache_.blocks_per_buffer()) & 1) != 0;
}

Task<Result<uint64_t>> FileData::Seek(uint64_t offset, int whence) {
  if (whence != SEEK_DATA && whence != SEEK_HOLE) {
    co_return MakeError(EINVAL, "seek whence %d (only SEEK_DATA and SEEK_HOLE)", whence);
  }
  if (offset >= size_) co_return MakeError(ENXIO, "seek at %d is past the size %d", offset, size_);
  if (inline_.has_value()) co_return whence == SEEK_DATA ? offset : size_;
  const uint64_t cs = cache_.cluster_size();
  const uint64_t bs = block_size();
  auto extents = blob_.extents();
  if (whence == SEEK_DATA) {
    uint64_t found = size_;
    if (std::optional<uint64_t> cluster = extents->NextMapped(offset / cs)) {
      found = std::max(offset, *cluster * cs);
    }
    // Dirty blocks not yet written are data too.
    for (auto it = buffers_.lower_bound(offset / buffer_size()); it != buffers_.end(); ++it) {
      uint64_t base = it->first * buffer_size();
      if (base >= found) break;
      if (it->second->dirty == 0) continue;
      for (uint32_t b = 0; b < cache_.blocks_per_buffer(); ++b) {
        uint64_t at = base + uint64_t{b} * bs;
        if ((it->second->dirty >> b & 1) != 0 && at + bs > offset) {
          found = std::min(found, std::max(offset, at));
          break;
        }
      }
    }
    if (found >= size_) co_return MakeError(ENXIO, "no data at or after %d", offset);
    co_return found;
  }
  uint64_t position = offset;
  while (position < size_) {
    uint64_t cluster = position / cs;
    if (extents->Lookup(cluster).has_value()) {
      position = extents->NextUnmapped(cluster) * cs;
    } else if (BlockIsData(position / bs)) {
      position = (position / bs + 1) * bs;
    } else {
      break;
    }
  }
  co_return std::min(position, size_);
}

}  // namespace blobfs
