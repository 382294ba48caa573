// DirPacker: fills a READDIR or READDIRPLUS reply buffer with entries, exactly as far as they fit.
//
// Contract: Add() appends one entry (a fuse_dirent, or a fuse_direntplus in plus mode, each padded
// to 8 bytes) and returns true, or returns false and appends nothing when the entry would overflow
// `capacity` — the listing stops there and the next READDIR resumes at that entry's predecessor's
// offset. In plus mode an entry without FsdevEntry ("." and "..") carries node id 0, which the
// kernel takes as "no attributes" and does not count as a lookup.
#ifndef BLOBFS_DISPATCHER_DIR_PACKER_H_
#define BLOBFS_DISPATCHER_DIR_PACKER_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "dispatcher/wire_convert.h"
#include "fsdev/fsdev.h"

namespace blobfs {

class DirPacker {
 public:
  DirPacker(size_t capacity, bool plus, const NodeIdMap& ids);

  bool Add(const FsdevDirEntry& entry);
  std::string_view bytes() const { return buffer_; }
  size_t entries() const { return entries_; }

 private:
  size_t capacity_;
  bool plus_;
  const NodeIdMap& ids_;
  std::string buffer_;
  size_t entries_ = 0;
};

}  // namespace blobfs

#endif  // BLOBFS_DISPATCHER_DIR_PACKER_H_
