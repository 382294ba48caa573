#include "blob/format/metadata_page.h"

#include <algorithm>
#include <cstring>
#include <cerrno>

#include "blob/crc32c.h"
#include "blob/format/blob_id.h"
#include "blob/format/endian.h"

namespace blobfs {
namespace {

constexpr size_t kBlobIdOffset = 0;
constexpr size_t kSyncGenerationOffset = 8;
constexpr size_t kSequenceOffset = 16;
constexpr size_t kDescriptorBytesOffset = 20;
constexpr size_t kDescriptorsOffset = 24;
constexpr size_t kNextOffset = 4088;
constexpr size_t kCrcOffset = 4092;
static_assert(kDescriptorsOffset + kDescriptorAreaSize == kNextOffset);

void StoreCrc(std::span<std::byte> page) {
  StoreLe32(page, kCrcOffset, Crc32c(page.first(kCrcOffset)));
}

}  // namespace

bool MetadataPageCrcMatches(std::span<const std::byte> page) {
  CHECK_EQ(page.size(), kPageSize);
  return LoadLe32(page, kCrcOffset) == Crc32c(page.first(kCrcOffset));
}

MetadataPageHeader PeekMetadataPageHeader(std::span<const std::byte> page) {
  CHECK_EQ(page.size(), kPageSize);
  MetadataPageHeader header;
  header.blob_id = LoadLe64(page, kBlobIdOffset);
  header.sync_generation = LoadLe64(page, kSyncGenerationOffset);
  header.sequence = LoadLe32(page, kSequenceOffset);
  header.descriptor_bytes = LoadLe32(page, kDescriptorBytesOffset);
  header.next = LoadLe32(page, kNextOffset);
  return header;
}

Result<MetadataPage> ParseMetadataPage(std::span<const std::byte> page, uint32_t index) {
  CHECK_EQ(page.size(), kPageSize);
  uint32_t crc = Crc32c(page.first(kCrcOffset));
  if (uint32_t found = LoadLe32(page, kCrcOffset); found != crc) {
    return MakeError(EUCLEAN, "metadata page %d: crc 0x%08x does not match its bytes (crc 0x%08x)",
                     index, found, crc);
  }
  MetadataPage parsed;
  MetadataPageHeader& header = parsed.header;
  header = PeekMetadataPageHeader(page);
  if (header.descriptor_bytes > kDescriptorAreaSize) {
    return MakeError(EUCLEAN, "metadata page %d: descriptor_bytes %d exceeds %d", index,
                     header.descriptor_bytes, kDescriptorAreaSize);
  }
  std::span<const std::byte> area = page.subspan(kDescriptorsOffset, kDescriptorAreaSize);
  parsed.descriptors = area.first(header.descriptor_bytes);
  auto tail = area.subspan(header.descriptor_bytes);
  static constexpr std::byte kZeros[kDescriptorAreaSize] = {};
  if (std::memcmp(tail.data(), kZeros, tail.size()) != 0) {
    auto nonzero =
        std::find_if(tail.begin(), tail.end(), [](std::byte b) { return b != std::byte{0}; });
    return MakeError(EUCLEAN,
                     "metadata page %d: byte %d of the descriptor area is not zero "
                     "(descriptor_bytes %d)",
                     index, header.descriptor_bytes + (nonzero - tail.begin()),
                     header.descriptor_bytes);
  }
  return parsed;
}

bool IsRootPage(const MetadataPageHeader& header, uint32_t index) {
  return header.sequence == 0 && RootOfBlobId(header.blob_id) == index;
}

std::span<std::byte> DescriptorArea(std::span<std::byte> page) {
  CHECK_EQ(page.size(), kPageSize);
  return page.subspan(kDescriptorsOffset, kDescriptorAreaSize);
}

void FinishMetadataPage(const MetadataPageHeader& header, std::span<std::byte> page) {
  CHECK_EQ(page.size(), kPageSize);
  CHECK_LE(header.descriptor_bytes, kDescriptorAreaSize);
  StoreLe64(page, kBlobIdOffset, header.blob_id);
  StoreLe64(page, kSyncGenerationOffset, header.sync_generation);
  StoreLe32(page, kSequenceOffset, header.sequence);
  StoreLe32(page, kDescriptorBytesOffset, header.descriptor_bytes);
  std::fill(page.begin() + kDescriptorsOffset + header.descriptor_bytes, page.begin() + kNextOffset,
            std::byte{0});
  StoreLe32(page, kNextOffset, header.next);
  StoreCrc(page);
}

void SetMetadataPageNext(std::span<std::byte> page, uint32_t next) {
  CHECK_EQ(page.size(), kPageSize);
  StoreLe32(page, kNextOffset, next);
  StoreCrc(page);
}

}  // namespace blobfs
