// Writes seed inputs for the blob_store_load fuzz target into the directory given as the only
// argument: every combination of the flags with no edit, and a few edits that aim at the
// structures the loader reads (the super block, the masks, roots and chain links), with and
// without the checksum repair. The base stores themselves are built by the target.
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "blob/format/page.h"
#include "blob/store_layout.h"
#include "glog/logging.h"
#include "tests/fuzz/blob_store_load_fuzz_input.h"
#include "tests/fuzz/seed_file.h"

namespace blobfs::fuzz {
namespace {

void Write(const std::string& dir, const std::string& name, const std::vector<std::byte>& input) {
  WriteSeed(dir + "/" + name, input);
}

std::vector<std::byte> Bytes(std::initializer_list<int> values) {
  std::vector<std::byte> bytes;
  for (int value : values) bytes.push_back(static_cast<std::byte>(value));
  return bytes;
}

void WriteSeeds(const std::string& dir) {
  Result<SuperBlock> layout = PlanLayout({.device_bytes = kDeviceBytes,
                                          .block_size = kBlockSize,
                                          .cluster_size = kClusterSize,
                                          .md_pages = kMetadataPages});
  CHECK_OK(layout);
  const auto md = [&](uint64_t index) { return static_cast<uint8_t>(layout->md_start + index); };
  for (int flags = 0; flags < 16; ++flags) {
    Write(dir, "flags_" + std::to_string(flags), {static_cast<std::byte>(flags)});
  }
  struct Seed {
    std::string name;
    std::vector<std::byte> edits;
  };
  std::vector<Seed> seeds;
  auto add = [&seeds](std::string name, auto&& make) {
    std::vector<std::byte> edits;
    make(edits);
    seeds.push_back({std::move(name), std::move(edits)});
  };
  add("super_mount_count", [&](auto& e) { AddEdit(e, 0, 168, Bytes({0x01}), true); });
  add("super_features", [&](auto& e) { AddEdit(e, 0, 24, Bytes({0x02}), true); });
  add("super_md_len", [&](auto& e) { AddEdit(e, 0, 80, Bytes({0x07}), true); });
  add("page_mask", [&](auto& e) {
    AddEdit(e, static_cast<uint8_t>(layout->used_page_mask_start), 16, Bytes({0x10}), true);
  });
  add("cluster_mask", [&](auto& e) {
    AddEdit(e, static_cast<uint8_t>(layout->used_cluster_mask_start), 20, Bytes({0xff}), true);
  });
  add("id_mask", [&](auto& e) {
    AddEdit(e, static_cast<uint8_t>(layout->used_blobid_mask_start), 16, Bytes({0x40}), true);
  });
  // The first blobs' roots are the first pages of the region.
  add("root_flags", [&](auto& e) { AddEdit(e, md(0), 24 + 4 + 3 * 8, Bytes({0x05}), true); });
  add("root_extent", [&](auto& e) { AddEdit(e, md(0), 24 + 36 + 4 + 8, Bytes({0x01}), true); });
  add("root_next", [&](auto& e) { AddEdit(e, md(2), 4088, Bytes({0x01, 0, 0, 0})); });
  add("chain_sequence", [&](auto& e) { AddEdit(e, md(3), 16, Bytes({0x03}), true); });
  add("descriptor_bytes", [&](auto& e) { AddEdit(e, md(1), 20, Bytes({0xf0, 0x0f})); });
  add("copy_root", [&](auto& e) { AddPageCopy(e, md(3), md(0)); });
  add("zero_page", [&](auto& e) { AddEdit(e, md(4), 0, std::vector<std::byte>(64)); });
  for (const Seed& seed : seeds) {
    for (int flags :
         {0, kRepairChecksums | 0, kDirtyBase | kRepairChecksums, kRepairChecksums | kModify}) {
      std::vector<std::byte> input = {static_cast<std::byte>(flags)};
      input.insert(input.end(), seed.edits.begin(), seed.edits.end());
      Write(dir, seed.name + "_" + std::to_string(flags), input);
    }
  }
}

}  // namespace
}  // namespace blobfs::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIRECTORY\n", argv[0]);
    return 2;
  }
  blobfs::fuzz::WriteSeeds(argv[1]);
  return 0;
}
