#include "blob/metadata_journal.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "blob/crc32c.h"
#include "blob/format/journal_block.h"
#include "blob/format/page.h"
#include "common/aligned_buffer.h"
#include "common/when_all.h"
#include "glog/logging.h"

namespace blobfs {
namespace {

Error Aborted() {
  return MakeError(EIO,
                   "metadata journal: aborted after a failed write in place; remount to replay "
                   "what was committed");
}

}  // namespace

MetadataJournal::MetadataJournal(BdevChannel& channel, Options options,
                                 const JournalReplay& position)
    : channel_(channel),
      options_(std::move(options)),
      log_pages_(options_.area.length),
      max_blocks_(options_.area.length * 3 / 4),
      next_sequence_(position.next_sequence),
      head_(position.head),
      durable_tail_(position.next_sequence) {
  CHECK_GE(log_pages_, uint64_t{16}) << "a journal of " << log_pages_ << " pages";
  if (position.transactions != 0) {
    // The replayed transactions hold their space until a later commit block is durable.
    const uint64_t blocks = (head_ + log_pages_ - position.live_start) % log_pages_;
    live_.push_back({position.next_sequence - 1, blocks == 0 ? log_pages_ : blocks});
    live_blocks_ = live_.back().blocks;
    durable_tail_ = position.next_sequence - position.transactions;
  }
}

Task<Status> MetadataJournal::Commit(MetadataTransaction& transaction) {
  auto hold = co_await lock_.Lock();
  co_return co_await DoCommit(transaction);
}

Task<Status> MetadataJournal::Checkpoint() {
  auto hold = co_await lock_.Lock();
  if (aborted_) co_return Aborted();
  co_return co_await EndEarlierTransactions();
}

Task<Status> MetadataJournal::DoCommit(MetadataTransaction& transaction) {
  if (aborted_) co_return Aborted();
  std::vector<Image> commit_points;
  std::vector<Image> before;  // journaled pages nothing references yet
  std::vector<Image> in_place;
  for (const auto& [first_page, write] : transaction.writes()) {
    const uint64_t first = first_page;  // a structured binding cannot be captured (C++20)
    const uint64_t pages = write.pages.size() / kPageSize;
    const bool journaled =
        std::any_of(options_.journaled.begin(), options_.journaled.end(),
                    [first](const PageRange& range) { return range.Contains(first); });
    for (uint64_t i = 0; i < pages; ++i) {
      Image image{first + i, write.pages.span().subspan(i * kPageSize, kPageSize)};
      if (!journaled) {
        in_place.push_back(image);
      } else if (write.order == MetadataTransaction::Order::kCommitPoint) {
        commit_points.push_back(image);
      } else {
        before.push_back(image);
      }
    }
  }
  const uint64_t limit = max_transaction_pages();
  Status status;
  if (commit_points.size() + before.size() <= limit) {
    std::vector<Image> images = std::move(before);
    images.insert(images.end(), commit_points.begin(), commit_points.end());
    std::sort(images.begin(), images.end(),
              [](const Image& a, const Image& b) { return a.target < b.target; });
    const bool ordered = transaction.barrier_required() || !in_place.empty();
    status = co_await WriteTransaction(images, in_place, ordered);
  } else {
    // Too big for the log: what nothing references yet goes in place, ahead of the commit points.
    in_place.insert(in_place.end(), before.begin(), before.end());
    if (commit_points.size() > limit) {
      LOG(WARNING) << "metadata journal: a commit of " << commit_points.size()
                   << " blob roots is larger than the journal's " << limit
                   << "; it is written as several transactions, each atomic on its own";
    }
    size_t at = 0;
    do {
      const size_t count = std::min<size_t>(limit, commit_points.size() - at);
      status = co_await WriteTransaction(
          std::span(commit_points).subspan(at, count),
          at == 0 ? std::span<const Image>(in_place) : std::span<const Image>(), /*ordered=*/true);
      at += count;
    } while (status.ok() && at < commit_points.size());
  }
  if (!status.ok()) co_return status.error().WithContext("metadata commit");
  co_await transaction.Finish(channel_);
  co_return OkStatus();
}

Task<Status> MetadataJournal::WriteTransaction(std::span<const Image> images,
                                               std::span<const Image> in_place, bool ordered) {
  const uint64_t blocks = images.size() + DescriptorsFor(images.size());
  ordered = ordered || after_failure_;
  CO_RETURN_IF_ERROR(co_await MakeRoom(blocks + 1));
  const uint64_t sequence = next_sequence_++;
  // The whole transaction, commit block last, in one buffer.
  AlignedBuffer log((blocks + 1) * kPageSize, kPageSize);
  auto block = [&log](uint64_t i) { return log.span().subspan(i * kPageSize, kPageSize); };
  uint64_t at = 0;
  for (size_t first = 0; first < images.size(); first += kJournalTagsPerDescriptor) {
    const size_t count = std::min<size_t>(kJournalTagsPerDescriptor, images.size() - first);
    std::vector<JournalTag> tags(count);
    for (size_t i = 0; i < count; ++i) {
      std::span<std::byte> copy = block(at + 1 + i);
      std::memcpy(copy.data(), images[first + i].bytes.data(), kPageSize);
      tags[i] = {.target = images[first + i].target, .escaped = EscapeJournalImage(copy)};
    }
    EncodeJournalDescriptor(sequence, options_.uuid, tags, block(at));
    at += 1 + count;
  }
  uint32_t crc = 0;
  for (uint64_t i = 0; i < blocks; ++i) crc = Crc32cExtend(crc, block(i));
  // Replay starts at the oldest transaction whose checkpoint may not be durable when this commit
  // block is; an ordered transaction flushes every earlier checkpoint first.
  const uint64_t tail = ordered || !unflushed_checkpoint_ ? sequence : *unflushed_checkpoint_;
  EncodeJournalCommit({.sequence = sequence, .blocks = static_cast<uint32_t>(blocks),
                       .tail_seq = tail},
                      options_.uuid, crc, block(blocks));

  const uint64_t start = head_;
  // From here the blocks may be on disk, whatever the outcome: the space stays taken.
  head_ = (head_ + blocks + 1) % log_pages_;
  live_.push_back({sequence, blocks + 1});
  live_blocks_ += blocks + 1;
  Status status;
  if (!ordered) {
    status = co_await WriteLog(start, log.span());
  } else {
    std::vector<Task<Status>> writes;
    writes.push_back(WriteLog(start, log.span().first(blocks * kPageSize)));
    writes.push_back(WritePages(in_place));
    status = co_await WhenAll(std::move(writes));
    if (status.ok()) status = co_await channel_.Flush();
    if (status.ok()) {
      unflushed_checkpoint_.reset();
      status = co_await WriteLog((start + blocks) % log_pages_, block(blocks));
    }
  }
  if (status.ok()) status = co_await channel_.Flush();
  if (!status.ok()) {
    after_failure_ = true;
    co_return status;
  }
  after_failure_ = false;
  unflushed_checkpoint_.reset();
  durable_tail_ = tail;
  while (!live_.empty() && live_.front().sequence < durable_tail_) {
    live_blocks_ -= live_.front().blocks;
    live_.pop_front();
  }
  // The checkpoint: durable with the next flush, which the next commit block waits for.
  status = co_await WritePages(images);
  if (!status.ok()) {
    aborted_ = true;
    LOG(ERROR) << "metadata journal: writing transaction " << sequence
               << " in place failed, the journal is aborted: " << status;
    co_return status;
  }
  if (!images.empty()) unflushed_checkpoint_ = sequence;
  co_return OkStatus();
}

Task<Status> MetadataJournal::MakeRoom(uint64_t blocks) {
  CHECK_LE(blocks, max_blocks_);
  if (live_blocks_ + blocks < log_pages_) co_return OkStatus();
  CO_RETURN_IF_ERROR(co_await EndEarlierTransactions());
  CHECK_LT(live_blocks_ + blocks, log_pages_);
  co_return OkStatus();
}

Task<Status> MetadataJournal::EndEarlierTransactions() {
  // Make every checkpoint durable, then end the earlier transactions with an empty one whose
  // tail is itself.
  CO_RETURN_IF_ERROR(co_await channel_.Flush());
  unflushed_checkpoint_.reset();
  const uint64_t sequence = next_sequence_++;
  AlignedBuffer commit(kPageSize, kPageSize);
  EncodeJournalCommit({.sequence = sequence, .blocks = 0, .tail_seq = sequence}, options_.uuid, 0,
                      commit.span());
  const uint64_t position = head_;
  head_ = (head_ + 1) % log_pages_;
  live_.push_back({sequence, 1});
  live_blocks_ += 1;
  Status status = co_await WriteLog(position, commit.span());
  if (status.ok()) status = co_await channel_.Flush();
  after_failure_ = !status.ok();
  if (!status.ok()) co_return status;
  durable_tail_ = sequence;
  while (live_.size() > 1) {
    live_blocks_ -= live_.front().blocks;
    live_.pop_front();
  }
  co_return OkStatus();
}

Task<Status> MetadataJournal::WriteLog(uint64_t position, std::span<const std::byte> blocks) {
  const uint64_t count = blocks.size() / kPageSize;
  const uint64_t first_part = std::min(count, log_pages_ - position);
  std::vector<Task<Status>> writes;
  writes.push_back(channel_.Write((options_.area.start + position) * kPageSize,
                                  blocks.first(first_part * kPageSize)));
  if (first_part < count) {
    writes.push_back(channel_.Write(options_.area.start * kPageSize,
                                    blocks.subspan(first_part * kPageSize)));
  }
  co_return co_await WhenAll(std::move(writes));
}

Task<Status> MetadataJournal::WritePages(std::span<const Image> pages) {
  // Neighbouring pages (a chain claimed together, the masks) go out as one write.
  std::vector<Image> sorted(pages.begin(), pages.end());
  std::sort(sorted.begin(), sorted.end(),
            [](const Image& a, const Image& b) { return a.target < b.target; });
  std::vector<AlignedBuffer> runs;
  std::vector<Task<Status>> writes;
  for (size_t first = 0; first < sorted.size();) {
    size_t end = first + 1;
    while (end < sorted.size() && sorted[end].target == sorted[end - 1].target + 1) ++end;
    AlignedBuffer run((end - first) * kPageSize, kPageSize);
    for (size_t i = first; i < end; ++i) {
      std::memcpy(run.data() + (i - first) * kPageSize, sorted[i].bytes.data(), kPageSize);
    }
    writes.push_back(channel_.Write(sorted[first].target * kPageSize, run.span()));
    runs.push_back(std::move(run));
    first = end;
  }
  if (writes.empty()) co_return OkStatus();
  co_return co_await WhenAll(std::move(writes));
}

}  // namespace blobfs
