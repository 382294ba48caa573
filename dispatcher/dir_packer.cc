#include "dispatcher/dir_packer.h"

#include <cstring>

namespace blobfs {

DirPacker::DirPacker(size_t capacity, bool plus, const NodeIdMap& ids)
    : capacity_(capacity), plus_(plus), ids_(ids) {
  buffer_.reserve(capacity);
}

bool DirPacker::Add(const FsdevDirEntry& entry) {
  const size_t head = plus_ ? sizeof(wire::DirentPlus) : sizeof(wire::Dirent);
  const size_t record = wire::DirentAlign(head + entry.name.size());
  if (buffer_.size() + record > capacity_) return false;

  wire::DirentPlus plus{};
  if (plus_ && entry.entry != nullptr) plus.entry_out = ToWireEntry(*entry.entry, ids_);
  wire::Dirent& dirent = plus.dirent;
  dirent.ino = entry.ino;
  dirent.off = entry.offset;
  dirent.namelen = static_cast<uint32_t>(entry.name.size());
  dirent.type = entry.type;

  const size_t start = buffer_.size();
  buffer_.resize(start + record, '\0');  // The padding stays zero.
  char* out = buffer_.data() + start;
  if (plus_) {
    std::memcpy(out, &plus, sizeof(plus));
  } else {
    std::memcpy(out, &dirent, sizeof(dirent));
  }
  std::memcpy(out + head, entry.name.data(), entry.name.size());
  ++entries_;
  return true;
}

}  // namespace blobfs
