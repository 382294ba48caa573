// The blobcli commands that go through the blob store: init, list, stats, and the blob operations.
//
// Contract:
//  - Each command builds the device of `target` (CliDevice), loads the store and prints its result
//    to stdout. Commands that change nothing load read-only: they write nothing, so they work on
//    a store that was not unloaded cleanly and leave it so. Commands that change the store load it
//    read-write and unload it cleanly at the end — also after an error, when their blobs could be
//    closed — unless target.unload is false (the store is then left as a crash would leave it).
//    When the load had to rebuild the masks (the store was not clean), a note says so on stderr.
//  - Blob commands open the blob, act, and close it; closing commits the blob's metadata.
//  - Errors come back as the store's or the system's (ENOENT for an unknown blob id, EINVAL for a
//    range outside the blob, ...), with messages that name what failed; nothing is printed for
//    them here.
//  - Offsets and lengths of write and read are bytes. write takes an OFFSET that is a multiple of
//    the store's io unit and pads the file's last partial io unit with zeroes (overwriting the
//    rest of that io unit); read takes any offset and length inside the blob.
#ifndef BLOBFS_TOOLS_BLOBCLI_COMMANDS_H_
#define BLOBFS_TOOLS_BLOBCLI_COMMANDS_H_

#include <cstdint>
#include <string>

#include "blob/blob_store.h"
#include "common/error.h"

namespace blobfs {

struct StoreTarget {
  std::string device;  // A bdev spec, or a path taken as uring:PATH.
  // Loads insist on this bstype unless it is empty; init gives it to the new store.
  std::string bstype;
  // Changing commands: unload cleanly at the end. False leaves the store dirty, as a crash would.
  bool unload = true;
};

// Formats target.device with `options`, its bstype replaced by target.bstype, and prints the new
// store's geometry.
Status InitCommand(const StoreTarget& target, BlobStoreInitOptions options);
// Every blob: id, size, allocation, flags, then its user and internal xattrs, escaped.
Status ListCommand(const StoreTarget& target);
// The store's statistics and a summary of its super block.
Status StatsCommand(const StoreTarget& target);
// Prints the new blob's id (0x hex) alone on a line.
Status CreateCommand(const StoreTarget& target, BlobCreateOptions options);
Status DeleteCommand(const StoreTarget& target, uint64_t blob_id);
Status ResizeCommand(const StoreTarget& target, uint64_t blob_id, uint64_t num_clusters);
// The xattr commands act on the user attributes or, with kInternal, on the layer above's.
Status SetXattrCommand(const StoreTarget& target, uint64_t blob_id, XattrKind kind,
                       std::string name, std::string value);
// Prints the value, escaped like list does, on a line.
Status GetXattrCommand(const StoreTarget& target, uint64_t blob_id, XattrKind kind,
                       std::string name);
Status RemoveXattrCommand(const StoreTarget& target, uint64_t blob_id, XattrKind kind,
                          std::string name);
// Writes the regular file `path` at `offset` and flushes the device. With `grow`, first resizes
// the blob to the clusters the write needs when it is too small; without, that is EINVAL.
Status WriteCommand(const StoreTarget& target, uint64_t blob_id, uint64_t offset,
                    const std::string& path, bool grow);
// Writes [offset, offset + length) of the blob to `path` (created or truncated); length 0 reads
// to the end of the blob.
Status ReadCommand(const StoreTarget& target, uint64_t blob_id, uint64_t offset, uint64_t length,
                   const std::string& path);

}  // namespace blobfs

#endif  // BLOBFS_TOOLS_BLOBCLI_COMMANDS_H_
