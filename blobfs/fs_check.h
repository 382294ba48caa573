// CheckFileSystem: the read-only consistency check of a blobfs filesystem (fsck.blobfs), on a blob
// store loaded read-only (ideally with BlobStoreLoadOptions::verify, which has already checked the
// store itself: every chain parsed, every cluster owned by one blob, the masks as on disk).
//
// Contract:
//  - Reads only; never mounts (mount would reclaim orphans). Every blob but the super blob must be
//    an inode with a valid record. Every directory's index is verified whole (DirTree::Verify) and
//    its entries must name existing inodes with their type. From the entries it checks: link
//    counts (a file's nlink equals the entries naming it; a directory's is 2 + its subdirectories),
//    each directory reachable from exactly one entry of the directory its `parent` names, nothing
//    linking the root or the orphan directory, no inode unreachable while nlink > 0, and no inode
//    with nlink 0 missing from the orphan list (its space would never come back). Per type: inline
//    file data of exactly `size` bytes and no clusters; symlink targets of `size` bytes (1 to
//    4095, no NUL).
//  - What the next read-write mount finishes by design (orphans to reclaim, orphan entries that
//    name deleted or re-linked inodes) are notes, not problems.
//  - Problems and notes are lines naming the inode (0x hex) and, where known, the directory entry.
//    After kMaxReportedProblems problems the rest are counted, not listed.
//  - Errors: EUCLEAN when the filesystem cannot be checked at all (no super blob, a super record
//    that does not decode, a root that is no directory); other errors (I/O) as they come. The
//    caller runs it on the store's metadata reactor.
#ifndef BLOBFS_BLOBFS_FS_CHECK_H_
#define BLOBFS_BLOBFS_FS_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "blobfs/format/fs_super.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

inline constexpr size_t kMaxReportedProblems = 1000;

struct FsCheckReport {
  FsSuper super;
  std::vector<std::string> problems;
  uint64_t unlisted_problems = 0;  // Found past kMaxReportedProblems.
  std::vector<std::string> notes;

  uint64_t inodes = 0;
  uint64_t directories = 0;
  uint64_t regular_files = 0;
  uint64_t symlinks = 0;
  uint64_t special_files = 0;  // Devices, FIFOs, sockets.
  uint64_t entries = 0;        // Directory entries, the orphan directory's aside.
  uint64_t orphans = 0;        // Unlinked inodes awaiting reclaim.

  bool clean() const { return problems.empty() && unlisted_problems == 0; }
};

Task<Result<FsCheckReport>> CheckFileSystem(BlobStore& store);

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_FS_CHECK_H_
