// The dispatcher end to end on raw FUSE requests, over a blobfs fsdev on a RAM bdev: INIT
// negotiation and compat sizes, malformed requests, the request/reply shapes of the opcodes,
// readdir packing, lookup counting through READDIRPLUS and FORGET, setattr bit translation,
// interrupt, and the arch-aware open flags.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "common/sync_bridge.h"
#include "dispatcher/init_negotiation.h"
#include "dispatcher/open_flags.h"
#include "gtest/gtest.h"
#include "tests/bdev/bdev_test_util.h"
#include "tests/dispatcher/dispatcher_harness.h"

namespace blobfs {
namespace {

using dispatcher_test::CapturedReply;
using dispatcher_test::CaptureSink;
using dispatcher_test::FullInit;
using dispatcher_test::RequestBuilder;

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    reactor_ = bdev_test::NewReactorThread();
    ASSERT_OK(CreateMallocBdev(registry_, "ram", {.size_bytes = uint64_t{256} << 20}).status());
    auto dev = reactor_->BlockOn(dispatcher_test::MountMemoryBlobfs(registry_, "ram"));
    ASSERT_OK(dev.status());
    fsdev_ = *dev;
    dispatcher_ = std::make_unique<Dispatcher>(*fsdev_, DispatcherOptions{});
    auto channel = reactor_->BlockOn(OpenChannel());
    ASSERT_OK(channel.status());
    channel_ = std::move(*channel);
  }
  void TearDown() override {
    reactor_->BlockOn(DropChannel());
    if (fsdev_ != nullptr) EXPECT_OK(reactor_->BlockOn(fsdev_->Close()));
    fsdev_.reset();
    reactor_.reset();
  }
  Task<Result<std::unique_ptr<DispatcherChannel>>> OpenChannel() {
    co_return dispatcher_->OpenChannel();
  }
  Task<void> DropChannel() {
    channel_.reset();
    co_return;
  }
  Task<void> HandleOn(std::string request) {
    const iovec buffer{request.data(), request.size()};
    co_await channel_->Handle(std::span<const iovec>(&buffer, 1), sink_);
  }

  // Every reply the request got (none for FORGET and friends).
  std::vector<CapturedReply> SendRaw(const std::string& request) {
    reactor_->BlockOn(HandleOn(request));
    EXPECT_FALSE(sink_.malformed());
    return sink_.Take();
  }
  // The one reply of a request; its unique id must match.
  CapturedReply Call(const RequestBuilder& request) {
    const std::string bytes = request.Build();
    std::vector<CapturedReply> replies = SendRaw(bytes);
    EXPECT_EQ(replies.size(), 1u);
    if (replies.empty()) return CapturedReply{};
    wire::InHeader header;
    std::memcpy(&header, bytes.data(), sizeof(header));
    EXPECT_EQ(replies[0].header.unique, header.unique);
    return replies[0];
  }
  RequestBuilder Request(uint32_t opcode, uint64_t nodeid = wire::kRootId) {
    return RequestBuilder(opcode, nodeid, ++unique_);
  }
  CapturedReply Init(const wire::InitIn& in, size_t size = sizeof(wire::InitIn)) {
    return Call(Request(wire::kInit, 0).Add(in, size));
  }
  void InitFull() {
    CapturedReply reply = Init(FullInit());
    ASSERT_EQ(reply.header.error, 0);
    ASSERT_TRUE(dispatcher_->initialized());
  }
  wire::EntryOut MkDir(uint64_t parent, const std::string& name) {
    CapturedReply reply =
        Call(Request(wire::kMkdir, parent).Add(wire::MkdirIn{0755, 022}).Name(name));
    EXPECT_EQ(reply.header.error, 0) << name;
    return reply.As<wire::EntryOut>();
  }
  // CREATE: the entry and the handle.
  std::pair<wire::EntryOut, uint64_t> Create(uint64_t parent, const std::string& name) {
    wire::CreateIn in{.flags = O_RDWR | O_CREAT, .mode = S_IFREG | 0644, .umask = 022};
    CapturedReply reply = Call(Request(wire::kCreate, parent).Add(in).Name(name));
    EXPECT_EQ(reply.header.error, 0) << name;
    EXPECT_EQ(reply.payload.size(), sizeof(wire::EntryOut) + sizeof(wire::OpenOut));
    wire::EntryOut entry = reply.As<wire::EntryOut>();
    wire::OpenOut open;
    std::memcpy(&open, reply.payload.data() + sizeof(entry), sizeof(open));
    // blobfs keeps the kernel's page cache (an O_RDWR handle: no DIRECT_IO) and needs no FLUSH
    // at close.
    EXPECT_EQ(open.open_flags, wire::kOpenKeepCache | wire::kOpenNoFlush);
    return {entry, open.fh};
  }
  int Error(const CapturedReply& reply) { return -reply.header.error; }

  std::unique_ptr<ReactorThread> reactor_;
  BdevRegistry registry_;
  std::shared_ptr<Fsdev> fsdev_;
  std::unique_ptr<Dispatcher> dispatcher_;
  std::unique_ptr<DispatcherChannel> channel_;
  CaptureSink sink_;
  uint64_t unique_ = 100;
};

TEST_F(DispatcherTest, InitTakesOnlyOfferedFlagsAndAsksForMillionByteRequests) {
  wire::InitIn in = FullInit();
  in.flags = wire::init::kAsyncRead | wire::init::kMaxPages | wire::init::kBigWrites |
             wire::init::kInitExt | wire::init::kPosixLocks | wire::init::kWritebackCache;
  in.flags2 = 0;
  CapturedReply reply = Init(in);
  ASSERT_EQ(reply.header.error, 0);
  ASSERT_EQ(reply.payload.size(), sizeof(wire::InitOut));
  const auto out = reply.As<wire::InitOut>();
  EXPECT_EQ(out.major, 7u);
  EXPECT_EQ(out.minor, wire::kMaxMinor);
  // Locks are the kernel's (supports_locks is false); writeback only when asked for.
  EXPECT_EQ(out.flags,
            wire::init::kAsyncRead | wire::init::kMaxPages | wire::init::kBigWrites |
                wire::init::kInitExt);
  EXPECT_EQ(out.max_write, 1u << 20);
  EXPECT_EQ(out.max_pages, 256);
  EXPECT_EQ(out.time_gran, 1u);
  EXPECT_EQ(dispatcher_->session().max_read, 1u << 20);
  // A second INIT is refused.
  EXPECT_EQ(Error(Init(FullInit())), EIO);
}

TEST(InitNegotiationTest, OverIoUringOnlyWhenWantedAndOffered) {
  wire::InitIn in = FullInit();
  const auto negotiated = [&](bool wanted) {
    Result<InitResult> result = NegotiateInit(in, sizeof(in), InitWants{.io_uring = wanted});
    EXPECT_TRUE(result.ok());
    return result.ok() ? result->flags & wire::init::kOverIoUring : 0;
  };
  EXPECT_EQ(negotiated(false), 0u);
  EXPECT_EQ(negotiated(true), wire::init::kOverIoUring);
  // flags2 counts only with INIT_EXT, and only what the kernel offered in it.
  in.flags &= ~static_cast<uint32_t>(wire::init::kInitExt);
  EXPECT_EQ(negotiated(true), 0u);
  in = FullInit();
  in.flags2 = static_cast<uint32_t>(~(wire::init::kOverIoUring >> 32));
  EXPECT_EQ(negotiated(true), 0u);
}

TEST_F(DispatcherTest, InitRepliesInTheSizeOfOlderMinors) {
  wire::InitIn in{};
  in.major = 7;
  in.minor = 22;
  in.max_readahead = 65536;
  in.flags = wire::init::kAsyncRead | wire::init::kBigWrites | wire::init::kDoReaddirplus;
  CapturedReply reply = Init(in, wire::kCompatInitInSize);
  ASSERT_EQ(reply.header.error, 0);
  EXPECT_EQ(reply.payload.size(), wire::kCompat22InitOutSize);
  const auto out = reply.As<wire::InitOut>();
  EXPECT_EQ(out.minor, 22u);
  // We ask for 1 MiB; the kernel keeps the smaller of that and the mount's readahead setting.
  EXPECT_EQ(out.max_readahead, 1u << 20);
  EXPECT_EQ(out.flags, in.flags);
  // Without MAX_PAGES the kernel sends at most 128 KiB.
  EXPECT_EQ(out.max_write, 128u << 10);
  // A 7.8 session gets the short entry and attr replies.
  EXPECT_EQ(dispatcher_->session().minor, 22u);
}

TEST_F(DispatcherTest, OldMinorsGetShortEntriesAndAttrs) {
  wire::InitIn in{};
  in.major = 7;
  in.minor = 8;
  in.flags = wire::init::kAsyncRead;
  ASSERT_EQ(Init(in, wire::kCompatInitInSize).payload.size(), wire::kCompat22InitOutSize);
  CapturedReply mkdir = Call(Request(wire::kMkdir).Add(wire::MkdirIn{0755, 0}).Name("d"));
  ASSERT_EQ(mkdir.header.error, 0);
  EXPECT_EQ(mkdir.payload.size(), wire::kCompatEntryOutSize);
  // Minor 8 GETATTR has no body.
  CapturedReply attr = Call(Request(wire::kGetattr));
  ASSERT_EQ(attr.header.error, 0);
  EXPECT_EQ(attr.payload.size(), wire::kCompatAttrOutSize);
  EXPECT_TRUE(S_ISDIR(attr.As<wire::AttrOut>().attr.mode));
}

TEST_F(DispatcherTest, InitOfAnotherMajor) {
  wire::InitIn newer = FullInit();
  newer.major = 8;
  CapturedReply reply = Init(newer);
  ASSERT_EQ(reply.header.error, 0);
  EXPECT_EQ(reply.As<wire::InitOut>().major, 7u);
  EXPECT_FALSE(dispatcher_->initialized());  // The kernel retries with major 7.
  wire::InitIn older = FullInit();
  older.major = 6;
  EXPECT_EQ(Error(Init(older)), EPROTO);
  EXPECT_EQ(Error(Call(Request(wire::kInit, 0).Add(uint32_t{7}))), EINVAL);
  EXPECT_FALSE(dispatcher_->initialized());
  EXPECT_EQ(Init(FullInit()).header.error, 0);
}

TEST_F(DispatcherTest, RequestsBeforeInitAreEio) {
  EXPECT_EQ(Error(Call(Request(wire::kGetattr).Add(wire::GetattrIn{}))), EIO);
  EXPECT_TRUE(SendRaw(Request(wire::kForget, 5).Add(wire::ForgetIn{1}).Build()).empty());
}

TEST_F(DispatcherTest, MalformedRequestsAreRefusedNotTrusted) {
  InitFull();
  // Shorter than a header: no unique id to answer, so dropped.
  EXPECT_TRUE(SendRaw(std::string(20, '\x01')).empty());
  // A len that disagrees with the bytes.
  std::string lying = Request(wire::kGetattr).Add(wire::GetattrIn{}).Build();
  lying[0] = static_cast<char>(lying[0] + 8);
  std::vector<CapturedReply> replies = SendRaw(lying);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(Error(replies[0]), EINVAL);
  // A name without its NUL.
  EXPECT_EQ(Error(Call(Request(wire::kLookup).Bytes("abc"))), EINVAL);
  // Argument structs cut short.
  EXPECT_EQ(Error(Call(Request(wire::kMkdir).Add(uint32_t{0755}))), EINVAL);
  EXPECT_EQ(Error(Call(Request(wire::kSetattr).Add(wire::SetattrIn{}).Bytes("x"))), EINVAL);
  // Extensions claimed beyond the request.
  wire::InHeader header{};
  header.opcode = wire::kGetattr;
  header.unique = ++unique_;
  header.nodeid = wire::kRootId;
  header.total_extlen = 100;
  header.len = sizeof(header) + sizeof(wire::GetattrIn);
  std::string request(reinterpret_cast<const char*>(&header), sizeof(header));
  request.append(sizeof(wire::GetattrIn), '\0');
  replies = SendRaw(request);
  ASSERT_EQ(replies.size(), 1u);
  EXPECT_EQ(Error(replies[0]), EINVAL);
  // A READ larger than negotiated, a WRITE whose size disagrees with its data.
  auto [file, fh] = Create(wire::kRootId, "f");
  wire::ReadIn read{.fh = fh, .offset = 0, .size = (1u << 20) + 4096};
  EXPECT_EQ(Error(Call(Request(wire::kRead, file.nodeid).Add(read))), EINVAL);
  wire::WriteIn write{.fh = fh, .offset = 0, .size = 10};
  EXPECT_EQ(Error(Call(Request(wire::kWrite, file.nodeid).Add(write).Bytes("short"))), EINVAL);
  // A BATCH_FORGET announcing more entries than it carries: the ones there are taken, no reply.
  EXPECT_TRUE(SendRaw(Request(wire::kBatchForget, 0)
                          .Add(wire::BatchForgetIn{1000000, 0})
                          .Add(wire::ForgetOne{file.nodeid, 1})
                          .Build())
                  .empty());
  // Unknown and deliberately unimplemented opcodes.
  EXPECT_EQ(Error(Call(Request(999))), ENOSYS);
  EXPECT_EQ(Error(Call(Request(wire::kGetlk, file.nodeid))), ENOSYS);
  EXPECT_EQ(Error(Call(Request(wire::kBmap, file.nodeid))), ENOSYS);
  EXPECT_EQ(Error(Call(Request(wire::kIoctl, file.nodeid))), ENOTTY);
  // Forged node ids are the fsdev's ESTALE, never a crash.
  EXPECT_EQ(Error(Call(Request(wire::kGetattr, 0xdeadbeef).Add(wire::GetattrIn{}))), ESTALE);
  EXPECT_EQ(Error(Call(Request(wire::kLookup, 0).Name("x"))), ESTALE);
  EXPECT_EQ(Error(Call(Request(wire::kLookup, 0xdeadbeef).Name("x"))), ESTALE);
  EXPECT_TRUE(SendRaw(Request(wire::kNotifyReply, 0).Bytes("junk").Build()).empty());
}

TEST_F(DispatcherTest, CreateWriteReadAndAttributes) {
  InitFull();
  const wire::EntryOut dir = MkDir(wire::kRootId, "dir");
  EXPECT_TRUE(S_ISDIR(dir.attr.mode));
  EXPECT_NE(dir.nodeid, wire::kRootId);
  EXPECT_GT(dir.entry_valid, 0u);  // blobfs lets the kernel cache names.
  auto [file, fh] = Create(dir.nodeid, "file");
  EXPECT_EQ(file.attr.mode, S_IFREG | 0644u);

  const std::string data(300000, 'z');
  wire::WriteIn write{.fh = fh, .offset = 4096, .size = static_cast<uint32_t>(data.size())};
  CapturedReply wrote = Call(Request(wire::kWrite, file.nodeid).Add(write).Bytes(data));
  ASSERT_EQ(wrote.header.error, 0);
  EXPECT_EQ(wrote.As<wire::WriteOut>().size, data.size());

  wire::ReadIn read{.fh = fh, .offset = 0, .size = 1 << 20};
  CapturedReply got = Call(Request(wire::kRead, file.nodeid).Add(read));
  ASSERT_EQ(got.header.error, 0);
  ASSERT_EQ(got.payload.size(), 4096 + data.size());
  EXPECT_EQ(got.payload.substr(0, 4096), std::string(4096, '\0'));
  EXPECT_EQ(got.payload.substr(4096), data);

  CapturedReply looked = Call(Request(wire::kLookup, dir.nodeid).Name("file"));
  ASSERT_EQ(looked.header.error, 0);
  EXPECT_EQ(looked.As<wire::EntryOut>().nodeid, file.nodeid);
  EXPECT_EQ(looked.As<wire::EntryOut>().attr.size, 4096 + data.size());
  // A missing name: blobfs lets the kernel cache its absence (node id 0, a long entry timeout).
  CapturedReply missing = Call(Request(wire::kLookup, dir.nodeid).Name("missing"));
  ASSERT_EQ(missing.header.error, 0);
  EXPECT_EQ(missing.As<wire::EntryOut>().nodeid, 0u);
  EXPECT_GT(missing.As<wire::EntryOut>().entry_valid, 0u);

  // "." and ".." resolve (EXPORT_SUPPORT); ".." of the directory is the kernel's root id.
  CapturedReply dotdot = Call(Request(wire::kLookup, dir.nodeid).Name(".."));
  ASSERT_EQ(dotdot.header.error, 0);
  EXPECT_EQ(dotdot.As<wire::EntryOut>().nodeid, wire::kRootId);

  wire::StatxIn statx_in{.getattr_flags = wire::kGetattrFh, .fh = fh, .sx_mask = 0xfff};
  CapturedReply statx = Call(Request(wire::kStatx, file.nodeid).Add(statx_in));
  ASSERT_EQ(statx.header.error, 0);
  const wire::Statx stat = statx.As<wire::StatxOut>().stat;
  EXPECT_NE(stat.mask & STATX_BTIME, 0u);
  EXPECT_GT(stat.btime.tv_sec, 0);
  EXPECT_EQ(stat.size, 4096 + data.size());

  wire::ReleaseIn release{.fh = fh};
  EXPECT_EQ(Call(Request(wire::kRelease, file.nodeid).Add(release)).header.error, 0);
  // The handle is gone.
  EXPECT_EQ(Error(Call(Request(wire::kRead, file.nodeid).Add(read))), EBADF);

  CapturedReply statfs = Call(Request(wire::kStatfs));
  ASSERT_EQ(statfs.header.error, 0);
  EXPECT_EQ(statfs.payload.size(), sizeof(wire::StatfsOut));
  EXPECT_GT(statfs.As<wire::StatfsOut>().st.blocks, 0u);
  EXPECT_EQ(statfs.As<wire::StatfsOut>().st.namelen, 255u);
}

// Write-only handles write around the page cache (one WRITE per write(2), no split at pages
// the kernel has not read) unless the writeback cache is negotiated; others keep it.
TEST_F(DispatcherTest, WriteOnlyHandlesAreDirectUnlessTheWritebackCacheIsOn) {
  const auto open_flags_of = [this](uint64_t node, uint32_t flags) {
    CapturedReply reply = Call(Request(wire::kOpen, node).Add(wire::OpenIn{flags, 0}));
    EXPECT_EQ(reply.header.error, 0);
    return reply.As<wire::OpenOut>().open_flags;
  };
  const auto create_flags_of = [this](const std::string& name, uint32_t flags) {
    wire::CreateIn in{.flags = flags | O_CREAT, .mode = S_IFREG | 0644, .umask = 022};
    CapturedReply reply = Call(Request(wire::kCreate).Add(in).Name(name));
    EXPECT_EQ(reply.header.error, 0) << name;
    wire::OpenOut open;
    std::memcpy(&open, reply.payload.data() + sizeof(wire::EntryOut), sizeof(open));
    return open.open_flags;
  };
  InitFull();
  // The kernel writes back other handles' dirty mapped pages before a direct write.
  EXPECT_NE(dispatcher_->session().flags & wire::init::kDirectIoAllowMmap, 0u);
  const uint32_t cached = wire::kOpenKeepCache | wire::kOpenNoFlush;
  EXPECT_EQ(create_flags_of("w", O_WRONLY), cached | wire::kOpenDirectIo);
  EXPECT_EQ(create_flags_of("rw", O_RDWR), cached);
  const uint64_t file = Create(wire::kRootId, "f").first.nodeid;
  EXPECT_EQ(open_flags_of(file, O_WRONLY | O_APPEND), cached | wire::kOpenDirectIo);
  EXPECT_EQ(open_flags_of(file, O_RDONLY), cached);
  EXPECT_EQ(open_flags_of(file, O_RDWR), cached);

  // A session with the writeback cache: the kernel gathers writes itself.
  reactor_->BlockOn(DropChannel());
  dispatcher_ = std::make_unique<Dispatcher>(*fsdev_, DispatcherOptions{.writeback_cache = true});
  auto channel = reactor_->BlockOn(OpenChannel());
  ASSERT_OK(channel.status());
  channel_ = std::move(*channel);
  InitFull();
  EXPECT_EQ(open_flags_of(file, O_WRONLY), cached);
  EXPECT_EQ(create_flags_of("w2", O_WRONLY), cached);
}

TEST_F(DispatcherTest, ReadBuildsDataInTheTransportsBufferWhenItFits) {
  InitFull();
  auto [file, fh] = Create(wire::kRootId, "f");
  const std::string data(100000, 'q');
  wire::WriteIn write{.fh = fh, .offset = 0, .size = static_cast<uint32_t>(data.size())};
  ASSERT_EQ(Call(Request(wire::kWrite, file.nodeid).Add(write).Bytes(data)).header.error, 0);
  wire::ReadIn read{.fh = fh, .offset = 0, .size = 1 << 17};
  sink_.OfferDataBuffer(1 << 17);
  CapturedReply direct = Call(Request(wire::kRead, file.nodeid).Add(read));
  ASSERT_EQ(direct.header.error, 0);
  EXPECT_TRUE(direct.data_in_place);
  EXPECT_EQ(direct.payload, data);
  // A buffer smaller than the request is not used.
  sink_.OfferDataBuffer(4096);
  CapturedReply copied = Call(Request(wire::kRead, file.nodeid).Add(read));
  ASSERT_EQ(copied.header.error, 0);
  EXPECT_FALSE(copied.data_in_place);
  EXPECT_EQ(copied.payload, data);
}

// Failed CREATE and TMPFILE calls are answered with their errno (each arm of the call used to be
// awaited inside one conditional expression, which GCC 12 turned into a double free).
TEST_F(DispatcherTest, CreateAndTmpfileFailuresAreReplied) {
  InitFull();
  auto [file, fh] = Create(wire::kRootId, "f");
  wire::CreateIn exclusive{.flags = O_RDWR | O_CREAT | O_EXCL, .mode = S_IFREG | 0644};
  EXPECT_EQ(Error(Call(Request(wire::kCreate, wire::kRootId).Add(exclusive).Name("f"))), EEXIST);
  EXPECT_EQ(Error(Call(Request(wire::kCreate, file.nodeid).Add(exclusive).Name("g"))), ENOTDIR);
  wire::CreateIn anonymous{.flags = O_RDWR | O_TMPFILE, .mode = S_IFREG | 0644};
  EXPECT_EQ(Error(Call(Request(wire::kTmpfile, file.nodeid).Add(anonymous).Name("/"))), ENOTDIR);
  EXPECT_EQ(Error(Call(Request(wire::kCreate, 0x7777777).Add(exclusive).Name("h"))), ESTALE);
}

TEST_F(DispatcherTest, NamesLinksAndRenames) {
  InitFull();
  auto [file, fh] = Create(wire::kRootId, "a");
  CapturedReply symlink = Call(Request(wire::kSymlink).Name("s").Name("a"));
  ASSERT_EQ(symlink.header.error, 0);
  CapturedReply target = Call(Request(wire::kReadlink, symlink.As<wire::EntryOut>().nodeid));
  EXPECT_EQ(target.payload, "a");
  CapturedReply link = Call(Request(wire::kLink).Add(wire::LinkIn{file.nodeid}).Name("b"));
  ASSERT_EQ(link.header.error, 0);
  EXPECT_EQ(link.As<wire::EntryOut>().nodeid, file.nodeid);
  EXPECT_EQ(link.As<wire::EntryOut>().attr.nlink, 2u);
  wire::MknodIn fifo{.mode = S_IFIFO | 0600, .rdev = 0, .umask = 0};
  EXPECT_TRUE(S_ISFIFO(Call(Request(wire::kMknod).Add(fifo).Name("p")).As<wire::EntryOut>()
                           .attr.mode));

  wire::Rename2In noreplace{.newdir = wire::kRootId, .flags = RENAME_NOREPLACE};
  EXPECT_EQ(Error(Call(Request(wire::kRename2).Add(noreplace).Name("a").Name("b"))), EEXIST);
  wire::Rename2In exchange{.newdir = wire::kRootId, .flags = RENAME_EXCHANGE};
  EXPECT_EQ(Call(Request(wire::kRename2).Add(exchange).Name("s").Name("p")).header.error, 0);
  CapturedReply swapped = Call(Request(wire::kLookup).Name("s"));
  EXPECT_TRUE(S_ISFIFO(swapped.As<wire::EntryOut>().attr.mode));
  EXPECT_EQ(Call(Request(wire::kRename).Add(wire::RenameIn{wire::kRootId}).Name("b").Name("c"))
                .header.error,
            0);
  EXPECT_EQ(Call(Request(wire::kUnlink).Name("c")).header.error, 0);
  EXPECT_EQ(Error(Call(Request(wire::kRmdir).Name("a"))), ENOTDIR);
  EXPECT_EQ(Error(Call(Request(wire::kUnlink).Name(std::string(256, 'n')))), ENAMETOOLONG);
  // The first name's NUL is missing: the second string is absent.
  EXPECT_EQ(Error(Call(Request(wire::kSymlink).Name("only"))), EINVAL);
}

TEST_F(DispatcherTest, ReaddirFillsTheBufferExactlyAndResumes) {
  InitFull();
  const wire::EntryOut dir = MkDir(wire::kRootId, "big");
  std::set<std::string> expected{".", ".."};
  for (int i = 0; i < 200; ++i) {
    const std::string name = absl::StrCat("entry-with-a-longish-name-", i);
    auto [file, fh] = Create(dir.nodeid, name);
    Call(Request(wire::kRelease, file.nodeid).Add(wire::ReleaseIn{.fh = fh}));
    expected.insert(name);
  }
  CapturedReply opened = Call(Request(wire::kOpendir, dir.nodeid).Add(wire::OpenIn{O_RDONLY, 0}));
  ASSERT_EQ(opened.header.error, 0);
  const wire::OpenOut open = opened.As<wire::OpenOut>();
  EXPECT_NE(open.open_flags & wire::kOpenCacheDir, 0u);

  constexpr uint32_t kBuffer = 1000;
  std::multiset<std::string> seen;
  std::vector<size_t> reply_sizes;
  uint64_t offset = 0;
  for (int round = 0; round < 1000; ++round) {
    wire::ReadIn in{.fh = open.fh, .offset = offset, .size = kBuffer};
    CapturedReply reply = Call(Request(wire::kReaddir, dir.nodeid).Add(in));
    ASSERT_EQ(reply.header.error, 0);
    if (reply.payload.empty()) break;
    ASSERT_LE(reply.payload.size(), kBuffer);
    size_t at = 0;
    std::string last_name;
    while (at < reply.payload.size()) {
      wire::Dirent dirent;
      std::memcpy(&dirent, reply.payload.data() + at, sizeof(dirent));
      last_name = reply.payload.substr(at + sizeof(dirent), dirent.namelen);
      seen.insert(last_name);
      offset = dirent.off;
      at += wire::DirentAlign(sizeof(dirent) + dirent.namelen);
    }
    EXPECT_EQ(at, reply.payload.size());
    reply_sizes.push_back(reply.payload.size());
  }
  // Every reply but the last is full: one more entry would not have fitted (no name is shorter
  // than 27 bytes).
  ASSERT_GT(reply_sizes.size(), 2u);
  for (size_t i = 0; i + 1 < reply_sizes.size(); ++i) {
    EXPECT_GT(reply_sizes[i] + wire::DirentAlign(sizeof(wire::Dirent) + 27), kBuffer) << i;
  }
  EXPECT_EQ(seen.size(), expected.size());
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()), expected);
  EXPECT_EQ(Call(Request(wire::kReleasedir, dir.nodeid).Add(wire::ReleaseIn{.fh = open.fh}))
                .header.error,
            0);
}

TEST_F(DispatcherTest, ReaddirplusEntriesHoldLookupsUntilForgotten) {
  InitFull();
  const wire::EntryOut dir = MkDir(wire::kRootId, "d");
  auto [file, fh] = Create(dir.nodeid, "victim");
  Call(Request(wire::kRelease, file.nodeid).Add(wire::ReleaseIn{.fh = fh}));
  // CREATE took one lookup; the kernel forgets it.
  EXPECT_TRUE(SendRaw(Request(wire::kForget, file.nodeid).Add(wire::ForgetIn{1}).Build()).empty());

  const wire::OpenOut open =
      Call(Request(wire::kOpendir, dir.nodeid).Add(wire::OpenIn{O_RDONLY, 0})).As<wire::OpenOut>();
  wire::ReadIn in{.fh = open.fh, .offset = 0, .size = 4096};
  CapturedReply reply = Call(Request(wire::kReaddirplus, dir.nodeid).Add(in));
  ASSERT_EQ(reply.header.error, 0);
  std::map<std::string, wire::EntryOut> entries;
  for (size_t at = 0; at < reply.payload.size();) {
    wire::DirentPlus plus;
    std::memcpy(&plus, reply.payload.data() + at, sizeof(plus));
    entries[reply.payload.substr(at + sizeof(plus), plus.dirent.namelen)] = plus.entry_out;
    at += wire::DirentAlign(sizeof(plus) + plus.dirent.namelen);
  }
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries["."].nodeid, 0u);  // No attributes, no lookup.
  EXPECT_EQ(entries[".."].nodeid, 0u);
  EXPECT_EQ(entries["victim"].nodeid, file.nodeid);
  EXPECT_EQ(entries["victim"].attr.ino, file.attr.ino);

  // Unlinked, the inode lives on through the READDIRPLUS lookup...
  ASSERT_EQ(Call(Request(wire::kUnlink, dir.nodeid).Name("victim")).header.error, 0);
  CapturedReply alive = Call(Request(wire::kGetattr, file.nodeid).Add(wire::GetattrIn{}));
  ASSERT_EQ(alive.header.error, 0);
  EXPECT_EQ(alive.As<wire::AttrOut>().attr.nlink, 0u);
  // ...until the kernel forgets it (in a batch).
  EXPECT_TRUE(SendRaw(Request(wire::kBatchForget, 0)
                          .Add(wire::BatchForgetIn{1, 0})
                          .Add(wire::ForgetOne{file.nodeid, 1})
                          .Build())
                  .empty());
  EXPECT_EQ(Error(Call(Request(wire::kGetattr, file.nodeid).Add(wire::GetattrIn{}))), ESTALE);
}

TEST_F(DispatcherTest, SetattrTranslatesEveryBit) {
  InitFull();
  auto [file, fh] = Create(wire::kRootId, "t");
  // Explicit times with nanoseconds.
  wire::SetattrIn times{};
  times.valid = wire::fattr::kAtime | wire::fattr::kMtime;
  times.atime = 1000;
  times.atimensec = 1;
  times.mtime = 2000;
  times.mtimensec = 2;
  CapturedReply set = Call(Request(wire::kSetattr, file.nodeid).Add(times));
  ASSERT_EQ(set.header.error, 0);
  EXPECT_EQ(set.As<wire::AttrOut>().attr.atime, 1000u);
  EXPECT_EQ(set.As<wire::AttrOut>().attr.mtimensec, 2u);
  // ATIME_NOW alone (the seed read it as MTIME_NOW): atime moves, mtime stays.
  wire::SetattrIn atime_now{};
  atime_now.valid = wire::fattr::kAtime | wire::fattr::kAtimeNow;
  const wire::Attr now = Call(Request(wire::kSetattr, file.nodeid).Add(atime_now))
                             .As<wire::AttrOut>()
                             .attr;
  EXPECT_GT(now.atime, 1000000000u);
  EXPECT_EQ(now.mtime, 2000u);
  // Size through the handle, mode, and a bad nanosecond count.
  wire::SetattrIn size{};
  size.valid = wire::fattr::kSize | wire::fattr::kFh | wire::fattr::kMode;
  size.fh = fh;
  size.size = 12345;
  size.mode = S_IFREG | 0600;
  const wire::Attr sized =
      Call(Request(wire::kSetattr, file.nodeid).Add(size)).As<wire::AttrOut>().attr;
  EXPECT_EQ(sized.size, 12345u);
  EXPECT_EQ(sized.mode & 07777, 0600u);
  wire::SetattrIn bad = times;
  bad.mtimensec = 1'000'000'000;
  EXPECT_EQ(Error(Call(Request(wire::kSetattr, file.nodeid).Add(bad))), EINVAL);
}

TEST_F(DispatcherTest, XattrsWithSizeProbes) {
  InitFull();
  auto [file, fh] = Create(wire::kRootId, "x");
  const std::string value = "value-bytes";
  wire::SetxattrIn set{.size = static_cast<uint32_t>(value.size()), .flags = XATTR_CREATE};
  ASSERT_EQ(Call(Request(wire::kSetxattr, file.nodeid).Add(set).Name("user.k").Bytes(value))
                .header.error,
            0);
  EXPECT_EQ(Error(Call(Request(wire::kSetxattr, file.nodeid).Add(set).Name("user.k").Bytes(value))),
            EEXIST);
  CapturedReply probe =
      Call(Request(wire::kGetxattr, file.nodeid).Add(wire::GetxattrIn{0, 0}).Name("user.k"));
  EXPECT_EQ(probe.As<wire::GetxattrOut>().size, value.size());
  EXPECT_EQ(Error(Call(Request(wire::kGetxattr, file.nodeid)
                           .Add(wire::GetxattrIn{3, 0})
                           .Name("user.k"))),
            ERANGE);
  EXPECT_EQ(Call(Request(wire::kGetxattr, file.nodeid).Add(wire::GetxattrIn{100, 0}).Name("user.k"))
                .payload,
            value);
  EXPECT_EQ(Call(Request(wire::kListxattr, file.nodeid).Add(wire::GetxattrIn{100, 0})).payload,
            std::string("user.k\0", 7));
  EXPECT_EQ(Call(Request(wire::kRemovexattr, file.nodeid).Name("user.k")).header.error, 0);
  EXPECT_EQ(Error(Call(Request(wire::kGetxattr, file.nodeid).Add(wire::GetxattrIn{0, 0}).Name("user.k"))),
            ENODATA);
  // The value is shorter than announced.
  set.size = 1000;
  EXPECT_EQ(Error(Call(Request(wire::kSetxattr, file.nodeid).Add(set).Name("user.k").Bytes("x"))),
            EINVAL);
}

TEST_F(DispatcherTest, InterruptAbortsItsRequest) {
  InitFull();
  auto [file, fh] = Create(wire::kRootId, "long");
  wire::FallocateIn grow{.fh = fh, .offset = 0, .length = 4 << 20, .mode = 0};
  ASSERT_EQ(Call(Request(wire::kFallocate, file.nodeid).Add(grow)).header.error, 0);
  // The INTERRUPT overtakes its READ (as it may on another reactor): the read stops at once.
  const uint64_t read_unique = ++unique_;
  EXPECT_TRUE(
      SendRaw(Request(wire::kInterrupt, 0).Add(wire::InterruptIn{read_unique}).Build()).empty());
  wire::ReadIn read{.fh = fh, .offset = 0, .size = 1 << 20};
  CapturedReply reply = Call(RequestBuilder(wire::kRead, file.nodeid, read_unique).Add(read));
  EXPECT_EQ(Error(reply), EINTR);
  // An interrupt for a finished or unknown request is harmless.
  EXPECT_TRUE(SendRaw(Request(wire::kInterrupt, 0).Add(wire::InterruptIn{12345}).Build()).empty());
  EXPECT_EQ(Call(Request(wire::kRead, file.nodeid).Add(read)).payload.size(), 1u << 20);
}

TEST_F(DispatcherTest, FileRangeCallsAndSync) {
  InitFull();
  auto [in_file, in_fh] = Create(wire::kRootId, "src");
  auto [out_file, out_fh] = Create(wire::kRootId, "dst");
  const std::string data(10000, 'q');
  wire::WriteIn write{.fh = in_fh, .offset = 0, .size = static_cast<uint32_t>(data.size())};
  ASSERT_EQ(Call(Request(wire::kWrite, in_file.nodeid).Add(write).Bytes(data)).header.error, 0);
  wire::CopyFileRangeIn copy{.fh_in = in_fh, .off_in = 0, .nodeid_out = out_file.nodeid,
                             .fh_out = out_fh, .off_out = 100, .len = data.size(), .flags = 0};
  CapturedReply wide = Call(Request(wire::kCopyFileRange64, in_file.nodeid).Add(copy));
  ASSERT_EQ(wide.header.error, 0);
  EXPECT_EQ(wide.As<wire::CopyFileRangeOut>().bytes_copied, data.size());
  CapturedReply narrow = Call(Request(wire::kCopyFileRange, in_file.nodeid).Add(copy));
  EXPECT_EQ(narrow.As<wire::WriteOut>().size, data.size());
  copy.flags = 1;
  EXPECT_EQ(Error(Call(Request(wire::kCopyFileRange, in_file.nodeid).Add(copy))), EINVAL);

  wire::LseekIn hole{.fh = out_fh, .offset = 0, .whence = SEEK_DATA};
  CapturedReply data_at = Call(Request(wire::kLseek, out_file.nodeid).Add(hole));
  ASSERT_EQ(data_at.header.error, 0);
  EXPECT_EQ(data_at.As<wire::LseekOut>().offset, 0u);  // Byte 0..99 were written as zeroes.
  EXPECT_EQ(Call(Request(wire::kFsync, out_file.nodeid).Add(wire::FsyncIn{.fh = out_fh}))
                .header.error,
            0);
  EXPECT_EQ(Call(Request(wire::kFlush, out_file.nodeid).Add(wire::FlushIn{.fh = out_fh}))
                .header.error,
            0);
  EXPECT_EQ(Call(Request(wire::kSyncfs).Add(wire::SyncfsIn{})).header.error, 0);
  EXPECT_EQ(Call(Request(wire::kAccess, out_file.nodeid).Add(wire::AccessIn{R_OK | W_OK, 0}))
                .header.error,
            0);
  CapturedReply tmp = Call(Request(wire::kTmpfile)
                               .Add(wire::CreateIn{O_RDWR, S_IFREG | 0600, 0, 0})
                               .Name("/"));
  ASSERT_EQ(tmp.header.error, 0);
  EXPECT_EQ(tmp.As<wire::EntryOut>().attr.nlink, 0u);
  EXPECT_EQ(Call(Request(wire::kDestroy)).header.error, 0);
  EXPECT_TRUE(dispatcher_->destroyed());
}

// What the kernel is told beside the replies: a direct write drops the cached pages of its range
// (unless the node was created empty and never went through the page cache), and a write that
// drops setuid bits drops the cached attributes — each before the write's reply.
TEST_F(DispatcherTest, DirectWritesAndDroppedPrivilegesInvalidateWhatTheKernelCached) {
  struct Notice {
    wire::OutHeader header;
    wire::NotifyInvalInodeOut body;
  };
  absl::Mutex mutex;
  std::vector<Notice> notices;
  reactor_->BlockOn(DropChannel());
  dispatcher_ = std::make_unique<Dispatcher>(
      *fsdev_, DispatcherOptions{.notify = [&](std::span<const iovec> parts) {
        std::string bytes;
        for (const iovec& part : parts) bytes.append(static_cast<char*>(part.iov_base), part.iov_len);
        EXPECT_EQ(bytes.size(), sizeof(Notice));
        Notice notice{};
        std::memcpy(&notice, bytes.data(), std::min(bytes.size(), sizeof(notice)));
        absl::MutexLock lock(&mutex);
        notices.push_back(notice);
        return Status();
      }});
  channel_ = std::move(*reactor_->BlockOn(OpenChannel()));
  InitFull();
  // Not a structured binding: the lambdas below capture them (clang 14 refuses bindings there).
  const std::pair<wire::EntryOut, uint64_t> created = Create(wire::kRootId, "f");
  const wire::EntryOut file = created.first;
  const uint64_t fh = created.second;
  auto take = [&] {
    absl::MutexLock lock(&mutex);
    return std::exchange(notices, {});
  };
  auto write = [&](uint32_t open_flags, uint64_t offset, uint32_t uid = 0) {
    const std::string data(8192, 'd');
    wire::WriteIn in{.fh = fh, .offset = offset, .size = 8192, .flags = open_flags};
    CapturedReply reply =
        Call(Request(wire::kWrite, file.nodeid).Credentials(uid, uid).Add(in).Bytes(data));
    EXPECT_EQ(reply.header.error, 0);
  };
  // Created empty, never read: nothing to drop.
  write(O_RDWR | O_DIRECT, 0);
  EXPECT_TRUE(take().empty());
  // Once read through the page cache, a direct write drops its range.
  wire::ReadIn read{.fh = fh, .offset = 0, .size = 4096, .flags = O_RDWR};
  ASSERT_EQ(Call(Request(wire::kRead, file.nodeid).Add(read)).header.error, 0);
  write(O_RDWR | O_DIRECT, 4096);
  std::vector<Notice> sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].header.error, wire::kNotifyInvalInode);
  EXPECT_EQ(sent[0].header.unique, 0u);
  EXPECT_EQ(sent[0].header.len, sizeof(Notice));
  EXPECT_EQ(sent[0].body.ino, file.nodeid);
  EXPECT_EQ(sent[0].body.off, 4096);
  EXPECT_EQ(sent[0].body.len, 8192);
  // A buffered write fills the pages itself.
  write(O_RDWR, 0);
  EXPECT_TRUE(take().empty());
  // Another user's write drops setuid: the attributes go, the pages stay.
  wire::SetattrIn chmod{.valid = wire::fattr::kMode, .mode = S_IFREG | 04777};
  ASSERT_EQ(Call(Request(wire::kSetattr, file.nodeid).Add(chmod)).header.error, 0);
  write(O_RDWR, 0, 1000);
  sent = take();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].body.ino, file.nodeid);
  EXPECT_EQ(sent[0].body.off, -1);
  // Forgotten by the kernel: what was known of it no longer holds.
  auto [fresh, fresh_fh] = Create(wire::kRootId, "g");
  Call(Request(wire::kLookup, wire::kRootId).Name("g"));
  SendRaw(Request(wire::kForget, fresh.nodeid).Add(wire::ForgetIn{.nlookup = 1}).Build());
  wire::WriteIn direct{.fh = fresh_fh, .offset = 0, .size = 4096, .flags = O_WRONLY | O_DIRECT};
  ASSERT_EQ(Call(Request(wire::kWrite, fresh.nodeid).Add(direct).Bytes(std::string(4096, 'g')))
                .header.error,
            0);
  EXPECT_EQ(take().size(), 1u);
}

TEST(OpenFlagsTest, PeersOfOtherArchitecturesAreTranslated) {
  constexpr uint32_t kArmDirectory = 040000;
  constexpr uint32_t kArmNofollow = 0100000;
  constexpr uint32_t kArmDirect = 0200000;
  constexpr uint32_t kX86Direct = 040000;
  EXPECT_EQ(TranslateOpenFlags(O_RDWR | kArmDirectory | kArmNofollow, PeerArch::kArm64),
            static_cast<uint32_t>(O_RDWR | O_DIRECTORY | O_NOFOLLOW));
  EXPECT_EQ(TranslateOpenFlags(kArmDirect | O_CREAT, PeerArch::kArm),
            static_cast<uint32_t>(O_DIRECT | O_CREAT));
  EXPECT_EQ(TranslateOpenFlags(kX86Direct | O_APPEND, PeerArch::kX86_64),
            static_cast<uint32_t>(O_DIRECT | O_APPEND));
  const uint32_t everything = O_RDWR | O_DIRECTORY | O_NOFOLLOW | O_DIRECT | O_TRUNC | O_SYNC;
  EXPECT_EQ(TranslateOpenFlags(everything, PeerArch::kNative), everything);
  EXPECT_EQ(ParsePeerArch("arm64"), PeerArch::kArm64);
  EXPECT_EQ(ParsePeerArch("sparc"), std::nullopt);
}

}  // namespace
}  // namespace blobfs
