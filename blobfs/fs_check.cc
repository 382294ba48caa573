// CheckFileSystem: inodes first (records and per-type data), then every directory's entries, then
// the link counts and reachability the entries imply.
#include "blobfs/fs_check.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "blobfs/blob_file_system.h"
#include "blobfs/dir_tree.h"
#include "blobfs/file_data.h"
#include "blobfs/format/inode_record.h"
#include "blobfs/format/orphan_entry.h"
#include "blobfs/offline_reader.h"

namespace blobfs {
namespace {

using Kind = FsFinding::Kind;

// What the check keeps of one inode between its passes.
struct InodeFacts {
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint64_t parent = 0;
  uint32_t entries = 0;   // Entries naming this inode.
  uint32_t subdirs = 0;   // A directory's entries that name directories.
  uint64_t named_in = 0;  // The directory of the last entry naming it.
  bool orphan = false;    // Listed in the orphan directory.
  // A directory's entries (directory, name).
  std::vector<std::pair<uint64_t, std::string>> names{};

  bool is_dir() const { return S_ISDIR(mode); }
};

// An error that stops the check (I/O, memory), as opposed to corruption it reports and goes past.
bool Fatal(const Error& error) { return error.code() != EUCLEAN && error.code() != EOPNOTSUPP; }

class Checker {
 public:
  Checker(BlobStore& store, FsCheckProgress progress)
      : store_(store), progress_(std::move(progress)) {}

  Task<Result<FsCheckReport>> Run() {
    CO_ASSIGN_OR_RETURN(reader_, co_await OfflineReader::Open(store_));
    report_.super = reader_->super();
    const std::vector<uint64_t> blobs = co_await store_.ListBlobs();
    for (size_t i = 0; i < blobs.size(); ++i) {
      if (blobs[i] != store_.super_blob()) CO_RETURN_IF_ERROR(co_await ReadInode(blobs[i]));
      Progress("inodes", i + 1, blobs.size());
    }
    CO_RETURN_IF_ERROR(CheckSpecialDirectory(report_.super.root_ino, "root"));
    CO_RETURN_IF_ERROR(CheckSpecialDirectory(report_.super.orphan_ino, "orphan directory"));
    std::vector<uint64_t> directories;
    for (auto& [ino, facts] : inodes_) {
      if (facts.is_dir()) directories.push_back(ino);
    }
    for (size_t i = 0; i < directories.size(); ++i) {
      CO_RETURN_IF_ERROR(co_await WalkDirectory(directories[i]));
      Progress("directories", i + 1, directories.size());
    }
    CheckLinks();
    if (report_.orphans > 0) {
      report_.notes.push_back(absl::StrFormat(
          "%u unlinked inodes are on the orphan list; the next read-write mount reclaims them",
          report_.orphans));
    }
    co_return std::move(report_);
  }

 private:
  void Progress(const char* pass, uint64_t done, uint64_t total) {
    if (progress_) progress_(pass, done, total);
  }

  template <typename... Args>
  void Problem(FsFinding finding, const absl::FormatSpec<Args...>& format, const Args&... args) {
    report_.findings.push_back(std::move(finding));
    if (report_.problems.size() < kMaxReportedProblems) {
      report_.problems.push_back(absl::StrFormat(format, args...));
    } else {
      ++report_.unlisted_problems;
    }
  }

  Task<Status> ReadInode(uint64_t ino) {
    Result<Blob*> opened = co_await store_.OpenBlob(ino);
    if (!opened.ok()) {
      if (Fatal(opened.error())) co_return opened.error();
      Problem({.kind = Kind::kNoRecord, .ino = ino}, "inode 0x%x: %s", ino,
              opened.error().ToString());
      co_return OkStatus();
    }
    Blob& blob = **opened;
    Status checked = co_await CheckInodeBlob(ino, blob);
    (void)co_await store_.CloseBlob(&blob);
    co_return checked;
  }

  Task<Status> CheckInodeBlob(uint64_t ino, Blob& blob) {
    Result<InodeRecord> record = co_await OfflineReader::ReadRecord(blob);
    if (!record.ok() && record.error().code() == ENOENT) {
      Problem({.kind = Kind::kNoRecord, .ino = ino},
              "blob 0x%x: no inode record (a blob no inode owns)", ino);
      co_return OkStatus();
    }
    if (!record.ok()) {
      if (Fatal(record.error())) co_return record.error();
      Problem({.kind = Kind::kNoRecord, .ino = ino}, "inode 0x%x: %s", ino,
              record.error().message());
      co_return OkStatus();
    }
    inodes_[ino] = InodeFacts{.mode = record->mode, .nlink = record->nlink,
                              .parent = record->parent};
    ++report_.inodes;
    if (record->is_regular()) {
      ++report_.regular_files;
      co_return co_await CheckFileData(ino, blob, *record);
    }
    if (record->is_symlink()) {
      ++report_.symlinks;
      co_return co_await CheckSymlink(ino, blob, *record);
    }
    if (record->is_dir()) {
      ++report_.directories;
    } else {
      ++report_.special_files;
    }
    co_return OkStatus();
  }

  Task<Status> CheckFileData(uint64_t ino, Blob& blob, const InodeRecord& record) {
    Result<std::string> inline_data =
        co_await blob.GetXattr(std::string(FileData::kInlineXattr), XattrKind::kInternal);
    if (inline_data.ok()) {
      if (inline_data->size() != record.size) {
        Problem({.kind = Kind::kInlineSize, .ino = ino, .value = inline_data->size()},
                "inode 0x%x: size %u but %u bytes of inline data", ino, record.size,
                inline_data->size());
      }
      if (blob.num_clusters() != 0) {
        Problem({.ino = ino}, "inode 0x%x: inline data and %u clusters too", ino,
                blob.num_clusters());
      }
    } else if (inline_data.error().code() != ENOENT) {
      co_return inline_data.error();
    }
    co_return OkStatus();
  }

  Task<Status> CheckSymlink(uint64_t ino, Blob& blob, const InodeRecord& record) {
    Result<std::string> target = co_await blob.GetXattr(
        std::string(BlobFileSystem::kSymlinkXattr), XattrKind::kInternal);
    if (!target.ok()) {
      if (target.error().code() != ENOENT) co_return target.error();
      Problem({.kind = Kind::kBadSymlink, .ino = ino}, "symlink 0x%x: no target", ino);
    } else if (target->empty() || target->size() > BlobFileSystem::kSymlinkMax ||
               target->find('\0') != std::string::npos) {
      Problem({.kind = Kind::kBadSymlink, .ino = ino},
              "symlink 0x%x: a target of %u bytes with NUL or out of [1, %u]", ino,
              target->size(), BlobFileSystem::kSymlinkMax);
    } else if (target->size() != record.size) {
      Problem({.kind = Kind::kSymlinkSize, .ino = ino, .value = target->size()},
              "symlink 0x%x: size %u but a target of %u bytes", ino, record.size, target->size());
    }
    co_return OkStatus();
  }

  // The root and the orphan directory must be directories that are their own parents; without
  // them nothing else can be judged.
  Status CheckSpecialDirectory(uint64_t ino, const char* what) {
    auto it = inodes_.find(ino);
    if (it == inodes_.end() || !it->second.is_dir()) {
      return MakeError(EUCLEAN, "the %s (inode 0x%x) is missing or no directory", what, ino);
    }
    if (it->second.parent != ino) {
      Problem({.kind = Kind::kParent, .ino = ino, .value = ino},
              "the %s (inode 0x%x): parent 0x%x, not itself", what, ino, it->second.parent);
    }
    return OkStatus();
  }

  Task<Status> WalkDirectory(uint64_t ino) {
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store_.OpenBlob(ino));
    Status walked = co_await WalkIndex(ino, *blob);
    (void)co_await store_.CloseBlob(blob);
    if (!walked.ok() && Fatal(walked.error())) co_return walked;
    if (!walked.ok()) {
      Problem({.kind = Kind::kDirectoryIndex, .ino = ino}, "directory 0x%x: %s", ino,
              walked.error().ToString());
    }
    co_return OkStatus();
  }

  Task<Status> WalkIndex(uint64_t ino, Blob& blob) {
    CO_ASSIGN_OR_RETURN(std::unique_ptr<OfflineDirectory> directory,
                        co_await reader_->OpenDirectory(blob));
    DirTree& tree = *directory->tree;
    CO_RETURN_IF_ERROR(co_await tree.Verify());
    const bool orphans = ino == report_.super.orphan_ino;
    std::function<bool(const DirEntry&)> visit = [&](const DirEntry& entry) {
      if (orphans) {
        CountOrphanEntry(entry);
      } else {
        CountEntry(ino, entry);
      }
      return true;
    };
    co_return co_await tree.List(0, visit);
  }

  void CountEntry(uint64_t dir, const DirEntry& entry) {
    ++report_.entries;
    auto it = inodes_.find(entry.ino);
    if (it == inodes_.end()) {
      Problem({.kind = Kind::kEntryNamesNothing, .ino = entry.ino, .dir = dir, .name = entry.name},
              "directory 0x%x: entry \"%s\" names inode 0x%x, which does not exist", dir,
              absl::CHexEscape(entry.name), entry.ino);
      return;
    }
    InodeFacts& target = it->second;
    if (entry.type != IFTODT(target.mode)) {
      // The number was reused: the entry is a stale one, and counts for nothing.
      Problem({.kind = Kind::kEntryWrongType, .ino = entry.ino, .dir = dir, .name = entry.name},
              "directory 0x%x: entry \"%s\" has type %u but inode 0x%x has mode 0%o", dir,
              absl::CHexEscape(entry.name), entry.type, entry.ino, target.mode);
      return;
    }
    ++target.entries;
    target.named_in = dir;
    if (target.is_dir()) {
      ++inodes_.find(dir)->second.subdirs;
      target.names.emplace_back(dir, entry.name);
    }
  }

  void CountOrphanEntry(const DirEntry& entry) {
    if (entry.name != OrphanEntryName(entry.ino)) {
      Problem({.kind = Kind::kOrphanEntryName, .ino = entry.ino,
               .dir = report_.super.orphan_ino, .name = entry.name},
              "orphan directory: entry \"%s\" does not name its inode 0x%x",
              absl::CHexEscape(entry.name), entry.ino);
      return;
    }
    auto it = inodes_.find(entry.ino);
    if (it == inodes_.end()) {
      report_.notes.push_back(absl::StrFormat(
          "orphan entry for inode 0x%x, which is gone; the next mount drops it", entry.ino));
      return;
    }
    it->second.orphan = true;
  }

  void CheckLinks() {
    // An entry of the wrong type is stale when others name its inode (the number was reused),
    // else it is the inode's one name with a damaged type.
    for (FsFinding& finding : report_.findings) {
      if (finding.kind == Kind::kEntryWrongType) finding.value = inodes_[finding.ino].entries;
    }
    const uint64_t root = report_.super.root_ino, orphan_dir = report_.super.orphan_ino;
    for (const auto& [ino, facts] : inodes_) {
      if (ino == root || ino == orphan_dir) {
        if (facts.entries > 0) {
          for (const auto& [dir, name] : facts.names) {
            Problem({.kind = Kind::kExtraEntry, .ino = ino, .dir = dir, .name = name},
                    "directory 0x%x (the root or orphan directory): named by entry \"%s\" of "
                    "directory 0x%x",
                    ino, absl::CHexEscape(name), dir);
          }
        }
        CheckDirectoryLinks(ino, facts);
        continue;
      }
      if (facts.orphan && facts.nlink == 0) {
        ++report_.orphans;
        if (facts.entries > 0) {
          Problem({.kind = Kind::kNamedOrphan, .ino = ino, .value = facts.entries},
                  "inode 0x%x: nlink 0 and orphaned, yet %u entries name it", ino, facts.entries);
        }
        continue;
      }
      if (facts.orphan) {
        report_.notes.push_back(absl::StrFormat(
            "inode 0x%x is on the orphan list but linked; the next mount drops the entry", ino));
      }
      if (facts.nlink == 0 && facts.entries == 0) {
        Problem({.kind = Kind::kUnlinkedUnlisted, .ino = ino},
                "inode 0x%x: nlink 0 but not on the orphan list (its space is never reclaimed)",
                ino);
        continue;
      }
      if (facts.entries == 0) {
        Problem({.kind = Kind::kUnreachable, .ino = ino},
                "inode 0x%x: nlink %u but no directory entry names it (unreachable)", ino,
                facts.nlink);
        continue;
      }
      if (facts.is_dir()) {
        // One entry stays: the one in the directory its parent names, else the last found.
        const uint64_t parent = facts.parent;  // a structured binding cannot be captured
        const uint64_t keep_in =
            std::any_of(facts.names.begin(), facts.names.end(),
                        [parent](const auto& name) { return name.first == parent; })
                ? parent
                : facts.named_in;
        bool kept = false;
        for (const auto& [dir, name] : facts.names) {
          if (dir == keep_in && !kept) {
            kept = true;
            continue;
          }
          Problem({.kind = Kind::kExtraEntry, .ino = ino, .dir = dir, .name = name},
                  "directory 0x%x: also named by entry \"%s\" of directory 0x%x (directories "
                  "have one)",
                  ino, absl::CHexEscape(name), dir);
        }
        if (facts.parent != keep_in) {
          Problem({.kind = Kind::kParent, .ino = ino, .value = keep_in},
                  "directory 0x%x: parent 0x%x, but its entry is in directory 0x%x", ino,
                  facts.parent, keep_in);
        }
        CheckDirectoryLinks(ino, facts);
      } else if (facts.nlink != facts.entries) {
        Problem({.kind = Kind::kLinkCount, .ino = ino, .value = facts.entries},
                "inode 0x%x: nlink %u but %u entries name it", ino, facts.nlink, facts.entries);
      }
    }
  }

  void CheckDirectoryLinks(uint64_t ino, const InodeFacts& facts) {
    if (facts.nlink != 2 + facts.subdirs) {
      Problem({.kind = Kind::kLinkCount, .ino = ino, .value = 2 + facts.subdirs},
              "directory 0x%x: nlink %u, expected %u", ino, facts.nlink, 2 + facts.subdirs);
    }
  }

  BlobStore& store_;
  const FsCheckProgress progress_;
  std::unique_ptr<OfflineReader> reader_;
  FsCheckReport report_;
  absl::flat_hash_map<uint64_t, InodeFacts> inodes_;
};

}  // namespace

Task<Result<FsCheckReport>> CheckFileSystem(BlobStore& store, FsCheckProgress progress) {
  Checker checker(store, std::move(progress));
  co_return co_await checker.Run();
}

}  // namespace blobfs
