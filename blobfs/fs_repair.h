// RepairFileSystem: fsck.blobfs's repairs, in e2fsck's manner, on a blob store loaded read-write
// and verifying (BlobStoreLoadOptions::verify: the allocation masks are rebuilt from the metadata
// region, so leaked clusters and pages come back when the store unloads).
//
// Contract:
//  - Rounds of CheckFileSystem (fs_check.h) and the repairs of its findings, until a check is
//    clean, a round repairs nothing it may, or kMaxRepairRounds have run; a repair can uncover
//    another (a deleted directory's children become unreachable), which the next round takes.
//  - Each repair is one commit (atomic: a crash leaves it done or not) and one line naming the
//    inode. The repairs:
//      entries that name no inode, or a reused number with another type, and a directory's extra
//      entries: removed;  an entry of the wrong type that is its inode's one name: retyped;  link counts and a directory's parent: set from the entries;
//      unreachable inodes: linked in /lost+found (made when missing) as "#INO";  unlinked inodes
//      that no entry and no orphan entry names: deleted;  an orphaned inode that is still named:
//      kept, its orphan entry removed;  misnamed orphan entries: removed;  inline data or a symlink
//      target whose size disagrees with the record: the record's size set from the data;
//      (kAll only) blobs with no inode record or one that does not decode, and symlinks without a
//      valid target: deleted; a directory index that fails validation (a damaged header or block,
//      the root's included): rebuilt with the entries it still lists, the rest of its inodes
//      going to /lost+found.
//  - kSafe (-p) makes every repair but the deletions of what may hold data and the rebuilds of
//    directory indexes (kAll, -y, makes them too); while a directory cannot be walked it makes no
//    repair that trusts the link counts. What is left unrepaired is in the final check.
//  - Errors: the check's (EUCLEAN when the filesystem cannot be checked at all), and I/O errors of
//    a repair, which stop the run (the repairs made so far are committed).
//  - Runs on the store's metadata reactor.
#ifndef BLOBFS_BLOBFS_FS_REPAIR_H_
#define BLOBFS_BLOBFS_FS_REPAIR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "blobfs/fs_check.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

inline constexpr int kMaxRepairRounds = 6;

enum class FsRepairLevel { kSafe, kAll };

struct FsRepairReport {
  std::vector<std::string> repairs;  // one line per repair made
  FsCheckReport first_check;         // what was found before any repair
  FsCheckReport final_check;         // what is left
};

Task<Result<FsRepairReport>> RepairFileSystem(BlobStore& store, FsRepairLevel level,
                                              FsCheckProgress progress = {});

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_FS_REPAIR_H_
