// The blocks of the metadata journal (FORMAT.md, "Journal"): descriptor blocks, which name the
// device page each following image belongs to, and commit blocks, which end a transaction.
//
// Contract:
//  - A transaction is, on consecutive log positions (wrapping at the end of the journal), any
//    number of descriptor blocks each followed by its images, then one commit block. Its commit
//    block's CRC covers every block of the transaction and the commit block itself, so a
//    transaction is valid exactly when it was written whole: a torn or stale block anywhere fails
//    it.
//  - Every block carries the store's uuid and the transaction's sequence number.
//  - An image whose first 8 bytes are the journal magic is stored with them zeroed and its tag
//    `escaped`, so no image can pass for a journal block; EscapeJournalImage and
//    UnescapeJournalImage do both halves.
//  - Decode functions fail with EUCLEAN, naming the field, for a block that claims to be a journal
//    block of this store but is malformed; PeekJournalBlock says what a block claims to be.
//  - Blocks are kPageSize bytes; other sizes are a programming error. Nothing here does I/O.
#ifndef BLOBFS_BLOB_FORMAT_JOURNAL_BLOCK_H_
#define BLOBFS_BLOB_FORMAT_JOURNAL_BLOCK_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "common/error.h"
#include "common/uuid.h"

namespace blobfs {

inline constexpr size_t kJournalTagsPerDescriptor = 252;

struct JournalTag {
  uint64_t target = 0;   // The device page the image belongs to.
  bool escaped = false;  // The image's first 8 bytes were the journal magic.

  friend bool operator==(const JournalTag&, const JournalTag&) = default;
};

struct JournalCommitBlock {
  uint64_t sequence = 0;
  uint32_t blocks = 0;    // Descriptors and images of the transaction, before this block.
  uint64_t tail_seq = 0;  // The oldest transaction a replay must apply (≤ sequence).

  friend bool operator==(const JournalCommitBlock&, const JournalCommitBlock&) = default;
};

enum class JournalBlockKind { kDescriptor, kCommit };
struct JournalBlockHeader {
  JournalBlockKind kind;
  uint64_t sequence;
  uint32_t count;  // Tags of a descriptor; blocks before a commit block.
};

// What `block` claims to be: a journal block of the store `uuid` (magic, a known type, the uuid),
// checking nothing else.
std::optional<JournalBlockHeader> PeekJournalBlock(std::span<const std::byte> block,
                                                   const Uuid& uuid);

// 1 to kJournalTagsPerDescriptor tags.
void EncodeJournalDescriptor(uint64_t sequence, const Uuid& uuid, std::span<const JournalTag> tags,
                             std::span<std::byte> block);
Result<std::vector<JournalTag>> DecodeJournalDescriptor(std::span<const std::byte> block,
                                                        const Uuid& uuid, uint64_t sequence);

// `blocks_crc` is Crc32cExtend over the transaction's blocks before the commit block, in order,
// starting from 0 (0 when there are none).
void EncodeJournalCommit(const JournalCommitBlock& commit, const Uuid& uuid, uint32_t blocks_crc,
                         std::span<std::byte> block);
Result<JournalCommitBlock> DecodeJournalCommit(std::span<const std::byte> block, const Uuid& uuid,
                                               uint32_t blocks_crc);

// In place, for the copy of an image written to the journal: returns whether it was escaped.
bool EscapeJournalImage(std::span<std::byte> image);
void UnescapeJournalImage(std::span<std::byte> image);

}  // namespace blobfs

#endif  // BLOBFS_BLOB_FORMAT_JOURNAL_BLOCK_H_
