// The blobfs records: round trips and every refusal of Decode.
#include <sys/stat.h>

#include <cerrno>
#include <string>

#include "tests/bdev/bdev_test_util.h"
#include "blobfs/format/fs_super.h"
#include "blobfs/format/inode_record.h"
#include "blobfs/format/record_bytes.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

using bdev_test::ErrCode;

InodeRecord SampleRecord() {
  InodeRecord record;
  record.mode = S_IFREG | 04755;
  record.uid = 1000;
  record.gid = 100;
  record.nlink = 3;
  record.flags = 0x10;
  record.size = (uint64_t{1} << 40) + 7;
  record.rdev = 0x0801;
  record.generation = (uint64_t{5} << 32) | 9;
  record.atime = {-5, 999'999'999};
  record.mtime = {1'700'000'000, 1};
  record.ctime = {1'700'000'001, 2};
  record.btime = {1'600'000'000, 3};
  return record;
}

TEST(InodeRecordTest, RoundTripsEveryField) {
  InodeRecord record = SampleRecord();
  std::string encoded = record.Encode();
  EXPECT_EQ(encoded.size(), InodeRecord::kEncodedSize);
  ASSERT_ASSIGN_OR_FAIL(InodeRecord decoded, InodeRecord::Decode(encoded));
  EXPECT_EQ(decoded, record);
}

TEST(InodeRecordTest, AcceptsEveryFileType) {
  for (uint32_t type : {S_IFREG, S_IFDIR, S_IFLNK, S_IFCHR, S_IFBLK, S_IFIFO, S_IFSOCK}) {
    InodeRecord record = SampleRecord();
    record.mode = type | 0644;
    ASSERT_ASSIGN_OR_FAIL(InodeRecord decoded, InodeRecord::Decode(record.Encode()));
    EXPECT_EQ(decoded.type(), type);
  }
}

TEST(InodeRecordTest, IgnoresALongerTail) {
  std::string encoded = SampleRecord().Encode();
  encoded += std::string(8, 'x');
  StoreLe16(BytesOf(encoded), 2, InodeRecord::kEncodedSize + 8);
  ASSERT_ASSIGN_OR_FAIL(InodeRecord decoded, InodeRecord::Decode(encoded));
  EXPECT_EQ(decoded, SampleRecord());
}

TEST(InodeRecordTest, RefusesMalformedRecords) {
  std::string good = SampleRecord().Encode();
  EXPECT_EQ(ErrCode(InodeRecord::Decode("")), EUCLEAN);
  EXPECT_EQ(ErrCode(InodeRecord::Decode(good.substr(0, 100))), EUCLEAN);

  std::string newer = good;
  StoreLe16(BytesOf(newer), 0, 2);
  EXPECT_EQ(ErrCode(InodeRecord::Decode(newer)), EOPNOTSUPP);

  std::string zero_version = good;
  StoreLe16(BytesOf(zero_version), 0, 0);
  EXPECT_EQ(ErrCode(InodeRecord::Decode(zero_version)), EUCLEAN);

  std::string bad_size = good;
  StoreLe16(BytesOf(bad_size), 2, InodeRecord::kEncodedSize + 1);
  EXPECT_EQ(ErrCode(InodeRecord::Decode(bad_size)), EUCLEAN);

  InodeRecord no_type = SampleRecord();
  no_type.mode = 0644;
  EXPECT_EQ(ErrCode(InodeRecord::Decode(no_type.Encode())), EUCLEAN);

  InodeRecord bad_time = SampleRecord();
  bad_time.ctime.nsec = 1'000'000'000;
  EXPECT_EQ(ErrCode(InodeRecord::Decode(bad_time.Encode())), EUCLEAN);
}

FsSuper SampleSuper() {
  FsSuper super;
  super.uuid = Uuid::Random();
  super.label = std::string(FsSuper::kMaxLabel, 'L');
  super.created = {1'700'000'000, 42};
  super.block_size = 4096;
  super.inline_max = 3072;
  super.root_ino = 0x100000007;
  super.orphan_ino = 0x100000009;
  super.hash_seed = 0x1234567890abcdef;
  super.mount_count = 17;
  super.compat_features = 0x8000;
  return super;
}

TEST(FsSuperTest, RoundTripsEveryField) {
  FsSuper super = SampleSuper();
  ASSERT_ASSIGN_OR_FAIL(FsSuper decoded, FsSuper::Decode(super.Encode()));
  EXPECT_EQ(decoded, super);
  super.label.clear();
  ASSERT_ASSIGN_OR_FAIL(FsSuper unlabeled, FsSuper::Decode(super.Encode()));
  EXPECT_EQ(unlabeled, super);
}

TEST(FsSuperTest, UnknownRoCompatFeaturesRequireReadOnly) {
  FsSuper super = SampleSuper();
  super.ro_compat_features = 1;
  ASSERT_ASSIGN_OR_FAIL(FsSuper decoded, FsSuper::Decode(super.Encode()));
  EXPECT_TRUE(decoded.read_only_required());
  EXPECT_FALSE(SampleSuper().read_only_required());
}

TEST(FsSuperTest, RefusesMalformedRecords) {
  std::string good = SampleSuper().Encode();
  EXPECT_EQ(ErrCode(FsSuper::Decode("")), EUCLEAN);
  EXPECT_EQ(ErrCode(FsSuper::Decode("BLOBSTOR" + good.substr(8))), EUCLEAN);
  EXPECT_EQ(ErrCode(FsSuper::Decode(good.substr(0, 100))), EUCLEAN);

  std::string newer = good;
  StoreLe32(BytesOf(newer), 8, 2);
  EXPECT_EQ(ErrCode(FsSuper::Decode(newer)), EOPNOTSUPP);

  FsSuper incompat = SampleSuper();
  incompat.incompat_features = 4;
  EXPECT_EQ(ErrCode(FsSuper::Decode(incompat.Encode())), EOPNOTSUPP);

  std::string long_label = good;
  StoreLe32(BytesOf(long_label), 12, FsSuper::kMaxLabel + 1);
  EXPECT_EQ(ErrCode(FsSuper::Decode(long_label)), EUCLEAN);

  FsSuper huge_inline = SampleSuper();
  huge_inline.inline_max = FsSuper::kMaxInlineMax + 1;
  EXPECT_EQ(ErrCode(FsSuper::Decode(huge_inline.Encode())), EUCLEAN);

  for (uint32_t block_size : {0u, 2048u, 4097u, 131072u}) {
    FsSuper bad = SampleSuper();
    bad.block_size = block_size;
    EXPECT_EQ(ErrCode(FsSuper::Decode(bad.Encode())), EUCLEAN) << block_size;
  }
  FsSuper no_root = SampleSuper();
  no_root.root_ino = 0;
  EXPECT_EQ(ErrCode(FsSuper::Decode(no_root.Encode())), EUCLEAN);
}

}  // namespace
}  // namespace blobfs
