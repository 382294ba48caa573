// Writes seed inputs for the filesystem fuzz target into the directory given as the only argument:
// for every blob of the base image, each kind of edit with payloads aimed at the fields that
// matter (a huge or zero size, another file type, nlink 0, a parent elsewhere, a record cut
// short, garbage in directory blocks, a symlink target too long or empty), and a few mixes.
#include <string>
#include <vector>

#include "glog/logging.h"
#include "tests/fuzz/filesystem_fuzz_input.h"
#include "tests/fuzz/seed_file.h"

namespace blobfs::fuzz {
namespace {

std::string Le64(uint64_t value) {
  std::string out(8, '\0');
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>(value >> (8 * i));
  return out;
}

std::string Le32(uint32_t value) { return Le64(value).substr(0, 4); }

void Write(const std::string& dir, const std::string& name, const std::vector<Edit>& edits) {
  std::string input;
  for (const Edit& edit : edits) input += EncodeEdit(edit);
  WriteSeed(dir + "/" + name, input);
}

}  // namespace
}  // namespace blobfs::fuzz

int main(int argc, char** argv) {
  using namespace blobfs::fuzz;
  CHECK_EQ(argc, 2) << "usage: filesystem_seeds DIR";
  const std::string dir = argv[1];
  // Record fields (blobfs/FORMAT.md): mode at 4, nlink at 16, size at 24, parent at 48.
  const std::vector<Edit> aimed = {
      {0, EditKind::kPatchRecord, 24, Le64(uint64_t{1} << 62)},
      {0, EditKind::kPatchRecord, 24, Le64(0)},
      {0, EditKind::kPatchRecord, 24, Le64(5000)},
      {0, EditKind::kPatchRecord, 4, Le32(0040755)},
      {0, EditKind::kPatchRecord, 4, Le32(0100644)},
      {0, EditKind::kPatchRecord, 4, Le32(0120777)},
      {0, EditKind::kPatchRecord, 4, Le32(0)},
      {0, EditKind::kPatchRecord, 16, Le32(0)},
      {0, EditKind::kPatchRecord, 16, Le32(0xffffffff)},
      {0, EditKind::kPatchRecord, 48, Le64(3)},
      {0, EditKind::kPatchRecord, 0, Le32(0x00780002)},
      {0, EditKind::kResizeRecord, 60, ""},
      {0, EditKind::kResizeRecord, 150, std::string(30, '\xff')},
      {0, EditKind::kPatchInline, 0, std::string(200, 'i')},
      {0, EditKind::kPatchInline, 4000, std::string(90, 'j')},
      {0, EditKind::kSetSymlink, 0, ""},
      {0, EditKind::kSetSymlink, 0, std::string(255, 'l')},
      {0, EditKind::kRemoveInternal, 0, ""},
      {0, EditKind::kRemoveInternal, 1, ""},
      {0, EditKind::kRemoveInternal, 2, ""},
      {0, EditKind::kPatchData, 0, std::string(64, '\xff')},
      {0, EditKind::kPatchData, 2, std::string(200, '\0')},
      {0, EditKind::kPatchData, 300, std::string(100, '\x41')},
      {0, EditKind::kResizeBlob, 0, ""},
      {0, EditKind::kResizeBlob, 1, ""},
      {0, EditKind::kResizeBlob, 7, ""},
      {0, EditKind::kPatchSuper, 144, Le64(12345)},
      {0, EditKind::kPatchSuper, 152, Le64(0)},
      {0, EditKind::kPatchSuper, 136, Le32(512)},
      {0, EditKind::kPatchSuper, 140, Le32(0xffffffff)},
  };
  // The base image has about a dozen blobs once sorted; each seed aims at one of the first eight
  // (the fuzzer moves edits to the others; every seed is run before the time limit counts, so
  // their number bounds CI's fuzz time).
  int written = 0;
  for (uint8_t blob = 0; blob < 8; ++blob) {
    for (size_t i = 0; i < aimed.size(); ++i) {
      Edit edit = aimed[i];
      edit.blob = blob;
      Write(dir, "aimed-" + std::to_string(blob) + "-" + std::to_string(i), {edit});
      ++written;
    }
  }
  // A few mixes: several blobs damaged at once.
  for (uint8_t blob = 0; blob < 8; ++blob) {
    Write(dir, "mix-" + std::to_string(blob),
          {{blob, EditKind::kPatchRecord, 24, Le64(uint64_t{1} << 40)},
           {static_cast<uint8_t>(blob + 1), EditKind::kPatchData, 8, std::string(48, '\x7f')},
           {static_cast<uint8_t>(blob + 2), EditKind::kPatchRecord, 4, Le32(0020644)}});
    ++written;
  }
  Write(dir, "empty", {});
  LOG(INFO) << written + 1 << " seeds in " << dir;
  return 0;
}
