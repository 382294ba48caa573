// RepairFileSystem: check, repair each finding in its own commit, check again.
#include "blobfs/fs_repair.h"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "blobfs/dir_blob_storage.h"
#include "blobfs/dir_node_cache.h"
#include "blobfs/dir_tree.h"
#include "blobfs/format/inode_record.h"
#include "blobfs/format/orphan_entry.h"
#include "blobfs/new_directory.h"
#include "blobfs/offline_reader.h"

namespace blobfs {
namespace {

using Kind = FsFinding::Kind;

constexpr char kLostAndFound[] = "lost+found";

// Repairs that may lose a user's data or names (deletions, an index rebuilt from what it still
// lists): -y only.
bool Destructive(Kind kind) {
  return kind == Kind::kNoRecord || kind == Kind::kBadSymlink || kind == Kind::kDirectoryIndex;
}

// Repairs that trust the entries counted across every directory.
bool DependsOnCounts(Kind kind) {
  return kind == Kind::kLinkCount || kind == Kind::kParent || kind == Kind::kUnreachable ||
         kind == Kind::kUnlinkedUnlisted || kind == Kind::kNamedOrphan ||
         kind == Kind::kExtraEntry || kind == Kind::kEntryWrongType;
}

class Repairer {
 public:
  Repairer(BlobStore& store, FsRepairLevel level, FsCheckProgress progress)
      : store_(store), level_(level), progress_(std::move(progress)) {}

  Task<Result<FsRepairReport>> Run() {
    CO_ASSIGN_OR_RETURN(reader_, co_await OfflineReader::Open(store_));
    for (int round = 0; round < kMaxRepairRounds; ++round) {
      CO_ASSIGN_OR_RETURN(FsCheckReport check, co_await CheckFileSystem(store_, progress_));
      if (round == 0) report_.first_check = check;
      // A directory that could not be walked leaves the counts and reachability incomplete: -y
      // rebuilds such directories and checks again; -p repairs only what needs no count.
      const bool walked_all =
          std::none_of(check.findings.begin(), check.findings.end(), [](const FsFinding& f) {
            return f.kind == Kind::kDirectoryIndex;
          });
      size_t repaired = 0;
      for (const FsFinding& finding : check.findings) {
        if (Destructive(finding.kind) && level_ != FsRepairLevel::kAll) continue;
        if (!walked_all && level_ == FsRepairLevel::kAll && finding.kind != Kind::kDirectoryIndex) {
          continue;
        }
        if (!walked_all && DependsOnCounts(finding.kind)) continue;
        CO_ASSIGN_OR_RETURN(bool done, co_await Repair(finding));
        if (done) ++repaired;
      }
      report_.final_check = std::move(check);
      if (repaired == 0) co_return std::move(report_);
    }
    CO_ASSIGN_OR_RETURN(report_.final_check, co_await CheckFileSystem(store_, progress_));
    co_return std::move(report_);
  }

 private:
  template <typename... Args>
  void Repaired(const absl::FormatSpec<Args...>& format, const Args&... args) {
    report_.repairs.push_back(absl::StrFormat(format, args...));
  }

  const FsSuper& super() const { return reader_->super(); }

  Task<Result<bool>> Repair(const FsFinding& finding) {
    const uint64_t ino = finding.ino;
    switch (finding.kind) {
      case Kind::kUnrepairable:
        co_return false;
      case Kind::kNoRecord:
      case Kind::kBadSymlink:
      case Kind::kUnlinkedUnlisted:
        if (ino == super().root_ino || ino == super().orphan_ino) co_return false;
        CO_RETURN_IF_ERROR(co_await store_.DeleteBlob(ino));
        Repaired("inode 0x%x: deleted", ino);
        co_return true;
      case Kind::kEntryWrongType:
        if (finding.value == 0) co_return co_await RetypeEntry(finding);
        [[fallthrough]];
      case Kind::kEntryNamesNothing:
      case Kind::kExtraEntry:
      case Kind::kOrphanEntryName:
        CO_RETURN_IF_ERROR(co_await RemoveEntry(finding.dir, finding.name));
        Repaired("directory 0x%x: entry \"%s\" (inode 0x%x) removed", finding.dir,
                 absl::CHexEscape(finding.name), ino);
        co_return true;
      default:
        break;
    }
    co_return co_await RepairRecord(finding);
  }

  // The repairs that rewrite one inode's record.
  Task<Result<bool>> RepairRecord(const FsFinding& finding) {
    const uint64_t ino = finding.ino;
    const uint64_t value = finding.value;
    switch (finding.kind) {
      case Kind::kLinkCount:
      case Kind::kNamedOrphan:
        if (finding.kind == Kind::kNamedOrphan) {
          CO_RETURN_IF_ERROR(co_await RemoveEntry(super().orphan_ino, OrphanEntryName(ino)));
        }
        CO_RETURN_IF_ERROR(co_await EditRecord(ino, [value](InodeRecord& record) {
          record.nlink = static_cast<uint32_t>(value);
        }));
        Repaired("inode 0x%x: nlink set to %u", ino, value);
        co_return true;
      case Kind::kParent:
        CO_RETURN_IF_ERROR(
            co_await EditRecord(ino, [value](InodeRecord& record) { record.parent = value; }));
        Repaired("directory 0x%x: parent set to 0x%x", ino, value);
        co_return true;
      case Kind::kInlineSize:
      case Kind::kSymlinkSize:
        CO_RETURN_IF_ERROR(
            co_await EditRecord(ino, [value](InodeRecord& record) { record.size = value; }));
        Repaired("inode 0x%x: size set to %u, the size of its data", ino, value);
        co_return true;
      case Kind::kUnreachable:
        co_return co_await LinkInLostAndFound(ino);
      case Kind::kDirectoryIndex:
        co_return co_await RebuildDirectory(ino);
      default:
        co_return false;
    }
  }

  // Runs `change` on directory `dir`'s index and commits the blocks it changed.
  Task<Status> EditDirectory(uint64_t dir, std::function<Task<Status>(DirTree&)> change) {
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store_.OpenBlob(dir));
    Status status = co_await EditOpenDirectory(*blob, change);
    Status closed = co_await store_.CloseBlob(blob);
    co_return status.ok() ? closed : status;
  }
  Task<Status> EditOpenDirectory(Blob& blob, const std::function<Task<Status>(DirTree&)>& change) {
    CO_ASSIGN_OR_RETURN(std::unique_ptr<OfflineDirectory> directory,
                        co_await reader_->OpenDirectory(blob));
    CO_RETURN_IF_ERROR(co_await change(*directory->tree));
    co_return co_await CommitDirectory(blob, directory->storage);
  }
  // Commits the blocks of `blob`'s index that `storage` holds changed, in one transaction.
  Task<Status> CommitDirectory(Blob& blob, DirBlobStorage& storage) {
    storage.TakeForWriteBack();
    std::vector<BlobStore::JournaledWrite> journaled;
    Status status = co_await storage.WriteBack(&journaled);
    if (status.ok()) {
      std::vector<Blob*> blobs(1, &blob);
      status = co_await store_.Commit(blobs, {}, journaled);
    }
    storage.CommitDone(status.ok());
    co_return status;
  }

  // The entry is its inode's one name: its type is set from the inode's mode.
  Task<Result<bool>> RetypeEntry(const FsFinding& finding) {
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store_.OpenBlob(finding.ino));
    Result<InodeRecord> record = co_await OfflineReader::ReadRecord(*blob);
    CO_RETURN_IF_ERROR(co_await store_.CloseBlob(blob));
    CO_RETURN_IF_ERROR(record.status());
    const uint8_t type = IFTODT(record->mode);
    auto replace = [&](DirTree& tree) -> Task<Status> {
      co_return co_await tree.Replace(finding.name, finding.ino, type);
    };
    CO_RETURN_IF_ERROR(co_await EditDirectory(finding.dir, replace));
    Repaired("directory 0x%x: entry \"%s\" (inode 0x%x) given type %u", finding.dir,
             absl::CHexEscape(finding.name), finding.ino, type);
    co_return true;
  }

  // A new index over the directory's blob with the entries the damaged one still lists (in hash
  // order, up to the damage); those it lost leave their inodes unreachable, for the next round to
  // link in /lost+found.
  Task<Result<bool>> RebuildDirectory(uint64_t ino) {
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store_.OpenBlob(ino));
    Result<size_t> salvaged = co_await RebuildOpenDirectory(*blob);
    Status closed = co_await store_.CloseBlob(blob);
    CO_RETURN_IF_ERROR(salvaged.status());
    CO_RETURN_IF_ERROR(closed);
    Repaired("directory 0x%x: index rebuilt with the %u entries it still listed", ino, *salvaged);
    co_return true;
  }
  Task<Result<size_t>> RebuildOpenDirectory(Blob& blob) {
    const uint64_t seed = super().hash_seed;
    DirBlobStorage storage(blob, reader_->channel(), super().block_size);
    std::vector<DirEntry> entries;
    {
      DirNodeCache cache(16);
      Result<std::unique_ptr<DirTree>> damaged = co_await DirTree::Open(storage, seed, cache);
      if (damaged.ok()) {
        std::function<bool(const DirEntry&)> collect = [&entries](const DirEntry& entry) {
          entries.push_back(entry);
          return true;
        };
        (void)co_await (*damaged)->List(0, collect);  // what it lists before the damage
      }
    }
    CO_RETURN_IF_ERROR(co_await DirTree::Format(storage, seed));
    DirNodeCache cache(16);
    CO_ASSIGN_OR_RETURN(std::unique_ptr<DirTree> tree, co_await DirTree::Open(storage, seed, cache));
    size_t inserted = 0;
    for (const DirEntry& entry : entries) {
      if ((co_await tree->Insert(entry.name, entry.ino, entry.type)).ok()) ++inserted;
    }
    CO_RETURN_IF_ERROR(co_await CommitDirectory(blob, storage));
    co_return inserted;
  }

  Task<Status> RemoveEntry(uint64_t dir, std::string name) {
    co_return co_await EditDirectory(dir, [&name](DirTree& tree) -> Task<Status> {
      co_return (co_await tree.Remove(name)).status();
    });
  }

  // Rewrites the record of inode `ino` after `change`, in one commit.
  Task<Status> EditRecord(uint64_t ino, std::function<void(InodeRecord&)> change) {
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store_.OpenBlob(ino));
    Status status = co_await EditOpenRecord(*blob, change);
    Status closed = co_await store_.CloseBlob(blob);
    co_return status.ok() ? closed : status;
  }
  Task<Status> EditOpenRecord(Blob& blob, const std::function<void(InodeRecord&)>& change) {
    CO_ASSIGN_OR_RETURN(InodeRecord record, co_await OfflineReader::ReadRecord(blob));
    change(record);
    CO_RETURN_IF_ERROR(co_await blob.SetXattr(std::string(InodeRecord::kXattrName),
                                              record.Encode(), XattrKind::kInternal));
    std::vector<Blob*> blobs(1, &blob);
    co_return co_await store_.Commit(blobs);
  }

  // /lost+found, found in the root or made there (the root's link count is the next round's).
  Task<Result<uint64_t>> LostAndFound() {
    if (lost_and_found_.has_value()) co_return *lost_and_found_;
    const uint64_t root = super().root_ino;
    Result<uint64_t> found = co_await reader_->Resolve(std::string("/") + kLostAndFound);
    if (found.ok()) {
      CO_ASSIGN_OR_RETURN(Blob * blob, co_await store_.OpenBlob(*found));
      Result<InodeRecord> record = co_await OfflineReader::ReadRecord(*blob);
      CO_RETURN_IF_ERROR(co_await store_.CloseBlob(blob));
      if (record.ok() && record->is_dir()) {
        lost_and_found_ = *found;
        co_return *found;
      }
      co_return MakeError(EUCLEAN, "/%s is no directory: move it away and run fsck again",
                          kLostAndFound);
    }
    if (found.error().code() != ENOENT) co_return found.error();
    CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store_.OpenChannel());
    CO_ASSIGN_OR_RETURN(Blob * made,
                        co_await CreateDirectoryBlob(
                            store_, *channel, super(),
                            {.permissions = 0700, .parent = root, .time = Timestamp::Now()}));
    const uint64_t ino = made->id();
    std::vector<Blob*> blobs(1, made);
    Status status = co_await store_.Commit(blobs);
    Status closed = co_await store_.CloseBlob(made);
    CO_RETURN_IF_ERROR(status);
    CO_RETURN_IF_ERROR(closed);
    auto insert = [ino](DirTree& tree) -> Task<Status> {
      co_return (co_await tree.Insert(kLostAndFound, ino, DT_DIR)).status();
    };
    CO_RETURN_IF_ERROR(co_await EditDirectory(root, insert));
    Repaired("directory 0x%x: made /%s", ino, kLostAndFound);
    lost_and_found_ = ino;
    co_return ino;
  }

  Task<Result<bool>> LinkInLostAndFound(uint64_t ino) {
    CO_ASSIGN_OR_RETURN(uint64_t lost_and_found, co_await LostAndFound());
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store_.OpenBlob(ino));
    Result<InodeRecord> record = co_await OfflineReader::ReadRecord(*blob);
    CO_RETURN_IF_ERROR(co_await store_.CloseBlob(blob));
    CO_RETURN_IF_ERROR(record.status());
    const std::string name = absl::StrFormat("#%u", ino);
    const uint8_t type = IFTODT(record->mode);
    auto insert = [&](DirTree& tree) -> Task<Status> {
      co_return (co_await tree.Insert(name, ino, type)).status();
    };
    CO_RETURN_IF_ERROR(co_await EditDirectory(lost_and_found, insert));
    Repaired("inode 0x%x: linked as /%s/%s", ino, kLostAndFound, name);
    co_return true;
  }

  BlobStore& store_;
  const FsRepairLevel level_;
  const FsCheckProgress progress_;
  std::unique_ptr<OfflineReader> reader_;
  std::optional<uint64_t> lost_and_found_;
  FsRepairReport report_;
};

}  // namespace

Task<Result<FsRepairReport>> RepairFileSystem(BlobStore& store, FsRepairLevel level,
                                              FsCheckProgress progress) {
  Repairer repairer(store, level, std::move(progress));
  co_return co_await repairer.Run();
}

}  // namespace blobfs
