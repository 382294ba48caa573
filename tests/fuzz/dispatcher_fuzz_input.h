// The input format of the dispatcher fuzz target: a sequence of raw FUSE requests, each preceded
// by its length as two little-endian bytes (a length past the end takes what is left). The
// requests are handed to the dispatcher as they are — headers, lengths and all — after a real
// INIT, over one blobfs in RAM that lives across inputs.
#ifndef BLOBFS_TESTS_FUZZ_DISPATCHER_FUZZ_INPUT_H_
#define BLOBFS_TESTS_FUZZ_DISPATCHER_FUZZ_INPUT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace blobfs::fuzz {

inline std::vector<std::string_view> SplitRequests(std::string_view input) {
  std::vector<std::string_view> requests;
  while (input.size() >= 2) {
    size_t length = static_cast<uint8_t>(input[0]) | (size_t{static_cast<uint8_t>(input[1])} << 8);
    input.remove_prefix(2);
    if (length > input.size()) length = input.size();
    requests.push_back(input.substr(0, length));
    input.remove_prefix(length);
  }
  return requests;
}

inline std::string JoinRequests(const std::vector<std::string>& requests) {
  std::string input;
  for (const std::string& request : requests) {
    input.push_back(static_cast<char>(request.size() & 0xff));
    input.push_back(static_cast<char>((request.size() >> 8) & 0xff));
    input += request;
  }
  return input;
}

}  // namespace blobfs::fuzz

#endif  // BLOBFS_TESTS_FUZZ_DISPATCHER_FUZZ_INPUT_H_
