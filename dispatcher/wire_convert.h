// Conversions between fsdev values and FUSE wire structs, and the node id seam: the kernel names
// the root 1 (wire::kRootId) while an fsdev names it root_id(); NodeIdMap swaps the two so every
// other id passes through unchanged and the mapping stays one-to-one.
#ifndef BLOBFS_DISPATCHER_WIRE_CONVERT_H_
#define BLOBFS_DISPATCHER_WIRE_CONVERT_H_

#include <chrono>
#include <cstdint>

#include "dispatcher/fuse_wire.h"
#include "fsdev/fsdev.h"

namespace blobfs {

class NodeIdMap {
 public:
  explicit NodeIdMap(uint64_t fsdev_root) : fsdev_root_(fsdev_root) {}
  uint64_t ToFsdev(uint64_t kernel_id) const { return Swap(kernel_id); }
  uint64_t ToKernel(uint64_t fsdev_id) const { return Swap(fsdev_id); }

 private:
  uint64_t Swap(uint64_t id) const {
    if (id == wire::kRootId) return fsdev_root_;
    if (id == fsdev_root_) return wire::kRootId;
    return id;
  }
  uint64_t fsdev_root_;
};

// A timeout as the wire's seconds and nanoseconds (negative ones as zero).
void SplitTimeout(std::chrono::nanoseconds timeout, uint64_t& seconds, uint32_t& nanoseconds);

wire::Attr ToWireAttr(const FsdevAttr& attr);
wire::AttrOut ToWireAttrOut(const FsdevAttrReply& reply);
wire::EntryOut ToWireEntry(const FsdevEntry& entry, const NodeIdMap& ids);
wire::StatxOut ToWireStatx(const FsdevAttrReply& reply);
wire::Kstatfs ToWireStatfs(const FsdevStatFs& stats);
// The kernel's FATTR_* bits, translated one by one (the fsdev's bits differ above bit 5).
FsdevSetAttr FromWireSetattr(const wire::SetattrIn& in);

}  // namespace blobfs

#endif  // BLOBFS_DISPATCHER_WIRE_CONVERT_H_
