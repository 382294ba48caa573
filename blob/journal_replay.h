// What a load finds in the metadata journal: the transactions to replay and where the log goes on
// (FORMAT.md, "Journal", "Replay").
//
// Contract:
//  - ParseJournal reads a whole journal area (`log`, journal_len pages). A transaction is valid
//    when its commit block's CRC covers it whole; torn, half-written and stale transactions are
//    simply not valid. The last valid transaction (highest sequence) names, in its tail_seq, the
//    oldest one whose images may not all be in place; every transaction from there to the last
//    must be valid, and their images are the replay, later images of a page replacing earlier
//    ones.
//  - EUCLEAN, naming the transaction and the field, for a journal no crash can leave: a
//    transaction the last one needs is missing, a valid transaction whose blocks do not parse, a
//    target outside `allowed` (the pages a journal may name; checked before anything is written), a page twice in one
//    transaction, two valid transactions with one sequence.
//  - An area with no valid transaction is an empty journal: nothing to replay, the log starts at
//    position 0 with sequence 1.
//  - Pure: no I/O; the caller reads the area and writes the images.
#ifndef BLOBFS_BLOB_JOURNAL_REPLAY_H_
#define BLOBFS_BLOB_JOURNAL_REPLAY_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "blob/page_range.h"
#include "common/aligned_buffer.h"
#include "common/error.h"
#include "common/uuid.h"

namespace blobfs {

struct JournalReplay {
  std::map<uint64_t, AlignedBuffer> images;  // device page → the image to write there
  uint64_t transactions = 0;                 // replayed
  // Where the log goes on: the next transaction's sequence and log position, and the log
  // position where the replayed transactions begin (the space they hold until the next commit
  // block that names a later tail is durable); live_start == head when nothing is replayed.
  uint64_t next_sequence = 1;
  uint64_t head = 0;
  uint64_t live_start = 0;
};

Result<JournalReplay> ParseJournal(std::span<const std::byte> log, const Uuid& uuid,
                                   std::span<const PageRange> allowed);

}  // namespace blobfs

#endif  // BLOBFS_BLOB_JOURNAL_REPLAY_H_
