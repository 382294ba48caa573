#include "blobfs/new_directory.h"

#include <sys/stat.h>

#include <string>
#include <utility>

#include "blobfs/dir_blob_storage.h"
#include "blobfs/dir_tree.h"
#include "blobfs/format/inode_record.h"

namespace blobfs {

Task<Result<Blob*>> CreateDirectoryBlob(BlobStore& store, BlobChannel& channel,
                                        const FsSuper& super, NewDirectory directory) {
  InodeRecord record;
  record.mode = S_IFDIR | directory.permissions;
  record.uid = directory.uid;
  record.gid = directory.gid;
  record.nlink = 2;
  record.atime = record.mtime = record.ctime = record.btime = directory.time;
  record.generation = directory.generation;
  record.parent = directory.parent;
  BlobCreateOptions options;
  options.thin = true;
  options.internal_xattrs.emplace(InodeRecord::kXattrName, record.Encode());
  CO_ASSIGN_OR_RETURN(Blob * blob, co_await store.CreateBlob(std::move(options)));
  if (directory.parent == 0) {
    record.parent = blob->id();
    CO_RETURN_IF_ERROR(co_await blob->SetXattr(std::string(InodeRecord::kXattrName),
                                               record.Encode(), XattrKind::kInternal));
  }
  DirBlobStorage storage(*blob, channel, super.block_size);
  CO_RETURN_IF_ERROR(co_await DirTree::Format(storage, super.hash_seed));
  CO_RETURN_IF_ERROR(co_await storage.WriteBack());
  co_return blob;
}

}  // namespace blobfs
