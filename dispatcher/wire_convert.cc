#include "dispatcher/wire_convert.h"

#include <linux/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <array>
#include <utility>

namespace blobfs {
namespace {

wire::StatxTime ToStatxTime(const timespec& time) {
  return wire::StatxTime{.tv_sec = time.tv_sec,
                         .tv_nsec = static_cast<uint32_t>(time.tv_nsec),
                         .reserved = 0};
}

}  // namespace

void SplitTimeout(std::chrono::nanoseconds timeout, uint64_t& seconds, uint32_t& nanoseconds) {
  const int64_t total = std::max<int64_t>(0, timeout.count());
  seconds = static_cast<uint64_t>(total / 1'000'000'000);
  nanoseconds = static_cast<uint32_t>(total % 1'000'000'000);
}

wire::Attr ToWireAttr(const FsdevAttr& attr) {
  wire::Attr out{};
  out.ino = attr.ino;
  out.size = attr.size;
  out.blocks = attr.blocks;
  out.atime = static_cast<uint64_t>(attr.atime.tv_sec);
  out.mtime = static_cast<uint64_t>(attr.mtime.tv_sec);
  out.ctime = static_cast<uint64_t>(attr.ctime.tv_sec);
  out.atimensec = static_cast<uint32_t>(attr.atime.tv_nsec);
  out.mtimensec = static_cast<uint32_t>(attr.mtime.tv_nsec);
  out.ctimensec = static_cast<uint32_t>(attr.ctime.tv_nsec);
  out.mode = attr.mode;
  out.nlink = attr.nlink;
  out.uid = attr.uid;
  out.gid = attr.gid;
  out.rdev = static_cast<uint32_t>(attr.rdev);
  out.blksize = attr.block_size;
  return out;
}

wire::AttrOut ToWireAttrOut(const FsdevAttrReply& reply) {
  wire::AttrOut out{};
  SplitTimeout(reply.attr_timeout, out.attr_valid, out.attr_valid_nsec);
  out.attr = ToWireAttr(reply.attr);
  return out;
}

wire::EntryOut ToWireEntry(const FsdevEntry& entry, const NodeIdMap& ids) {
  wire::EntryOut out{};
  out.nodeid = ids.ToKernel(entry.node_id);
  out.generation = entry.generation;
  SplitTimeout(entry.entry_timeout, out.entry_valid, out.entry_valid_nsec);
  SplitTimeout(entry.attr_timeout, out.attr_valid, out.attr_valid_nsec);
  out.attr = ToWireAttr(entry.attr);
  return out;
}

wire::StatxOut ToWireStatx(const FsdevAttrReply& reply) {
  wire::StatxOut out{};
  SplitTimeout(reply.attr_timeout, out.attr_valid, out.attr_valid_nsec);
  const FsdevAttr& attr = reply.attr;
  wire::Statx& stat = out.stat;
  stat.mask = STATX_BASIC_STATS;
  stat.blksize = attr.block_size;
  stat.nlink = attr.nlink;
  stat.uid = attr.uid;
  stat.gid = attr.gid;
  stat.mode = static_cast<uint16_t>(attr.mode);
  stat.ino = attr.ino;
  stat.size = attr.size;
  stat.blocks = attr.blocks;
  stat.atime = ToStatxTime(attr.atime);
  stat.mtime = ToStatxTime(attr.mtime);
  stat.ctime = ToStatxTime(attr.ctime);
  if (attr.btime.has_value()) {
    stat.mask |= STATX_BTIME;
    stat.btime = ToStatxTime(*attr.btime);
  }
  stat.rdev_major = major(static_cast<dev_t>(attr.rdev));
  stat.rdev_minor = minor(static_cast<dev_t>(attr.rdev));
  return out;
}

wire::Kstatfs ToWireStatfs(const FsdevStatFs& stats) {
  wire::Kstatfs out{};
  out.blocks = stats.blocks;
  out.bfree = stats.blocks_free;
  out.bavail = stats.blocks_available;
  out.files = stats.files;
  out.ffree = stats.files_free;
  out.bsize = stats.block_size;
  out.namelen = stats.name_max;
  out.frsize = stats.fragment_size;
  return out;
}

FsdevSetAttr FromWireSetattr(const wire::SetattrIn& in) {
  static constexpr std::array<std::pair<uint32_t, uint32_t>, 10> kBits{{
      {wire::fattr::kMode, FsdevSetAttr::kMode},
      {wire::fattr::kUid, FsdevSetAttr::kUid},
      {wire::fattr::kGid, FsdevSetAttr::kGid},
      {wire::fattr::kSize, FsdevSetAttr::kSize},
      {wire::fattr::kAtime, FsdevSetAttr::kAtime},
      {wire::fattr::kMtime, FsdevSetAttr::kMtime},
      {wire::fattr::kAtimeNow, FsdevSetAttr::kAtimeNow},
      {wire::fattr::kMtimeNow, FsdevSetAttr::kMtimeNow},
      {wire::fattr::kCtime, FsdevSetAttr::kCtime},
      {wire::fattr::kKillSuidGid, FsdevSetAttr::kKillSuidGid},
  }};
  FsdevSetAttr out;
  for (const auto& [wire_bit, fsdev_bit] : kBits) {
    if ((in.valid & wire_bit) != 0) out.valid |= fsdev_bit;
  }
  out.mode = in.mode;
  out.uid = in.uid;
  out.gid = in.gid;
  out.size = in.size;
  out.atime = timespec{static_cast<time_t>(in.atime), static_cast<long>(in.atimensec)};
  out.mtime = timespec{static_cast<time_t>(in.mtime), static_cast<long>(in.mtimensec)};
  out.ctime = timespec{static_cast<time_t>(in.ctime), static_cast<long>(in.ctimensec)};
  return out;
}

}  // namespace blobfs
