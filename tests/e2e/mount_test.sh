#!/usr/bin/env bash
# End-to-end: the real daemon on /dev/fuse, driven by coreutils, tar, rsync, attr tools and a few
# syscalls through python3 — a tree of thousands of files, a big file, parallel writers, xattrs,
# FIFOs, unmount and remount, mount.fuse3, a second mount of a busy image, SIGTERM and
# fusermount3 -u, a user's own image (and mount, where /dev/fuse allows), a corrupt image, and
# kill -9 followed by a remount with every fsync'd file intact; fsck.blobfs after each unmount
# and after the kill; blobfs-inspect on the unmounted image.
#   mount_test.sh BLOBFS MKFS_BLOBFS FSCK_BLOBFS BLOBFS_INSPECT
# Env: BLOBFS_E2E_BIG_MB (size of the big file, default 2048). Needs root and /dev/fuse (exit 77,
# "skipped", otherwise). Everything lives in its own temporary directory; whatever this script
# mounted is unmounted and every daemon it started is ended (by PID) on any exit.
set -euo pipefail

blobfs=$(realpath "$1")
mkfs=$(realpath "$2")
fsck=$(realpath "$3")
inspect=$(realpath "$4")
big_mb=${BLOBFS_E2E_BIG_MB:-2048}

if [[ $(id -u) != 0 || ! -c /dev/fuse ]]; then
  echo "skipped: needs root and /dev/fuse"
  exit 77
fi

work=$(mktemp -d /tmp/blobfs-e2e.XXXXXX)
image=$work/image
mnt=$work/mnt
ref=$work/ref
mkdir -p "$mnt" "$ref"
daemon_pids=()

cleanup() {
  local status=$?
  mountpoint -q "$mnt" && { umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; }
  for pid in "${daemon_pids[@]}"; do
    # Give a daemon that is writing back a moment, then end it.
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

step() { echo "== [${SECONDS}s] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# Mounts in the background and remembers the daemon's PID (the one holding the image lock).
mount_blobfs() {
  "$blobfs" "$image" "$mnt" "$@"
  local pid
  pid=$(pgrep -n -f "^$blobfs $image $mnt") || fail "no daemon after mount"
  daemon_pids+=("$pid")
  mountpoint -q "$mnt" || fail "not mounted"
}

# Unmounts and waits for the daemon to finish writing back and exit.
unmount_blobfs() {
  local pid=${daemon_pids[-1]}
  umount "$mnt"
  for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  fail "daemon $pid still running 30 s after umount"
}

# fsck.blobfs must find the unmounted image consistent (exit 0).
check_image() {
  "$fsck" -v "$image" >"$work/fsck.out" 2>&1 || { cat "$work/fsck.out"; fail "fsck.blobfs: $1"; }
  grep -q ": clean," "$work/fsck.out" || { cat "$work/fsck.out"; fail "fsck.blobfs: $1"; }
}

tree_sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum); }

step "mkfs and mount"
"$mkfs" "$image" --size=8G --label=e2e >/dev/null
mount_blobfs
df -h "$mnt" | tail -1
[[ $(stat -f -c %T "$mnt") == fuseblk || $(stat -f -c %T "$mnt") == fuse ]] ||
  fail "unexpected fs type $(stat -f -c %T "$mnt")"
bdi=$(awk -v m="$mnt" '$5 == m {print $3}' /proc/self/mountinfo | tail -1)
[[ $(cat "/sys/class/bdi/$bdi/read_ahead_kb") == 1024 ]] || fail "readahead of the mount ($bdi)"

step "a tree of thousands of files: cp -a, diff -r, find, du, tar, rsync"
source_tree=/usr/include
files=$(find "$source_tree" -type f | wc -l)
((files >= 1000)) || fail "$source_tree has only $files files"
cp -a "$source_tree" "$mnt/include"
diff -r --no-dereference "$source_tree" "$mnt/include" || fail "cp -a copy differs"
[[ $(find "$mnt/include" | wc -l) == $(find "$source_tree" | wc -l) ]] || fail "find counts differ"
du -s "$mnt/include" >/dev/null
tar -C "$mnt" -cf "$work/include.tar" include
mkdir "$mnt/untar"
tar -C "$mnt/untar" -xf "$work/include.tar"
diff -r --no-dereference "$source_tree" "$mnt/untar/include" || fail "tar x differs"
rsync -a "$source_tree/" "$mnt/rsync/"
diff -r --no-dereference "$source_tree" "$mnt/rsync" || fail "rsync copy differs"
rsync -a --delete "$mnt/rsync/" "$ref/rsync/"
diff -r --no-dereference "$source_tree" "$ref/rsync" || fail "rsync back differs"
echo "$files files, three copies"

step "coreutils on single files"
cd "$mnt"
echo hello >f
cp f g && mv g h && ln f hard && ln -s f soft
[[ $(stat -c %h f) == 2 ]] || fail "link count of f"
[[ $(readlink soft) == f && $(cat soft) == hello ]] || fail "symlink"
touch -d "2001-02-03 04:05:06.123456789" f
[[ $(stat -c %y f) == "2001-02-03 04:05:06.123456789"* ]] || fail "touch -d: $(stat -c %y f)"
chmod 640 f && [[ $(stat -c %a f) == 640 ]] || fail chmod
chown 1234:5678 f && [[ $(stat -c %u:%g f) == 1234:5678 ]] || fail chown
truncate -s 1G f && [[ $(stat -c %s f) == 1073741824 ]] || fail truncate
(($(stat -c %b f) < 100)) || fail "truncate up allocated blocks"
mkfifo fifo && [[ $(stat -c %F fifo) == fifo ]] || fail mkfifo
setfattr -n user.color -v blue f
[[ $(getfattr --only-values -n user.color f) == blue ]] || fail "getfattr"
setfattr -x user.color f
getfattr -n user.color f 2>/dev/null && fail "removed xattr still there"
ls -l >/dev/null
rm hard soft h
cd /

step "write-only handles (direct I/O) and other handles' cached and mapped pages agree"
python3 - "$mnt/coherent" <<'PY' || fail "direct writes and the page cache disagree"
import mmap, os, sys
path = sys.argv[1]
with open(path, "wb") as f:
    f.write(b"a" * 8192)
reader = os.open(path, os.O_RDONLY)
assert os.pread(reader, 8, 0) == b"aaaaaaaa"  # now in the page cache
mapped_fd = os.open(path, os.O_RDWR)
mapping = mmap.mmap(mapped_fd, 8192)
mapping[0:4] = b"MMAP"  # a dirty mapped page, not yet written back
writer = os.open(path, os.O_WRONLY)
assert os.pwrite(writer, b"DIRECT", 2) == 6  # overlaps the dirty bytes
os.close(writer)
mapping.flush()
assert mapping[0:8] == b"MMDIRECT", mapping[0:8]
assert os.pread(reader, 8, 0) == b"MMDIRECT"
mapping.close()
os.close(mapped_fd)
os.close(reader)
with open(path, "rb") as f:
    assert f.read(8) == b"MMDIRECT"
PY
rm "$mnt/coherent"

step "a ${big_mb} MiB file written and checksummed"
head -c $((big_mb << 20)) /dev/urandom | tee "$mnt/big" | sha256sum >"$work/big.sum"
sed -i "s|-|$mnt/big|" "$work/big.sum"
echo 3 >/proc/sys/vm/drop_caches
sha256sum -c --quiet "$work/big.sum" || fail "big file checksum"

step "parallel writers"
for i in $(seq 8); do
  (head -c $((24 << 20)) /dev/urandom >"$mnt/par-$i" && sha256sum "$mnt/par-$i" >"$work/par-$i.sum") &
done
wait
cat "$work"/par-*.sum >"$work/par.sum"
sha256sum -c --quiet "$work/par.sum" || fail "parallel writers"

step "unmount, remount: everything is still there"
tree_sums "$mnt/include" >"$work/include.sums"
stat -c "%n %s %a %u %g %y %z" "$mnt/f" "$mnt/fifo" >"$work/stat.before"
unmount_blobfs
check_image "after the first unmount"
head -3 "$work/fsck.out"
cmp <("$inspect" "$image" cat /include/alloca.h) /usr/include/alloca.h ||
  fail "blobfs-inspect cat of an inline file"
[[ $("$inspect" "$image" cat /big | sha256sum | cut -d' ' -f1) == $(cut -d' ' -f1 "$work/big.sum") ]] ||
  fail "blobfs-inspect cat /big"
"$inspect" "$image" ls / | grep -q " dir  *include$" || fail "blobfs-inspect ls /"
"$inspect" "$image" stat /fifo | grep -q ": FIFO, mode 0" || fail "blobfs-inspect stat /fifo"
cmp <("$inspect" "$image" cat /include/stdio.h) /usr/include/stdio.h ||
  fail "blobfs-inspect cat of a file in clusters"
mount_blobfs
sha256sum -c --quiet "$work/big.sum" || fail "big file after remount"
sha256sum -c --quiet "$work/par.sum" || fail "parallel files after remount"
diff <(tree_sums "$mnt/include") "$work/include.sums" || fail "tree after remount"
diff <(stat -c "%n %s %a %u %g %y %z" "$mnt/f" "$mnt/fifo") "$work/stat.before" ||
  fail "attributes after remount"
[[ $(stat -c %F "$mnt/fifo") == fifo ]] || fail "fifo after remount"

step "a second mount of the busy image fails clearly"
mkdir "$work/mnt2"
if "$blobfs" "$image" "$work/mnt2" --lock_wait_ms=300 2>"$work/second.err"; then
  fail "second mount of a mounted image succeeded"
fi
grep -q "in use" "$work/second.err" || fail "unclear message: $(cat "$work/second.err")"
status=0
"$fsck" "$image" 2>"$work/fsck.err" || status=$?
[[ $status == 8 ]] && grep -q "in use" "$work/fsck.err" ||
  fail "fsck.blobfs of a mounted image: exit $status, $(cat "$work/fsck.err")"

step "mount -t fuse.blobfs, and remounts right after unmounts"
unmount_blobfs
# mount(8) runs mount.fuse3, which runs `blobfs` from a fixed PATH that includes /usr/local/bin.
# A private mount namespace puts our build there for this step only; nothing is installed.
mkdir "$work/bin"
ln -s "$blobfs" "$work/bin/blobfs"
BLOBFS_IMAGE=$image BLOBFS_MNT=$mnt BLOBFS_BIN=$work/bin unshare --mount --propagation private \
  bash -euo pipefail -s <<'NS' || fail "mount -t fuse.blobfs"
mount --bind "$BLOBFS_BIN" /usr/local/bin
for round in 1 2 3; do
  mount -t fuse.blobfs "$BLOBFS_IMAGE" "$BLOBFS_MNT" -o rw,noatime
  [[ $(head -c 5 "$BLOBFS_MNT/f") == hello ]] || { echo "content, round $round"; exit 1; }
  echo "$round" >"$BLOBFS_MNT/round"
  umount "$BLOBFS_MNT"  # No waiting: the next mount waits for the image lock.
done
mount -t fuse.blobfs "$BLOBFS_IMAGE" "$BLOBFS_MNT"
[[ $(cat "$BLOBFS_MNT/round") == 3 ]] || { echo "the last round's write is missing"; exit 1; }
grep -q "fuse.blobfs" /proc/self/mounts || { echo "not listed as fuse.blobfs"; exit 1; }
umount "$BLOBFS_MNT"
NS
# The last daemon finishes writing back; the next mount waits for its lock.
mount_blobfs
[[ $(cat "$mnt/round") == 3 ]] || fail "the rounds' writes after mount -t"

step "SIGTERM and fusermount3 -u unmount cleanly"
kill -TERM "${daemon_pids[-1]}"
for _ in $(seq 300); do kill -0 "${daemon_pids[-1]}" 2>/dev/null || break; sleep 0.1; done
kill -0 "${daemon_pids[-1]}" 2>/dev/null && fail "daemon still running 30 s after SIGTERM"
mountpoint -q "$mnt" && fail "still mounted after SIGTERM"
check_image "after SIGTERM"
grep -q "not unmounted cleanly" "$work/fsck.out" && fail "SIGTERM left the store dirty"
mount_blobfs
fusermount3 -u "$mnt"
for _ in $(seq 300); do kill -0 "${daemon_pids[-1]}" 2>/dev/null || break; sleep 0.1; done
kill -0 "${daemon_pids[-1]}" 2>/dev/null && fail "daemon still running 30 s after fusermount3 -u"
check_image "after fusermount3 -u"
grep -q "not unmounted cleanly" "$work/fsck.out" && fail "fusermount3 -u left the store dirty"
mount_blobfs
[[ $(cat "$mnt/round") == 3 ]] || fail "data after SIGTERM and fusermount3 -u"

step "kill -9, then remount: fsync'd files are intact"
python3 - "$mnt" <<'PY'
import os, sys
root = sys.argv[1]
for i in range(50):
    data = os.urandom(4096 * (i + 1))
    fd = os.open(f"{root}/synced-{i}", os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o644)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    with open(f"{root}/../synced-{i}.ref", "wb") as ref:
        ref.write(data)
os.mkdir(f"{root}/synced-dir")
fd = os.open(f"{root}/synced-dir", os.O_RDONLY)
os.fsync(fd)
os.close(fd)
PY
echo "not synced" >"$mnt/unsynced"
kill -9 "${daemon_pids[-1]}"
sleep 0.2
umount -l "$mnt" 2>/dev/null || umount "$mnt"
for _ in $(seq 50); do kill -0 "${daemon_pids[-1]}" 2>/dev/null || break; sleep 0.1; done
check_image "after kill -9"
grep -q "not unmounted cleanly" "$work/fsck.out" || fail "fsck.blobfs did not see the crash"
mount_blobfs
for i in $(seq 0 49); do
  cmp "$mnt/synced-$i" "$work/synced-$i.ref" || fail "fsync'd file synced-$i after kill -9"
done
[[ -d $mnt/synced-dir ]] || fail "fsync'd directory after kill -9"
sha256sum -c --quiet "$work/big.sum" || fail "big file after kill -9"
unmount_blobfs
check_image "after the remount that followed the kill"

step "mkfs by a user makes the root directory theirs; that user mounts it if /dev/fuse lets them"
chmod 711 "$work"
mkdir "$work/user" "$work/user/mnt"
chown -R nobody "$work/user"
su -s /bin/bash nobody -c "'$mkfs' '$work/user/image' --size=1G" >/dev/null || fail "mkfs as nobody"
[[ $("$inspect" "$work/user/image" stat / | sed -n 2p) == "  uid $(id -u nobody), gid $(id -g nobody),"* ]] ||
  fail "root directory owner: $("$inspect" "$work/user/image" stat / | sed -n 2p)"
if su -s /bin/bash nobody -c "test -r /dev/fuse -a -w /dev/fuse"; then
  su -s /bin/bash nobody -c "'$blobfs' '$work/user/image' '$work/user/mnt' &&
    echo mine >'$work/user/mnt/file' && fusermount3 -u '$work/user/mnt'" || fail "unprivileged mount"
  for _ in $(seq 50); do pgrep -f "^$blobfs $work/user/image" >/dev/null || break; sleep 0.1; done
  "$fsck" "$work/user/image" >/dev/null || fail "fsck after the unprivileged mount"
  cmp <("$inspect" "$work/user/image" cat /file) <(echo mine) || fail "the user's file"
else
  echo "(no unprivileged mount: /dev/fuse is not open to other users here)"
fi

step "a corrupt image is refused with a clear message"
dd if=/dev/zero of="$image" bs=4096 count=1 conv=notrunc status=none
if "$blobfs" "$image" "$mnt" 2>"$work/corrupt.err"; then
  daemon_pids+=("$(pgrep -n -f "^$blobfs $image $mnt" || true)")
  fail "a corrupt image was mounted"
fi
mountpoint -q "$mnt" && fail "mounted after refusal"
grep -q "not a mountable blobfs" "$work/corrupt.err" || fail "message: $(cat "$work/corrupt.err")"
cat "$work/corrupt.err"
status=0
"$fsck" "$image" >"$work/fsck.out" 2>&1 || status=$?
[[ $status == 4 ]] || fail "fsck.blobfs of the corrupt image: exit $status, $(cat "$work/fsck.out")"
cat "$work/fsck.out"

echo "all end-to-end checks passed"
