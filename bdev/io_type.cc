#include "bdev/io_type.h"

namespace blobfs {

const char* IoTypeName(IoType type) {
  switch (type) {
    case IoType::kRead:
      return "read";
    case IoType::kWrite:
      return "write";
    case IoType::kWriteZeroes:
      return "write_zeroes";
    case IoType::kUnmap:
      return "unmap";
    case IoType::kFlush:
      return "flush";
    case IoType::kReset:
      return "reset";
  }
  return "unknown";
}

bool IsWriteType(IoType type) { return type != IoType::kRead; }

}  // namespace blobfs
