// The kinds of block I/O a bdev understands.
#ifndef BLOBFS_BDEV_IO_TYPE_H_
#define BLOBFS_BDEV_IO_TYPE_H_

#include <cstddef>
#include <cstdint>

namespace blobfs {

enum class IoType : uint8_t {
  kRead,
  kWrite,
  kWriteZeroes,  // make a range read as zeroes (emulated with writes where the module lacks it)
  kUnmap,        // discard a range; afterwards it reads as zeroes or as the old data (device's choice)
  kFlush,        // make completed writes durable (drain a volatile write cache)
  kReset,        // wait for in-flight I/O, then reset the device
};

inline constexpr size_t kIoTypeCount = 6;

// "read", "write", "write_zeroes", "unmap", "flush", "reset".
const char* IoTypeName(IoType type);

// True for the types that modify the device and so need a read-write descriptor.
bool IsWriteType(IoType type);

}  // namespace blobfs

#endif  // BLOBFS_BDEV_IO_TYPE_H_
