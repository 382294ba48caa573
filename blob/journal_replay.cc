#include "blob/journal_replay.h"

#include <algorithm>
#include <cstring>
#include <optional>
#include <set>

#include "blob/crc32c.h"
#include "blob/format/journal_block.h"
#include "blob/format/page.h"

namespace blobfs {
namespace {

struct ValidTransaction {
  uint64_t sequence;
  uint64_t start;   // log position of its first block
  uint64_t commit;  // log position of its commit block
  uint32_t blocks;  // before the commit block
  uint64_t tail_seq;
};

class LogView {
 public:
  explicit LogView(std::span<const std::byte> log) : log_(log), pages_(log.size() / kPageSize) {}
  uint64_t pages() const { return pages_; }
  std::span<const std::byte> Block(uint64_t position) const {
    return log_.subspan((position % pages_) * kPageSize, kPageSize);
  }

 private:
  std::span<const std::byte> log_;
  uint64_t pages_;
};

// The transaction whose commit block may sit at `position`, when it is valid.
std::optional<ValidTransaction> TransactionEndingAt(const LogView& log, uint64_t position,
                                                    const Uuid& uuid) {
  std::optional<JournalBlockHeader> header = PeekJournalBlock(log.Block(position), uuid);
  if (!header.has_value() || header->kind != JournalBlockKind::kCommit) return std::nullopt;
  if (header->count >= log.pages()) return std::nullopt;
  const uint64_t start = (position + log.pages() - header->count) % log.pages();
  uint32_t crc = 0;
  for (uint64_t i = 0; i < header->count; ++i) crc = Crc32cExtend(crc, log.Block(start + i));
  Result<JournalCommitBlock> commit = DecodeJournalCommit(log.Block(position), uuid, crc);
  if (!commit.ok()) return std::nullopt;
  return ValidTransaction{commit->sequence, start, position, commit->blocks, commit->tail_seq};
}

// Adds the images of `transaction` to `images`.
Status CollectImages(const LogView& log, const ValidTransaction& transaction, const Uuid& uuid,
                     std::span<const PageRange> allowed, std::map<uint64_t, AlignedBuffer>& images) {
  std::set<uint64_t> seen;
  uint64_t at = 0;
  while (at < transaction.blocks) {
    ASSIGN_OR_RETURN(std::vector<JournalTag> tags,
                     DecodeJournalDescriptor(log.Block(transaction.start + at), uuid,
                                             transaction.sequence));
    if (at + 1 + tags.size() > transaction.blocks) {
      return MakeError(EUCLEAN,
                       "journal transaction %d: a descriptor at block %d names %d images, past its "
                       "%d blocks",
                       transaction.sequence, at, tags.size(), transaction.blocks);
    }
    for (size_t i = 0; i < tags.size(); ++i) {
      const JournalTag& tag = tags[i];
      if (std::none_of(allowed.begin(), allowed.end(),
                       [&](const PageRange& range) { return range.Contains(tag.target); })) {
        return MakeError(EUCLEAN,
                         "journal transaction %d: tag %d targets page %d, outside the super block "
                         "and the metadata region",
                         transaction.sequence, i, tag.target);
      }
      if (!seen.insert(tag.target).second) {
        return MakeError(EUCLEAN, "journal transaction %d: page %d appears twice",
                         transaction.sequence, tag.target);
      }
      AlignedBuffer image(kPageSize, kPageSize);
      std::span<const std::byte> stored = log.Block(transaction.start + at + 1 + i);
      std::memcpy(image.data(), stored.data(), kPageSize);
      if (tag.escaped) UnescapeJournalImage(image.span());
      images.insert_or_assign(tag.target, std::move(image));
    }
    at += 1 + tags.size();
  }
  return OkStatus();
}

}  // namespace

Result<JournalReplay> ParseJournal(std::span<const std::byte> log_bytes, const Uuid& uuid,
                                   std::span<const PageRange> allowed) {
  CHECK(log_bytes.size() % kPageSize == 0 && !log_bytes.empty());
  const LogView log(log_bytes);
  std::map<uint64_t, ValidTransaction> valid;  // by sequence
  for (uint64_t position = 0; position < log.pages(); ++position) {
    std::optional<ValidTransaction> transaction = TransactionEndingAt(log, position, uuid);
    if (!transaction.has_value()) continue;
    if (!valid.emplace(transaction->sequence, *transaction).second) {
      return MakeError(EUCLEAN, "journal: two valid transactions have sequence %d (positions %d, %d)",
                       transaction->sequence, valid.at(transaction->sequence).commit, position);
    }
  }
  JournalReplay replay;
  if (valid.empty()) return replay;
  const ValidTransaction& last = valid.rbegin()->second;
  replay.next_sequence = last.sequence + 1;
  replay.head = (last.commit + 1) % log.pages();
  for (uint64_t sequence = last.tail_seq; sequence <= last.sequence; ++sequence) {
    auto it = valid.find(sequence);
    if (it == valid.end()) {
      return MakeError(EUCLEAN,
                       "journal: transaction %d is missing, yet transaction %d says replay starts "
                       "at %d",
                       sequence, last.sequence, last.tail_seq);
    }
    if (sequence == last.tail_seq) replay.live_start = it->second.start;
    RETURN_IF_ERROR(CollectImages(log, it->second, uuid, allowed, replay.images));
    ++replay.transactions;
  }
  return replay;
}

}  // namespace blobfs
