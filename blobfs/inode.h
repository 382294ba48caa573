// Inode: the in-memory state of one inode of a mounted blobfs — its open blob, its attribute
// record, the kernel's lookup references and open handles, and the lazily opened data path
// (regular files) or directory index (directories).
//
// Contract: owned by the BlobFileSystem's inode table. An Inode stays in memory while it has
// lookups, opens or pins (a call in flight holding it, see InodeRef) or uncommitted changes;
// otherwise the table may close its blob and drop it. Only the filesystem's reactor touches it.
#ifndef BLOBFS_BLOBFS_INODE_H_
#define BLOBFS_BLOBFS_INODE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "blob/blob.h"
#include "blobfs/dir_blob_storage.h"
#include "blobfs/dir_tree.h"
#include "blobfs/file_data.h"
#include "blobfs/format/inode_record.h"
#include "common/async_semaphore.h"

namespace blobfs {

struct Inode {
  Inode(uint64_t number, Blob* inode_blob, InodeRecord inode_record)
      : ino(number), blob(inode_blob), record(inode_record) {}

  const uint64_t ino;
  Blob* const blob;
  InodeRecord record;
  // `record` differs from the blob's "i" xattr.
  bool record_dirty = false;
  // Queued for the next commit (record, directory blocks or file data changed).
  bool queued = false;
  // Queued by a namespace call (which holds ns_lock_): it must go in the next commit whole with
  // the call's other inodes, which a commit too big for the journal could not promise.
  bool queued_by_namespace = false;
  uint64_t lookups = 0;
  uint32_t opens = 0;
  uint32_t pins = 0;
  // An O_TMPFILE inode opened without O_EXCL: Link may give it a name.
  bool linkable_while_unlinked = false;
  // Reclaim (delete of the blob) is queued.
  bool reclaiming = false;

  std::unique_ptr<FileData> data;                 // Regular files, once opened.
  std::unique_ptr<DirBlobStorage> dir_storage;    // Directories, once used.
  std::unique_ptr<DirTree> dir;
  std::optional<std::string> symlink_target;      // Symlinks, once read.
  // Serializes the data path of one file (FileData is single-caller).
  AsyncSemaphore data_lock{1};

  bool in_use() const { return lookups > 0 || opens > 0 || pins > 0; }
};

// Keeps an Inode in memory while a call uses it.
class InodeRef {
 public:
  InodeRef() = default;
  explicit InodeRef(Inode* inode) : inode_(inode) {
    if (inode_ != nullptr) ++inode_->pins;
  }
  InodeRef(InodeRef&& other) noexcept : inode_(other.inode_) { other.inode_ = nullptr; }
  InodeRef& operator=(InodeRef&& other) noexcept {
    if (this != &other) {
      Reset();
      inode_ = other.inode_;
      other.inode_ = nullptr;
    }
    return *this;
  }
  InodeRef(const InodeRef&) = delete;
  InodeRef& operator=(const InodeRef&) = delete;
  ~InodeRef() { Reset(); }

  Inode* get() const { return inode_; }
  Inode* operator->() const { return inode_; }
  Inode& operator*() const { return *inode_; }

 private:
  void Reset() {
    if (inode_ != nullptr) --inode_->pins;
    inode_ = nullptr;
  }
  Inode* inode_ = nullptr;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_INODE_H_
