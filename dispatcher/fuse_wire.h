// The FUSE kernel protocol on the wire, major 7, minors up to kMaxMinor: request and reply
// structures with their exact sizes and the constants the dispatcher uses.
//
// Contract: plain little-endian structs in the kernel's layout (checked by the static_asserts
// below). A request is an InHeader, the opcode's argument struct(s), then extension headers
// (total_extlen * 8 bytes, 7.38+). A reply is an OutHeader then the opcode's reply struct. Older
// minors send and expect shorter forms of some structs; their sizes are the k*Compat* constants.
// Every field defaults to zero, so a request or reply names only what it sets.
// This is our own description of the protocol (Linux include/uapi/linux/fuse.h documents it).
#ifndef BLOBFS_DISPATCHER_FUSE_WIRE_H_
#define BLOBFS_DISPATCHER_FUSE_WIRE_H_

#include <cstddef>
#include <cstdint>

namespace blobfs::wire {

inline constexpr uint32_t kMajor = 7;
inline constexpr uint32_t kMaxMinor = 45;
inline constexpr uint64_t kRootId = 1;
inline constexpr size_t kMinReadBuffer = 8192;

enum Opcode : uint32_t {
  kLookup = 1,
  kForget = 2,
  kGetattr = 3,
  kSetattr = 4,
  kReadlink = 5,
  kSymlink = 6,
  kMknod = 8,
  kMkdir = 9,
  kUnlink = 10,
  kRmdir = 11,
  kRename = 12,
  kLink = 13,
  kOpen = 14,
  kRead = 15,
  kWrite = 16,
  kStatfs = 17,
  kRelease = 18,
  kFsync = 20,
  kSetxattr = 21,
  kGetxattr = 22,
  kListxattr = 23,
  kRemovexattr = 24,
  kFlush = 25,
  kInit = 26,
  kOpendir = 27,
  kReaddir = 28,
  kReleasedir = 29,
  kFsyncdir = 30,
  kGetlk = 31,
  kSetlk = 32,
  kSetlkw = 33,
  kAccess = 34,
  kCreate = 35,
  kInterrupt = 36,
  kBmap = 37,
  kDestroy = 38,
  kIoctl = 39,
  kPoll = 40,
  kNotifyReply = 41,
  kBatchForget = 42,
  kFallocate = 43,
  kReaddirplus = 44,
  kRename2 = 45,
  kLseek = 46,
  kCopyFileRange = 47,
  kSetupMapping = 48,
  kRemoveMapping = 49,
  kSyncfs = 50,
  kTmpfile = 51,
  kStatx = 52,
  kCopyFileRange64 = 53,
  kCuseInit = 4096,
};

// INIT flags (bits 32..63 travel in flags2).
namespace init {
inline constexpr uint64_t kAsyncRead = 1ull << 0;
inline constexpr uint64_t kPosixLocks = 1ull << 1;
inline constexpr uint64_t kAtomicOTrunc = 1ull << 3;
inline constexpr uint64_t kExportSupport = 1ull << 4;
inline constexpr uint64_t kBigWrites = 1ull << 5;
inline constexpr uint64_t kDontMask = 1ull << 6;
inline constexpr uint64_t kFlockLocks = 1ull << 10;
inline constexpr uint64_t kAutoInvalData = 1ull << 12;
inline constexpr uint64_t kDoReaddirplus = 1ull << 13;
inline constexpr uint64_t kReaddirplusAuto = 1ull << 14;
inline constexpr uint64_t kAsyncDio = 1ull << 15;
inline constexpr uint64_t kWritebackCache = 1ull << 16;
inline constexpr uint64_t kParallelDirops = 1ull << 18;
inline constexpr uint64_t kHandleKillpriv = 1ull << 19;
inline constexpr uint64_t kPosixAcl = 1ull << 20;
inline constexpr uint64_t kMaxPages = 1ull << 22;
inline constexpr uint64_t kCacheSymlinks = 1ull << 23;
inline constexpr uint64_t kHandleKillprivV2 = 1ull << 28;
inline constexpr uint64_t kSetxattrExt = 1ull << 29;
inline constexpr uint64_t kInitExt = 1ull << 30;
// flags2 (shifted into the high half of the 64-bit flags).
inline constexpr uint64_t kDirectIoAllowMmap = 1ull << 36;
inline constexpr uint64_t kOverIoUring = 1ull << 41;
}  // namespace init

// fuse_setattr_in.valid
namespace fattr {
inline constexpr uint32_t kMode = 1 << 0;
inline constexpr uint32_t kUid = 1 << 1;
inline constexpr uint32_t kGid = 1 << 2;
inline constexpr uint32_t kSize = 1 << 3;
inline constexpr uint32_t kAtime = 1 << 4;
inline constexpr uint32_t kMtime = 1 << 5;
inline constexpr uint32_t kFh = 1 << 6;
inline constexpr uint32_t kAtimeNow = 1 << 7;
inline constexpr uint32_t kMtimeNow = 1 << 8;
inline constexpr uint32_t kLockOwner = 1 << 9;
inline constexpr uint32_t kCtime = 1 << 10;
inline constexpr uint32_t kKillSuidGid = 1 << 11;
}  // namespace fattr

// fuse_open_out.open_flags
inline constexpr uint32_t kOpenDirectIo = 1 << 0;
inline constexpr uint32_t kOpenKeepCache = 1 << 1;
inline constexpr uint32_t kOpenCacheDir = 1 << 3;
inline constexpr uint32_t kOpenNoFlush = 1 << 5;

inline constexpr uint32_t kGetattrFh = 1 << 0;       // fuse_getattr_in.getattr_flags
inline constexpr uint32_t kFsyncDataOnly = 1 << 0;   // fuse_fsync_in.fsync_flags
inline constexpr uint32_t kWriteCache = 1 << 0;        // fuse_write_in.write_flags: page cache
inline constexpr uint32_t kWriteKillSuidGid = 1 << 2;  // fuse_write_in.write_flags

struct InHeader {
  uint32_t len = 0;
  uint32_t opcode = 0;
  uint64_t unique = 0;
  uint64_t nodeid = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t pid = 0;
  uint16_t total_extlen = 0;  // In 8-byte units (7.38+).
  uint16_t padding = 0;
};

struct OutHeader {
  uint32_t len = 0;
  int32_t error = 0;  // 0 or a negative errno; a notification's code (unique 0).
  uint64_t unique = 0;
};

// Notifications: an OutHeader with unique 0 and the code as its error, then the code's struct.
inline constexpr int32_t kNotifyInvalInode = 2;

struct NotifyInvalInodeOut {
  uint64_t ino = 0;
  int64_t off = 0;  // Negative: the attributes only, no pages.
  int64_t len = 0;  // 0 or negative: to the end of the file.
};

struct Attr {
  uint64_t ino = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;
  uint64_t atime = 0;
  uint64_t mtime = 0;
  uint64_t ctime = 0;
  uint32_t atimensec = 0;
  uint32_t mtimensec = 0;
  uint32_t ctimensec = 0;
  uint32_t mode = 0;
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t rdev = 0;
  uint32_t blksize = 0;
  uint32_t flags = 0;
};

struct StatxTime {
  int64_t tv_sec = 0;
  uint32_t tv_nsec = 0;
  int32_t reserved = 0;
};

struct Statx {
  uint32_t mask = 0;
  uint32_t blksize = 0;
  uint64_t attributes = 0;
  uint32_t nlink = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint16_t mode = 0;
  uint16_t spare0 = 0;
  uint64_t ino = 0;
  uint64_t size = 0;
  uint64_t blocks = 0;
  uint64_t attributes_mask = 0;
  StatxTime atime{};
  StatxTime btime{};
  StatxTime ctime{};
  StatxTime mtime{};
  uint32_t rdev_major = 0;
  uint32_t rdev_minor = 0;
  uint32_t dev_major = 0;
  uint32_t dev_minor = 0;
  uint64_t spare2[14]{};
};

struct Kstatfs {
  uint64_t blocks = 0;
  uint64_t bfree = 0;
  uint64_t bavail = 0;
  uint64_t files = 0;
  uint64_t ffree = 0;
  uint32_t bsize = 0;
  uint32_t namelen = 0;
  uint32_t frsize = 0;
  uint32_t padding = 0;
  uint32_t spare[6]{};
};

struct EntryOut {
  uint64_t nodeid = 0;
  uint64_t generation = 0;
  uint64_t entry_valid = 0;
  uint64_t attr_valid = 0;
  uint32_t entry_valid_nsec = 0;
  uint32_t attr_valid_nsec = 0;
  Attr attr{};
};

struct ForgetIn {
  uint64_t nlookup = 0;
};

struct ForgetOne {
  uint64_t nodeid = 0;
  uint64_t nlookup = 0;
};

struct BatchForgetIn {
  uint32_t count = 0;
  uint32_t dummy = 0;
};

struct GetattrIn {
  uint32_t getattr_flags = 0;
  uint32_t dummy = 0;
  uint64_t fh = 0;
};

struct AttrOut {
  uint64_t attr_valid = 0;
  uint32_t attr_valid_nsec = 0;
  uint32_t dummy = 0;
  Attr attr{};
};

struct StatxIn {
  uint32_t getattr_flags = 0;
  uint32_t reserved = 0;
  uint64_t fh = 0;
  uint32_t sx_flags = 0;
  uint32_t sx_mask = 0;
};

struct StatxOut {
  uint64_t attr_valid = 0;
  uint32_t attr_valid_nsec = 0;
  uint32_t flags = 0;
  uint64_t spare[2]{};
  Statx stat{};
};

struct MknodIn {
  uint32_t mode = 0;
  uint32_t rdev = 0;
  uint32_t umask = 0;
  uint32_t padding = 0;
};

struct MkdirIn {
  uint32_t mode = 0;
  uint32_t umask = 0;
};

struct RenameIn {
  uint64_t newdir = 0;
};

struct Rename2In {
  uint64_t newdir = 0;
  uint32_t flags = 0;
  uint32_t padding = 0;
};

struct LinkIn {
  uint64_t oldnodeid = 0;
};

struct SetattrIn {
  uint32_t valid = 0;
  uint32_t padding = 0;
  uint64_t fh = 0;
  uint64_t size = 0;
  uint64_t lock_owner = 0;
  uint64_t atime = 0;
  uint64_t mtime = 0;
  uint64_t ctime = 0;
  uint32_t atimensec = 0;
  uint32_t mtimensec = 0;
  uint32_t ctimensec = 0;
  uint32_t mode = 0;
  uint32_t unused4 = 0;
  uint32_t uid = 0;
  uint32_t gid = 0;
  uint32_t unused5 = 0;
};

struct OpenIn {
  uint32_t flags = 0;
  uint32_t open_flags = 0;
};

struct CreateIn {
  uint32_t flags = 0;
  uint32_t mode = 0;
  uint32_t umask = 0;
  uint32_t open_flags = 0;
};

struct OpenOut {
  uint64_t fh = 0;
  uint32_t open_flags = 0;
  int32_t backing_id = 0;
};

struct ReleaseIn {
  uint64_t fh = 0;
  uint32_t flags = 0;
  uint32_t release_flags = 0;
  uint64_t lock_owner = 0;
};

struct FlushIn {
  uint64_t fh = 0;
  uint32_t unused = 0;
  uint32_t padding = 0;
  uint64_t lock_owner = 0;
};

struct ReadIn {
  uint64_t fh = 0;
  uint64_t offset = 0;
  uint32_t size = 0;
  uint32_t read_flags = 0;
  uint64_t lock_owner = 0;
  uint32_t flags = 0;
  uint32_t padding = 0;
};

struct WriteIn {
  uint64_t fh = 0;
  uint64_t offset = 0;
  uint32_t size = 0;
  uint32_t write_flags = 0;
  uint64_t lock_owner = 0;
  uint32_t flags = 0;
  uint32_t padding = 0;
};

struct WriteOut {
  uint32_t size = 0;
  uint32_t padding = 0;
};

struct StatfsOut {
  Kstatfs st{};
};

struct FsyncIn {
  uint64_t fh = 0;
  uint32_t fsync_flags = 0;
  uint32_t padding = 0;
};

struct SetxattrIn {
  uint32_t size = 0;
  uint32_t flags = 0;
  uint32_t setxattr_flags = 0;  // With kSetxattrExt only.
  uint32_t padding = 0;
};

struct GetxattrIn {
  uint32_t size = 0;
  uint32_t padding = 0;
};

struct GetxattrOut {
  uint32_t size = 0;
  uint32_t padding = 0;
};

struct AccessIn {
  uint32_t mask = 0;
  uint32_t padding = 0;
};

struct InitIn {
  uint32_t major = 0;
  uint32_t minor = 0;
  uint32_t max_readahead = 0;
  uint32_t flags = 0;
  uint32_t flags2 = 0;  // With kInitExt (7.36+).
  uint32_t unused[11]{};
};

struct InitOut {
  uint32_t major = 0;
  uint32_t minor = 0;
  uint32_t max_readahead = 0;
  uint32_t flags = 0;
  uint16_t max_background = 0;
  uint16_t congestion_threshold = 0;
  uint32_t max_write = 0;
  uint32_t time_gran = 0;
  uint16_t max_pages = 0;
  uint16_t map_alignment = 0;
  uint32_t flags2 = 0;
  uint32_t max_stack_depth = 0;
  uint16_t request_timeout = 0;
  uint16_t unused[11]{};
};

struct InterruptIn {
  uint64_t unique = 0;
};

struct FallocateIn {
  uint64_t fh = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint32_t mode = 0;
  uint32_t padding = 0;
};

struct LseekIn {
  uint64_t fh = 0;
  uint64_t offset = 0;
  uint32_t whence = 0;
  uint32_t padding = 0;
};

struct LseekOut {
  uint64_t offset = 0;
};

struct CopyFileRangeIn {
  uint64_t fh_in = 0;
  uint64_t off_in = 0;
  uint64_t nodeid_out = 0;
  uint64_t fh_out = 0;
  uint64_t off_out = 0;
  uint64_t len = 0;
  uint64_t flags = 0;
};

struct CopyFileRangeOut {
  uint64_t bytes_copied = 0;
};

struct SyncfsIn {
  uint64_t padding = 0;
};

struct Dirent {
  uint64_t ino = 0;
  uint64_t off = 0;
  uint32_t namelen = 0;
  uint32_t type = 0;
  // The name follows, then zero padding to a multiple of 8 bytes.
};

struct DirentPlus {
  EntryOut entry_out{};
  Dirent dirent{};
};

// Older minors' shorter structs.
inline constexpr size_t kCompatEntryOutSize = 120;    // minor < 9
inline constexpr size_t kCompatAttrOutSize = 96;      // minor < 9
inline constexpr size_t kCompatStatfsSize = 48;       // minor < 4
inline constexpr size_t kCompatMknodInSize = 8;       // minor < 12
inline constexpr size_t kCompatWriteInSize = 24;      // minor < 9
inline constexpr size_t kCompatReadInSize = 24;       // minor < 9
inline constexpr size_t kCompatCreateInSize = 8;      // minor < 12 (a fuse_open_in)
inline constexpr size_t kCompatSetxattrInSize = 8;    // without kSetxattrExt
inline constexpr size_t kCompatInitInSize = 16;       // without kInitExt
inline constexpr size_t kCompatInitOutSize = 8;       // minor < 5
inline constexpr size_t kCompat22InitOutSize = 24;    // minor < 23

constexpr size_t DirentAlign(size_t size) { return (size + 7) & ~size_t{7}; }

static_assert(sizeof(InHeader) == 40);
static_assert(sizeof(OutHeader) == 16);
static_assert(sizeof(NotifyInvalInodeOut) == 24);
static_assert(sizeof(Attr) == 88);
static_assert(sizeof(Statx) == 256);
static_assert(sizeof(Kstatfs) == 80);
static_assert(sizeof(EntryOut) == 128);
static_assert(sizeof(AttrOut) == 104);
static_assert(sizeof(StatxIn) == 24);
static_assert(sizeof(StatxOut) == 288);
static_assert(sizeof(SetattrIn) == 88);
static_assert(sizeof(ReadIn) == 40);
static_assert(sizeof(WriteIn) == 40);
static_assert(sizeof(InitIn) == 64);
static_assert(sizeof(InitOut) == 64);
static_assert(sizeof(CopyFileRangeIn) == 56);
static_assert(sizeof(Dirent) == 24);
static_assert(sizeof(DirentPlus) == 152);

// FUSE over io_uring (7.42+). Each ring entry the daemon registers is a header buffer laid out as
// UringReqHeader and a payload buffer of at least max(max_write, max_pages pages) bytes. A request
// arrives as its InHeader in in_out, its per-opcode struct (if any) in op_in and the rest of its
// arguments in the payload (payload_sz bytes); the reply is an OutHeader in in_out and the reply
// arguments in the payload.
namespace uring {
inline constexpr uint32_t kCmdRegister = 1;
inline constexpr uint32_t kCmdCommitAndFetch = 2;
inline constexpr size_t kInOutSize = 128;
inline constexpr size_t kOpInSize = 128;

struct EntInOut {
  uint64_t flags = 0;
  uint64_t commit_id = 0;  // The request's unique id, echoed in the commit.
  uint32_t payload_sz = 0;
  uint32_t padding = 0;
  uint64_t reserved = 0;
};

struct ReqHeader {
  char in_out[kInOutSize];
  char op_in[kOpInSize];
  EntInOut ring_ent_in_out;
};

// The command area of a 128-byte SQE.
struct CmdReq {
  uint64_t flags = 0;
  uint64_t commit_id = 0;
  uint16_t qid = 0;
  uint8_t padding[6] = {};
};

static_assert(sizeof(ReqHeader) == 288);
static_assert(sizeof(CmdReq) == 24);
}  // namespace uring

}  // namespace blobfs::wire

#endif  // BLOBFS_DISPATCHER_FUSE_WIRE_H_
