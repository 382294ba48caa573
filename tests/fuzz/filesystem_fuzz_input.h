// The input of the filesystem fuzz target (filesystem_fuzz.cc): edits made through the blob
// store's own calls to a small blobfs image — so every checksum of the store still holds and the
// damage reaches blobfs's own decoders (inode records, inline data, symlink targets, directory
// blocks, the filesystem super record). Shared with the seed generator.
//
// An input is a sequence of edits, each:
//   u8 blob      which blob: its index among the image's blobs (ascending ids), modulo their count
//   u8 kind      what to edit (EditKind, modulo kEditKinds)
//   u16 offset   little-endian; where, as each kind reads it
//   u8 length    of the payload (the input's end cuts it short)
//   payload
#ifndef BLOBFS_TESTS_FUZZ_FILESYSTEM_FUZZ_INPUT_H_
#define BLOBFS_TESTS_FUZZ_FILESYSTEM_FUZZ_INPUT_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace blobfs::fuzz {

enum class EditKind : uint8_t {
  kPatchRecord = 0,    // the payload over the inode record (internal xattr "i") at offset
  kResizeRecord = 1,   // the record cut or grown (with the payload) to offset % 160 bytes
  kPatchInline = 2,    // the payload over the inline data ("d") at offset % 4096, made if absent
  kSetSymlink = 3,     // the symlink target ("l") becomes the payload
  kRemoveInternal = 4,  // internal xattr "i", "d", "l" or "fs" (offset % 4) removed
  kPatchData = 5,      // the payload written into the blob's clusters at offset * 16
  kResizeBlob = 6,     // the blob resized to offset % 8 clusters
  kPatchSuper = 7,     // the payload over the filesystem super record ("fs") at offset % 192
};
inline constexpr int kEditKinds = 8;

struct Edit {
  uint8_t blob = 0;
  EditKind kind = EditKind::kPatchRecord;
  uint16_t offset = 0;
  std::string payload;
};

inline std::string EncodeEdit(const Edit& edit) {
  std::string out;
  out.push_back(static_cast<char>(edit.blob));
  out.push_back(static_cast<char>(edit.kind));
  out.push_back(static_cast<char>(edit.offset & 0xff));
  out.push_back(static_cast<char>(edit.offset >> 8));
  out.push_back(static_cast<char>(edit.payload.size()));
  out += edit.payload.substr(0, 255);
  return out;
}

// Takes the next edit off the front of `input`; false at its end.
inline bool DecodeEdit(std::string_view& input, Edit& edit) {
  if (input.size() < 5) return false;
  edit.blob = static_cast<uint8_t>(input[0]);
  edit.kind = static_cast<EditKind>(static_cast<uint8_t>(input[1]) % kEditKinds);
  edit.offset = static_cast<uint16_t>(static_cast<uint8_t>(input[2]) |
                                      (static_cast<uint8_t>(input[3]) << 8));
  const size_t length = static_cast<uint8_t>(input[4]);
  input.remove_prefix(5);
  edit.payload = std::string(input.substr(0, length));
  input.remove_prefix(edit.payload.size());
  return true;
}

}  // namespace blobfs::fuzz

#endif  // BLOBFS_TESTS_FUZZ_FILESYSTEM_FUZZ_INPUT_H_
