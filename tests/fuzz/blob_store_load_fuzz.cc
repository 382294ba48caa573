// libFuzzer target: the whole blob store loader (BlobStore::Load, clean and dirty paths) and what
// a user does next — list, open, read every blob and its xattrs, close, unload, load again — on
// small stores damaged as the input says (blob_store_load_fuzz_input.h). Any error is a fine
// outcome; crashes, CHECK failures, hangs and sanitizer reports are bugs. Invariants checked beyond
// that: listed blobs and xattrs can be read; a store that a dirty load checked and rebuilt, and
// that then unloaded cleanly, loads again through its masks.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "bdev/malloc_bdev.h"
#include "bdev/registry.h"
#include "blob/blob_store.h"
#include "blob/crc32c.h"
#include "blob/format/blob_id.h"
#include "blob/format/endian.h"
#include "blob/format/mask.h"
#include "blob/format/page.h"
#include "blob/format/super_block.h"
#include "common/reactor.h"
#include "common/sync_bridge.h"
#include "common/task.h"
#include "glog/logging.h"
#include "tests/fuzz/blob_store_load_fuzz_input.h"

namespace blobfs::fuzz {
namespace {

using Bytes = std::vector<std::byte>;

constexpr const char* kBdev = "base";

struct Env {
  std::unique_ptr<Reactor> reactor;
  BdevRegistry registry;
  Bytes clean_image;
  Bytes dirty_image;
  SuperBlock super;         // of the base images (both have the same layout)
  uint64_t edit_pages = 0;  // pages an edit can hit: the super block to the end of the region
};

// --- Raw device access --------------------------------------------------------------------------

Task<Status> DeviceIo(BdevRegistry* registry, std::span<std::byte> image, bool write) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> descriptor,
                      registry->Open(kBdev, write ? OpenMode::kReadWrite : OpenMode::kReadOnly));
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevChannel> channel, descriptor->OpenChannel());
  co_return write ? co_await channel->Write(0, image) : co_await channel->Read(0, image);
}

// --- The base images
// ------------------------------------------------------------------------------

Bytes Pattern(size_t size, uint8_t seed) {
  Bytes data(size);
  for (size_t i = 0; i < size; ++i) data[i] = static_cast<std::byte>(seed + i * 7 + (i >> 9));
  return data;
}

Task<Status> Write(BlobStore& store, Blob* blob, uint64_t offset, size_t length, uint8_t seed) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobChannel> channel, store.OpenChannel());
  Bytes data = Pattern(length, seed);
  co_return co_await blob->Write(*channel, offset, data);
}

// Makes the blobs of the clean base image and unloads.
Task<Status> BuildClean(BdevRegistry* registry) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> device,
                      registry->Open(kBdev, OpenMode::kReadWrite));
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> store,
                      co_await BlobStore::Init(std::move(device), {.cluster_size = kClusterSize,
                                                                   .md_pages = kMetadataPages,
                                                                   .bstype = "fuzz"}));
  // A: three clusters, user and internal xattrs (one empty), data.
  CO_ASSIGN_OR_RETURN(Blob * a, co_await store->CreateBlob(
                                    {.num_clusters = 3,
                                     .xattrs = {{"name", "a"}, {"empty", ""}},
                                     .internal_xattrs = {{"inode", std::string("\x01\x02", 2)}}}));
  CO_RETURN_IF_ERROR(co_await Write(*store, a, 0, 2 * kClusterSize, 1));
  const uint64_t a_id = a->id();
  CO_RETURN_IF_ERROR(co_await store->CloseBlob(a));
  // B: thin, clusters written here and there (several extent runs).
  CO_ASSIGN_OR_RETURN(Blob * b, co_await store->CreateBlob(
                                    {.num_clusters = 64, .thin = true, .xattrs = {{"name", "b"}}}));
  for (uint64_t cluster : {1, 5, 6, 40}) {
    CO_RETURN_IF_ERROR(co_await Write(*store, b, cluster * kClusterSize, kClusterSize,
                                      static_cast<uint8_t>(cluster)));
  }
  CO_RETURN_IF_ERROR(co_await store->CloseBlob(b));
  // C: a chain of three pages.
  CO_ASSIGN_OR_RETURN(
      Blob * c,
      co_await store->CreateBlob({.num_clusters = 1, .xattrs = {{"big", std::string(9000, 'c')}}}));
  CO_RETURN_IF_ERROR(co_await store->CloseBlob(c));
  // A grows after B and C took clusters: a second run.
  CO_ASSIGN_OR_RETURN(a, co_await store->OpenBlob(a_id));
  CO_RETURN_IF_ERROR(co_await a->Resize(6));
  CO_RETURN_IF_ERROR(co_await store->CloseBlob(a));
  // D: a chain of five pages, internal xattr fragments too.
  CO_ASSIGN_OR_RETURN(Blob * d, co_await store->CreateBlob(
                                    {.num_clusters = 2,
                                     .xattrs = {{"big", std::string(14000, 'd')}},
                                     .internal_xattrs = {{"more", std::string(5000, 'D')}}}));
  CO_RETURN_IF_ERROR(co_await store->CloseBlob(d));
  // E: read-only.
  CO_ASSIGN_OR_RETURN(Blob * e, co_await store->CreateBlob({.num_clusters = 1}));
  CO_RETURN_IF_ERROR(co_await e->SetReadOnly());
  CO_RETURN_IF_ERROR(co_await store->CloseBlob(e));
  // F: made and deleted (a zeroed root, stale clusters).
  CO_ASSIGN_OR_RETURN(Blob * f, co_await store->CreateBlob({.num_clusters = 2}));
  const uint64_t f_id = f->id();
  CO_RETURN_IF_ERROR(co_await store->CloseBlob(f));
  CO_RETURN_IF_ERROR(co_await store->DeleteBlob(f_id));
  CO_RETURN_IF_ERROR(co_await store->SetSuperBlob(a_id));
  co_return co_await store->Unload();
}

// Loads the clean store, changes it (leaving stale chain pages behind) and drops it unsynced.
Task<Status> BuildDirty(BdevRegistry* registry) {
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BdevDescriptor> device,
                      registry->Open(kBdev, OpenMode::kReadWrite));
  CO_ASSIGN_OR_RETURN(std::unique_ptr<BlobStore> store,
                      co_await BlobStore::Load(std::move(device), {}));
  std::vector<uint64_t> ids = co_await store->ListBlobs();
  for (uint64_t id : ids) {
    CO_ASSIGN_OR_RETURN(Blob * blob, co_await store->OpenBlob(id));
    if (!blob->read_only()) {
      Result<std::string> big = co_await blob->GetXattr("big");
      if (big.ok()) {
        // A chain of another length: the old pages stay on disk, stale.
        CO_RETURN_IF_ERROR(
            co_await blob->SetXattr("big", std::string(big->size() / 2 + 4100, 'x')));
      } else {
        CO_RETURN_IF_ERROR(co_await blob->SetXattr("dirty", "1"));
      }
      if (blob->thin()) {
        CO_RETURN_IF_ERROR(co_await Write(*store, blob, 10 * kClusterSize, kClusterSize, 10));
        CO_RETURN_IF_ERROR(co_await blob->Deallocate(5, 1));
      }
    }
    CO_RETURN_IF_ERROR(co_await store->CloseBlob(blob));
  }
  CO_ASSIGN_OR_RETURN(
      Blob * g,
      co_await store->CreateBlob({.num_clusters = 1, .xattrs = {{"g", std::string(6000, 'g')}}}));
  CO_RETURN_IF_ERROR(co_await store->CloseBlob(g));
  co_return OkStatus();  // no unload: the store is dropped as a crash drops it
}

Env* MakeEnv() {
  // The dirty loads' warnings come once per input; BLOBFS_FUZZ_LOG=1 shows them.
  if (std::getenv("BLOBFS_FUZZ_LOG") == nullptr) FLAGS_minloglevel = google::GLOG_ERROR;
  auto* env = new Env;
  auto reactor = Reactor::Create();
  CHECK(reactor.ok()) << reactor.error().ToString();
  env->reactor = std::move(reactor).value();
  CHECK_OK(CreateMallocBdev(env->registry, kBdev,
                            {.size_bytes = kDeviceBytes, .block_size = kBlockSize}));
  CHECK_OK(RunSync(*env->reactor, BuildClean(&env->registry)));
  env->clean_image.resize(kDeviceBytes);
  CHECK_OK(RunSync(*env->reactor, DeviceIo(&env->registry, env->clean_image, false)));
  CHECK_OK(RunSync(*env->reactor, BuildDirty(&env->registry)));
  env->dirty_image.resize(kDeviceBytes);
  CHECK_OK(RunSync(*env->reactor, DeviceIo(&env->registry, env->dirty_image, false)));
  Result<SuperBlock> super = SuperBlock::Decode(std::span(env->clean_image).first(kPageSize));
  CHECK_OK(super);
  env->super = *super;
  env->edit_pages = super->md_start + super->md_len;
  CHECK_LE(env->edit_pages, 256u) << "an edit names its page in one byte";
  return env;
}

Env& GetEnv() {
  static Env* env = MakeEnv();
  return *env;
}

// --- Damage
// ---------------------------------------------------------------------------------------

void RepairPage(const SuperBlock& super, std::span<std::byte> image, uint64_t page) {
  std::span<std::byte> bytes = image.subspan(page * kPageSize, kPageSize);
  if (page == 0 || (page >= super.md_start && page < super.md_start + super.md_len)) {
    // The super block and metadata pages keep their CRC in their last four bytes.
    StoreLe32(bytes, kPageSize - 4, Crc32c(bytes.first(kPageSize - 4)));
    return;
  }
  struct MaskPlace {
    MaskKind kind;
    uint64_t start;
    uint64_t length;
  };
  for (const MaskPlace& mask :
       {MaskPlace{MaskKind::kUsedPages, super.used_page_mask_start, super.used_page_mask_len},
        MaskPlace{MaskKind::kUsedClusters, super.used_cluster_mask_start,
                  super.used_cluster_mask_len},
        MaskPlace{MaskKind::kUsedBlobIds, super.used_blobid_mask_start,
                  super.used_blobid_mask_len}}) {
    if (page < mask.start || page >= mask.start + mask.length) continue;
    // The mask's header is on its first page; its CRC covers the bits its own bit_count names.
    std::span<std::byte> pages = image.subspan(mask.start * kPageSize, mask.length * kPageSize);
    const uint64_t bit_count = LoadLe64(pages, 8);
    const uint64_t bit_bytes = bit_count / 8 + (bit_count % 8 != 0);
    if (bit_bytes <= pages.size() - 16) {
      StoreLe32(pages, 0, static_cast<uint32_t>(mask.kind));
      StoreLe32(pages, 4, Crc32c(pages.subspan(16, bit_bytes)));
    }
  }
}

// Applies the edits of `input` to `image`.
void ApplyEdits(const Env& env, std::span<const std::byte> input, std::span<std::byte> image,
                bool repair) {
  std::set<uint64_t> touched;
  auto u8 = [&input](size_t at) { return std::to_integer<uint8_t>(input[at]); };
  size_t at = 0;
  while (input.size() - at >= 4) {
    const uint64_t page = u8(at) % env.edit_pages;
    const uint16_t offset_field = static_cast<uint16_t>(u8(at + 1) | (u8(at + 2) << 8));
    const uint8_t control = u8(at + 3);
    at += 4;
    std::span<std::byte> target = image.subspan(page * kPageSize, kPageSize);
    if ((control & kCopyPage) != 0) {
      const uint64_t from = offset_field % env.edit_pages;
      std::memmove(target.data(), image.data() + from * kPageSize, kPageSize);
    } else {
      const size_t offset = offset_field % kPageSize;
      const size_t length =
          std::min({size_t{(control & 0x3fu) + 1u}, input.size() - at, kPageSize - offset});
      for (size_t i = 0; i < length; ++i) {
        target[offset + i] =
            (control & kXor) != 0 ? target[offset + i] ^ input[at + i] : input[at + i];
      }
      at += length;
    }
    touched.insert(page);
  }
  if (repair) {
    for (uint64_t page : touched) RepairPage(env.super, image, page);
  }
}

// --- What a user does with a loaded store
// ------------------------------------------------------------

// Reads `length` bytes at `offset` of an open blob (errors are fine).
Task<void> ReadSome(BlobChannel& channel, Blob* blob, uint64_t offset, uint64_t length) {
  if (length == 0 || length > (1 << 16)) co_return;
  Bytes buffer(length);
  (void)co_await blob->Read(channel, offset, buffer);
}

Task<void> Exercise(BlobStore& store, Blob* blob, BlobChannel& channel, bool modify) {
  for (XattrKind kind : {XattrKind::kUser, XattrKind::kInternal}) {
    for (const std::string& name : co_await blob->ListXattrs(kind)) {
      Result<std::string> value = co_await blob->GetXattr(name, kind);
      CHECK(value.ok()) << "a listed xattr is missing: " << value.error().ToString();
    }
  }
  const uint64_t io_unit = store.io_unit_size();
  const uint64_t size = blob->size_bytes();
  co_await ReadSome(channel, blob, 0,
                    std::min<uint64_t>(size / io_unit * io_unit, 4 * kClusterSize));
  if (size >= io_unit)
    co_await ReadSome(channel, blob, (size - io_unit) / io_unit * io_unit, io_unit);
  // The first io unit of each mapped run (a few of them).
  const std::shared_ptr<const ExtentMap> extents = blob->extents();
  int runs = 0;
  for (const Extent& extent : *extents) {
    if (++runs > 16) break;
    co_await ReadSome(channel, blob, extent.logical * kClusterSize, io_unit);
  }
  if (!modify || blob->read_only()) co_return;
  (void)co_await blob->SetXattr("fuzz", std::string(300, 'f'));
  (void)co_await blob->RemoveXattr("name");
  const uint64_t clusters = blob->num_clusters();
  (void)co_await blob->Resize(clusters + 1);
  if (blob->num_clusters() > 0) {
    Bytes data = Pattern(io_unit, 0x5a);
    (void)co_await blob->Write(channel, 0, data);
  }
  if (blob->thin()) (void)co_await blob->Deallocate(0, std::min<uint64_t>(blob->num_clusters(), 2));
  (void)co_await blob->Sync();
  (void)co_await blob->Resize(clusters);
}

// Lists, opens, reads (and with `modify`, changes) every blob, then closes them all. False when a
// blob could not be closed (a commit failed), so the store cannot unload.
Task<bool> Walk(BlobStore& store, bool modify) {
  std::vector<uint64_t> ids = co_await store.ListBlobs();
  CHECK(std::is_sorted(ids.begin(), ids.end()));
  const BlobStoreStats stats = co_await store.GetStats();
  CHECK_EQ(stats.blobs, ids.size());
  Result<std::unique_ptr<BlobChannel>> channel = store.OpenChannel();
  CHECK(channel.ok()) << channel.error().ToString();
  if (ids.size() > 64) ids.resize(64);
  std::vector<uint64_t> tries = ids;
  tries.push_back(store.super_blob());
  tries.push_back(0);
  tries.push_back(kBlobIdBase + store.super_block().md_len);
  bool closed_all = true;
  for (uint64_t id : tries) {
    Result<Blob*> blob = co_await store.OpenBlob(id);
    if (!blob.ok()) continue;
    co_await Exercise(store, *blob, **channel, modify);
    if (!(co_await store.CloseBlob(*blob)).ok()) {
      // A failed commit keeps the reference: retry once, then give up on this blob.
      if (!(co_await store.CloseBlob(*blob)).ok()) closed_all = false;
    }
  }
  if (modify) {
    Result<Blob*> blob = co_await store.CreateBlob({.num_clusters = 2, .xattrs = {{"new", "1"}}});
    if (blob.ok()) {
      Bytes data = Pattern(kClusterSize, 0x33);
      (void)co_await (*blob)->Write(**channel, 0, data);
      if (!(co_await store.CloseBlob(*blob)).ok()) closed_all = false;
    }
    if (!ids.empty()) (void)co_await store.DeleteBlob(ids.front());
    if (ids.size() > 1) (void)co_await store.SetSuperBlob(ids.back());
  }
  co_return closed_all;
}

Task<void> Run(BdevRegistry* registry, bool read_only, bool modify) {
  Result<std::unique_ptr<BdevDescriptor>> device =
      registry->Open(kBdev, read_only ? OpenMode::kReadOnly : OpenMode::kReadWrite);
  CHECK(device.ok());
  Result<std::unique_ptr<BlobStore>> loaded =
      co_await BlobStore::Load(std::move(device).value(), {.read_only = read_only});
  if (!loaded.ok()) co_return;
  std::unique_ptr<BlobStore> store = std::move(loaded).value();
  // A dirty load checked every chain; a clean one trusted masks that may lie (consistently, CRCs
  // and all), and the store may then write masks that lie too.
  const bool validated = store->recovered();
  const bool closed_all = co_await Walk(*store, modify && !read_only);
  Status unloaded = co_await store->Unload();
  CHECK(closed_all || !unloaded.ok()) << "unloaded with blobs open";
  store.reset();
  if (!unloaded.ok() || read_only) co_return;

  // A store that a dirty load checked and rebuilt, then unloaded cleanly, loads again through its
  // masks. (After a clean load, loading again may fail or fall back: nothing checked the chains.)
  device = registry->Open(kBdev, OpenMode::kReadWrite);
  CHECK(device.ok());
  Result<std::unique_ptr<BlobStore>> again =
      co_await BlobStore::Load(std::move(device).value(), {});
  if (validated) {
    CHECK(again.ok()) << "a recovered and cleanly unloaded store does not load: "
                      << again.error().ToString();
    CHECK(!(*again)->recovered()) << "a recovered and cleanly unloaded store has bad masks";
  }
  if (!again.ok()) co_return;
  (void)co_await Walk(**again, false);
  (void)co_await (*again)->Unload();
}

void FuzzOneInput(std::span<const std::byte> input) {
  if (input.empty()) return;
  Env& env = GetEnv();
  const uint8_t flags = std::to_integer<uint8_t>(input[0]);
  Bytes image = (flags & kDirtyBase) != 0 ? env.dirty_image : env.clean_image;
  ApplyEdits(env, input.subspan(1), image, (flags & kRepairChecksums) != 0);
  CHECK_OK(RunSync(*env.reactor, DeviceIo(&env.registry, image, true)));
  RunSync(*env.reactor, Run(&env.registry, (flags & kReadOnly) != 0, (flags & kModify) != 0));
}

}  // namespace
}  // namespace blobfs::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  blobfs::fuzz::FuzzOneInput(std::as_bytes(std::span(data, size)));
  return 0;
}
