// Writes seed inputs for the blob_format fuzz target into the directory given as the only
// argument: valid super blocks, masks of each kind, metadata chains of one and several pages and a
// journal of three transactions (one wrapping), each as is and with the checksum-repair flag. Seeds are made at run time, so none is committed.
#include <cstdio>
#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "blob/format/blob_id.h"
#include "blob/crc32c.h"
#include "blob/format/blob_metadata.h"
#include "blob/format/journal_block.h"
#include "blob/format/mask.h"
#include "blob/format/page.h"
#include "blob/format/super_block.h"
#include "glog/logging.h"
#include "tests/fuzz/blob_format_fuzz_input.h"
#include "tests/fuzz/seed_file.h"

namespace blobfs::fuzz {
namespace {

void Write(const std::string& dir, const std::string& name, const Control& control,
           std::span<const std::byte> pages) {
  for (uint8_t flags : {uint8_t{0}, kRepairChecksums}) {
    Control variant = control;
    variant.flags = flags;
    std::vector<std::byte> input = MakeInput(variant, pages);
    WriteSeed(dir + "/" + name + (flags ? "_repair" : ""), input);
  }
}

void WriteSuperBlock(const std::string& dir) {
  SuperBlock sb;
  sb.io_unit_size = 4096;
  sb.cluster_size = 1 << 20;
  sb.total_clusters = 1024;
  sb.used_page_mask_start = 1;
  sb.used_page_mask_len = 1;
  sb.used_cluster_mask_start = 2;
  sb.used_cluster_mask_len = 1;
  sb.used_blobid_mask_start = 3;
  sb.used_blobid_mask_len = 1;
  sb.md_start = 4;
  sb.md_len = 252;
  sb.super_blob = BlobIdOfRoot(0);
  sb.state = SuperBlock::kStateClean;
  std::memcpy(sb.bstype.data(), "blobfs", 6);
  std::vector<std::byte> page(kPageSize);
  sb.Encode(page);
  Write(dir, "super_block", {}, page);
}

void WriteMasks(const std::string& dir) {
  for (MaskKind kind : {MaskKind::kUsedPages, MaskKind::kUsedClusters, MaskKind::kUsedBlobIds}) {
    for (uint64_t bit_count : {uint64_t{29}, uint64_t{40000}}) {
      std::vector<std::byte> bits(bit_count / 8 + 1);
      for (size_t i = 0; i < bits.size(); ++i) bits[i] = std::byte(i * 37);
      std::vector<std::byte> pages(MaskPages(bit_count) * kPageSize);
      EncodeMask(kind, bits, bit_count, pages);
      Write(dir, "mask_" + std::to_string(static_cast<int>(kind)) + "_" + std::to_string(bit_count),
            {.mask_kind = kind}, pages);
    }
  }
}

void WriteChain(const std::string& dir, const std::string& name, const BlobMetadata& metadata) {
  std::vector<AlignedBuffer> pages = SerializeBlob(metadata);
  // The layout the fuzz target assumes: the root at its own index, page i at index i.
  std::vector<uint32_t> indices(pages.size());
  indices[0] = *RootOfBlobId(metadata.blob_id);
  for (size_t i = 1; i < pages.size(); ++i) indices[i] = static_cast<uint32_t>(i);
  LinkChain(pages, indices);
  std::vector<std::byte> bytes;
  for (const AlignedBuffer& page : pages) {
    bytes.insert(bytes.end(), page.span().begin(), page.span().end());
  }
  Write(dir, name, {.total_clusters = 1 << 16}, bytes);
}

void WriteChains(const std::string& dir) {
  BlobMetadata small;
  small.blob_id = BlobIdOfRoot(3);
  small.sync_generation = 8;
  small.invalid_flags = 1;
  small.num_clusters = 64;
  small.extents = {{.logical = 0, .physical = 100, .count = 4},
                   {.logical = 10, .physical = 7, .count = 20}};
  small.xattrs["user.name"] = "value";
  small.xattrs["empty"] = "";
  small.internal_xattrs["inode"] = std::string(40, '\x01');
  WriteChain(dir, "chain_small", small);

  BlobMetadata large = small;
  large.blob_id = BlobIdOfRoot(0);
  large.num_clusters = 10000;
  large.extents.clear();
  for (uint32_t i = 0; i < 400; ++i) {
    large.extents.push_back({.logical = 3 * i, .physical = 1000 + 5 * i, .count = 2});
  }
  large.xattrs["user.big"] = std::string(9000, 'b');
  WriteChain(dir, "chain_large", large);
}

// A journal of 12 pages: transactions 4 (two images), 5 (one, its tail 4) and 6 (wrapping around
// the end, two images, its tail 5).
void WriteJournal(const std::string& dir) {
  constexpr size_t kPages = 12;
  std::vector<std::byte> log(kPages * kPageSize);
  auto block = [&log](size_t i) { return std::span(log).subspan((i % kPages) * kPageSize, kPageSize); };
  Uuid uuid = Uuid::Random();
  // Page 0 carries the uuid where the target reads it: transaction 6's last image lands there.
  size_t at = 2;
  auto add = [&](uint64_t sequence, uint64_t tail, std::vector<uint64_t> targets) {
    const size_t first = at;
    std::vector<JournalTag> tags;
    for (uint64_t target : targets) tags.push_back({.target = target});
    EncodeJournalDescriptor(sequence, uuid, tags, block(at++));
    for (size_t i = 0; i < targets.size(); ++i) {
      std::span<std::byte> image = block(at++);
      std::fill(image.begin(), image.end(), std::byte(sequence));
      std::memcpy(image.data() + 24, uuid.bytes.data(), uuid.bytes.size());
    }
    uint32_t crc = 0;
    for (size_t b = first; b < at; ++b) crc = Crc32cExtend(crc, block(b));
    const auto blocks = static_cast<uint32_t>(at - first);
    EncodeJournalCommit({.sequence = sequence, .blocks = blocks, .tail_seq = tail}, uuid, crc,
                        block(at));
    ++at;
  };
  add(4, 4, {16, 17});
  add(5, 4, {0});
  add(6, 5, {20, 21});
  Write(dir, "journal", {}, log);
}

}  // namespace
}  // namespace blobfs::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
    return 2;
  }
  blobfs::fuzz::WriteSuperBlock(argv[1]);
  blobfs::fuzz::WriteMasks(argv[1]);
  blobfs::fuzz::WriteChains(argv[1]);
  blobfs::fuzz::WriteJournal(argv[1]);
  return 0;
}
