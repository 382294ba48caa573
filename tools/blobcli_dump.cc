// dump-super and dump-blob: the on-disk format read raw (see blobcli_dump.h).
#include "tools/blobcli_dump.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "bdev/bdev.h"
#include "blob/bit_array.h"
#include "blob/blob.h"
#include "blob/format/blob_id.h"
#include "blob/format/blob_metadata.h"
#include "blob/format/descriptor.h"
#include "blob/format/endian.h"
#include "blob/format/mask.h"
#include "blob/format/metadata_page.h"
#include "blob/format/page.h"
#include "blob/format/super_block.h"
#include "common/aligned_buffer.h"
#include "tools/blobcli_common.h"

namespace blobfs {
namespace {

// The super block's fields before its reserved bytes, and where its CRC is (FORMAT.md).
constexpr size_t kSuperFieldBytes = 176;
constexpr size_t kSuperCrcOffset = kPageSize - 4;
// Bytes of an xattr fragment shown; the rest is counted.
constexpr size_t kFragmentBytesShown = 64;

using ChannelBody = absl::FunctionRef<Task<Status>(BdevChannel&)>;

// Runs `body` with a channel of `device`, opened read-only.
Status WithDeviceChannel(const std::string& device, ChannelBody body) {
  ASSIGN_OR_RETURN(std::unique_ptr<CliDevice> cli, CliDevice::Create(device));
  ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> descriptor, cli->Open(OpenMode::kReadOnly));
  return cli->Run([](BdevDescriptor& opened, ChannelBody run) -> Task<Status> {
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevChannel> channel, opened.OpenChannel());
    co_return co_await run(*channel);
  }(*descriptor, body));
}

Task<Result<AlignedBuffer>> ReadPages(BdevChannel& channel, uint64_t first_page, uint64_t count) {
  AlignedBuffer pages(count * kPageSize, kPageSize);
  CO_RETURN_IF_ERROR(co_await channel.Read(first_page * kPageSize, pages.span()));
  co_return pages;
}

void Field(std::string_view name, const std::string& value) {
  std::printf("%-24s %s\n", std::string(name).c_str(), value.c_str());
}

// Lines of 16 bytes: offset, hex, and the printable characters.
void HexDump(std::span<const std::byte> bytes, size_t base) {
  for (size_t line = 0; line < bytes.size(); line += 16) {
    std::string hex;
    std::string text;
    for (size_t i = line; i < std::min(line + 16, bytes.size()); ++i) {
      const auto byte = std::to_integer<unsigned char>(bytes[i]);
      absl::StrAppendFormat(&hex, "%02x ", byte);
      text += std::isprint(byte) ? static_cast<char>(byte) : '.';
    }
    std::printf("  %04zx: %-48s |%s|\n", base + line, hex.c_str(), text.c_str());
  }
}

// "0x1 (thin)": a flag word with the name of the one bit this build knows in it (known_bit 0 for
// none) and the bits it does not know.
std::string FlagWord(uint64_t value, uint64_t known_bit, const char* name) {
  std::string out = absl::StrFormat("0x%x", value);
  std::vector<std::string> names;
  if ((value & known_bit) != 0) names.push_back(name);
  if ((value & ~known_bit) != 0) {
    names.push_back(absl::StrFormat("unknown 0x%x", value & ~known_bit));
  }
  if (!names.empty()) absl::StrAppend(&out, " (", absl::StrJoin(names, ", "), ")");
  return out;
}

std::string Clusters(uint64_t clusters, uint32_t cluster_size) {
  return absl::StrFormat("%u (%u bytes)", clusters, clusters * cluster_size);
}

// Reads one mask and says whether it decodes and how many of its bits are set.
Task<std::string> MaskState(BdevChannel& channel, MaskKind kind, uint64_t start, uint64_t length,
                            uint64_t bit_count) {
  Result<AlignedBuffer> pages = co_await ReadPages(channel, start, length);
  if (!pages.ok()) co_return pages.error().ToString();
  Result<std::span<const std::byte>> bits = DecodeMask(pages->span(), kind, bit_count);
  if (!bits.ok()) co_return bits.error().ToString();
  Result<BitArray> array = BitArray::FromBytes(*bits, bit_count);
  if (!array.ok()) co_return array.error().ToString();
  co_return absl::StrFormat("valid, %u of %u bits set", array->count(), bit_count);
}

Task<Status> DumpSuper(BdevChannel& channel) {
  CO_ASSIGN_OR_RETURN(AlignedBuffer page, co_await ReadPages(channel, 0, 1));
  Result<SuperBlock> decoded = SuperBlock::Decode(page.span());
  if (!decoded.ok()) {
    std::printf("page 0 is not a valid super block; its fields and CRC as stored:\n");
    HexDump(page.span().first(kSuperFieldBytes), 0);
    HexDump(page.span().subspan(kSuperCrcOffset), kSuperCrcOffset);
    co_return decoded.error();
  }
  const SuperBlock& super = *decoded;
  const std::string_view magic(reinterpret_cast<const char*>(page.data()), 8);
  Field("magic", Printable(magic));
  Field("version", absl::StrCat(SuperBlock::kVersion));
  Field("super_size", absl::StrCat(kPageSize));
  Field("compat_features", absl::StrFormat("0x%x", super.compat_features));
  Field("ro_compat_features",
        absl::StrFormat("0x%x%s", super.ro_compat_features,
                        super.read_only_required() ? " (unknown bits: loads read-only only)" : ""));
  Field("incompat_features", absl::StrFormat("0x%x", super.incompat_features));
  Field("state", absl::StrFormat("0x%x (%s)", super.state,
                                 super.clean() ? "clean: the masks on disk are exact"
                                               : "not clean: mounted, or not unloaded cleanly; "
                                                 "a load rebuilds the masks"));
  Field("page_size", absl::StrCat(kPageSize));
  Field("io_unit_size", absl::StrCat(super.io_unit_size));
  Field("cluster_size", absl::StrCat(super.cluster_size));
  Field("total_clusters", Clusters(super.total_clusters, super.cluster_size));
  Field("super_blob", BlobIdText(super.super_blob));
  Field("md_start", absl::StrCat(super.md_start));
  Field("md_len", absl::StrCat(super.md_len));
  Field("used_page_mask_start", absl::StrCat(super.used_page_mask_start));
  Field("used_page_mask_len", absl::StrCat(super.used_page_mask_len));
  Field("used_cluster_mask_start", absl::StrCat(super.used_cluster_mask_start));
  Field("used_cluster_mask_len", absl::StrCat(super.used_cluster_mask_len));
  Field("used_blobid_mask_start", absl::StrCat(super.used_blobid_mask_start));
  Field("used_blobid_mask_len", absl::StrCat(super.used_blobid_mask_len));
  Field("bstype", absl::StrCat("'", BstypeText(super), "'"));
  Field("uuid", super.uuid.ToString());
  Field("mount_count", absl::StrCat(super.mount_count));
  Field("crc", absl::StrFormat("0x%08x", LoadLe32(page.span(), kSuperCrcOffset)));
  Field("clean", super.clean() ? "yes" : "no");
  std::printf("masks on disk%s:\n", super.clean() ? "" : " (stale while the store is not clean)");
  Field("  used_page_mask",
        co_await MaskState(channel, MaskKind::kUsedPages, super.used_page_mask_start,
                           super.used_page_mask_len, super.md_len));
  Field("  used_cluster_mask",
        co_await MaskState(channel, MaskKind::kUsedClusters, super.used_cluster_mask_start,
                           super.used_cluster_mask_len, super.total_clusters));
  Field("  used_blobid_mask",
        co_await MaskState(channel, MaskKind::kUsedBlobIds, super.used_blobid_mask_start,
                           super.used_blobid_mask_len, super.md_len));
  co_return OkStatus();
}

std::string DescribeXattrFragment(const char* type, const XattrFragment& fragment) {
  const std::string_view shown = fragment.bytes.substr(0, kFragmentBytesShown);
  std::string out = absl::StrFormat(
      "%s %s value_length=%u fragment [%u, +%u): %s", type, QuotedXattrName(fragment.name),
      fragment.value_length, fragment.fragment_offset, fragment.bytes.size(), Printable(shown));
  if (shown.size() < fragment.bytes.size()) {
    absl::StrAppendFormat(&out, "... (%u more bytes)", fragment.bytes.size() - shown.size());
  }
  return out;
}

// One descriptor decoded by its codec (extent runs on lines of their own), or the codec's error.
Result<std::string> DescribeDescriptor(const RawDescriptor& descriptor) {
  switch (static_cast<DescriptorType>(descriptor.type)) {
    case DescriptorType::kFlags: {
      ASSIGN_OR_RETURN(FlagsDescriptor flags, ParseFlags(descriptor.body));
      return absl::StrFormat(
          "FLAGS invalid_flags=%s data_ro_flags=%s md_ro_flags=%s num_clusters=%u",
          FlagWord(flags.invalid_flags, Blob::kInvalidFlagThin, "thin"),
          FlagWord(flags.data_ro_flags, Blob::kDataReadOnlyFlag, "read-only"),
          FlagWord(flags.md_ro_flags, 0, ""), flags.num_clusters);
    }
    case DescriptorType::kExtents: {
      std::vector<ExtentRun> runs;
      RETURN_IF_ERROR(ParseExtents(descriptor.body, runs));
      std::string out =
          absl::StrFormat("EXTENTS %u run%s", runs.size(), runs.size() == 1 ? "" : "s");
      for (const ExtentRun& run : runs) {
        absl::StrAppendFormat(&out, "\n      logical [%u, +%u) -> physical %u", run.logical,
                              run.count, run.physical);
      }
      return out;
    }
    case DescriptorType::kXattr: {
      ASSIGN_OR_RETURN(XattrFragment fragment, ParseXattrFragment(descriptor.body));
      return DescribeXattrFragment("XATTR", fragment);
    }
    case DescriptorType::kXattrInternal: {
      ASSIGN_OR_RETURN(XattrFragment fragment, ParseXattrFragment(descriptor.body));
      return DescribeXattrFragment("XATTR_INTERNAL", fragment);
    }
  }
  return absl::StrFormat("type %u (unknown to this build), %u bytes", descriptor.type,
                         descriptor.body.size());
}

void PrintPage(uint32_t index, uint64_t device_page, const MetadataPage& page) {
  const MetadataPageHeader& header = page.header;
  const std::string next = header.next == kNoPageIndex ? "none" : absl::StrCat(header.next);
  std::printf(
      "page %u (device page %lu): blob_id=0x%lx sync_generation=%lu sequence=%u "
      "descriptor_bytes=%u next=%s\n",
      index, device_page, header.blob_id, header.sync_generation, header.sequence,
      header.descriptor_bytes, next.c_str());
  DescriptorReader reader(page.descriptors);
  while (!reader.AtEnd()) {
    Result<RawDescriptor> descriptor = reader.Next();
    if (!descriptor.ok()) {
      std::printf("    %s\n", descriptor.error().ToString().c_str());
      return;
    }
    Result<std::string> described = DescribeDescriptor(*descriptor);
    const std::string text = described.ok() ? *std::move(described)
                                            : absl::StrFormat("type %u: %s", descriptor->type,
                                                              described.error().ToString());
    std::printf("    [%4zu] %s\n", descriptor->offset, text.c_str());
  }
}

// The index of the root page `blob_id` names in the metadata region of `super`'s store.
Result<uint32_t> RootPageOf(const SuperBlock& super, uint64_t blob_id) {
  const std::optional<uint32_t> root = RootOfBlobId(blob_id);
  if (!root.has_value() || *root >= super.md_len) {
    return MakeError(EINVAL, "0x%x is not a blob id of this store: its ids run from 0x%x to 0x%x",
                     blob_id, BlobIdOfRoot(0),
                     BlobIdOfRoot(static_cast<uint32_t>(super.md_len - 1)));
  }
  return *root;
}

Task<Status> DumpBlob(BdevChannel& channel, uint64_t blob_id) {
  CO_ASSIGN_OR_RETURN(AlignedBuffer super_page, co_await ReadPages(channel, 0, 1));
  CO_ASSIGN_OR_RETURN(SuperBlock super, SuperBlock::Decode(super_page.span()));
  CO_ASSIGN_OR_RETURN(const uint32_t root, RootPageOf(super, blob_id));
  std::printf("blob 0x%lx: root page %u of the metadata region (pages %lu to %lu)\n", blob_id, root,
              super.md_start, super.md_start + super.md_len - 1);
  std::vector<AlignedBuffer> buffers;
  std::vector<ChainPage> chain;
  std::set<uint32_t> visited;
  uint32_t previous = root;
  for (uint32_t index = root; index != kNoPageIndex;) {
    if (index >= super.md_len) {
      co_return MakeError(EUCLEAN,
                          "metadata page %u: next %u is outside the metadata region of %u pages",
                          previous, index, super.md_len);
    }
    if (!visited.insert(index).second) {
      co_return MakeError(EUCLEAN, "metadata page %u: next %u loops back into the chain", previous,
                          index);
    }
    const uint64_t device_page = super.md_start + index;
    CO_ASSIGN_OR_RETURN(AlignedBuffer bytes, co_await ReadPages(channel, device_page, 1));
    Result<MetadataPage> page = ParseMetadataPage(bytes.span(), index);
    if (!page.ok()) {
      std::printf("page %u (device page %lu): does not parse\n", index, device_page);
      co_return page.error();
    }
    PrintPage(index, device_page, *page);
    buffers.push_back(std::move(bytes));
    chain.push_back({index, buffers.back().span()});
    previous = index;
    index = page->header.next;
  }
  Result<BlobMetadata> metadata = ParseChain(chain, super.total_clusters);
  if (!metadata.ok()) {
    std::printf("chain: not valid\n");
    co_return metadata.error();
  }
  std::printf("chain: valid, %zu page%s\n", chain.size(), chain.size() == 1 ? "" : "s");
  co_return OkStatus();
}

}  // namespace

Status DumpSuperCommand(const std::string& device) {
  return WithDeviceChannel(device, [](BdevChannel& channel) { return DumpSuper(channel); });
}

Status DumpBlobCommand(const std::string& device, uint64_t blob_id) {
  return WithDeviceChannel(device,
                           [blob_id](BdevChannel& channel) { return DumpBlob(channel, blob_id); });
}

}  // namespace blobfs
