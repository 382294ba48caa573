// Descriptors one at a time: framing, each body's layout, and each body-level rejection.
#include "blob/format/descriptor.h"

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "blob/format/endian.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

template <typename T>
void ExpectError(const Result<T>& result, const std::string& substring) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code(), EUCLEAN) << result.error().ToString();
  EXPECT_THAT(result.error().message(), HasSubstr(substring));
}

// The body of an XATTR descriptor, field by field.
std::vector<std::byte> XattrBody(uint16_t name_length, uint16_t reserved, uint32_t value_length,
                                 uint32_t fragment_offset, std::string_view name_and_bytes) {
  std::vector<std::byte> body(kXattrHeaderSize + name_and_bytes.size());
  StoreLe16(body, 0, name_length);
  StoreLe16(body, 2, reserved);
  StoreLe32(body, 4, value_length);
  StoreLe32(body, 8, fragment_offset);
  std::memcpy(body.data() + kXattrHeaderSize, name_and_bytes.data(), name_and_bytes.size());
  return body;
}

TEST(DescriptorTest, WritesAndReadsEachType) {
  std::vector<std::byte> area(4064);
  DescriptorWriter writer(area);
  writer.AddFlags({.invalid_flags = 1, .data_ro_flags = 2, .md_ro_flags = 3, .num_clusters = 4});
  EXPECT_EQ(writer.used(), FlagsSize());
  std::vector<ExtentRun> runs = {{.logical = 0, .physical = 9, .count = 2},
                                 {.logical = 5, .physical = 1, .count = 0xFFFFFFFF}};
  writer.AddExtents(runs);
  writer.AddXattrFragment(
      DescriptorType::kXattrInternal,
      {.name = "inode", .value_length = 10, .fragment_offset = 4, .bytes = "abc"});
  EXPECT_EQ(writer.used(), FlagsSize() + ExtentsSize(2) + XattrFragmentSize(5, 3));
  EXPECT_EQ(writer.remaining(), 4064 - writer.used());

  DescriptorReader reader(std::span<const std::byte>(area).first(writer.used()));
  Result<RawDescriptor> flags = reader.Next();
  ASSERT_TRUE(flags.ok());
  EXPECT_EQ(flags->type, 1);
  EXPECT_EQ(flags->offset, 0u);
  Result<FlagsDescriptor> parsed_flags = ParseFlags(flags->body);
  ASSERT_TRUE(parsed_flags.ok());
  EXPECT_EQ(parsed_flags->invalid_flags, 1u);
  EXPECT_EQ(parsed_flags->data_ro_flags, 2u);
  EXPECT_EQ(parsed_flags->md_ro_flags, 3u);
  EXPECT_EQ(parsed_flags->num_clusters, 4u);

  Result<RawDescriptor> extents = reader.Next();
  ASSERT_TRUE(extents.ok());
  EXPECT_EQ(extents->type, 2);
  EXPECT_EQ(extents->offset, FlagsSize());
  EXPECT_EQ(extents->body.size(), 40u);
  std::vector<ExtentRun> parsed_runs = {{.logical = 100, .physical = 100, .count = 1}};
  ASSERT_TRUE(ParseExtents(extents->body, parsed_runs).ok());
  EXPECT_THAT(parsed_runs, ElementsAre(ExtentRun{100, 100, 1}, runs[0], runs[1]));

  Result<RawDescriptor> xattr = reader.Next();
  ASSERT_TRUE(xattr.ok());
  EXPECT_EQ(xattr->type, 4);
  Result<XattrFragment> fragment = ParseXattrFragment(xattr->body);
  ASSERT_TRUE(fragment.ok()) << fragment.error().ToString();
  EXPECT_EQ(fragment->name, "inode");
  EXPECT_EQ(fragment->value_length, 10u);
  EXPECT_EQ(fragment->fragment_offset, 4u);
  EXPECT_EQ(fragment->bytes, "abc");
  EXPECT_TRUE(reader.AtEnd());
}

TEST(DescriptorTest, LayoutIsFormatMd) {
  std::vector<std::byte> area(100);
  DescriptorWriter writer(area);
  writer.AddExtents(std::vector<ExtentRun>{{.logical = 7, .physical = 8, .count = 9}});
  EXPECT_EQ(LoadLe16(area, 0), 2u);
  EXPECT_EQ(LoadLe16(area, 2), 20u);
  EXPECT_EQ(LoadLe64(area, 4), 7u);
  EXPECT_EQ(LoadLe64(area, 12), 8u);
  EXPECT_EQ(LoadLe32(area, 20), 9u);
  writer.AddXattrFragment(DescriptorType::kXattr,
                          {.name = "ab", .value_length = 1, .fragment_offset = 0, .bytes = "z"});
  EXPECT_EQ(LoadLe16(area, 24), 3u);
  EXPECT_EQ(LoadLe16(area, 26), 15u);
  EXPECT_EQ(LoadLe16(area, 28), 2u);  // name_length
  EXPECT_EQ(LoadLe16(area, 30), 0u);  // reserved
  EXPECT_EQ(LoadLe32(area, 32), 1u);  // value_length
  EXPECT_EQ(LoadLe32(area, 36), 0u);  // fragment_offset
  EXPECT_EQ(std::memcmp(area.data() + 40, "abz", 3), 0);
}

TEST(DescriptorTest, HeaderOverrun) {
  std::vector<std::byte> stream(3);
  DescriptorReader reader(stream);
  ExpectError(reader.Next(), "descriptor at offset 0: its header overruns descriptor_bytes 3");
}

TEST(DescriptorTest, LengthOverrun) {
  std::vector<std::byte> stream(40);
  StoreLe16(stream, 0, 1);
  StoreLe16(stream, 2, 32);
  StoreLe16(stream, 36, 2);
  StoreLe16(stream, 38, 1);  // One byte of body, but the stream ends.
  DescriptorReader reader(stream);
  ASSERT_TRUE(reader.Next().ok());
  ExpectError(reader.Next(),
              "descriptor at offset 36 (type 2): length 1 overruns descriptor_bytes 40");
}

TEST(DescriptorTest, FlagsLength) {
  std::vector<std::byte> body(33);
  ExpectError(ParseFlags(body), "FLAGS length 33 is not 32");
}

TEST(DescriptorTest, ExtentsLength) {
  std::vector<ExtentRun> runs;
  ExpectError(ParseExtents({}, runs), "EXTENTS length 0");
  std::vector<std::byte> body(30);
  ExpectError(ParseExtents(body, runs), "EXTENTS length 30");
}

TEST(DescriptorTest, ExtentRunOfZeroClusters) {
  std::vector<std::byte> body(40);
  StoreLe32(body, 16, 1);
  StoreLe64(body, 20, 5);
  std::vector<ExtentRun> runs;
  ExpectError(ParseExtents(body, runs), "EXTENTS run 1 (logical 5, physical 0): count 0");
}

TEST(DescriptorTest, XattrNameLength) {
  ExpectError(ParseXattrFragment(XattrBody(0, 0, 1, 0, "x")), "name_length 0 is not 1 to 255");
  std::string long_name(256, 'n');
  ExpectError(ParseXattrFragment(XattrBody(256, 0, 0, 0, long_name)),
              "name_length 256 is not 1 to 255");
  ExpectError(ParseXattrFragment(XattrBody(5, 0, 0, 0, "abc")),
              "name_length 5 overruns the descriptor's length 15");
  ExpectError(ParseXattrFragment(std::vector<std::byte>(11)), "shorter than its 12-byte header");
  std::string max_name(255, 'n');
  EXPECT_TRUE(ParseXattrFragment(XattrBody(255, 0, 0, 0, max_name)).ok());
}

TEST(DescriptorTest, XattrNameWithNul) {
  ExpectError(ParseXattrFragment(XattrBody(3, 0, 0, 0, std::string("a\0b", 3))),
              "xattr name has a NUL byte at 1");
}

TEST(DescriptorTest, XattrReserved) {
  ExpectError(ParseXattrFragment(XattrBody(1, 9, 1, 0, "ab")), "xattr 'a': reserved 9 is not 0");
}

TEST(DescriptorTest, XattrValueLength) {
  ExpectError(ParseXattrFragment(XattrBody(1, 0, 65537, 0, "ab")),
              "xattr 'a': value_length 65537 exceeds 65536");
  EXPECT_TRUE(ParseXattrFragment(XattrBody(1, 0, 65536, 65535, "ab")).ok());
}

TEST(DescriptorTest, XattrFragmentOutsideTheValue) {
  ExpectError(ParseXattrFragment(XattrBody(1, 0, 4, 2, "abcd")),
              "xattr 'a': fragment of 3 bytes at fragment_offset 2 runs past value_length 4");
  ExpectError(ParseXattrFragment(XattrBody(1, 0, 4, 0xFFFFFFFF, "ab")), "runs past");
}

TEST(DescriptorTest, EmptyFragmentOfANonEmptyValue) {
  ExpectError(ParseXattrFragment(XattrBody(1, 0, 4, 0, "a")),
              "xattr 'a': empty fragment at fragment_offset 0 of value_length 4");
  Result<XattrFragment> empty_value = ParseXattrFragment(XattrBody(1, 0, 0, 0, "a"));
  ASSERT_TRUE(empty_value.ok());
  EXPECT_TRUE(empty_value->bytes.empty());
}

TEST(DescriptorTest, NamesInMessagesAreEscaped) {
  EXPECT_EQ(QuotedXattrName("user.a"), "'user.a'");
  EXPECT_EQ(QuotedXattrName("a\n\x01'"), "'a\\n\\x01\\''");
}

}  // namespace
}  // namespace blobfs
