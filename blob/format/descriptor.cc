#include "blob/format/descriptor.h"

#include <cerrno>
#include <cstring>
#include <limits>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "blob/format/endian.h"

namespace blobfs {
namespace {

// FLAGS body.
constexpr size_t kInvalidFlagsOffset = 0;
constexpr size_t kDataRoFlagsOffset = 8;
constexpr size_t kMdRoFlagsOffset = 16;
constexpr size_t kNumClustersOffset = 24;
// One EXTENTS run.
constexpr size_t kLogicalOffset = 0;
constexpr size_t kPhysicalOffset = 8;
constexpr size_t kCountOffset = 16;
// XATTR body.
constexpr size_t kNameLengthOffset = 0;
constexpr size_t kReservedOffset = 2;
constexpr size_t kValueLengthOffset = 4;
constexpr size_t kFragmentOffsetOffset = 8;

std::string_view AsChars(std::span<const std::byte> bytes) {
  return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}

}  // namespace

std::string QuotedXattrName(std::string_view name) {
  return absl::StrCat("'", absl::CHexEscape(absl::string_view(name.data(), name.size())), "'");
}

Result<RawDescriptor> DescriptorReader::Next() {
  CHECK(!AtEnd());
  size_t left = stream_.size() - offset_;
  if (left < kDescriptorHeaderSize) {
    return MakeError(EUCLEAN, "descriptor at offset %d: its header overruns descriptor_bytes %d",
                     offset_, stream_.size());
  }
  RawDescriptor descriptor;
  descriptor.type = LoadLe16(stream_, offset_);
  descriptor.offset = offset_;
  uint16_t length = LoadLe16(stream_, offset_ + 2);
  if (length > left - kDescriptorHeaderSize) {
    return MakeError(EUCLEAN,
                     "descriptor at offset %d (type %d): length %d overruns descriptor_bytes %d",
                     offset_, descriptor.type, length, stream_.size());
  }
  descriptor.body = stream_.subspan(offset_ + kDescriptorHeaderSize, length);
  offset_ += kDescriptorHeaderSize + length;
  return descriptor;
}

Result<FlagsDescriptor> ParseFlags(std::span<const std::byte> body) {
  if (body.size() != kFlagsBodySize) {
    return MakeError(EUCLEAN, "FLAGS length %d is not %d", body.size(), kFlagsBodySize);
  }
  FlagsDescriptor flags;
  flags.invalid_flags = LoadLe64(body, kInvalidFlagsOffset);
  flags.data_ro_flags = LoadLe64(body, kDataRoFlagsOffset);
  flags.md_ro_flags = LoadLe64(body, kMdRoFlagsOffset);
  flags.num_clusters = LoadLe64(body, kNumClustersOffset);
  return flags;
}

Status ParseExtents(std::span<const std::byte> body, std::vector<ExtentRun>& runs) {
  if (body.empty() || body.size() % kExtentRunSize != 0) {
    return MakeError(EUCLEAN, "EXTENTS length %d is not a nonzero multiple of %d", body.size(),
                     kExtentRunSize);
  }
  for (size_t at = 0; at < body.size(); at += kExtentRunSize) {
    ExtentRun run;
    run.logical = LoadLe64(body, at + kLogicalOffset);
    run.physical = LoadLe64(body, at + kPhysicalOffset);
    run.count = LoadLe32(body, at + kCountOffset);
    if (run.count == 0) {
      return MakeError(EUCLEAN, "EXTENTS run %d (logical %d, physical %d): count 0",
                       at / kExtentRunSize, run.logical, run.physical);
    }
    runs.push_back(run);
  }
  return OkStatus();
}

Result<XattrFragment> ParseXattrFragment(std::span<const std::byte> body) {
  if (body.size() < kXattrHeaderSize) {
    return MakeError(EUCLEAN, "xattr length %d is shorter than its %d-byte header", body.size(),
                     kXattrHeaderSize);
  }
  uint16_t name_length = LoadLe16(body, kNameLengthOffset);
  if (name_length == 0 || name_length > kMaxXattrNameLength) {
    return MakeError(EUCLEAN, "xattr name_length %d is not 1 to %d", name_length,
                     kMaxXattrNameLength);
  }
  if (name_length > body.size() - kXattrHeaderSize) {
    return MakeError(EUCLEAN, "xattr name_length %d overruns the descriptor's length %d",
                     name_length, body.size());
  }
  XattrFragment fragment;
  fragment.name = AsChars(body.subspan(kXattrHeaderSize, name_length));
  if (fragment.name.find('\0') != std::string_view::npos) {
    return MakeError(EUCLEAN, "xattr name has a NUL byte at %d", fragment.name.find('\0'));
  }
  if (uint16_t reserved = LoadLe16(body, kReservedOffset); reserved != 0) {
    return MakeError(EUCLEAN, "xattr %s: reserved %d is not 0", QuotedXattrName(fragment.name),
                     reserved);
  }
  fragment.value_length = LoadLe32(body, kValueLengthOffset);
  fragment.fragment_offset = LoadLe32(body, kFragmentOffsetOffset);
  fragment.bytes = AsChars(body.subspan(kXattrHeaderSize + name_length));
  if (fragment.value_length > kMaxXattrValueLength) {
    return MakeError(EUCLEAN, "xattr %s: value_length %d exceeds %d",
                     QuotedXattrName(fragment.name), fragment.value_length, kMaxXattrValueLength);
  }
  if (uint64_t{fragment.fragment_offset} + fragment.bytes.size() > fragment.value_length) {
    return MakeError(EUCLEAN,
                     "xattr %s: fragment of %d bytes at fragment_offset %d runs past "
                     "value_length %d",
                     QuotedXattrName(fragment.name), fragment.bytes.size(),
                     fragment.fragment_offset, fragment.value_length);
  }
  if (fragment.bytes.empty() && fragment.value_length != 0) {
    return MakeError(EUCLEAN, "xattr %s: empty fragment at fragment_offset %d of value_length %d",
                     QuotedXattrName(fragment.name), fragment.fragment_offset,
                     fragment.value_length);
  }
  return fragment;
}

std::span<std::byte> DescriptorWriter::Append(DescriptorType type, size_t length) {
  CHECK_LE(length, std::numeric_limits<uint16_t>::max());
  CHECK_LE(kDescriptorHeaderSize + length, remaining())
      << "descriptor type " << static_cast<int>(type);
  StoreLe16(area_, used_, static_cast<uint16_t>(type));
  StoreLe16(area_, used_ + 2, static_cast<uint16_t>(length));
  std::span<std::byte> body = area_.subspan(used_ + kDescriptorHeaderSize, length);
  used_ += kDescriptorHeaderSize + length;
  return body;
}

void DescriptorWriter::AddFlags(const FlagsDescriptor& flags) {
  std::span<std::byte> body = Append(DescriptorType::kFlags, kFlagsBodySize);
  StoreLe64(body, kInvalidFlagsOffset, flags.invalid_flags);
  StoreLe64(body, kDataRoFlagsOffset, flags.data_ro_flags);
  StoreLe64(body, kMdRoFlagsOffset, flags.md_ro_flags);
  StoreLe64(body, kNumClustersOffset, flags.num_clusters);
}

void DescriptorWriter::AddExtents(std::span<const ExtentRun> runs) {
  CHECK(!runs.empty());
  std::span<std::byte> body = Append(DescriptorType::kExtents, runs.size() * kExtentRunSize);
  for (size_t i = 0; i < runs.size(); ++i) {
    CHECK_GE(runs[i].count, 1u) << "extent run at logical cluster " << runs[i].logical;
    StoreLe64(body, i * kExtentRunSize + kLogicalOffset, runs[i].logical);
    StoreLe64(body, i * kExtentRunSize + kPhysicalOffset, runs[i].physical);
    StoreLe32(body, i * kExtentRunSize + kCountOffset, runs[i].count);
  }
}

void DescriptorWriter::AddXattrFragment(DescriptorType type, const XattrFragment& fragment) {
  CHECK(type == DescriptorType::kXattr || type == DescriptorType::kXattrInternal);
  CHECK(!fragment.name.empty() && fragment.name.size() <= kMaxXattrNameLength &&
        fragment.name.find('\0') == std::string_view::npos)
      << "xattr name of " << fragment.name.size() << " bytes";
  CHECK_LE(fragment.value_length, kMaxXattrValueLength) << "xattr '" << fragment.name << "'";
  CHECK_LE(uint64_t{fragment.fragment_offset} + fragment.bytes.size(), fragment.value_length);
  CHECK(!fragment.bytes.empty() || fragment.value_length == 0);
  std::span<std::byte> body = Append(
      type, XattrFragmentSize(fragment.name.size(), fragment.bytes.size()) - kDescriptorHeaderSize);
  StoreLe16(body, kNameLengthOffset, static_cast<uint16_t>(fragment.name.size()));
  StoreLe16(body, kReservedOffset, 0);
  StoreLe32(body, kValueLengthOffset, fragment.value_length);
  StoreLe32(body, kFragmentOffsetOffset, fragment.fragment_offset);
  std::memcpy(body.data() + kXattrHeaderSize, fragment.name.data(), fragment.name.size());
  if (!fragment.bytes.empty()) {
    std::memcpy(body.data() + kXattrHeaderSize + fragment.name.size(), fragment.bytes.data(),
                fragment.bytes.size());
  }
}

}  // namespace blobfs
