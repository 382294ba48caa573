// Test support for the dispatcher: a blobfs fsdev on a RAM bdev, raw FUSE requests built field by
// field, and a reply sink that keeps what it is sent. Shared by the unit tests and the fuzz target.
#ifndef BLOBFS_TESTS_DISPATCHER_DISPATCHER_HARNESS_H_
#define BLOBFS_TESTS_DISPATCHER_DISPATCHER_HARNESS_H_

#include <sys/uio.h>

#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "blob/blob_store.h"
#include "blobfs/filesystem.h"
#include "blobfs/format/fs_super.h"
#include "dispatcher/dispatcher.h"
#include "dispatcher/fuse_wire.h"
#include "fsdev/blobfs_fsdev.h"

namespace blobfs::dispatcher_test {

// Formats and mounts blobfs on the RAM bdev `name` of `registry` (which must exist); run on the
// reactor that will own the filesystem.
inline Task<Result<std::shared_ptr<Fsdev>>> MountMemoryBlobfs(BdevRegistry& registry,
                                                              std::string name) {
  CO_ASSIGN_OR_RETURN(auto device, registry.Open(name, OpenMode::kReadWrite));
  BlobStoreInitOptions init{.cluster_size = 4096, .bstype = std::string(FsSuper::kBstype)};
  CO_ASSIGN_OR_RETURN(auto store, co_await BlobStore::Init(std::move(device), std::move(init)));
  MkfsOptions mkfs;
  CO_RETURN_IF_ERROR(co_await FileSystem::Mkfs(*store, std::move(mkfs)));
  MountOptions mount{.cache_bytes = uint64_t{8} << 20};
  CO_ASSIGN_OR_RETURN(auto fs, co_await FileSystem::Mount(std::move(store), mount));
  co_return MakeBlobfsFsdev(std::move(fs), BlobfsFsdevOptions{});
}

// One request: the header's len is filled in by Build().
class RequestBuilder {
 public:
  RequestBuilder(uint32_t opcode, uint64_t nodeid, uint64_t unique) {
    header_.opcode = opcode;
    header_.nodeid = nodeid;
    header_.unique = unique;
  }
  RequestBuilder& Credentials(uint32_t uid, uint32_t gid) {
    header_.uid = uid;
    header_.gid = gid;
    return *this;
  }
  template <typename T>
  RequestBuilder& Add(const T& value, size_t size = sizeof(T)) {
    body_.append(reinterpret_cast<const char*>(&value), size);
    return *this;
  }
  RequestBuilder& Name(std::string_view name) {
    body_.append(name);
    body_.push_back('\0');
    return *this;
  }
  RequestBuilder& Bytes(std::string_view bytes) {
    body_.append(bytes);
    return *this;
  }
  std::string Build() const {
    wire::InHeader header = header_;
    header.len = static_cast<uint32_t>(sizeof(header) + body_.size());
    std::string request(reinterpret_cast<const char*>(&header), sizeof(header));
    request += body_;
    return request;
  }

 private:
  wire::InHeader header_{};
  std::string body_;
};

struct CapturedReply {
  wire::OutHeader header{};
  std::string payload;
  bool data_in_place = false;  // The data was built in the sink's DataBuffer.

  template <typename T>
  T As() const {
    T value{};
    std::memcpy(&value, payload.data(), std::min(sizeof(T), payload.size()));
    return value;
  }
};

class CaptureSink : public ReplySink {
 public:
  Status Send(std::span<const iovec> reply) override {
    std::string bytes;
    for (const iovec& piece : reply) {
      bytes.append(static_cast<const char*>(piece.iov_base), piece.iov_len);
    }
    CapturedReply captured;
    if (bytes.size() < sizeof(captured.header)) {
      malformed_ = true;
      return Status();
    }
    std::memcpy(&captured.header, bytes.data(), sizeof(captured.header));
    if (captured.header.len != bytes.size()) malformed_ = true;
    captured.payload = bytes.substr(sizeof(captured.header));
    captured.data_in_place = reply.size() == 2 && !data_buffer_.empty() &&
                             reply[1].iov_base == data_buffer_.data();
    replies_.push_back(std::move(captured));
    return Status();
  }
  // Offers a transport buffer of `size` bytes for replies' data (0: none).
  void OfferDataBuffer(size_t size) { data_buffer_.assign(size, '\0'); }
  std::span<char> DataBuffer() override { return data_buffer_; }
  std::vector<CapturedReply> Take() { return std::exchange(replies_, {}); }
  // A reply whose header did not describe it (never acceptable).
  bool malformed() const { return malformed_; }

 private:
  std::vector<CapturedReply> replies_;
  bool malformed_ = false;
  std::string data_buffer_;
};

// The INIT a 7.45 kernel offering every flag sends.
inline wire::InitIn FullInit() {
  wire::InitIn in{};
  in.major = wire::kMajor;
  in.minor = wire::kMaxMinor;
  in.max_readahead = 128 << 10;
  in.flags = 0xffffffffu;
  in.flags2 = 0xffffffffu;
  return in;
}

}  // namespace blobfs::dispatcher_test

#endif  // BLOBFS_TESTS_DISPATCHER_DISPATCHER_HARNESS_H_
