// Open flags from a peer of another architecture: the few open(2) flags whose values differ
// between x86 and ARM (O_DIRECTORY, O_NOFOLLOW, O_DIRECT, O_LARGEFILE) are translated bit by bit
// to this machine's values. A /dev/fuse peer is the local kernel (kNative: nothing to do); a
// virtio-fs guest may be another architecture.
//
// Contract: flags outside the table pass through unchanged.
#ifndef BLOBFS_DISPATCHER_OPEN_FLAGS_H_
#define BLOBFS_DISPATCHER_OPEN_FLAGS_H_

#include <cstdint>
#include <optional>
#include <string_view>

namespace blobfs {

enum class PeerArch { kNative, kX86, kX86_64, kArm, kArm64 };

// "native", "x86", "x86_64", "arm", "arm64"; nullopt for anything else.
std::optional<PeerArch> ParsePeerArch(std::string_view name);

uint32_t TranslateOpenFlags(uint32_t peer_flags, PeerArch peer);

}  // namespace blobfs

#endif  // BLOBFS_DISPATCHER_OPEN_FLAGS_H_
