#include "blobfs/format/fs_super.h"

#include <cerrno>
#include <cstring>

#include "absl/strings/escaping.h"
#include "blobfs/format/record_bytes.h"

namespace blobfs {
namespace {

// Byte offsets (FORMAT.md, "Filesystem super record").
constexpr size_t kMagicOffset = 0;
constexpr size_t kVersionOffset = 8;
constexpr size_t kLabelLengthOffset = 12;
constexpr size_t kCompatOffset = 16;
constexpr size_t kRoCompatOffset = 24;
constexpr size_t kIncompatOffset = 32;
constexpr size_t kUuidOffset = 40;
constexpr size_t kLabelOffset = 56;
constexpr size_t kCreatedOffset = 120;
constexpr size_t kBlockSizeOffset = 136;
constexpr size_t kInlineMaxOffset = 140;
constexpr size_t kRootInoOffset = 144;
constexpr size_t kOrphanInoOffset = 152;
constexpr size_t kHashSeedOffset = 160;
constexpr size_t kMountCountOffset = 168;
static_assert(kMountCountOffset + 8 == FsSuper::kEncodedSize);
static_assert(kLabelOffset + FsSuper::kMaxLabel == kCreatedOffset);

constexpr std::string_view kMagic = "BLOBFSFS";

}  // namespace

std::string FsSuper::Encode() const {
  std::string encoded(kEncodedSize, '\0');
  std::span<std::byte> bytes = BytesOf(encoded);
  std::memcpy(encoded.data() + kMagicOffset, kMagic.data(), kMagic.size());
  StoreLe32(bytes, kVersionOffset, kVersion);
  StoreLe32(bytes, kLabelLengthOffset, static_cast<uint32_t>(label.size()));
  StoreLe64(bytes, kCompatOffset, compat_features);
  StoreLe64(bytes, kRoCompatOffset, ro_compat_features);
  StoreLe64(bytes, kIncompatOffset, incompat_features);
  std::memcpy(encoded.data() + kUuidOffset, uuid.bytes.data(), uuid.bytes.size());
  if (!label.empty()) std::memcpy(encoded.data() + kLabelOffset, label.data(), label.size());
  StoreTimestamp(bytes, kCreatedOffset, created);
  StoreLe32(bytes, kBlockSizeOffset, block_size);
  StoreLe32(bytes, kInlineMaxOffset, inline_max);
  StoreLe64(bytes, kRootInoOffset, root_ino);
  StoreLe64(bytes, kOrphanInoOffset, orphan_ino);
  StoreLe64(bytes, kHashSeedOffset, hash_seed);
  StoreLe64(bytes, kMountCountOffset, mount_count);
  return encoded;
}

Result<FsSuper> FsSuper::Decode(std::string_view encoded) {
  std::span<const std::byte> bytes = BytesOf(encoded);
  if (encoded.size() < kVersionOffset + 4 || encoded.substr(kMagicOffset, kMagic.size()) != kMagic) {
    return MakeError(EUCLEAN, "filesystem super: no magic \"%s\" (value of %d bytes starts \"%s\")",
                     kMagic, encoded.size(), absl::CHexEscape(std::string(encoded.substr(0, kMagic.size()))));
  }
  uint32_t version = LoadLe32(bytes, kVersionOffset);
  if (version > kVersion) {
    return MakeError(EOPNOTSUPP, "filesystem super: version %d is newer than this build's %d",
                     version, kVersion);
  }
  if (version == 0) return MakeError(EUCLEAN, "filesystem super: version 0");
  if (encoded.size() < kEncodedSize) {
    return MakeError(EUCLEAN, "filesystem super: %d bytes, version 1 has %d", encoded.size(),
                     kEncodedSize);
  }
  FsSuper super;
  uint32_t label_length = LoadLe32(bytes, kLabelLengthOffset);
  if (label_length > kMaxLabel) {
    return MakeError(EUCLEAN, "filesystem super: label_length %d exceeds %d", label_length,
                     kMaxLabel);
  }
  super.compat_features = LoadLe64(bytes, kCompatOffset);
  super.ro_compat_features = LoadLe64(bytes, kRoCompatOffset);
  super.incompat_features = LoadLe64(bytes, kIncompatOffset);
  if ((super.incompat_features & ~kKnownIncompatFeatures) != 0) {
    return MakeError(EOPNOTSUPP, "filesystem super: unknown incompat features 0x%x",
                     super.incompat_features & ~kKnownIncompatFeatures);
  }
  std::memcpy(super.uuid.bytes.data(), encoded.data() + kUuidOffset, super.uuid.bytes.size());
  super.label.assign(encoded.substr(kLabelOffset, label_length));
  super.created = LoadTimestamp(bytes, kCreatedOffset);
  super.block_size = LoadLe32(bytes, kBlockSizeOffset);
  super.inline_max = LoadLe32(bytes, kInlineMaxOffset);
  super.root_ino = LoadLe64(bytes, kRootInoOffset);
  super.orphan_ino = LoadLe64(bytes, kOrphanInoOffset);
  super.hash_seed = LoadLe64(bytes, kHashSeedOffset);
  super.mount_count = LoadLe64(bytes, kMountCountOffset);
  if (super.block_size < 4096 || super.block_size > 65536 ||
      (super.block_size & (super.block_size - 1)) != 0) {
    return MakeError(EUCLEAN, "filesystem super: block_size %d is not a power of two in [4096, 65536]",
                     super.block_size);
  }
  if (super.inline_max > kMaxInlineMax) {
    return MakeError(EUCLEAN, "filesystem super: inline_max %d exceeds %d", super.inline_max,
                     kMaxInlineMax);
  }
  if (!super.created.valid()) {
    return MakeError(EUCLEAN, "filesystem super: creation time has %d nanoseconds",
                     super.created.nsec);
  }
  if (super.root_ino == 0) return MakeError(EUCLEAN, "filesystem super: root_ino is 0");
  return super;
}

}  // namespace blobfs
