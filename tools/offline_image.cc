#include "tools/offline_image.h"

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "bdev/uring_bdev.h"

namespace blobfs {

Result<std::unique_ptr<OfflineImage>> OfflineImage::Open(const std::string& path, bool writable) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return MakeError(errno, "%s", std::strerror(errno));
  auto image = std::make_unique<OfflineImage>();
  ASSIGN_OR_RETURN(image->lock, ImageLock::Acquire(path, std::chrono::milliseconds(0)));
  ASSIGN_OR_RETURN(image->reactor, ReactorThread::Start());
  RETURN_IF_ERROR(CreateUringBdev(image->registry, kBdevName,
                                  {.path = path,
                                   .block_size = S_ISREG(st.st_mode) ? 4096u : 0u,
                                   .read_only = !writable})
                      .status());
  return image;
}

}  // namespace blobfs
