// The journal's blocks and ParseJournal, on journals built by hand: round trips, the commit CRC over
// a whole transaction, escaping, wrap-around, stale and torn transactions, the tail, and the
// journals no crash can leave (EUCLEAN, before anything would be written).
#include "blob/journal_replay.h"

#include <cstring>
#include <vector>

#include "blob/crc32c.h"
#include "blob/format/journal_block.h"
#include "blob/format/page.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // ErrCode, ASSERT_OK

const Uuid kUuid = Uuid::Random();
const std::vector<PageRange> kAllowed = {{0, 1}, {10, 20}};

std::vector<std::byte> Page(uint8_t fill) { return std::vector<std::byte>(kPageSize, std::byte{fill}); }

// A log of `pages` pages, and transactions written into it as the journal writes them.
struct Log {
  explicit Log(uint64_t pages) : bytes(pages * kPageSize) {}
  std::span<std::byte> Block(uint64_t position) {
    return std::span(bytes).subspan((position % pages()) * kPageSize, kPageSize);
  }
  uint64_t pages() const { return bytes.size() / kPageSize; }

  // Writes a transaction at `position` setting each target to a page of `fill`; returns the
  // position after it.
  uint64_t Add(uint64_t position, uint64_t sequence, uint64_t tail, std::vector<uint64_t> targets,
               uint8_t fill) {
    uint64_t at = position;
    std::vector<JournalTag> tags;
    for (uint64_t target : targets) tags.push_back({.target = target});
    uint32_t crc = 0;
    if (!targets.empty()) {
      EncodeJournalDescriptor(sequence, kUuid, tags, Block(at));
      crc = Crc32cExtend(crc, Block(at));
      ++at;
      for (size_t i = 0; i < targets.size(); ++i, ++at) {
        std::vector<std::byte> image = Page(fill);
        std::memcpy(Block(at).data(), image.data(), kPageSize);
        crc = Crc32cExtend(crc, Block(at));
      }
    }
    EncodeJournalCommit({.sequence = sequence,
                         .blocks = static_cast<uint32_t>(at - position),
                         .tail_seq = tail},
                        kUuid, crc, Block(at));
    return at + 1;
  }
  std::vector<std::byte> bytes;
};

uint8_t FillOf(const JournalReplay& replay, uint64_t target) {
  return static_cast<uint8_t>(replay.images.at(target).data()[0]);
}

TEST(JournalBlockTest, DescriptorsRoundTripAndCheckEveryField) {
  std::vector<std::byte> block(kPageSize);
  std::vector<JournalTag> tags = {{.target = 5}, {.target = 0, .escaped = true}, {.target = uint64_t{1} << 40}};
  EncodeJournalDescriptor(9, kUuid, tags, block);
  ASSERT_ASSIGN_OR_FAIL(std::vector<JournalTag> back, DecodeJournalDescriptor(block, kUuid, 9));
  EXPECT_EQ(back, tags);
  EXPECT_EQ(ErrCode(DecodeJournalDescriptor(block, kUuid, 10)), EUCLEAN);
  EXPECT_EQ(ErrCode(DecodeJournalDescriptor(block, Uuid::Random(), 9)), EUCLEAN);
  block[200] = std::byte{1};  // a reserved byte after the tags, CRC and all
  EXPECT_EQ(ErrCode(DecodeJournalDescriptor(block, kUuid, 9)), EUCLEAN);
}

TEST(JournalBlockTest, TheCommitCrcCoversEveryByteOfTheTransaction) {
  Log log(8);
  ASSERT_EQ(log.Add(0, 3, 3, {10, 11}, 0x77), 4u);
  std::span<const std::byte> all(log.bytes);
  for (size_t flipped : {size_t{0}, size_t{100}, kPageSize + 5, 2 * kPageSize + 4095, 3 * kPageSize + 60}) {
    std::vector<std::byte> copy(all.begin(), all.end());
    copy[flipped] ^= std::byte{0x10};
    ASSERT_ASSIGN_OR_FAIL(JournalReplay replay, ParseJournal(copy, kUuid, kAllowed));
    EXPECT_EQ(replay.transactions, 0u) << "byte " << flipped << " changed yet the transaction is valid";
  }
  ASSERT_ASSIGN_OR_FAIL(JournalReplay replay, ParseJournal(all, kUuid, kAllowed));
  EXPECT_EQ(replay.transactions, 1u);
}

TEST(JournalBlockTest, AnImageThatStartsWithTheMagicIsEscaped) {
  std::vector<std::byte> image(kPageSize, std::byte{1});
  std::memcpy(image.data(), "BLOBJTXN", 8);
  std::vector<std::byte> copy = image;
  ASSERT_TRUE(EscapeJournalImage(copy));
  EXPECT_FALSE(PeekJournalBlock(copy, kUuid).has_value());
  UnescapeJournalImage(copy);
  EXPECT_EQ(copy, image);
  std::vector<std::byte> plain(kPageSize, std::byte{2});
  EXPECT_FALSE(EscapeJournalImage(plain));
}

TEST(ParseJournalTest, AnEmptyJournalReplaysNothingAndStartsAtOne) {
  Log log(16);
  ASSERT_ASSIGN_OR_FAIL(JournalReplay replay, ParseJournal(log.bytes, kUuid, kAllowed));
  EXPECT_EQ(replay.transactions, 0u);
  EXPECT_EQ(replay.next_sequence, 1u);
  EXPECT_EQ(replay.head, 0u);
}

TEST(ParseJournalTest, ReplaysFromTheLastTailWithLaterImagesWinningAcrossTheWrap) {
  Log log(16);
  // Sequence 5 (stale, before the tail), 6, 7 and 8, the last wrapping around the end.
  uint64_t at = log.Add(2, 5, 5, {10}, 0x05);
  at = log.Add(at, 6, 6, {10, 11}, 0x06);
  at = log.Add(at, 7, 6, {11, 12}, 0x07);
  ASSERT_EQ(at, 13u);
  at = log.Add(at, 8, 7, {12, 13, 14}, 0x08);
  ASSERT_EQ(at, 18u);
  ASSERT_ASSIGN_OR_FAIL(JournalReplay replay, ParseJournal(log.bytes, kUuid, kAllowed));
  EXPECT_EQ(replay.transactions, 2u);  // 7 and 8
  EXPECT_EQ(replay.images.size(), 4u);
  EXPECT_EQ(FillOf(replay, 11), 0x07);
  EXPECT_EQ(FillOf(replay, 12), 0x08);
  EXPECT_FALSE(replay.images.contains(10));
  EXPECT_EQ(replay.next_sequence, 9u);
  EXPECT_EQ(replay.head, 2u);
  EXPECT_EQ(replay.live_start, 9u);
}

TEST(ParseJournalTest, ATornLastTransactionIsNotReplayed) {
  Log log(16);
  uint64_t at = log.Add(0, 1, 1, {10}, 0x01);
  const uint64_t second = at;
  log.Add(at, 2, 1, {10, 11}, 0x02);
  log.Block(second + 2)[700] ^= std::byte{1};  // an image torn after its commit block was written
  ASSERT_ASSIGN_OR_FAIL(JournalReplay replay, ParseJournal(log.bytes, kUuid, kAllowed));
  EXPECT_EQ(replay.transactions, 1u);
  EXPECT_EQ(FillOf(replay, 10), 0x01);
  EXPECT_EQ(replay.next_sequence, 2u);
  EXPECT_EQ(replay.head, second);
}

TEST(ParseJournalTest, JournalsNoCrashLeavesAreEuclean) {
  {
    Log log(16);
    log.Add(0, 1, 1, {10, 500}, 0x01);  // a target outside the super block and metadata region
    Result<JournalReplay> replay = ParseJournal(log.bytes, kUuid, kAllowed);
    EXPECT_EQ(ErrCode(replay), EUCLEAN);
    EXPECT_NE(replay.error().message().find("page 500"), std::string::npos);
  }
  {
    Log log(16);
    uint64_t at = log.Add(0, 1, 1, {10}, 0x01);
    log.Add(at, 3, 2, {11}, 0x03);  // says replay starts at 2, which is not there
    EXPECT_EQ(ErrCode(ParseJournal(log.bytes, kUuid, kAllowed)), EUCLEAN);
  }
  {
    Log log(16);
    log.Add(0, 1, 1, {10, 10}, 0x01);  // one page twice
    EXPECT_EQ(ErrCode(ParseJournal(log.bytes, kUuid, kAllowed)), EUCLEAN);
  }
  {
    Log log(16);
    uint64_t at = log.Add(0, 4, 4, {10}, 0x01);
    log.Add(at, 4, 4, {11}, 0x02);  // two valid transactions with one sequence
    EXPECT_EQ(ErrCode(ParseJournal(log.bytes, kUuid, kAllowed)), EUCLEAN);
  }
}

TEST(ParseJournalTest, AnotherStoresJournalIsEmptyToThisOne) {
  Log log(16);
  log.Add(0, 1, 1, {10}, 0x01);
  ASSERT_ASSIGN_OR_FAIL(JournalReplay replay, ParseJournal(log.bytes, Uuid::Random(), kAllowed));
  EXPECT_EQ(replay.transactions, 0u);
}

}  // namespace
}  // namespace blobfs
