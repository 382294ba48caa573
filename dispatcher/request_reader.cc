#include "dispatcher/request_reader.h"

#include <errno.h>

#include <algorithm>

namespace blobfs {

RequestReader::RequestReader(std::span<const iovec> buffers) : buffers_(buffers) {
  for (const iovec& buffer : buffers_) remaining_ += buffer.iov_len;
}

void RequestReader::Limit(size_t length) { remaining_ = std::min(remaining_, length); }

void RequestReader::Skip(size_t length) {
  remaining_ -= length;
  while (length > 0) {
    const size_t step = std::min(length, buffers_[index_].iov_len - offset_);
    offset_ += step;
    length -= step;
    if (offset_ == buffers_[index_].iov_len) {
      ++index_;
      offset_ = 0;
    }
  }
}

Status RequestReader::CopyOut(void* out, size_t length) {
  if (length > remaining_) {
    return MakeError(EINVAL, "request too short: %zu more bytes needed, %zu left", length,
                     remaining_);
  }
  auto* bytes = static_cast<char*>(out);
  size_t index = index_;
  size_t offset = offset_;
  for (size_t done = 0; done < length;) {
    const size_t step = std::min(length - done, buffers_[index].iov_len - offset);
    std::memcpy(bytes + done, static_cast<const char*>(buffers_[index].iov_base) + offset, step);
    done += step;
    offset += step;
    if (offset == buffers_[index].iov_len) {
      ++index;
      offset = 0;
    }
  }
  Skip(length);
  return Status();
}

Result<std::string> RequestReader::ReadString() {
  // Find the NUL within the remaining bytes.
  size_t length = 0;
  size_t index = index_;
  size_t offset = offset_;
  while (length < remaining_) {
    if (offset == buffers_[index].iov_len) {
      ++index;
      offset = 0;
      continue;
    }
    if (static_cast<const char*>(buffers_[index].iov_base)[offset] == '\0') break;
    ++offset;
    ++length;
  }
  if (length == remaining_) return MakeError(EINVAL, "string without a terminating NUL");
  std::string text(length, '\0');
  RETURN_IF_ERROR(CopyOut(text.data(), length));
  Skip(1);
  return text;
}

Result<std::string> RequestReader::ReadBytes(size_t length) {
  if (length > remaining_) {
    return MakeError(EINVAL, "request too short: %zu bytes of data announced, %zu left", length,
                     remaining_);
  }
  std::string bytes(length, '\0');
  RETURN_IF_ERROR(CopyOut(bytes.data(), length));
  return bytes;
}

Result<std::vector<iovec>> RequestReader::TakeIovecs(size_t length) {
  if (length > remaining_) {
    return MakeError(EINVAL, "request too short: %zu bytes of data announced, %zu left", length,
                     remaining_);
  }
  std::vector<iovec> pieces;
  size_t index = index_;
  size_t offset = offset_;
  for (size_t done = 0; done < length;) {
    const size_t step = std::min(length - done, buffers_[index].iov_len - offset);
    if (step > 0) {
      pieces.push_back(iovec{static_cast<char*>(buffers_[index].iov_base) + offset, step});
    }
    done += step;
    offset += step;
    if (offset == buffers_[index].iov_len) {
      ++index;
      offset = 0;
    }
  }
  Skip(length);
  return pieces;
}

}  // namespace blobfs
