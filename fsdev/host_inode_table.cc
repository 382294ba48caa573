#include "fsdev/host_inode_table.h"

#include <cerrno>
#include <limits>

namespace blobfs {

HostInodeTable::HostInodeTable(int root_fd, const struct stat& root_stat) {
  auto root = std::make_shared<HostInode>(root_fd, root_stat.st_dev, root_stat.st_ino, 1);
  root->lookups = std::numeric_limits<uint64_t>::max() / 2;  // Never forgotten.
  by_id_.emplace(1, root);
  by_key_.emplace(Key{root_stat.st_dev, root_stat.st_ino}, 1);
}

std::shared_ptr<HostInode> HostInodeTable::Add(int fd, const struct stat& stat) {
  absl::MutexLock lock(&mutex_);
  const Key key{stat.st_dev, stat.st_ino};
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    close(fd);
    std::shared_ptr<HostInode> inode = by_id_.at(it->second);
    ++inode->lookups;
    return inode;
  }
  const uint64_t id = next_id_++;
  auto inode = std::make_shared<HostInode>(fd, stat.st_dev, stat.st_ino, id);
  inode->lookups = 1;
  by_id_.emplace(id, inode);
  by_key_.emplace(key, id);
  return inode;
}

Result<std::shared_ptr<HostInode>> HostInodeTable::Get(uint64_t node_id) const {
  absl::MutexLock lock(&mutex_);
  auto it = by_id_.find(node_id);
  if (it == by_id_.end()) return MakeError(ESTALE, "no object with node id 0x%x", node_id);
  return it->second;
}

void HostInodeTable::Forget(uint64_t node_id, uint64_t count) {
  absl::MutexLock lock(&mutex_);
  auto it = by_id_.find(node_id);
  if (it == by_id_.end() || node_id == 1) return;
  HostInode& inode = *it->second;
  inode.lookups -= std::min(count, inode.lookups);
  if (inode.lookups > 0) return;
  by_key_.erase(Key{inode.dev, inode.ino});
  by_id_.erase(it);
}

size_t HostInodeTable::size() const {
  absl::MutexLock lock(&mutex_);
  return by_id_.size();
}

}  // namespace blobfs
