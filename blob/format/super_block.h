// The super block: page 0 of a blob store (FORMAT.md, "Super block").
//
// Contract:
//  - SuperBlock holds every variable field of the super block. The constant ones (magic, version,
//    super_size, page_size, reserved, crc) are not members: Encode writes them, Decode checks them.
//  - Decode accepts exactly the super blocks FORMAT.md allows and fails with
//      EUCLEAN     for corruption (bad magic, CRC, sizes, overlapping or out-of-store regions,
//      ...); EOPNOTSUPP  for a store this build must not load: a newer format version, or an
//                  incompat_features bit it does not know.
//    Every message starts with "super block: " and names the field and its value. Unknown
//    compat_features bits are ignored; unknown ro_compat_features bits decode successfully and
//    make read_only_required() true, so the caller mounts read-only.
//  - Decode(Encode(s)) == s for every s with Validate(s) ok.
//  - Nothing here does I/O or checks the device: that the bdev holds total_clusters × cluster_size
//    bytes, its block size, and bstype are the loader's checks.
#ifndef BLOBFS_BLOB_FORMAT_SUPER_BLOCK_H_
#define BLOBFS_BLOB_FORMAT_SUPER_BLOCK_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "blob/format/blob_id.h"
#include "common/error.h"
#include "common/uuid.h"

namespace blobfs {

struct SuperBlock {
  static constexpr uint32_t kVersion = 1;
  // `state` bit 0: the masks on disk are exact.
  static constexpr uint32_t kStateClean = 1;
  // incompat_features bit 0: metadata commits go through the journal at journal_start
  // (FORMAT.md, "Journal"); a blobfs that does not replay it must not load the store.
  static constexpr uint64_t kIncompatJournal = 1;
  // The smallest journal a store may have, in pages.
  static constexpr uint64_t kMinJournalPages = 16;
  // The feature bits this build knows.
  static constexpr uint64_t kKnownCompatFeatures = 0;
  static constexpr uint64_t kKnownRoCompatFeatures = 0;
  static constexpr uint64_t kKnownIncompatFeatures = kIncompatJournal;

  uint64_t compat_features = 0;
  uint64_t ro_compat_features = 0;
  uint64_t incompat_features = 0;
  uint32_t state = 0;
  uint32_t io_unit_size = 0;
  uint32_t cluster_size = 0;
  uint64_t total_clusters = 0;
  uint64_t super_blob = kNoBlobId;
  uint64_t md_start = 0;  // All starts are page numbers, all lengths page counts.
  uint64_t md_len = 0;
  uint64_t used_page_mask_start = 0;
  uint64_t used_page_mask_len = 0;
  uint64_t used_cluster_mask_start = 0;
  uint64_t used_cluster_mask_len = 0;
  uint64_t used_blobid_mask_start = 0;
  uint64_t used_blobid_mask_len = 0;
  std::array<uint8_t, 16> bstype{};
  Uuid uuid;
  uint64_t mount_count = 0;
  uint64_t journal_start = 0;  // With kIncompatJournal; both 0 without it.
  uint64_t journal_len = 0;

  bool clean() const { return (state & kStateClean) != 0; }

  // bstype up to its first zero byte (raw bytes, not escaped).
  std::string_view bstype_text() const {
    const char* text = reinterpret_cast<const char*>(bstype.data());
    size_t length = 0;
    while (length < bstype.size() && text[length] != '\0') ++length;
    return std::string_view(text, length);
  }

  bool has_journal() const { return (incompat_features & kIncompatJournal) != 0; }

  // True when ro_compat_features has a bit this build does not know.
  bool read_only_required() const { return (ro_compat_features & ~kKnownRoCompatFeatures) != 0; }

  // Pages the store spans: total_clusters × cluster_size / kPageSize. Only meaningful when
  // Validate() succeeds.
  uint64_t total_pages() const { return total_clusters * (cluster_size / kPageSize); }

  // The checks of Decode on the members, with its error codes and messages.
  Status Validate() const;

  // Writes the whole page (kPageSize bytes), CRC included. Validate() must succeed.
  void Encode(std::span<std::byte> page) const;

  // Reads page 0 (kPageSize bytes).
  static Result<SuperBlock> Decode(std::span<const std::byte> page);

  // Where the journal is, from the first sector of page 0 alone, without the CRC (which covers the
  // whole page): how a load finds the journal's copy of a torn super block. Nothing when the
  // sector is not a version-1 super block with a journal, or the journal fields are implausible.
  struct JournalPlace {
    uint64_t start = 0;
    uint64_t len = 0;
    Uuid uuid;
  };
  static std::optional<JournalPlace> PeekJournal(std::span<const std::byte> page);

  friend bool operator==(const SuperBlock&, const SuperBlock&) = default;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_FORMAT_SUPER_BLOCK_H_
