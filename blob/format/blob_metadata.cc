#include "blob/format/blob_metadata.h"

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string_view>
#include <utility>

#include "blob/format/blob_id.h"
#include "blob/format/metadata_page.h"
#include "blob/format/page.h"

namespace blobfs {
namespace {

// The CHECKs behind SerializeBlob's precondition.
void CheckSerializable(const BlobMetadata& metadata) {
  CHECK(RootOfBlobId(metadata.blob_id).has_value()) << "blob_id " << metadata.blob_id;
  for (const auto* xattrs : {&metadata.xattrs, &metadata.internal_xattrs}) {
    for (const auto& [name, value] : *xattrs) {
      CHECK(!name.empty() && name.size() <= kMaxXattrNameLength &&
            name.find('\0') == std::string::npos)
          << "xattr name " << QuotedXattrName(name);
      CHECK_LE(value.size(), kMaxXattrValueLength) << "xattr " << QuotedXattrName(name);
    }
  }
  uint64_t end_of_previous = 0;
  for (const ExtentRun& run : metadata.extents) {
    CHECK(run.count >= 1 && run.logical >= end_of_previous && run.count <= metadata.num_clusters &&
          run.logical <= metadata.num_clusters - run.count)
        << "extent run (logical " << run.logical << ", count " << run.count << ") after logical "
        << end_of_previous << ", num_clusters " << metadata.num_clusters;
    end_of_previous = run.logical + run.count;
  }
}

// Writes descriptors into pages, opening a new page whenever the next one does not fit.
class ChainBuilder {
 public:
  explicit ChainBuilder(const BlobMetadata& metadata)
      : blob_id_(metadata.blob_id), sync_generation_(metadata.sync_generation) {}

  // A writer with at least `bytes` free: the current page's, or a new page's.
  DescriptorWriter& Room(size_t bytes) {
    CHECK_LE(bytes, kDescriptorAreaSize);
    if (writer_.remaining() < bytes) NewPage();
    return writer_;
  }

  std::vector<AlignedBuffer> Finish() {
    FinishPage();
    return std::move(pages_);
  }

 private:
  void NewPage() {
    if (!pages_.empty()) FinishPage();
    pages_.emplace_back(kPageSize, kPageSize);
    writer_ = DescriptorWriter(DescriptorArea(pages_.back().span()));
  }

  void FinishPage() {
    MetadataPageHeader header;
    header.blob_id = blob_id_;
    header.sync_generation = sync_generation_;
    header.sequence = static_cast<uint32_t>(pages_.size() - 1);
    header.descriptor_bytes = static_cast<uint32_t>(writer_.used());
    FinishMetadataPage(header, pages_.back().span());
  }

  uint64_t blob_id_;
  uint64_t sync_generation_;
  std::vector<AlignedBuffer> pages_;
  DescriptorWriter writer_{{}};
};

void AddXattrs(ChainBuilder& builder, DescriptorType type,
               const std::map<std::string, std::string>& xattrs) {
  for (const auto& [name, value] : xattrs) {
    XattrFragment fragment;
    fragment.name = name;
    fragment.value_length = static_cast<uint32_t>(value.size());
    do {
      // Each fragment carries at least one byte of a non-empty value.
      DescriptorWriter& writer =
          builder.Room(XattrFragmentSize(name.size(), value.empty() ? 0 : 1));
      size_t room = writer.remaining() - XattrFragmentSize(name.size(), 0);
      fragment.bytes = std::string_view(value).substr(fragment.fragment_offset, room);
      writer.AddXattrFragment(type, fragment);
      fragment.fragment_offset += static_cast<uint32_t>(fragment.bytes.size());
    } while (fragment.fragment_offset < value.size());
  }
}

// How messages name a descriptor of `type`: "XATTR at offset 36", "descriptor at offset 0".
std::string_view TypeName(uint16_t type) {
  switch (static_cast<DescriptorType>(type)) {
    case DescriptorType::kFlags:
      return "FLAGS";
    case DescriptorType::kExtents:
      return "EXTENTS";
    case DescriptorType::kXattr:
      return "XATTR";
    case DescriptorType::kXattrInternal:
      return "XATTR_INTERNAL";
  }
  return "descriptor";
}

// How messages name an attribute of `type` (kXattr or kXattrInternal).
std::string_view XattrKind(DescriptorType type) {
  return type == DescriptorType::kXattr ? "xattr" : "internal xattr";
}

// Reads the descriptors of a chain, page by page, and enforces the rules that span them.
class ChainParser {
 public:
  explicit ChainParser(uint64_t total_clusters) : total_clusters_(total_clusters) {}

  // Takes the page at `position` in the chain; `next_index` is the index of the page that
  // follows it, or kNoPageIndex for the last.
  Status AddPage(const ChainPage& page, uint32_t position, uint32_t next_index);

  Result<BlobMetadata> Finish(uint32_t last_index);

 private:
  // A value whose fragments are still arriving.
  struct OpenXattr {
    DescriptorType type;
    std::string name;
    uint32_t value_length;
    std::string value;
  };
  enum class Phase { kFlags, kXattrs, kExtents };

  Status CheckHeader(const MetadataPageHeader& header, uint32_t index, uint32_t position,
                     uint32_t next_index);
  Status AddDescriptor(const RawDescriptor& descriptor);
  Status AddXattrFragment(DescriptorType type, const XattrFragment& fragment);
  Status AddExtents(std::span<const std::byte> body);
  // The error for a value whose fragments stop before its end.
  Error IncompleteXattr() const;

  uint64_t total_clusters_;
  BlobMetadata metadata_;
  Phase phase_ = Phase::kFlags;
  std::optional<OpenXattr> open_xattr_;
};

Status ChainParser::AddPage(const ChainPage& page, uint32_t position, uint32_t next_index) {
  ASSIGN_OR_RETURN(MetadataPage parsed, ParseMetadataPage(page.bytes, page.index));
  RETURN_IF_ERROR(CheckHeader(parsed.header, page.index, position, next_index));
  DescriptorReader reader(parsed.descriptors);
  while (!reader.AtEnd()) {
    Result<RawDescriptor> descriptor = reader.Next();
    if (!descriptor.ok()) {
      return descriptor.error().WithContext(absl::StrFormat("metadata page %d", page.index));
    }
    Status added = AddDescriptor(*descriptor);
    if (!added.ok()) {
      return added.error().WithContext(absl::StrFormat("metadata page %d: %s at offset %d",
                                                       page.index, TypeName(descriptor->type),
                                                       descriptor->offset));
    }
  }
  if (phase_ == Phase::kFlags) {
    return MakeError(EUCLEAN, "metadata page %d: the root page has no FLAGS descriptor",
                     page.index);
  }
  return OkStatus();
}

Status ChainParser::CheckHeader(const MetadataPageHeader& header, uint32_t index, uint32_t position,
                                uint32_t next_index) {
  if (position == 0) {
    if (header.sequence != 0) {
      return MakeError(EUCLEAN, "metadata page %d: sequence %d, expected 0 (the root)", index,
                       header.sequence);
    }
    if (!IsRootPage(header, index)) {
      return MakeError(EUCLEAN,
                       "metadata page %d: blob_id 0x%x is not the id of a root at this "
                       "page (0x%x)",
                       index, header.blob_id, BlobIdOfRoot(index));
    }
    metadata_.blob_id = header.blob_id;
    metadata_.sync_generation = header.sync_generation;
  } else {
    if (header.blob_id != metadata_.blob_id) {
      return MakeError(EUCLEAN, "metadata page %d: blob_id 0x%x differs from the root's 0x%x",
                       index, header.blob_id, metadata_.blob_id);
    }
    if (header.sync_generation != metadata_.sync_generation) {
      return MakeError(EUCLEAN, "metadata page %d: sync_generation %d differs from the root's %d",
                       index, header.sync_generation, metadata_.sync_generation);
    }
    if (header.sequence != position) {
      return MakeError(EUCLEAN, "metadata page %d: sequence %d, expected %d", index,
                       header.sequence, position);
    }
  }
  if (header.next != next_index) {
    return MakeError(EUCLEAN, "metadata page %d: next 0x%x, but the chain continues at 0x%x", index,
                     header.next, next_index);
  }
  return OkStatus();
}

Status ChainParser::AddDescriptor(const RawDescriptor& descriptor) {
  if (descriptor.type < static_cast<uint16_t>(DescriptorType::kFlags) ||
      descriptor.type > static_cast<uint16_t>(DescriptorType::kXattrInternal)) {
    return MakeError(EUCLEAN, "unknown descriptor type %d (length %d)", descriptor.type,
                     descriptor.body.size());
  }
  auto type = static_cast<DescriptorType>(descriptor.type);
  if (phase_ == Phase::kFlags && type != DescriptorType::kFlags) {
    return MakeError(EUCLEAN, "the first descriptor of the root page is %s, not FLAGS",
                     TypeName(descriptor.type));
  }
  if (open_xattr_.has_value() && type != DescriptorType::kXattr &&
      type != DescriptorType::kXattrInternal) {
    return IncompleteXattr();
  }
  switch (type) {
    case DescriptorType::kFlags: {
      if (phase_ != Phase::kFlags) {
        return MakeError(EUCLEAN, "a second FLAGS descriptor (there is one, first on the root)");
      }
      ASSIGN_OR_RETURN(FlagsDescriptor flags, ParseFlags(descriptor.body));
      metadata_.invalid_flags = flags.invalid_flags;
      metadata_.data_ro_flags = flags.data_ro_flags;
      metadata_.md_ro_flags = flags.md_ro_flags;
      metadata_.num_clusters = flags.num_clusters;
      phase_ = Phase::kXattrs;
      return OkStatus();
    }
    case DescriptorType::kXattr:
    case DescriptorType::kXattrInternal: {
      if (phase_ == Phase::kExtents) {
        return MakeError(EUCLEAN, "an xattr after EXTENTS (the order is FLAGS, xattrs, EXTENTS)");
      }
      ASSIGN_OR_RETURN(XattrFragment fragment, ParseXattrFragment(descriptor.body));
      return AddXattrFragment(type, fragment);
    }
    case DescriptorType::kExtents:
      phase_ = Phase::kExtents;
      return AddExtents(descriptor.body);
  }
  LOG(FATAL) << "descriptor type " << descriptor.type;
}

Status ChainParser::AddXattrFragment(DescriptorType type, const XattrFragment& fragment) {
  std::string_view kind = XattrKind(type);
  if (open_xattr_.has_value() &&
      (open_xattr_->type != type || open_xattr_->name != fragment.name)) {
    return IncompleteXattr();
  }
  if (!open_xattr_.has_value()) {
    auto& xattrs = type == DescriptorType::kXattr ? metadata_.xattrs : metadata_.internal_xattrs;
    if (xattrs.contains(std::string(fragment.name))) {
      return MakeError(EUCLEAN, "%s %s appears twice", kind, QuotedXattrName(fragment.name));
    }
    if (fragment.fragment_offset != 0) {
      return MakeError(EUCLEAN, "%s %s: first fragment at fragment_offset %d, expected 0", kind,
                       QuotedXattrName(fragment.name), fragment.fragment_offset);
    }
    open_xattr_ = OpenXattr{type, std::string(fragment.name), fragment.value_length, {}};
    open_xattr_->value.reserve(fragment.value_length);
  } else {
    if (fragment.value_length != open_xattr_->value_length) {
      return MakeError(EUCLEAN, "%s %s: value_length %d differs from its first fragment's %d", kind,
                       QuotedXattrName(fragment.name), fragment.value_length,
                       open_xattr_->value_length);
    }
    if (fragment.fragment_offset != open_xattr_->value.size()) {
      return MakeError(EUCLEAN, "%s %s: fragment_offset %d, expected %d (fragments are contiguous)",
                       kind, QuotedXattrName(fragment.name), fragment.fragment_offset,
                       open_xattr_->value.size());
    }
  }
  open_xattr_->value.append(fragment.bytes);
  if (open_xattr_->value.size() == open_xattr_->value_length) {
    auto& xattrs = type == DescriptorType::kXattr ? metadata_.xattrs : metadata_.internal_xattrs;
    xattrs.emplace(std::move(open_xattr_->name), std::move(open_xattr_->value));
    open_xattr_.reset();
  }
  return OkStatus();
}

Error ChainParser::IncompleteXattr() const {
  return MakeError(EUCLEAN, "%s %s is incomplete: %d of its %d bytes", XattrKind(open_xattr_->type),
                   QuotedXattrName(open_xattr_->name), open_xattr_->value.size(),
                   open_xattr_->value_length);
}

Status ChainParser::AddExtents(std::span<const std::byte> body) {
  size_t first_new = metadata_.extents.size();
  RETURN_IF_ERROR(ParseExtents(body, metadata_.extents));
  uint64_t num_clusters = metadata_.num_clusters;
  for (size_t i = first_new; i < metadata_.extents.size(); ++i) {
    const ExtentRun& run = metadata_.extents[i];
    if (i > 0) {
      const ExtentRun& previous = metadata_.extents[i - 1];
      if (run.logical < previous.logical + previous.count) {
        return MakeError(EUCLEAN,
                         "EXTENTS run %d (logical %d, count %d) does not follow the previous run "
                         "(logical %d, count %d): runs are sorted and do not overlap",
                         i - first_new, run.logical, run.count, previous.logical, previous.count);
      }
    }
    if (run.count > num_clusters || run.logical > num_clusters - run.count) {
      return MakeError(EUCLEAN, "EXTENTS run %d (logical %d, count %d) ends past num_clusters %d",
                       i - first_new, run.logical, run.count, num_clusters);
    }
    if (run.count > total_clusters_ || run.physical > total_clusters_ - run.count) {
      return MakeError(EUCLEAN,
                       "EXTENTS run %d (physical %d, count %d) ends past total_clusters %d",
                       i - first_new, run.physical, run.count, total_clusters_);
    }
  }
  return OkStatus();
}

Result<BlobMetadata> ChainParser::Finish(uint32_t last_index) {
  if (open_xattr_.has_value()) {
    return IncompleteXattr().WithContext(
        absl::StrFormat("metadata page %d (the chain's end)", last_index));
  }
  return std::move(metadata_);
}

}  // namespace

std::vector<AlignedBuffer> SerializeBlob(const BlobMetadata& metadata) {
  CheckSerializable(metadata);
  ChainBuilder builder(metadata);
  builder.Room(FlagsSize())
      .AddFlags({.invalid_flags = metadata.invalid_flags,
                 .data_ro_flags = metadata.data_ro_flags,
                 .md_ro_flags = metadata.md_ro_flags,
                 .num_clusters = metadata.num_clusters});
  AddXattrs(builder, DescriptorType::kXattr, metadata.xattrs);
  AddXattrs(builder, DescriptorType::kXattrInternal, metadata.internal_xattrs);
  std::span<const ExtentRun> runs = metadata.extents;
  while (!runs.empty()) {
    DescriptorWriter& writer = builder.Room(ExtentsSize(1));
    size_t count =
        std::min(runs.size(), (writer.remaining() - kDescriptorHeaderSize) / kExtentRunSize);
    writer.AddExtents(runs.first(count));
    runs = runs.subspan(count);
  }
  return builder.Finish();
}

void LinkChain(std::span<AlignedBuffer> pages, std::span<const uint32_t> page_indices) {
  CHECK_EQ(pages.size(), page_indices.size());
  CHECK(!pages.empty());
  for (size_t i = 0; i < pages.size(); ++i) {
    SetMetadataPageNext(pages[i].span(), i + 1 < pages.size() ? page_indices[i + 1] : kNoPageIndex);
  }
  // The pages were just serialized: only the root's place needs checking, not its layout again.
  const MetadataPageHeader root = PeekMetadataPageHeader(pages[0].span());
  CHECK(IsRootPage(root, page_indices[0]))
      << "page index " << page_indices[0] << " is not the root of blob 0x" << std::hex
      << root.blob_id;
}

Result<BlobMetadata> ParseChain(std::span<const ChainPage> pages, uint64_t total_clusters) {
  CHECK(!pages.empty());
  ChainParser parser(total_clusters);
  for (size_t i = 0; i < pages.size(); ++i) {
    uint32_t next_index = i + 1 < pages.size() ? pages[i + 1].index : kNoPageIndex;
    RETURN_IF_ERROR(parser.AddPage(pages[i], static_cast<uint32_t>(i), next_index));
  }
  return parser.Finish(pages.back().index);
}

}  // namespace blobfs
