// WriteSeed: one seed input of a fuzz target's seed generator, written to a file (a failure to
// write is fatal: the generator's run would otherwise seed nothing).
#ifndef BLOBFS_TESTS_FUZZ_SEED_FILE_H_
#define BLOBFS_TESTS_FUZZ_SEED_FILE_H_

#include <cstddef>
#include <fstream>
#include <span>
#include <string>
#include <string_view>

#include "glog/logging.h"

namespace blobfs::fuzz {

inline void WriteSeed(const std::string& path, std::span<const std::byte> input) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(input.data()),
            static_cast<std::streamsize>(input.size()));
  CHECK(out.good()) << "cannot write " << path;
}

inline void WriteSeed(const std::string& path, std::string_view input) {
  WriteSeed(path, std::as_bytes(std::span(input.data(), input.size())));
}

}  // namespace blobfs::fuzz

#endif  // BLOBFS_TESTS_FUZZ_SEED_FILE_H_
