#include "blob/format/journal_block.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "blob/crc32c.h"
#include "blob/format/endian.h"
#include "blob/format/page.h"
#include "glog/logging.h"

namespace blobfs {
namespace {

// Byte offsets (FORMAT.md, "Journal").
constexpr size_t kMagicOffset = 0;
constexpr size_t kTypeOffset = 8;
constexpr size_t kCountOffset = 12;
constexpr size_t kSequenceOffset = 16;
constexpr size_t kUuidOffset = 24;
constexpr size_t kTailSeqOffset = 40;  // Commit blocks; reserved (zero) in descriptors.
constexpr size_t kTagsOffset = 48;
constexpr size_t kTagSize = 16;
constexpr size_t kCrcOffset = 4092;
static_assert(kTagsOffset + kJournalTagsPerDescriptor * kTagSize <= kCrcOffset);

constexpr std::string_view kMagic = "BLOBJTXN";
constexpr uint32_t kDescriptorType = 1;
constexpr uint32_t kCommitType = 2;
constexpr uint32_t kTagEscaped = 1;

bool AllZero(std::span<const std::byte> bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](std::byte b) { return b == std::byte{0}; });
}

void EncodeHeader(uint32_t type, uint32_t count, uint64_t sequence, const Uuid& uuid,
                  std::span<std::byte> block) {
  CHECK_EQ(block.size(), kPageSize);
  std::fill(block.begin(), block.end(), std::byte{0});
  std::memcpy(block.data() + kMagicOffset, kMagic.data(), kMagic.size());
  StoreLe32(block, kTypeOffset, type);
  StoreLe32(block, kCountOffset, count);
  StoreLe64(block, kSequenceOffset, sequence);
  std::memcpy(block.data() + kUuidOffset, uuid.bytes.data(), uuid.bytes.size());
}

}  // namespace

std::optional<JournalBlockHeader> PeekJournalBlock(std::span<const std::byte> block,
                                                   const Uuid& uuid) {
  CHECK_EQ(block.size(), kPageSize);
  if (std::memcmp(block.data() + kMagicOffset, kMagic.data(), kMagic.size()) != 0 ||
      std::memcmp(block.data() + kUuidOffset, uuid.bytes.data(), uuid.bytes.size()) != 0) {
    return std::nullopt;
  }
  const uint32_t type = LoadLe32(block, kTypeOffset);
  if (type != kDescriptorType && type != kCommitType) return std::nullopt;
  return JournalBlockHeader{type == kDescriptorType ? JournalBlockKind::kDescriptor
                                                    : JournalBlockKind::kCommit,
                            LoadLe64(block, kSequenceOffset), LoadLe32(block, kCountOffset)};
}

void EncodeJournalDescriptor(uint64_t sequence, const Uuid& uuid, std::span<const JournalTag> tags,
                             std::span<std::byte> block) {
  CHECK(!tags.empty() && tags.size() <= kJournalTagsPerDescriptor) << tags.size() << " tags";
  EncodeHeader(kDescriptorType, static_cast<uint32_t>(tags.size()), sequence, uuid, block);
  for (size_t i = 0; i < tags.size(); ++i) {
    StoreLe64(block, kTagsOffset + i * kTagSize, tags[i].target);
    StoreLe32(block, kTagsOffset + i * kTagSize + 8, tags[i].escaped ? kTagEscaped : 0);
  }
  StoreLe32(block, kCrcOffset, Crc32c(block.first(kCrcOffset)));
}

Result<std::vector<JournalTag>> DecodeJournalDescriptor(std::span<const std::byte> block,
                                                        const Uuid& uuid, uint64_t sequence) {
  std::optional<JournalBlockHeader> header = PeekJournalBlock(block, uuid);
  if (!header.has_value() || header->kind != JournalBlockKind::kDescriptor ||
      header->sequence != sequence) {
    return MakeError(EUCLEAN, "journal descriptor of transaction %d: not a descriptor of it",
                     sequence);
  }
  if (uint32_t found = LoadLe32(block, kCrcOffset), crc = Crc32c(block.first(kCrcOffset));
      found != crc) {
    return MakeError(EUCLEAN, "journal descriptor of transaction %d: crc 0x%08x, bytes 0x%08x",
                     sequence, found, crc);
  }
  const uint32_t count = LoadLe32(block, kCountOffset);
  if (count == 0 || count > kJournalTagsPerDescriptor) {
    return MakeError(EUCLEAN, "journal descriptor of transaction %d: %d tags (1 to %d)", sequence,
                     count, kJournalTagsPerDescriptor);
  }
  if (!AllZero(block.subspan(kTailSeqOffset, kTagsOffset - kTailSeqOffset)) ||
      !AllZero(block.subspan(kTagsOffset + count * kTagSize,
                             kCrcOffset - kTagsOffset - count * kTagSize))) {
    return MakeError(EUCLEAN, "journal descriptor of transaction %d: reserved bytes are not zero",
                     sequence);
  }
  std::vector<JournalTag> tags(count);
  for (size_t i = 0; i < count; ++i) {
    const size_t at = kTagsOffset + i * kTagSize;
    const uint32_t flags = LoadLe32(block, at + 8);
    if ((flags & ~kTagEscaped) != 0 || LoadLe32(block, at + 12) != 0) {
      return MakeError(EUCLEAN, "journal descriptor of transaction %d: tag %d has flags 0x%x",
                       sequence, i, flags);
    }
    tags[i] = {.target = LoadLe64(block, at), .escaped = (flags & kTagEscaped) != 0};
  }
  return tags;
}

void EncodeJournalCommit(const JournalCommitBlock& commit, const Uuid& uuid, uint32_t blocks_crc,
                         std::span<std::byte> block) {
  CHECK_LE(commit.tail_seq, commit.sequence);
  EncodeHeader(kCommitType, commit.blocks, commit.sequence, uuid, block);
  StoreLe64(block, kTailSeqOffset, commit.tail_seq);
  StoreLe32(block, kCrcOffset, Crc32cExtend(blocks_crc, block.first(kCrcOffset)));
}

Result<JournalCommitBlock> DecodeJournalCommit(std::span<const std::byte> block, const Uuid& uuid,
                                               uint32_t blocks_crc) {
  std::optional<JournalBlockHeader> header = PeekJournalBlock(block, uuid);
  if (!header.has_value() || header->kind != JournalBlockKind::kCommit) {
    return MakeError(EUCLEAN, "journal commit block: not a commit block of this store");
  }
  JournalCommitBlock commit{.sequence = header->sequence,
                            .blocks = LoadLe32(block, kCountOffset),
                            .tail_seq = LoadLe64(block, kTailSeqOffset)};
  if (uint32_t found = LoadLe32(block, kCrcOffset),
      crc = Crc32cExtend(blocks_crc, block.first(kCrcOffset));
      found != crc) {
    return MakeError(EUCLEAN,
                     "journal commit block of transaction %d: crc 0x%08x does not match its "
                     "transaction (0x%08x): torn or not written whole",
                     commit.sequence, found, crc);
  }
  if (commit.tail_seq > commit.sequence || commit.tail_seq == 0) {
    return MakeError(EUCLEAN, "journal commit block of transaction %d: tail_seq %d", commit.sequence,
                     commit.tail_seq);
  }
  if (!AllZero(block.subspan(kTagsOffset, kCrcOffset - kTagsOffset))) {
    return MakeError(EUCLEAN, "journal commit block of transaction %d: reserved bytes are not zero",
                     commit.sequence);
  }
  return commit;
}

bool EscapeJournalImage(std::span<std::byte> image) {
  if (image.size() < kMagic.size() ||
      std::memcmp(image.data(), kMagic.data(), kMagic.size()) != 0) {
    return false;
  }
  std::fill_n(image.begin(), kMagic.size(), std::byte{0});
  return true;
}

void UnescapeJournalImage(std::span<std::byte> image) {
  CHECK_GE(image.size(), kMagic.size());
  std::memcpy(image.data(), kMagic.data(), kMagic.size());
}

}  // namespace blobfs
