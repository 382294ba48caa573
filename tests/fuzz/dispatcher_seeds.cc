// Writes seed inputs for the dispatcher fuzz target into the directory given as the only argument:
// well-formed request sequences over the root directory (lookups, creates and writes, reads,
// directory listings, attribute and xattr changes, renames, forgets) and a few malformed ones.
#include <fcntl.h>
#include <sys/stat.h>

#include <string>
#include <vector>

#include "glog/logging.h"
#include "tests/dispatcher/dispatcher_harness.h"
#include "tests/fuzz/dispatcher_fuzz_input.h"
#include "tests/fuzz/seed_file.h"

namespace blobfs::fuzz {
namespace {

using dispatcher_test::RequestBuilder;

RequestBuilder Root(uint32_t opcode, uint64_t unique) {
  return RequestBuilder(opcode, wire::kRootId, unique);
}

void Write(const std::string& dir, const std::string& name,
           const std::vector<std::string>& requests) {
  WriteSeed(dir + "/" + name, JoinRequests(requests));
}

}  // namespace
}  // namespace blobfs::fuzz

int main(int argc, char** argv) {
  using namespace blobfs;
  using namespace blobfs::fuzz;
  CHECK_EQ(argc, 2) << "usage: dispatcher_seeds DIR";
  const std::string dir = argv[1];
  const wire::CreateIn create{.flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0644, .umask = 022};
  const wire::WriteIn write{.fh = 1, .offset = 0, .size = 5};
  const wire::ReadIn read{.fh = 1, .offset = 0, .size = 4096};
  const wire::GetxattrIn probe{.size = 0};
  wire::SetattrIn chmod{};
  chmod.valid = wire::fattr::kMode | wire::fattr::kAtimeNow | wire::fattr::kAtime;
  chmod.mode = S_IFREG | 0600;
  Write(dir, "lookup", {Root(wire::kLookup, 10).Name("a").Build(),
                        Root(wire::kGetattr, 11).Add(wire::GetattrIn{}).Build(),
                        Root(wire::kStatfs, 12).Build()});
  Write(dir, "create_write_read",
        {Root(wire::kCreate, 20).Add(create).Name("f").Build(),
         Root(wire::kWrite, 21).Add(write).Bytes("hello").Build(),
         Root(wire::kRead, 22).Add(read).Build(),
         Root(wire::kSetattr, 23).Add(chmod).Build(),
         Root(wire::kRelease, 24).Add(wire::ReleaseIn{.fh = 1}).Build()});
  Write(dir, "dirs", {Root(wire::kMkdir, 30).Add(wire::MkdirIn{0755, 022}).Name("d").Build(),
                      Root(wire::kOpendir, 31).Add(wire::OpenIn{O_RDONLY, 0}).Build(),
                      Root(wire::kReaddirplus, 32).Add(read).Build(),
                      Root(wire::kReaddir, 33).Add(read).Build(),
                      Root(wire::kRename2, 34)
                          .Add(wire::Rename2In{.newdir = 1, .flags = 0})
                          .Name("d")
                          .Name("e")
                          .Build(),
                      Root(wire::kRmdir, 35).Name("e").Build()});
  Write(dir, "xattrs", {Root(wire::kSetxattr, 40)
                            .Add(wire::SetxattrIn{.size = 3, .flags = 0})
                            .Name("user.k")
                            .Bytes("abc")
                            .Build(),
                        Root(wire::kGetxattr, 41).Add(probe).Name("user.k").Build(),
                        Root(wire::kListxattr, 42).Add(probe).Build(),
                        Root(wire::kRemovexattr, 43).Name("user.k").Build()});
  Write(dir, "links", {Root(wire::kSymlink, 50).Name("s").Name("target").Build(),
                       Root(wire::kMknod, 51).Add(wire::MknodIn{S_IFIFO | 0644, 0, 0}).Name("p").Build(),
                       Root(wire::kUnlink, 52).Name("p").Build(),
                       RequestBuilder(wire::kBatchForget, 0, 53)
                           .Add(wire::BatchForgetIn{2, 0})
                           .Add(wire::ForgetOne{2, 1})
                           .Add(wire::ForgetOne{3, 1})
                           .Build(),
                       RequestBuilder(wire::kInterrupt, 0, 54).Add(wire::InterruptIn{55}).Build()});
  std::string lying = Root(wire::kLookup, 60).Name("x").Build();
  lying[0] = 0x7f;
  Write(dir, "malformed", {lying, std::string(12, '\0'), Root(wire::kLookup, 61).Bytes("x").Build(),
                           Root(999, 62).Build()});
  return 0;
}
