#include "dispatcher/open_flags.h"

#include <fcntl.h>

#include <array>

namespace blobfs {
namespace {

// The values that differ by architecture, in one order: directory, nofollow, direct, largefile.
struct ArchFlagValues {
  uint32_t directory;
  uint32_t nofollow;
  uint32_t direct;
  uint32_t largefile;
};

constexpr ArchFlagValues kX86Values{0200000, 0400000, 040000, 0100000};
constexpr ArchFlagValues kArmValues{040000, 0100000, 0200000, 0400000};

// O_LARGEFILE is 0 in a 64-bit build's headers; the kernel's value is what reaches a filesystem.
#if defined(__x86_64__) || defined(__i386__)
constexpr ArchFlagValues kNativeValues = kX86Values;
#elif defined(__aarch64__) || defined(__arm__)
constexpr ArchFlagValues kNativeValues = kArmValues;
#else
#error "open flag values of this architecture are not known"
#endif

static_assert(O_DIRECTORY == kNativeValues.directory && O_NOFOLLOW == kNativeValues.nofollow &&
              O_DIRECT == kNativeValues.direct);

const ArchFlagValues& ValuesOf(PeerArch arch) {
  switch (arch) {
    case PeerArch::kX86:
    case PeerArch::kX86_64:
      return kX86Values;
    case PeerArch::kArm:
    case PeerArch::kArm64:
      return kArmValues;
    case PeerArch::kNative:
      break;
  }
  return kNativeValues;
}

}  // namespace

std::optional<PeerArch> ParsePeerArch(std::string_view name) {
  if (name == "native") return PeerArch::kNative;
  if (name == "x86") return PeerArch::kX86;
  if (name == "x86_64") return PeerArch::kX86_64;
  if (name == "arm") return PeerArch::kArm;
  if (name == "arm64") return PeerArch::kArm64;
  return std::nullopt;
}

uint32_t TranslateOpenFlags(uint32_t peer_flags, PeerArch peer) {
  const ArchFlagValues& from = ValuesOf(peer);
  const std::array<uint32_t, 4> peer_bits{from.directory, from.nofollow, from.direct,
                                          from.largefile};
  const std::array<uint32_t, 4> native_bits{kNativeValues.directory, kNativeValues.nofollow,
                                            kNativeValues.direct, kNativeValues.largefile};
  uint32_t all_peer_bits = 0;
  for (uint32_t bit : peer_bits) all_peer_bits |= bit;
  uint32_t native = peer_flags & ~all_peer_bits;
  for (size_t i = 0; i < peer_bits.size(); ++i) {
    if ((peer_flags & peer_bits[i]) != 0) native |= native_bits[i];
  }
  return native;
}

}  // namespace blobfs
