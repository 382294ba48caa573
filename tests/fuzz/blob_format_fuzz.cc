// libFuzzer target: arbitrary bytes into SuperBlock::Decode, DecodeMask, ParseChain and
// ParseJournal (input layout in blob_format_fuzz_input.h). Every parse must fail cleanly or
// succeed; what succeeds is encoded again and must decode to the same value — byte for byte for
// the super block and masks, whose encodings are canonical — and a journal's replay must keep to
// the pages it may name.
#include <algorithm>
#include <cstring>
#include <optional>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "blob/crc32c.h"
#include "blob/format/blob_id.h"
#include "blob/format/blob_metadata.h"
#include "blob/format/endian.h"
#include "blob/format/journal_block.h"
#include "blob/format/mask.h"
#include "blob/format/metadata_page.h"
#include "blob/format/page.h"
#include "blob/format/super_block.h"
#include "blob/journal_replay.h"
#include "glog/logging.h"
#include "tests/fuzz/blob_format_fuzz_input.h"

namespace blobfs::fuzz {
namespace {

void FuzzSuperBlock(std::span<std::byte> page, bool repair) {
  if (repair) StoreLe32(page, 4092, Crc32c(page.first(4092)));
  Result<SuperBlock> decoded = SuperBlock::Decode(page);
  if (!decoded.ok()) return;
  std::vector<std::byte> encoded(kPageSize);
  decoded->Encode(encoded);
  Result<SuperBlock> again = SuperBlock::Decode(encoded);
  CHECK(again.ok()) << again.error().ToString();
  CHECK(*again == *decoded);
  // Unknown features may use the reserved bytes, which Encode zeroes; otherwise the bytes agree.
  bool unknown_features = decoded->read_only_required() ||
                          (decoded->compat_features & ~SuperBlock::kKnownCompatFeatures) != 0;
  CHECK(unknown_features || std::equal(page.begin(), page.end(), encoded.begin()));
}

void FuzzMask(std::span<std::byte> pages, MaskKind kind, bool repair) {
  uint64_t bit_count = LoadLe64(pages, 8);
  uint64_t bit_bytes = bit_count / 8 + (bit_count % 8 != 0);
  if (repair && bit_bytes <= pages.size() - 16) {
    StoreLe32(pages, 0, static_cast<uint32_t>(kind));
    StoreLe32(pages, 4, Crc32c(pages.subspan(16, bit_bytes)));
  }
  Result<std::span<const std::byte>> bits = DecodeMask(pages, kind, bit_count);
  if (!bits.ok()) return;
  CHECK_EQ(bits->size(), bit_bytes);
  std::vector<std::byte> encoded(pages.size());
  EncodeMask(kind, *bits, bit_count, encoded);
  CHECK(std::equal(pages.begin(), pages.end(), encoded.begin()));
}

// Page 0 is the root, at the index its blob_id names; page i > 0 is at index i.
std::vector<uint32_t> ChainIndices(std::span<const std::byte> root, size_t pages) {
  std::vector<uint32_t> indices(pages);
  indices[0] = RootOfBlobId(LoadLe64(root, 0)).value_or(0);
  for (size_t i = 1; i < pages; ++i) indices[i] = static_cast<uint32_t>(i);
  return indices;
}

Result<BlobMetadata> Parse(std::span<const std::span<std::byte>> pages,
                           std::span<const uint32_t> indices, uint64_t total_clusters) {
  std::vector<ChainPage> chain;
  for (size_t i = 0; i < pages.size(); ++i) chain.push_back({indices[i], pages[i]});
  return ParseChain(chain, total_clusters);
}

void FuzzChain(std::span<std::byte> bytes, uint64_t total_clusters, bool repair) {
  std::vector<std::span<std::byte>> pages;
  for (size_t at = 0; at < bytes.size(); at += kPageSize) {
    pages.push_back(bytes.subspan(at, kPageSize));
  }
  std::vector<uint32_t> indices = ChainIndices(pages[0], pages.size());
  if (repair) {
    for (size_t i = 0; i < pages.size(); ++i) {
      SetMetadataPageNext(pages[i], i + 1 < pages.size() ? indices[i + 1] : kNoPageIndex);
    }
  }
  Result<BlobMetadata> parsed = Parse(pages, indices, total_clusters);
  if (!parsed.ok()) return;
  std::vector<AlignedBuffer> encoded = SerializeBlob(*parsed);
  std::vector<std::span<std::byte>> encoded_pages;
  for (AlignedBuffer& page : encoded) encoded_pages.push_back(page.span());
  std::vector<uint32_t> encoded_indices = ChainIndices(encoded_pages[0], encoded_pages.size());
  LinkChain(encoded, encoded_indices);
  Result<BlobMetadata> again = Parse(encoded_pages, encoded_indices, total_clusters);
  CHECK(again.ok()) << again.error().ToString();
  CHECK(*again == *parsed);
}

// The pages as a journal of the store whose uuid page 0 carries at bytes 24-39 (where journal
// blocks carry it). With `repair`, every descriptor's CRC and every commit block's CRC over the
// blocks it counts are made valid first.
void FuzzJournal(std::span<std::byte> pages, bool repair) {
  Uuid uuid;
  std::memcpy(uuid.bytes.data(), pages.data() + 24, uuid.bytes.size());
  const size_t count = pages.size() / kPageSize;
  auto block = [&](size_t i) { return pages.subspan((i % count) * kPageSize, kPageSize); };
  if (repair) {
    for (size_t i = 0; i < count; ++i) {
      std::optional<JournalBlockHeader> header = PeekJournalBlock(block(i), uuid);
      if (header && header->kind == JournalBlockKind::kDescriptor) {
        StoreLe32(block(i), 4092, Crc32c(block(i).first(4092)));
      }
    }
    for (size_t i = 0; i < count; ++i) {
      std::optional<JournalBlockHeader> header = PeekJournalBlock(block(i), uuid);
      if (!header || header->kind != JournalBlockKind::kCommit || header->count >= count) continue;
      uint32_t crc = 0;
      for (size_t b = i + count - header->count; b < i + count; ++b) crc = Crc32cExtend(crc, block(b));
      StoreLe32(block(i), 4092, Crc32cExtend(crc, block(i).first(4092)));
    }
  }
  const PageRange allowed[] = {{0, 1}, {16, 1024}};
  Result<JournalReplay> replay = ParseJournal(pages, uuid, allowed);
  if (!replay.ok()) return;
  CHECK_LT(replay->head, count);
  CHECK_GE(replay->next_sequence, 1u);
  CHECK_LE(replay->images.size(), count);
  for (const auto& [target, image] : replay->images) {
    CHECK(target == 0 || (target >= 16 && target < 16 + 1024)) << target;
    CHECK_EQ(image.size(), kPageSize);
  }
}

void FuzzOneInput(std::span<const std::byte> input) {
  if (input.size() < kControlSize) return;
  Control control = ParseControl(input.first(kControlSize));
  bool repair = (control.flags & kRepairChecksums) != 0;
  std::span<const std::byte> payload = input.subspan(kControlSize);
  size_t page_count = std::max<size_t>(1, (payload.size() + kPageSize - 1) / kPageSize);
  // Each parser gets its own copy: repairs write into the pages.
  std::vector<std::byte> pages(page_count * kPageSize);
  std::copy(payload.begin(), payload.end(), pages.begin());
  std::vector<std::byte> copy = pages;
  FuzzSuperBlock(std::span(copy).first(kPageSize), repair);
  copy = pages;
  FuzzMask(copy, control.mask_kind, repair);
  copy = pages;
  FuzzJournal(copy, repair);
  FuzzChain(pages, control.total_clusters, repair);
}

}  // namespace
}  // namespace blobfs::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  blobfs::fuzz::FuzzOneInput(std::as_bytes(std::span(data, size)));
  return 0;
}
