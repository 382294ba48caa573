#include "blob/format/super_block.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <iterator>
#include <optional>
#include <string_view>

#include "absl/strings/escaping.h"
#include "blob/crc32c.h"
#include "blob/format/endian.h"
#include "blob/format/mask.h"
#include "blob/format/page.h"

namespace blobfs {
namespace {

// Byte offsets of the fields (FORMAT.md, "Super block").
constexpr size_t kMagicOffset = 0;
constexpr size_t kVersionOffset = 8;
constexpr size_t kSuperSizeOffset = 12;
constexpr size_t kCompatOffset = 16;
constexpr size_t kRoCompatOffset = 24;
constexpr size_t kIncompatOffset = 32;
constexpr size_t kStateOffset = 40;
constexpr size_t kPageSizeOffset = 44;
constexpr size_t kIoUnitSizeOffset = 48;
constexpr size_t kClusterSizeOffset = 52;
constexpr size_t kTotalClustersOffset = 56;
constexpr size_t kSuperBlobOffset = 64;
constexpr size_t kMdStartOffset = 72;
constexpr size_t kMdLenOffset = 80;
constexpr size_t kUsedPageMaskStartOffset = 88;
constexpr size_t kUsedPageMaskLenOffset = 96;
constexpr size_t kUsedClusterMaskStartOffset = 104;
constexpr size_t kUsedClusterMaskLenOffset = 112;
constexpr size_t kUsedBlobidMaskStartOffset = 120;
constexpr size_t kUsedBlobidMaskLenOffset = 128;
constexpr size_t kBstypeOffset = 136;
constexpr size_t kUuidOffset = 152;
constexpr size_t kMountCountOffset = 168;
constexpr size_t kJournalStartOffset = 176;
constexpr size_t kJournalLenOffset = 184;
constexpr size_t kReservedOffset = 192;
constexpr size_t kCrcOffset = 4092;

constexpr std::string_view kMagic = "BLOBSTOR";
constexpr uint32_t kMinClusterSize = 4096;
constexpr uint32_t kMaxClusterSize = uint32_t{1} << 30;

// A run of pages that must lie inside the store and outside the other runs.
struct Region {
  std::string_view name;
  uint64_t start;
  uint64_t length;
};

bool IsPowerOfTwo(uint64_t value) { return value != 0 && (value & (value - 1)) == 0; }

Status CheckRegions(const SuperBlock& sb) {
  const Region regions[] = {
      {"super block", 0, 1},
      {"used page mask", sb.used_page_mask_start, sb.used_page_mask_len},
      {"used cluster mask", sb.used_cluster_mask_start, sb.used_cluster_mask_len},
      {"used blob id mask", sb.used_blobid_mask_start, sb.used_blobid_mask_len},
      {"metadata region", sb.md_start, sb.md_len},
      {"journal", sb.journal_start, sb.journal_len},
  };
  uint64_t total_pages = sb.total_pages();
  for (const Region& region : regions) {
    if (region.length > total_pages || region.start > total_pages - region.length) {
      return MakeError(EUCLEAN,
                       "super block: %s (start page %d, %d pages) ends past the store's %d pages "
                       "(total_clusters %d * cluster_size %d)",
                       region.name, region.start, region.length, total_pages, sb.total_clusters,
                       sb.cluster_size);
    }
  }
  for (size_t i = 0; i < std::size(regions); ++i) {
    for (size_t j = i + 1; j < std::size(regions); ++j) {
      const Region& a = regions[i];
      const Region& b = regions[j];
      bool disjoint = a.length == 0 || b.length == 0 || a.start + a.length <= b.start ||
                      b.start + b.length <= a.start;
      if (!disjoint) {
        return MakeError(EUCLEAN, "super block: %s [%d, %d) overlaps %s [%d, %d)", a.name, a.start,
                         a.start + a.length, b.name, b.start, b.start + b.length);
      }
    }
  }
  return OkStatus();
}

Status CheckMaskLength(std::string_view field, uint64_t pages, std::string_view count_field,
                       uint64_t bit_count) {
  uint64_t needed = MaskPages(bit_count);
  if (pages < needed) {
    return MakeError(EUCLEAN, "super block: %s %d is too short for a mask of %s %d bits (%d pages)",
                     field, pages, count_field, bit_count, needed);
  }
  return OkStatus();
}

}  // namespace

Status SuperBlock::Validate() const {
  if (uint64_t unknown = incompat_features & ~kKnownIncompatFeatures; unknown != 0) {
    return MakeError(EOPNOTSUPP,
                     "super block: incompat_features 0x%x has bits this blobfs does not know "
                     "(0x%x): the store was written by a newer blobfs",
                     incompat_features, unknown);
  }
  if (has_journal() ? journal_len < kMinJournalPages || journal_start == 0
                    : journal_len != 0 || journal_start != 0) {
    return MakeError(EUCLEAN,
                     "super block: journal_start %d, journal_len %d do not fit incompat_features "
                     "0x%x (a journal needs at least %d pages; none, both zero)",
                     journal_start, journal_len, incompat_features, kMinJournalPages);
  }
  if ((state & ~kStateClean) != 0) {
    return MakeError(EUCLEAN, "super block: state 0x%x has undefined bits", state);
  }
  if (io_unit_size != 512 && io_unit_size != 1024 && io_unit_size != 2048 && io_unit_size != 4096) {
    return MakeError(EUCLEAN, "super block: io_unit_size %d is not 512, 1024, 2048 or 4096",
                     io_unit_size);
  }
  if (!IsPowerOfTwo(cluster_size) || cluster_size < kMinClusterSize ||
      cluster_size > kMaxClusterSize) {
    return MakeError(EUCLEAN,
                     "super block: cluster_size %d is not a power of two from 4096 to 2^30",
                     cluster_size);
  }
  if (total_clusters > UINT64_MAX / cluster_size) {
    return MakeError(EUCLEAN, "super block: total_clusters %d * cluster_size %d exceeds 2^64 bytes",
                     total_clusters, cluster_size);
  }
  if (md_len > kMaxMetadataPages) {
    return MakeError(EUCLEAN, "super block: md_len %d exceeds 2^32-1", md_len);
  }
  if (super_blob != kNoBlobId) {
    std::optional<uint32_t> root = RootOfBlobId(super_blob);
    if (!root.has_value() || *root >= md_len) {
      return MakeError(EUCLEAN,
                       "super block: super_blob 0x%x is not a blob id of this store (md_len %d)",
                       super_blob, md_len);
    }
  }
  RETURN_IF_ERROR(CheckMaskLength("used_page_mask_len", used_page_mask_len, "md_len", md_len));
  RETURN_IF_ERROR(CheckMaskLength("used_cluster_mask_len", used_cluster_mask_len, "total_clusters",
                                  total_clusters));
  RETURN_IF_ERROR(CheckMaskLength("used_blobid_mask_len", used_blobid_mask_len, "md_len", md_len));
  return CheckRegions(*this);
}

void SuperBlock::Encode(std::span<std::byte> page) const {
  CHECK_EQ(page.size(), kPageSize);
  Status valid = Validate();
  CHECK(valid.ok()) << valid.error().ToString();
  std::fill(page.begin(), page.end(), std::byte{0});
  std::memcpy(page.data() + kMagicOffset, kMagic.data(), kMagic.size());
  StoreLe32(page, kVersionOffset, kVersion);
  StoreLe32(page, kSuperSizeOffset, kPageSize);
  StoreLe64(page, kCompatOffset, compat_features);
  StoreLe64(page, kRoCompatOffset, ro_compat_features);
  StoreLe64(page, kIncompatOffset, incompat_features);
  StoreLe32(page, kStateOffset, state);
  StoreLe32(page, kPageSizeOffset, kPageSize);
  StoreLe32(page, kIoUnitSizeOffset, io_unit_size);
  StoreLe32(page, kClusterSizeOffset, cluster_size);
  StoreLe64(page, kTotalClustersOffset, total_clusters);
  StoreLe64(page, kSuperBlobOffset, super_blob);
  StoreLe64(page, kMdStartOffset, md_start);
  StoreLe64(page, kMdLenOffset, md_len);
  StoreLe64(page, kUsedPageMaskStartOffset, used_page_mask_start);
  StoreLe64(page, kUsedPageMaskLenOffset, used_page_mask_len);
  StoreLe64(page, kUsedClusterMaskStartOffset, used_cluster_mask_start);
  StoreLe64(page, kUsedClusterMaskLenOffset, used_cluster_mask_len);
  StoreLe64(page, kUsedBlobidMaskStartOffset, used_blobid_mask_start);
  StoreLe64(page, kUsedBlobidMaskLenOffset, used_blobid_mask_len);
  std::memcpy(page.data() + kBstypeOffset, bstype.data(), bstype.size());
  std::memcpy(page.data() + kUuidOffset, uuid.bytes.data(), uuid.bytes.size());
  StoreLe64(page, kMountCountOffset, mount_count);
  StoreLe64(page, kJournalStartOffset, journal_start);
  StoreLe64(page, kJournalLenOffset, journal_len);
  StoreLe32(page, kCrcOffset, Crc32c(page.first(kCrcOffset)));
}

Result<SuperBlock> SuperBlock::Decode(std::span<const std::byte> page) {
  CHECK_EQ(page.size(), kPageSize);
  if (std::memcmp(page.data() + kMagicOffset, kMagic.data(), kMagic.size()) != 0) {
    auto magic = reinterpret_cast<const char*>(page.data() + kMagicOffset);
    return MakeError(EUCLEAN, "super block: magic \"%s\" is not \"BLOBSTOR\" (not a blob store)",
                     absl::CHexEscape(absl::string_view(magic, kMagic.size())));
  }
  // The version comes before the CRC: a newer format may place its CRC elsewhere.
  uint32_t version = LoadLe32(page, kVersionOffset);
  if (version > kVersion) {
    return MakeError(EOPNOTSUPP,
                     "super block: version %d: the store was written by a newer blobfs (this one "
                     "reads version %d)",
                     version, kVersion);
  }
  uint32_t crc = Crc32c(page.first(kCrcOffset));
  if (uint32_t found = LoadLe32(page, kCrcOffset); found != crc) {
    return MakeError(EUCLEAN, "super block: crc 0x%08x does not match its bytes (crc 0x%08x)",
                     found, crc);
  }
  if (version != kVersion) {
    return MakeError(EUCLEAN, "super block: version %d is not a format version", version);
  }
  if (uint32_t super_size = LoadLe32(page, kSuperSizeOffset); super_size != kPageSize) {
    return MakeError(EUCLEAN, "super block: super_size %d is not 4096", super_size);
  }
  if (uint32_t page_size = LoadLe32(page, kPageSizeOffset); page_size != kPageSize) {
    return MakeError(EUCLEAN, "super block: page_size %d is not 4096", page_size);
  }
  SuperBlock sb;
  sb.compat_features = LoadLe64(page, kCompatOffset);
  sb.ro_compat_features = LoadLe64(page, kRoCompatOffset);
  sb.incompat_features = LoadLe64(page, kIncompatOffset);
  sb.state = LoadLe32(page, kStateOffset);
  sb.io_unit_size = LoadLe32(page, kIoUnitSizeOffset);
  sb.cluster_size = LoadLe32(page, kClusterSizeOffset);
  sb.total_clusters = LoadLe64(page, kTotalClustersOffset);
  sb.super_blob = LoadLe64(page, kSuperBlobOffset);
  sb.md_start = LoadLe64(page, kMdStartOffset);
  sb.md_len = LoadLe64(page, kMdLenOffset);
  sb.used_page_mask_start = LoadLe64(page, kUsedPageMaskStartOffset);
  sb.used_page_mask_len = LoadLe64(page, kUsedPageMaskLenOffset);
  sb.used_cluster_mask_start = LoadLe64(page, kUsedClusterMaskStartOffset);
  sb.used_cluster_mask_len = LoadLe64(page, kUsedClusterMaskLenOffset);
  sb.used_blobid_mask_start = LoadLe64(page, kUsedBlobidMaskStartOffset);
  sb.used_blobid_mask_len = LoadLe64(page, kUsedBlobidMaskLenOffset);
  std::memcpy(sb.bstype.data(), page.data() + kBstypeOffset, sb.bstype.size());
  std::memcpy(sb.uuid.bytes.data(), page.data() + kUuidOffset, sb.uuid.bytes.size());
  sb.mount_count = LoadLe64(page, kMountCountOffset);
  sb.journal_start = LoadLe64(page, kJournalStartOffset);
  sb.journal_len = LoadLe64(page, kJournalLenOffset);
  RETURN_IF_ERROR(sb.Validate());
  // A feature this blobfs does not know may use the reserved bytes; otherwise they are zero.
  bool unknown_features = (sb.compat_features & ~kKnownCompatFeatures) != 0 ||
                          (sb.ro_compat_features & ~kKnownRoCompatFeatures) != 0;
  std::span<const std::byte> reserved = page.subspan(kReservedOffset, kCrcOffset - kReservedOffset);
  auto nonzero =
      std::find_if(reserved.begin(), reserved.end(), [](std::byte b) { return b != std::byte{0}; });
  if (!unknown_features && nonzero != reserved.end()) {
    return MakeError(EUCLEAN, "super block: reserved byte %d is not zero",
                     kReservedOffset + (nonzero - reserved.begin()));
  }
  return sb;
}

std::optional<SuperBlock::JournalPlace> SuperBlock::PeekJournal(std::span<const std::byte> page) {
  CHECK_GE(page.size(), size_t{512});
  static_assert(kJournalLenOffset + 8 <= 512, "the journal's place is in the first sector");
  if (std::memcmp(page.data() + kMagicOffset, kMagic.data(), kMagic.size()) != 0 ||
      LoadLe32(page, kVersionOffset) != kVersion ||
      (LoadLe64(page, kIncompatOffset) & kIncompatJournal) == 0) {
    return std::nullopt;
  }
  JournalPlace place{.start = LoadLe64(page, kJournalStartOffset),
                     .len = LoadLe64(page, kJournalLenOffset),
                     .uuid = {}};
  std::memcpy(place.uuid.bytes.data(), page.data() + kUuidOffset, place.uuid.bytes.size());
  const uint32_t cluster_size = LoadLe32(page, kClusterSizeOffset);
  const uint64_t total_clusters = LoadLe64(page, kTotalClustersOffset);
  if (!IsPowerOfTwo(cluster_size) || cluster_size < kMinClusterSize ||
      cluster_size > kMaxClusterSize || total_clusters > UINT64_MAX / cluster_size) {
    return std::nullopt;
  }
  const uint64_t total_pages = total_clusters * (cluster_size / kPageSize);
  if (place.start == 0 || place.len < kMinJournalPages || place.len > total_pages ||
      place.start > total_pages - place.len) {
    return std::nullopt;
  }
  return place;
}

}  // namespace blobfs
