#include "fsdev/fsdev.h"

#include <algorithm>
#include <cerrno>
#include <utility>

namespace blobfs {

Status CheckFsdevName(std::string_view name) {
  constexpr size_t kNameMax = 255;
  if (name.empty()) return MakeError(EINVAL, "empty name");
  if (name.size() > kNameMax) {
    return MakeError(ENAMETOOLONG, "name of %d bytes (at most %d)", name.size(), kNameMax);
  }
  if (name.find('/') != std::string_view::npos) return MakeError(EINVAL, "name with '/'");
  if (name.find('\0') != std::string_view::npos) return MakeError(EINVAL, "name with NUL");
  return Status();
}

Task<Result<size_t>> FsdevChannel::ReadInPlace(const FsdevContext& ctx, uint64_t node_id,
                                               uint64_t handle, uint64_t offset, size_t size,
                                               ReadConsumer consume) {
  constexpr size_t kKeptReadBuffers = 4;
  std::vector<char> buffer;
  if (!read_buffers_.empty()) {
    buffer = std::move(read_buffers_.back());
    read_buffers_.pop_back();
  }
  buffer.resize(std::max(buffer.size(), size));
  const iovec target{buffer.data(), size};
  Result<size_t> done = co_await Read(ctx, node_id, handle, offset, std::span(&target, 1));
  if (done.ok()) {
    const iovec data{buffer.data(), *done};
    Status consumed = consume(std::span(&data, 1));
    if (!consumed.ok()) done = consumed.error();
  }
  if (read_buffers_.size() < kKeptReadBuffers) read_buffers_.push_back(std::move(buffer));
  co_return done;
}

}  // namespace blobfs
