// Descriptors: the typed records of a metadata page's descriptor stream, one at a time (FORMAT.md,
// "Descriptors"). The rules that span descriptors (order, FLAGS once, sorted extents, complete
// attributes, unique names) are blob_metadata.h's.
//
// Contract:
//  - A descriptor is a 4-byte header (type u16, length u16) and `length` bytes of body.
//    DescriptorReader splits a stream into descriptors and fails with EUCLEAN when a header or a
//    body runs past the stream's end; it does not judge types.
//  - The Parse* functions check one body's layout: FLAGS is 32 bytes; EXTENTS is a nonzero
//    multiple of 20 bytes and every run's count is ≥ 1; an XATTR fragment has a name of 1 to 255
//    bytes without NUL, reserved 0, value_length ≤ 65536, lies inside [0, value_length) and is
//    not empty unless the value is. Errors are EUCLEAN; their messages name the field and leave
//    the page to the caller's context.
//  - DescriptorWriter appends descriptors to a descriptor area; each Add* requires the descriptor
//    to fit (the *Size functions say how much room it takes) and valid contents.
#ifndef BLOBFS_BLOB_FORMAT_DESCRIPTOR_H_
#define BLOBFS_BLOB_FORMAT_DESCRIPTOR_H_

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.h"

namespace blobfs {

enum class DescriptorType : uint16_t {
  kFlags = 1,
  kExtents = 2,
  kXattr = 3,
  kXattrInternal = 4,
};

inline constexpr size_t kDescriptorHeaderSize = 4;
inline constexpr size_t kFlagsBodySize = 32;
inline constexpr size_t kExtentRunSize = 20;
inline constexpr size_t kXattrHeaderSize = 12;  // Body bytes before the name.
inline constexpr size_t kMaxXattrNameLength = 255;
inline constexpr uint32_t kMaxXattrValueLength = 65536;

struct FlagsDescriptor {
  uint64_t invalid_flags = 0;
  uint64_t data_ro_flags = 0;
  uint64_t md_ro_flags = 0;
  uint64_t num_clusters = 0;
};

// Clusters [logical, logical + count) of a blob are clusters [physical, physical + count) of the
// device.
struct ExtentRun {
  uint64_t logical = 0;
  uint64_t physical = 0;
  uint32_t count = 0;

  friend bool operator==(const ExtentRun&, const ExtentRun&) = default;
  // "logical [l, +count) -> physical p", for test failures and logs.
  friend std::ostream& operator<<(std::ostream& out, const ExtentRun& run) {
    return out << "logical [" << run.logical << ", +" << run.count << ") -> physical "
               << run.physical;
  }
};

// One fragment of an extended attribute's value; the views point into the page.
struct XattrFragment {
  std::string_view name;
  uint32_t value_length = 0;
  uint32_t fragment_offset = 0;
  std::string_view bytes;
};

struct RawDescriptor {
  uint16_t type = 0;  // Possibly not a DescriptorType.
  size_t offset = 0;  // Of its header in the stream.
  std::span<const std::byte> body;
};

class DescriptorReader {
 public:
  explicit DescriptorReader(std::span<const std::byte> stream) : stream_(stream) {}

  bool AtEnd() const { return offset_ == stream_.size(); }
  // The next descriptor; must not be called AtEnd().
  Result<RawDescriptor> Next();

 private:
  std::span<const std::byte> stream_;
  size_t offset_ = 0;
};

// `name` quoted and C-escaped, for messages: 'user.a\x01'.
std::string QuotedXattrName(std::string_view name);

Result<FlagsDescriptor> ParseFlags(std::span<const std::byte> body);
// Appends the body's runs to `runs`.
Status ParseExtents(std::span<const std::byte> body, std::vector<ExtentRun>& runs);
Result<XattrFragment> ParseXattrFragment(std::span<const std::byte> body);

// Bytes a descriptor takes in the stream, header included.
constexpr size_t FlagsSize() { return kDescriptorHeaderSize + kFlagsBodySize; }
constexpr size_t ExtentsSize(size_t runs) { return kDescriptorHeaderSize + runs * kExtentRunSize; }
constexpr size_t XattrFragmentSize(size_t name_length, size_t fragment_bytes) {
  return kDescriptorHeaderSize + kXattrHeaderSize + name_length + fragment_bytes;
}

class DescriptorWriter {
 public:
  explicit DescriptorWriter(std::span<std::byte> area) : area_(area) {}

  size_t used() const { return used_; }
  size_t remaining() const { return area_.size() - used_; }

  void AddFlags(const FlagsDescriptor& flags);
  void AddExtents(std::span<const ExtentRun> runs);
  // `type` is kXattr or kXattrInternal.
  void AddXattrFragment(DescriptorType type, const XattrFragment& fragment);

 private:
  // Writes the header of a descriptor with a `length`-byte body; returns the body's bytes.
  std::span<std::byte> Append(DescriptorType type, size_t length);

  std::span<std::byte> area_;
  size_t used_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOB_FORMAT_DESCRIPTOR_H_
