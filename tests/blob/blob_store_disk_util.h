// Raw access to the device under a StoreHarness, for tests that damage a blob store on purpose or
// copy its image: pages read and written straight on the malloc bdev "base" (below the error bdev,
// so neither its rules nor its write log see them), the super block, masks and metadata chains
// decoded with the codecs of blob/format, and pages re-encoded with valid CRCs so that damage
// reaches the parsers behind the checksum.
//
// Use it while no store is loaded (or with no I/O of the store in flight).
#ifndef BLOBFS_TESTS_BLOB_BLOB_STORE_DISK_UTIL_H_
#define BLOBFS_TESTS_BLOB_BLOB_STORE_DISK_UTIL_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "blob/crc32c.h"
#include "blob/format/blob_id.h"
#include "blob/format/blob_metadata.h"
#include "blob/format/endian.h"
#include "blob/format/mask.h"
#include "blob/format/metadata_page.h"
#include "blob/format/page.h"
#include "blob/format/super_block.h"
#include "tests/blob/blob_store_test_util.h"

namespace blobfs::blob_test {

using Bytes = std::vector<std::byte>;

// Sets the CRC of a metadata page or of the super block (both keep it in their last 4 bytes).
inline void FixPageCrc(std::span<std::byte> page) {
  StoreLe32(page, kPageSize - 4, Crc32c(page.first(kPageSize - 4)));
}

class RawDisk {
 public:
  explicit RawDisk(StoreHarness& harness, std::string bdev = "base")
      : h_(harness), bdev_(std::move(bdev)) {}

  uint64_t size_bytes() { return h_.registry().Find(bdev_)->geometry().size_bytes(); }

  Bytes Read(uint64_t offset, uint64_t length) {
    Bytes data(length);
    CHECK_OK(h_.Run(Io(&h_.registry(), bdev_, offset, std::span(data), /*write=*/false)));
    return data;
  }
  void Write(uint64_t offset, std::span<const std::byte> data) {
    CHECK_OK(h_.Run(Io(&h_.registry(), bdev_, offset,
                       std::span(const_cast<std::byte*>(data.data()), data.size()),
                       /*write=*/true)));
  }
  Bytes ReadPage(uint64_t page) { return Read(page * kPageSize, kPageSize); }
  void WritePage(uint64_t page, std::span<const std::byte> bytes) {
    CHECK_EQ(bytes.size(), kPageSize);
    Write(page * kPageSize, bytes);
  }

  SuperBlock Super() {
    Bytes page = ReadPage(0);
    Result<SuperBlock> super = SuperBlock::Decode(page);
    CHECK_OK(super);
    return *super;
  }
  // Device page of metadata page `index`.
  uint64_t MdPage(uint32_t index) { return Super().md_start + index; }
  Bytes ReadMd(uint32_t index) { return ReadPage(MdPage(index)); }
  void WriteMd(uint32_t index, std::span<const std::byte> page) { WritePage(MdPage(index), page); }

  // Edits metadata page `index` in place and makes its CRC valid again.
  template <typename Edit>
  void EditMd(uint32_t index, Edit edit) {
    Bytes page = ReadMd(index);
    edit(std::span(page));
    FixPageCrc(page);
    WriteMd(index, page);
  }
  // The same for the super block.
  template <typename Edit>
  void EditSuper(Edit edit) {
    Bytes page = ReadPage(0);
    edit(std::span(page));
    FixPageCrc(page);
    WritePage(0, page);
  }

  // The indices of a valid chain on disk, root first (following `next`; CHECKs that it ends).
  std::vector<uint32_t> Chain(uint64_t blob_id) {
    const uint64_t md_len = Super().md_len;
    std::vector<uint32_t> chain;
    for (uint32_t index = *RootOfBlobId(blob_id); index != kNoPageIndex;) {
      CHECK_LT(index, md_len);
      CHECK_LE(chain.size(), md_len) << "chain of blob " << blob_id << " loops";
      chain.push_back(index);
      index = LoadLe32(ReadMd(index), kPageSize - 8);
    }
    return chain;
  }
  BlobMetadata Metadata(uint64_t blob_id) {
    std::vector<uint32_t> indices = Chain(blob_id);
    std::vector<Bytes> pages;
    std::vector<ChainPage> chain;
    for (uint32_t index : indices) pages.push_back(ReadMd(index));
    for (size_t i = 0; i < indices.size(); ++i) chain.push_back({indices[i], pages[i]});
    Result<BlobMetadata> metadata = ParseChain(chain, Super().total_clusters);
    CHECK_OK(metadata);
    return *metadata;
  }
  // Writes `metadata` (valid for SerializeBlob) as a chain on the pages `indices` (root first;
  // as many as SerializeBlob makes pages).
  void WriteMetadata(const BlobMetadata& metadata, std::span<const uint32_t> indices) {
    std::vector<AlignedBuffer> pages = SerializeBlob(metadata);
    CHECK_EQ(pages.size(), indices.size());
    LinkChain(pages, indices);
    for (size_t i = 0; i < pages.size(); ++i) WriteMd(indices[i], pages[i].span());
  }
  // Rewrites a blob's metadata on its own chain's pages (the page count must not change).
  template <typename Edit>
  void EditMetadata(uint64_t blob_id, Edit edit) {
    BlobMetadata metadata = Metadata(blob_id);
    edit(metadata);
    WriteMetadata(metadata, Chain(blob_id));
  }

  // The bits of a mask as on disk (CHECKs that it decodes) and a re-encoding of it with a valid
  // CRC (for masks that lie consistently).
  Bytes MaskBits(MaskKind kind) {
    auto [start, length, bit_count] = MaskPlace(kind);
    Bytes pages = Read(start * kPageSize, length * kPageSize);
    Result<std::span<const std::byte>> bits = DecodeMask(pages, kind, bit_count);
    CHECK_OK(bits);
    return Bytes(bits->begin(), bits->end());
  }
  void WriteMask(MaskKind kind, std::span<const std::byte> bits) {
    auto [start, length, bit_count] = MaskPlace(kind);
    Bytes pages(length * kPageSize);
    EncodeMask(kind, bits, bit_count, pages);
    Write(start * kPageSize, pages);
  }
  // Device page of the first page of a mask.
  uint64_t MaskStart(MaskKind kind) { return std::get<0>(MaskPlace(kind)); }

  // The whole device.
  Bytes Image() { return Read(0, size_bytes()); }
  void SetImage(std::span<const std::byte> image) { Write(0, image); }

 private:
  std::tuple<uint64_t, uint64_t, uint64_t> MaskPlace(MaskKind kind) {
    SuperBlock super = Super();
    switch (kind) {
      case MaskKind::kUsedPages:
        return {super.used_page_mask_start, super.used_page_mask_len, super.md_len};
      case MaskKind::kUsedClusters:
        return {super.used_cluster_mask_start, super.used_cluster_mask_len, super.total_clusters};
      case MaskKind::kUsedBlobIds:
        return {super.used_blobid_mask_start, super.used_blobid_mask_len, super.md_len};
    }
    LOG(FATAL) << "mask kind " << static_cast<int>(kind);
    return {};
  }

  static Task<Status> Io(BdevRegistry* registry, std::string name, uint64_t offset,
                         std::span<std::byte> data, bool write) {
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> descriptor,
                        registry->Open(name, write ? OpenMode::kReadWrite : OpenMode::kReadOnly));
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevChannel> channel, descriptor->OpenChannel());
    // Large transfers in pieces, so that copies of whole images stay modest per request.
    constexpr uint64_t kPiece = 1 << 20;
    for (uint64_t done = 0; done < data.size();) {
      const uint64_t length = std::min<uint64_t>(kPiece, data.size() - done);
      std::span<std::byte> piece = data.subspan(done, length);
      Status status = write ? co_await channel->Write(offset + done, piece)
                            : co_await channel->Read(offset + done, piece);
      if (!status.ok()) co_return status;
      done += length;
    }
    co_return OkStatus();
  }

  StoreHarness& h_;
  std::string bdev_;
};

}  // namespace blobfs::blob_test

#endif  // BLOBFS_TESTS_BLOB_BLOB_STORE_DISK_UTIL_H_
