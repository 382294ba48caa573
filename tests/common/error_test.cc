// Error, Result<T>, Status and the propagation macros.
#include "common/error.h"

#include <cerrno>
#include <memory>

#include "common/units.h"
#include "common/uuid.h"
#include "gtest/gtest.h"

namespace blobfs {
namespace {

Result<int> ParsePositive(int value) {
  if (value <= 0) return MakeError(EINVAL, "%d is not positive", value);
  return value;
}

Result<int> Doubled(int value) {
  ASSIGN_OR_RETURN(int checked, ParsePositive(value));
  return checked * 2;
}

Status CheckBoth(int a, int b) {
  RETURN_IF_ERROR(ParsePositive(a));
  RETURN_IF_ERROR(ParsePositive(b));
  return OkStatus();
}

TEST(ErrorTest, CarriesErrnoAndMessage) {
  Error error = MakeError(ENOENT, "no file named '%s'", "x");
  EXPECT_EQ(error.code(), ENOENT);
  EXPECT_EQ(error.message(), "no file named 'x'");
  EXPECT_EQ(error.ToString(), "ENOENT: no file named 'x'");
  EXPECT_EQ(error.WithContext("open").message(), "open: no file named 'x'");
}

TEST(ErrorTest, UnknownErrnoHasANumericName) { EXPECT_EQ(ErrnoName(9999), "E9999"); }

TEST(ResultTest, HoldsValueOrError) {
  Result<int> good = Doubled(21);
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, 42);
  Result<int> bad = Doubled(-1);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code(), EINVAL);
  EXPECT_EQ(bad.error().message(), "-1 is not positive");
}

TEST(ResultTest, MoveOnlyValues) {
  Result<std::unique_ptr<int>> result = std::make_unique<int>(7);
  ASSERT_TRUE(result.ok());
  std::unique_ptr<int> taken = std::move(result).value();
  EXPECT_EQ(*taken, 7);
}

TEST(StatusTest, ReturnIfErrorStopsAtTheFirstFailure) {
  EXPECT_TRUE(CheckBoth(1, 2).ok());
  Status status = CheckBoth(1, -5);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.error().message(), "-5 is not positive");
  EXPECT_EQ(status.negative_errno(), -EINVAL);
  EXPECT_EQ(OkStatus().negative_errno(), 0);
}

TEST(UnitsTest, ParsesSizesWithSuffixes) {
  EXPECT_EQ(*ParseSize("4096"), 4096u);
  EXPECT_EQ(*ParseSize("4k"), 4096u);
  EXPECT_EQ(*ParseSize("64M"), 64u << 20);
  EXPECT_EQ(*ParseSize("1G"), 1u << 30);
  EXPECT_EQ(*ParseSize("2GiB"), 2ull << 30);
  EXPECT_EQ(*ParseSize("3T"), 3ull << 40);
}

TEST(UnitsTest, RejectsMalformedSizes) {
  for (const char* text : {"", "k", "12q", "1.5G", "-4", "4kk", "99999999999999999999",
                           "20000000000T"}) {
    Result<uint64_t> size = ParseSize(text);
    ASSERT_FALSE(size.ok()) << text;
    EXPECT_EQ(size.error().code(), EINVAL) << text;
  }
}

TEST(UuidTest, RandomRoundTripsThroughText) {
  Uuid uuid = Uuid::Random();
  EXPECT_FALSE(uuid.is_nil());
  EXPECT_EQ(uuid.bytes[6] >> 4, 4);  // version 4
  Result<Uuid> parsed = Uuid::Parse(uuid.ToString());
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(*parsed, uuid);
  EXPECT_NE(Uuid::Random(), uuid);
}

TEST(UuidTest, RejectsMalformedText) {
  EXPECT_FALSE(Uuid::Parse("not-a-uuid").ok());
  EXPECT_FALSE(Uuid::Parse("0123456789abcdef0123456789abcdef0123").ok());
  EXPECT_FALSE(Uuid::Parse("g1234567-89ab-cdef-0123-456789abcdef").ok());
  EXPECT_TRUE(Uuid::Parse("01234567-89AB-cdef-0123-456789abcdef").ok());
}

}  // namespace
}  // namespace blobfs
