// The FUSE kernel protocol on the wire, major 7, minors up to kMaxMinor: request and reply
// structures with their exact sizes and the constants the dispatcher uses.
//
// Contract: plain little-endian structs in the kernel's layout (checked by the static_asserts
// below). A request is an InHeader, the opcode's argument struct(s), then extension headers
// (total_extlen * 8 bytes, 7.38+). A reply is an OutHeader then the opcode's reply struct. Older
// minors send and expect shorter forms of some structs; their sizes are the k*Compat* constants.
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
inline constexpr uint32_t kOpenKeepCache = 1 << 1;
inline constexpr uint32_t kOpenCacheDir = 1 << 3;

inline constexpr uint32_t kGetattrFh = 1 << 0;       // fuse_getattr_in.getattr_flags
inline constexpr uint32_t kFsyncDataOnly = 1 << 0;   // fuse_fsync_in.fsync_flags
inline constexpr uint32_t kWriteKillSuidGid = 1 << 2;  // fuse_write_in.write_flags

struct InHeader {
  uint32_t len;
  uint32_t opcode;
  uint64_t unique;
  uint64_t nodeid;
  uint32_t uid;
  uint32_t gid;
  uint32_t pid;
  uint16_t total_extlen;  // In 8-byte units (7.38+).
  uint16_t padding;
};

struct OutHeader {
  uint32_t len;
  int32_t error;  // 0 or a negative errno.
  uint64_t unique;
};

struct Attr {
  uint64_t ino;
  uint64_t size;
  uint64_t blocks;
  uint64_t atime;
  uint64_t mtime;
  uint64_t ctime;
  uint32_t atimensec;
  uint32_t mtimensec;
  uint32_t ctimensec;
  uint32_t mode;
  uint32_t nlink;
  uint32_t uid;
  uint32_t gid;
  uint32_t rdev;
  uint32_t blksize;
  uint32_t flags;
};

struct StatxTime {
  int64_t tv_sec;
  uint32_t tv_nsec;
  int32_t reserved;
};

struct Statx {
  uint32_t mask;
  uint32_t blksize;
  uint64_t attributes;
  uint32_t nlink;
  uint32_t uid;
  uint32_t gid;
  uint16_t mode;
  uint16_t spare0;
  uint64_t ino;
  uint64_t size;
  uint64_t blocks;
  uint64_t attributes_mask;
  StatxTime atime;
  StatxTime btime;
  StatxTime ctime;
  StatxTime mtime;
  uint32_t rdev_major;
  uint32_t rdev_minor;
  uint32_t dev_major;
  uint32_t dev_minor;
  uint64_t spare2[14];
};

struct Kstatfs {
  uint64_t blocks;
  uint64_t bfree;
  uint64_t bavail;
  uint64_t files;
  uint64_t ffree;
  uint32_t bsize;
  uint32_t namelen;
  uint32_t frsize;
  uint32_t padding;
  uint32_t spare[6];
};

struct EntryOut {
  uint64_t nodeid;
  uint64_t generation;
  uint64_t entry_valid;
  uint64_t attr_valid;
  uint32_t entry_valid_nsec;
  uint32_t attr_valid_nsec;
  Attr attr;
};

struct ForgetIn {
  uint64_t nlookup;
};

struct ForgetOne {
  uint64_t nodeid;
  uint64_t nlookup;
};

struct BatchForgetIn {
  uint32_t count;
  uint32_t dummy;
};

struct GetattrIn {
  uint32_t getattr_flags;
  uint32_t dummy;
  uint64_t fh;
};

struct AttrOut {
  uint64_t attr_valid;
  uint32_t attr_valid_nsec;
  uint32_t dummy;
  Attr attr;
};

struct StatxIn {
  uint32_t getattr_flags;
  uint32_t reserved;
  uint64_t fh;
  uint32_t sx_flags;
  uint32_t sx_mask;
};

struct StatxOut {
  uint64_t attr_valid;
  uint32_t attr_valid_nsec;
  uint32_t flags;
  uint64_t spare[2];
  Statx stat;
};

struct MknodIn {
  uint32_t mode;
  uint32_t rdev;
  uint32_t umask;
  uint32_t padding;
};

struct MkdirIn {
  uint32_t mode;
  uint32_t umask;
};

struct RenameIn {
  uint64_t newdir;
};

struct Rename2In {
  uint64_t newdir;
  uint32_t flags;
  uint32_t padding;
};

struct LinkIn {
  uint64_t oldnodeid;
};

struct SetattrIn {
  uint32_t valid;
  uint32_t padding;
  uint64_t fh;
  uint64_t size;
  uint64_t lock_owner;
  uint64_t atime;
  uint64_t mtime;
  uint64_t ctime;
  uint32_t atimensec;
  uint32_t mtimensec;
  uint32_t ctimensec;
  uint32_t mode;
  uint32_t unused4;
  uint32_t uid;
  uint32_t gid;
  uint32_t unused5;
};

struct OpenIn {
  uint32_t flags;
  uint32_t open_flags;
};

struct CreateIn {
  uint32_t flags;
  uint32_t mode;
  uint32_t umask;
  uint32_t open_flags;
};

struct OpenOut {
  uint64_t fh;
  uint32_t open_flags;
  int32_t backing_id;
};

struct ReleaseIn {
  uint64_t fh;
  uint32_t flags;
  uint32_t release_flags;
  uint64_t lock_owner;
};

struct FlushIn {
  uint64_t fh;
  uint32_t unused;
  uint32_t padding;
  uint64_t lock_owner;
};

struct ReadIn {
  uint64_t fh;
  uint64_t offset;
  uint32_t size;
  uint32_t read_flags;
  uint64_t lock_owner;
  uint32_t flags;
  uint32_t padding;
};

struct WriteIn {
  uint64_t fh;
  uint64_t offset;
  uint32_t size;
  uint32_t write_flags;
  uint64_t lock_owner;
  uint32_t flags;
  uint32_t padding;
};

struct WriteOut {
  uint32_t size;
  uint32_t padding;
};

struct StatfsOut {
  Kstatfs st;
};

struct FsyncIn {
  uint64_t fh;
  uint32_t fsync_flags;
  uint32_t padding;
};

struct SetxattrIn {
  uint32_t size;
  uint32_t flags;
  uint32_t setxattr_flags;  // With kSetxattrExt only.
  uint32_t padding;
};

struct GetxattrIn {
  uint32_t size;
  uint32_t padding;
};

struct GetxattrOut {
  uint32_t size;
  uint32_t padding;
};

struct AccessIn {
  uint32_t mask;
  uint32_t padding;
};

struct InitIn {
  uint32_t major;
  uint32_t minor;
  uint32_t max_readahead;
  uint32_t flags;
  uint32_t flags2;  // With kInitExt (7.36+).
  uint32_t unused[11];
};

struct InitOut {
  uint32_t major;
  uint32_t minor;
  uint32_t max_readahead;
  uint32_t flags;
  uint16_t max_background;
  uint16_t congestion_threshold;
  uint32_t max_write;
  uint32_t time_gran;
  uint16_t max_pages;
  uint16_t map_alignment;
  uint32_t flags2;
  uint32_t max_stack_depth;
  uint16_t request_timeout;
  uint16_t unused[11];
};

struct InterruptIn {
  uint64_t unique;
};

struct FallocateIn {
  uint64_t fh;
  uint64_t offset;
  uint64_t length;
  uint32_t mode;
  uint32_t padding;
};

struct LseekIn {
  uint64_t fh;
  uint64_t offset;
  uint32_t whence;
  uint32_t padding;
};

struct LseekOut {
  uint64_t offset;
};

struct CopyFileRangeIn {
  uint64_t fh_in;
  uint64_t off_in;
  uint64_t nodeid_out;
  uint64_t fh_out;
  uint64_t off_out;
  uint64_t len;
  uint64_t flags;
};

struct CopyFileRangeOut {
  uint64_t bytes_copied;
};

struct SyncfsIn {
  uint64_t padding;
};

struct Dirent {
  uint64_t ino;
  uint64_t off;
  uint32_t namelen;
  uint32_t type;
  // The name follows, then zero padding to a multiple of 8 bytes.
};

struct DirentPlus {
  EntryOut entry_out;
  Dirent dirent;
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

}  // namespace blobfs::wire

#endif  // BLOBFS_DISPATCHER_FUSE_WIRE_H_
