// OfflineReader: the super record, inode records and directory indexes read straight from blobs.
#include "blobfs/offline_reader.h"

#include <dirent.h>

#include <cerrno>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_split.h"

namespace blobfs {

Task<Result<std::unique_ptr<OfflineReader>>> OfflineReader::Open(BlobStore& store) {
  if (store.super_blob() == kNoBlobId) {
    co_return MakeError(EUCLEAN, "the blob store has no super blob (not made by mkfs.blobfs)");
  }
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store.OpenChannel());
  CO_ASSIGN_OR_RETURN(Blob * blob, co_await store.OpenBlob(store.super_blob()));
  Result<std::string> encoded =
      co_await blob->GetXattr(std::string(FsSuper::kXattrName), XattrKind::kInternal);
  (void)co_await store.CloseBlob(blob);  // Nothing changed: closing commits nothing.
  if (!encoded.ok()) {
    if (encoded.error().code() != ENOENT) co_return encoded.error();
    co_return MakeError(EUCLEAN, "super blob 0x%x: no filesystem super record",
                        store.super_blob());
  }
  CO_ASSIGN_OR_RETURN(FsSuper super, FsSuper::Decode(*encoded));
  co_return std::unique_ptr<OfflineReader>(
      new OfflineReader(store, std::move(channel), std::move(super)));
}

Task<Result<InodeRecord>> OfflineReader::ReadRecord(Blob& blob) {
  CO_ASSIGN_OR_RETURN(std::string encoded,
                      co_await blob.GetXattr(std::string(InodeRecord::kXattrName),
                                             XattrKind::kInternal));
  co_return InodeRecord::Decode(encoded);
}

Task<Result<std::unique_ptr<OfflineDirectory>>> OfflineReader::OpenDirectory(Blob& blob) {
  auto directory = std::make_unique<OfflineDirectory>(blob, *channel_, super_.block_size);
  CO_ASSIGN_OR_RETURN(directory->tree,
                      co_await DirTree::Open(directory->storage, super_.hash_seed, dir_nodes_));
  co_return directory;
}

Task<Result<std::optional<DirEntry>>> OfflineReader::LookupInBlob(Blob& blob,
                                                                 std::string_view name) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<OfflineDirectory> directory, co_await OpenDirectory(blob));
  co_return co_await directory->tree->Lookup(name);
}

Task<Result<DirEntry>> OfflineReader::LookupIn(uint64_t dir, std::string_view name) {
  CO_ASSIGN_OR_RETURN(Blob * blob, co_await store_.OpenBlob(dir));
  Result<std::optional<DirEntry>> found = co_await LookupInBlob(*blob, name);
  (void)co_await store_.CloseBlob(blob);
  CO_RETURN_IF_ERROR(found.status());
  if (!found->has_value()) co_return MakeError(ENOENT, "no entry \"%s\"", std::string(name));
  co_return std::move(**found);
}

Task<Result<uint64_t>> OfflineReader::Resolve(std::string_view path) {
  if (path.empty() || path[0] != '/') {
    co_return MakeError(EINVAL, "\"%s\" is not an absolute path", std::string(path));
  }
  uint64_t ino = super_.root_ino;
  uint8_t type = DT_DIR;
  const std::vector<std::string> names =
      absl::StrSplit(absl::string_view(path.data(), path.size()), '/', absl::SkipEmpty());
  for (const std::string& name : names) {
    if (type != DT_DIR) co_return MakeError(ENOTDIR, "%s: a component is no directory", path);
    Result<DirEntry> entry = co_await LookupIn(ino, name);
    if (!entry.ok()) co_return entry.error().WithContext(std::string(path));
    ino = entry->ino;
    type = entry->type;
  }
  co_return ino;
}

}  // namespace blobfs
