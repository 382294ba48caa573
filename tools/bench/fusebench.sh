#!/usr/bin/env bash
# fusebench side by side: the same workload (tools/fusebench.cc) on blobfs through its daemon, on
# the passthrough fsdev through the same daemon (FUSE's own cost), on fuse2fs, and on ext4 over a
# loop device — every image a file of the same size in one directory on the same disk. Run as root
# from the repository root:
#   tools/bench/fusebench.sh [BIG_MB] [FILES] [IMAGE_GIB]
# Defaults: a 2048 MiB file, 50000 files, 16 GiB images under var/. Untars a tar of /usr/include.
# Where the fuse module has FUSE over io_uring, blobfs runs a second time over it (the module's
# enable_uring is turned on for that run only and restored after it, also on failure).
# Last, blobfs and ext4 are mounted together and their cold reads measured in turns
# (`fusebench --side_by_side`), so that both meet the machine's memory in the same states.
set -euo pipefail

big_mb=${1:-2048}
files=${2:-50000}
size_gib=${3:-16}
build=build/tools
[ -x "$build/fusebench" ] && [ -x "$build/blobfs" ] || tools/dev.sh build
command -v fuse2fs >/dev/null || { echo "fuse2fs is missing: apt-get install fuse2fs"; exit 1; }

mkdir -p var
work=$(mktemp -d "$PWD/var/fusebench.XXXXXX")
mnt=$work/mnt
mnt2=$work/mnt2
mkdir -p "$mnt" "$mnt2"
loop=
daemon=
uring_param=/sys/module/fuse/parameters/enable_uring
uring_saved=
cleanup() {
  [ -n "$uring_saved" ] && echo "$uring_saved" >"$uring_param"
  mountpoint -q "$mnt" && umount "$mnt"
  mountpoint -q "$mnt2" && umount "$mnt2"
  [ -n "$loop" ] && losetup -d "$loop" 2>/dev/null || true
  if [ -n "$daemon" ]; then
    for _ in $(seq 100); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

tar -C /usr -cf "$work/include.tar" include
echo "untar source: /usr/include, $(tar -tf "$work/include.tar" | wc -l) entries"

bench() {
  "$build/fusebench" --dir="$mnt" --big_mb="$big_mb" --files="${2:-$files}" \
    --tarball="$work/include.tar" --label="$1"
}
# Unmounts and waits for the daemon (if any) to finish.
finish() {
  umount "$mnt"
  if [ -n "$daemon" ]; then
    for _ in $(seq 600); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
    daemon=
  fi
}

# Mounts blobfs on a fresh image on $mnt through its daemon.
mount_blobfs() {
  build/tools/mkfs.blobfs "$work/blobfs.img" --size="${size_gib}G" >/dev/null
  "$build/blobfs" "$work/blobfs.img" "$mnt"
  daemon=$(pgrep -n -f "$build/blobfs $work/blobfs.img")
}

# Mounts ext4 on a fresh image over a loop device on DIR.
mount_ext4() {
  truncate -s "${size_gib}G" "$work/ext4.img"
  mkfs.ext4 -q -F "$work/ext4.img"
  loop=$(losetup --find --show "$work/ext4.img")
  mount "$loop" "$1"
}

# Detaches the loop device and removes the ext4 image.
remove_ext4() {
  losetup -d "$loop"
  loop=
  rm -f "$work/ext4.img"
}

# blobfs through its daemon on a fresh image, as LABEL.
bench_blobfs() {
  mount_blobfs
  bench "$1"
  finish
  rm -f "$work/blobfs.img"
}

echo "== blobfs (daemon, uring image of ${size_gib} GiB)"
bench_blobfs blobfs

if [ -w "$uring_param" ]; then
  echo "== blobfs over FUSE io_uring (daemon, uring image of ${size_gib} GiB)"
  uring_saved=$(cat "$uring_param")
  echo 1 >"$uring_param"
  bench_blobfs "blobfs (io_uring)"
  echo "$uring_saved" >"$uring_param"
  uring_saved=
fi

echo "== passthrough fsdev (daemon over a directory beside the images)"
mkdir "$work/host"
"$build/blobfs" --passthrough "$work/host" "$mnt"
daemon=$(pgrep -n -f "$build/blobfs --passthrough $work/host")
# It holds a host descriptor per file the kernel knows (as libfuse's passthrough_hp does), so its
# file count stays under the open-file limit when that cannot be raised.
limit=$(grep "open files" "/proc/$daemon/limits" | awk '{print $5}')
passthrough_files=$files
if [[ $limit =~ ^[0-9]+$ ]] && ((limit - 5000 < files)); then passthrough_files=$((limit - 5000)); fi
bench "passthrough ($passthrough_files files)" "$passthrough_files"
finish

echo "== fuse2fs (ext4 image of ${size_gib} GiB)"
truncate -s "${size_gib}G" "$work/fuse2fs.img"
mkfs.ext4 -q -F "$work/fuse2fs.img"
fuse2fs "$work/fuse2fs.img" "$mnt" -o fakeroot
bench fuse2fs
finish
rm -f "$work/fuse2fs.img"

echo "== ext4 (loop device of ${size_gib} GiB)"
mount_ext4 "$mnt"
bench ext4
finish
remove_ext4

echo "== cold reads side by side: blobfs (daemon) and ext4 (loop device), in turns"
mount_blobfs
mount_ext4 "$mnt2"
"$build/fusebench" --side_by_side="blobfs=$mnt,ext4=$mnt2" --big_mb="$big_mb"
umount "$mnt2"
remove_ext4
finish
