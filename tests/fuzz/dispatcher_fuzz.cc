// libFuzzer target: raw FUSE requests (dispatcher_fuzz_input.h) through the dispatcher into a
// blobfs in RAM made afresh for each input (so every input replays alike). Any errno is a fine
// answer; crashes, CHECK failures, hangs, sanitizer reports and malformed replies are bugs. Every
// reply must describe itself (its len is its size) and answer the request just sent (its unique
// id); requests that get no reply by protocol (FORGET, BATCH_FORGET, INTERRUPT, NOTIFY_REPLY)
// and headerless fragments must get none. Afterwards the filesystem must unmount cleanly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "bdev/malloc_bdev.h"
#include "common/sync_bridge.h"
#include "glog/logging.h"
#include "tests/dispatcher/dispatcher_harness.h"
#include "tests/fuzz/dispatcher_fuzz_input.h"

namespace blobfs::fuzz {
namespace {

using dispatcher_test::CapturedReply;
using dispatcher_test::CaptureSink;

Task<void> Handle(DispatcherChannel& channel, std::string_view request, CaptureSink& sink) {
  std::string copy(request);  // The dispatcher may read the buffer until Handle completes.
  const iovec buffer{copy.data(), copy.size()};
  co_await channel.Handle(std::span<const iovec>(&buffer, 1), sink);
}

bool GetsNoReply(std::string_view request) {
  if (request.size() < sizeof(wire::InHeader)) return true;
  wire::InHeader header;
  std::memcpy(&header, request.data(), sizeof(header));
  return header.opcode == wire::kForget || header.opcode == wire::kBatchForget ||
         header.opcode == wire::kInterrupt || header.opcode == wire::kNotifyReply;
}

void CheckReplies(std::string_view request, const std::vector<CapturedReply>& replies) {
  if (GetsNoReply(request)) {
    if (!replies.empty()) std::abort();
    return;
  }
  wire::InHeader header;
  std::memcpy(&header, request.data(), sizeof(header));
  if (replies.size() != 1 || replies[0].header.unique != header.unique) std::abort();
  if (replies[0].header.error > 0 || replies[0].header.error <= -4096) std::abort();
}

Task<void> RunInput(std::string input) {
  BdevRegistry registry;
  CHECK(CreateMallocBdev(registry, "ram", {.size_bytes = uint64_t{16} << 20}).ok());
  Result<std::shared_ptr<Fsdev>> fsdev =
      co_await dispatcher_test::MountMemoryBlobfs(registry, "ram");
  CHECK(fsdev.ok()) << fsdev.error();
  {
    Dispatcher dispatcher(**fsdev, DispatcherOptions{});
    Result<std::unique_ptr<DispatcherChannel>> channel = dispatcher.OpenChannel();
    CHECK(channel.ok());
    const std::string init = dispatcher_test::RequestBuilder(wire::kInit, 0, 1)
                                 .Add(dispatcher_test::FullInit())
                                 .Build();
    CaptureSink init_sink;
    co_await Handle(**channel, init, init_sink);
    CHECK(dispatcher.initialized());
    for (std::string_view request : SplitRequests(input)) {
      CaptureSink sink;
      co_await Handle(**channel, request, sink);
      if (sink.malformed()) std::abort();
      CheckReplies(request, sink.Take());
    }
  }
  Status closed = co_await (*fsdev)->Close();
  CHECK(closed.ok()) << closed.error();
}

}  // namespace
}  // namespace blobfs::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // The reactor outlives every input and is idle between them.
  static blobfs::ReactorThread* reactor = blobfs::ReactorThread::Start()->release();
  reactor->BlockOn(blobfs::fuzz::RunInput(std::string(reinterpret_cast<const char*>(data), size)));
  return 0;
}
