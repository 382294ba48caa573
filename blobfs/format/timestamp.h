// Timestamp: a point in time as seconds since the epoch (signed) and nanoseconds (0..999999999),
// as struct timespec and FUSE carry it. Stored in 16 bytes (FORMAT.md, "Timestamps").
#ifndef BLOBFS_BLOBFS_FORMAT_TIMESTAMP_H_
#define BLOBFS_BLOBFS_FORMAT_TIMESTAMP_H_

#include <cstdint>
#include <ctime>

namespace blobfs {

struct Timestamp {
  int64_t sec = 0;
  uint32_t nsec = 0;

  static Timestamp Now() {
    timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return {now.tv_sec, static_cast<uint32_t>(now.tv_nsec)};
  }
  bool valid() const { return nsec < 1'000'000'000; }
  friend bool operator==(const Timestamp&, const Timestamp&) = default;
  friend auto operator<=>(const Timestamp&, const Timestamp&) = default;
};

}  // namespace blobfs

#endif  // BLOBFS_BLOBFS_FORMAT_TIMESTAMP_H_
