#!/usr/bin/env bash
# blobfs figures beside ext4's: fsperf (the blobfs library, no FUSE) on a uring image file, then
# the same small-file workload on ext4 over a loop device of the same size, so the space each
# filesystem spends per small file (statfs / df) can be compared. Run as root from the repository
# root:
#   tools/bench/fsperf.sh [FILES] [FILE_SIZE] [IMAGE_GIB]
# Defaults: 100000 files of 1024 bytes, 8 GiB images in a temporary directory under var/.
set -euo pipefail

files=${1:-100000}
file_size=${2:-1024}
size_gib=${3:-8}
fsperf=build/tools/fsperf

[ -x "$fsperf" ] || tools/dev.sh build
mkdir -p var
work=$(mktemp -d "$PWD/var/fsperf.XXXXXX")
mnt=$work/mnt
loop=
cleanup() {
  if mountpoint -q "$mnt" 2>/dev/null; then umount "$mnt"; fi
  [ -n "$loop" ] && losetup -d "$loop" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== blobfs (fsperf, uring image of ${size_gib} GiB)"
"$fsperf" --bdev="uring:$work/blobfs.img,size=${size_gib}G" --test=all --files="$files" \
  --file_size="$file_size" --big_size=4G --entries="$files"
rm -f "$work/blobfs.img"

echo "== ext4 (loop device of ${size_gib} GiB): $files files of $file_size bytes, 1000 per directory"
truncate -s "${size_gib}G" "$work/ext4.img"
mkfs.ext4 -q -F "$work/ext4.img"
mkdir -p "$mnt"
loop=$(losetup --find --show "$work/ext4.img")
mount "$loop" "$mnt"
used() { df --block-size=1 --output=used "$mnt" | tail -1; }
sync
before=$(used)
start=$(date +%s.%N)
python3 - "$mnt" "$files" "$file_size" <<'PY'
import os, sys
root, files, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = b"x" * size
for i in range(files):
    d = os.path.join(root, "d%d" % (i // 1000))
    if i % 1000 == 0:
        os.mkdir(d)
    with open(os.path.join(d, "f%d" % i), "wb") as f:
        f.write(data)
PY
sync
end=$(date +%s.%N)
after=$(used)
python3 - "$before" "$after" "$files" "$start" "$end" <<'PY'
import sys
before, after, files, start, end = map(float, sys.argv[1:])
print("%-40s %14.1f files/s" % ("create+write+close (python, ext4)", files / (end - start)))
print("%-40s %14.1f bytes" % ("space used per file (df)", (after - before) / files))
print("%-40s %14.1f MiB" % ("space used, total (df)", (after - before) / 2**20))
PY
