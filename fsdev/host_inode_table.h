// HostInodeTable: the passthrough module's objects — one per host inode the kernel knows —
// with their lookup counts, by node id.
//
// Contract:
//  - An object holds an O_PATH descriptor of its host inode. Host inodes are told apart by
//    (st_dev, st_ino): a file reached through two names (hard links) is one object.
//  - Node ids are handed out in increasing order and never reused while the table lives, so a
//    forgotten or forged id finds nothing (ESTALE) instead of another object.
//  - Add takes one lookup reference; Forget drops references, and the object leaves the table
//    at zero. Callers that keep an object past that (open handles) hold its shared_ptr; its
//    descriptor closes with the last one.
//  - Thread-safe.
#ifndef BLOBFS_FSDEV_HOST_INODE_TABLE_H_
#define BLOBFS_FSDEV_HOST_INODE_TABLE_H_

#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>
#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "common/error.h"

namespace blobfs {

struct HostInode {
  HostInode(int path_fd, dev_t device, ino_t inode, uint64_t id)
      : fd(path_fd), dev(device), ino(inode), node_id(id) {}
  ~HostInode() { close(fd); }
  HostInode(const HostInode&) = delete;
  HostInode& operator=(const HostInode&) = delete;

  const int fd;  // O_PATH.
  const dev_t dev;
  const ino_t ino;
  const uint64_t node_id;
  uint64_t lookups = 0;  // Guarded by the table's mutex.
};

class HostInodeTable {
 public:
  // The root: an object with id 1 that is never forgotten; takes `root_fd`.
  explicit HostInodeTable(int root_fd, const struct stat& root_stat);

  uint64_t root_id() const { return 1; }
  // The object for the inode `stat` describes, with one more lookup; `fd` (O_PATH) is adopted
  // for a new object and closed otherwise.
  std::shared_ptr<HostInode> Add(int fd, const struct stat& stat);
  // ESTALE for an id the table does not hold.
  Result<std::shared_ptr<HostInode>> Get(uint64_t node_id) const;
  void Forget(uint64_t node_id, uint64_t count);
  size_t size() const;

 private:
  struct Key {
    dev_t dev;
    ino_t ino;
    template <typename H>
    friend H AbslHashValue(H hash, const Key& key) {
      return H::combine(std::move(hash), key.dev, key.ino);
    }
    friend bool operator==(const Key&, const Key&) = default;
  };

  mutable absl::Mutex mutex_;
  uint64_t next_id_ ABSL_GUARDED_BY(mutex_) = 2;
  absl::flat_hash_map<uint64_t, std::shared_ptr<HostInode>> by_id_ ABSL_GUARDED_BY(mutex_);
  absl::flat_hash_map<Key, uint64_t> by_key_ ABSL_GUARDED_BY(mutex_);
};

}  // namespace blobfs

#endif  // BLOBFS_FSDEV_HOST_INODE_TABLE_H_
