// CopyingInto: the pieces a read hands over land in the caller's buffers in order, across
// buffer boundaries, and what the buffers cannot hold is dropped.
#include "common/read_consumer.h"

#include <string>

#include "gtest/gtest.h"

namespace blobfs {
namespace {

TEST(ReadConsumerTest, CopyingIntoFillsTheBuffersInOrderAcrossBoundaries) {
  std::string first(4, '.');
  std::string second(2, '.');
  std::string third(3, '.');
  const iovec out[] = {{first.data(), first.size()},
                       {second.data(), second.size()},
                       {third.data(), third.size()}};
  std::string a = "abc";
  std::string b = "defghijk";  // Its last two bytes do not fit.
  const iovec data[] = {{a.data(), a.size()}, {b.data(), b.size()}};
  ASSERT_TRUE(CopyingInto(out)(data).ok());
  EXPECT_EQ(first, "abcd");
  EXPECT_EQ(second, "ef");
  EXPECT_EQ(third, "ghi");
}

TEST(ReadConsumerTest, CopyingIntoLeavesTheRestOfTheBuffersAlone) {
  std::string buffer(6, '.');
  const iovec out[] = {{buffer.data(), buffer.size()}};
  std::string a = "xy";
  const iovec data[] = {{a.data(), a.size()}};
  ASSERT_TRUE(CopyingInto(out)(data).ok());
  EXPECT_EQ(buffer, "xy....");
}

}  // namespace
}  // namespace blobfs
