// Bdev specs ("malloc:64M", "uring:PATH,size=8M", "error:SPEC"): what they build, how the bdevs
// are named, and EINVAL for malformed specs.
#include "bdev/spec.h"

#include <sys/stat.h>

#include <memory>
#include <string>
#include <vector>

#include "bdev/error_bdev.h"
#include "bdev/registry.h"
#include "bdev/uring_bdev.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"

namespace blobfs {
namespace {

using namespace bdev_test;  // the shared helpers of bdev_test_util.h
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

TEST(BdevSpecTest, Malloc) {
  BdevRegistry registry;
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> big, CreateBdevFromSpec(registry, "malloc:64M"));
  EXPECT_EQ(big->name(), "malloc0");
  EXPECT_STREQ(big->module_name(), "malloc");
  EXPECT_EQ(big->geometry().block_size, 4096u);
  EXPECT_EQ(big->geometry().size_bytes(), uint64_t{64} << 20);

  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> small,
                        CreateBdevFromSpec(registry, "malloc:1M,block_size=512"));
  EXPECT_EQ(small->name(), "malloc1");
  EXPECT_EQ(small->geometry().block_size, 512u);
  EXPECT_EQ(small->geometry().num_blocks, 2048u);

  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> plain, CreateBdevFromSpec(registry, "malloc:8192"));
  EXPECT_EQ(plain->name(), "malloc2");
  EXPECT_EQ(plain->geometry().num_blocks, 2u);
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> lower, CreateBdevFromSpec(registry, "malloc:2m"));
  EXPECT_EQ(lower->geometry().size_bytes(), uint64_t{2} << 20);
  EXPECT_THAT(registry.Names(), ElementsAre("malloc0", "malloc1", "malloc2", "malloc3"));
}

TEST(BdevSpecTest, NamesFillTheFirstFreeNumber) {
  BdevRegistry registry;
  ASSERT_TRUE(CreateBdevFromSpec(registry, "malloc:1M").ok());
  ASSERT_TRUE(CreateBdevFromSpec(registry, "malloc:1M").ok());
  ASSERT_OK(registry.Unregister("malloc0"));
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> again, CreateBdevFromSpec(registry, "malloc:1M"));
  EXPECT_EQ(again->name(), "malloc0");
}

TEST(BdevSpecTest, Uring) {
  TempDir dir;
  const std::string path = dir.File("disk.img");
  BdevRegistry registry;
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> created,
                        CreateBdevFromSpec(registry, "uring:" + path + ",size=8M,direct=off"));
  EXPECT_EQ(created->name(), "uring0");
  EXPECT_STREQ(created->module_name(), "uring");
  EXPECT_EQ(created->geometry().size_bytes(), uint64_t{8} << 20);
  EXPECT_FALSE(UringBdevUsesDirectIo(*created));
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_size, 8 << 20);

  // The existing file, with the other options.
  ASSERT_ASSIGN_OR_FAIL(
      std::shared_ptr<Bdev> options,
      CreateBdevFromSpec(registry, "uring:" + path + ",block_size=512,queue_depth=4,direct=auto"));
  EXPECT_EQ(options->name(), "uring1");
  EXPECT_EQ(options->geometry().block_size, 512u);
  EXPECT_EQ(options->geometry().size_bytes(), uint64_t{8} << 20);
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> read_only,
                        CreateBdevFromSpec(registry, "uring:" + path + ",ro,direct=off"));
  EXPECT_EQ(read_only->name(), "uring2");

  auto missing = CreateBdevFromSpec(registry, "uring:" + dir.File("none.img"));
  EXPECT_EQ(ErrCode(missing), ENOENT) << ErrText(missing);
  EXPECT_THAT(registry.Names(), ElementsAre("uring0", "uring1", "uring2"));
}

TEST(BdevSpecTest, ErrorOverAnotherSpec) {
  BdevRegistry registry;
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> error,
                        CreateBdevFromSpec(registry, "error:malloc:8M"));
  EXPECT_EQ(error->name(), "error0");
  EXPECT_STREQ(error->module_name(), "error");
  EXPECT_NE(GetErrorInjector(*error), nullptr);
  EXPECT_EQ(error->geometry().size_bytes(), uint64_t{8} << 20);
  EXPECT_THAT(registry.Names(), ElementsAre("error0", "malloc0"));
  EXPECT_EQ(registry.Find("malloc0")->geometry().size_bytes(), uint64_t{8} << 20);

  // Stacked twice.
  ASSERT_ASSIGN_OR_FAIL(std::shared_ptr<Bdev> twice,
                        CreateBdevFromSpec(registry, "error:error:malloc:1M,block_size=512"));
  EXPECT_EQ(twice->name(), "error2");
  EXPECT_EQ(twice->geometry().block_size, 512u);
  EXPECT_THAT(registry.Names(), ElementsAre("error0", "error1", "error2", "malloc0", "malloc1"));
  // Removing the bottom removes the stack above it.
  ASSERT_OK(registry.Unregister("malloc1"));
  EXPECT_THAT(registry.Names(), ElementsAre("error0", "malloc0"));
}

TEST(BdevSpecTest, MalformedSpecsAreEinval) {
  TempDir dir;
  const std::string path = dir.File("never.img");
  struct Case {
    std::string spec;
    std::string message_part;  // what the message must name
  };
  const std::vector<Case> cases = {
      {"", "''"},
      {"malloc", "'malloc'"},
      {"malloc:", "'malloc:'"},
      {":64M", "':64M'"},
      {"floppy:1M", "floppy"},
      {"malloc:12Q", "12Q"},
      {"malloc:M", "'M'"},
      {"malloc:99999999999999999999", "99999999999999999999"},
      {"malloc:1M,colour=blue", "colour=blue"},
      {"malloc:1M,block_size=0", "block_size=0"},
      {"malloc:1M,block_size=abc", "block_size=abc"},
      {"malloc:1M,block_size=1000", "1000"},
      {"malloc:0", "malloc0"},
      {"malloc:1M,", "''"},
      {"uring:" + path + ",size=8M,direct=maybe", "direct"},
      {"uring:" + path + ",size=8M,speed=3", "speed=3"},
      {"uring:" + path + ",size=lots", "lots"},
      {"uring:" + path + ",size=8M,ro=yes", "ro=yes"},
      {"error:", "'error:'"},
      {"error:floppy:1M", "floppy"},
      {"error:malloc:1M,colour=blue", "colour=blue"},
  };
  BdevRegistry registry;
  for (const Case& c : cases) {
    SCOPED_TRACE("spec '" + c.spec + "'");
    auto bdev = CreateBdevFromSpec(registry, c.spec);
    ASSERT_FALSE(bdev.ok());
    EXPECT_EQ(bdev.error().code(), EINVAL) << bdev.error().ToString();
    EXPECT_THAT(bdev.error().message(), HasSubstr(c.message_part));
  }
  EXPECT_THAT(registry.Names(), IsEmpty()) << "a refused spec must not leave bdevs behind";
  struct stat st;
  EXPECT_NE(stat(path.c_str(), &st), 0) << "a refused spec must not create its image";
}

}  // namespace
}  // namespace blobfs
