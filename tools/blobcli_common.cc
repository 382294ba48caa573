// CliDevice and Printable (see blobcli_common.h).
#include "tools/blobcli_common.h"


#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "bdev/spec.h"

namespace blobfs {
namespace {

// A spec names its module before a colon; anything else is a path.
bool IsBdevSpec(std::string_view device) {
  for (std::string_view module : {"malloc:", "uring:", "error:"}) {
    if (device.starts_with(module)) return true;
  }
  return false;
}

}  // namespace

Result<std::unique_ptr<CliDevice>> CliDevice::Create(std::string_view device) {
  ASSIGN_OR_RETURN(std::unique_ptr<Reactor> reactor, Reactor::Create());
  std::unique_ptr<CliDevice> cli(new CliDevice(std::move(reactor)));
  const std::string spec =
      IsBdevSpec(device) ? std::string(device) : "uring:" + std::string(device);
  ASSIGN_OR_RETURN(cli->bdev_, CreateBdevFromSpec(cli->registry_, spec));
  return cli;
}

std::string Printable(std::string_view bytes) {
  return absl::CHexEscape(absl::string_view(bytes.data(), bytes.size()));
}

std::string BstypeText(const SuperBlock& super) { return Printable(super.bstype_text()); }

std::string BlobIdText(uint64_t blob_id) {
  return blob_id == kNoBlobId ? "none" : absl::StrFormat("0x%x", blob_id);
}

}  // namespace blobfs
