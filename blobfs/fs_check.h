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
//    After kMaxReportedProblems problems the rest are counted, not listed. Each problem is also a
//    finding, whatever their number, for the repair.
//  - Errors: EUCLEAN when the filesystem cannot be checked at all (no super blob, a super record
//    that does not decode, a root that is no directory); other errors (I/O) as they come. The
//    caller runs it on the store's metadata reactor.
#ifndef BLOBFS_BLOBFS_FS_CHECK_H_
#define BLOBFS_BLOBFS_FS_CHECK_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "blob/blob_store.h"
#include "blobfs/format/fs_super.h"
#include "common/error.h"
#include "common/task.h"

namespace blobfs {

inline constexpr size_t kMaxReportedProblems = 1000;

// A problem as a repair (fs_repair.h) needs it: what is wrong, and where.
struct FsFinding {
  enum class Kind {
    kUnrepairable,      // reported only
    kNoRecord,          // blob `ino` has no inode record, or one that does not decode
    kEntryNamesNothing, // entry `name` of `dir` names inode `ino`, which does not exist
    kEntryWrongType,    // entry `name` of `dir` has another type than inode `ino`, which
                        // `value` entries of the right type name
    kExtraEntry,        // directory `ino` is also named by entry `name` of `dir`
    kLinkCount,         // inode `ino` should have nlink `value`
    kParent,            // directory `ino` should have parent `value`
    kUnreachable,       // inode `ino` has nlink > 0 and no entry
    kUnlinkedUnlisted,  // inode `ino` has nlink 0, no entry and no orphan entry
    kNamedOrphan,       // inode `ino` is on the orphan list with nlink 0 yet named `value` times
    kOrphanEntryName,   // the orphan directory's entry `name` does not name its inode `ino`
    kInlineSize,        // file `ino` has `value` bytes of inline data and another size
    kSymlinkSize,       // symlink `ino` has a target of `value` bytes and another size
    kBadSymlink,        // symlink `ino` has no target or a malformed one
    kDirectoryIndex,    // the index of directory `ino` fails validation
  };
  Kind kind = Kind::kUnrepairable;
  uint64_t ino = 0;
  uint64_t dir = 0;
  std::string name{};
  uint64_t value = 0;
};

struct FsCheckReport {
  FsSuper super;
  std::vector<std::string> problems;
  uint64_t unlisted_problems = 0;  // Found past kMaxReportedProblems.
  // Every problem (listed or not), in the order found.
  std::vector<FsFinding> findings;
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

// Called as the check goes: `done` of `total` steps (inodes read, then directories walked).
using FsCheckProgress = std::function<void(const char* pass, uint64_t done, uint64_t total)>;

Task<Result<FsCheckReport>> CheckFileSystem(BlobStore& store, FsCheckProgress progress = {});

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_FS_CHECK_H_
