#!/usr/bin/env bash
# Runs the POSIX conformance suite (posix_*_test.cc) against a freshly made blobfs mount:
#   run_posix_suite.sh BLOBFS MKFS_BLOBFS POSIX_TEST [gtest flags...]
# Needs root and /dev/fuse (exit 77, "skipped", otherwise). The image and mount point live in a
# temporary directory; the mount is unmounted and the daemon waited for on any exit.
set -euo pipefail

blobfs=$(realpath "$1")
mkfs=$(realpath "$2")
suite=$(realpath "$3")
shift 3

if [[ $(id -u) != 0 || ! -c /dev/fuse ]]; then
  echo "skipped: needs root and /dev/fuse"
  exit 77
fi

work=$(mktemp -d /tmp/blobfs-posix.XXXXXX)
chmod 0755 "$work"
mkdir "$work/mnt"
daemon=
cleanup() {
  local status=$?
  mountpoint -q "$work/mnt" && { umount "$work/mnt" || umount -l "$work/mnt" || true; }
  if [[ -n $daemon ]]; then
    for _ in $(seq 100); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
  fi
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

"$mkfs" "$work/image" --size=2G >/dev/null
"$blobfs" "$work/image" "$work/mnt"
daemon=$(pgrep -n -f "^$blobfs $work/image $work/mnt")
chmod 0777 "$work/mnt"
BLOBFS_POSIX_DIR=$work/mnt "$suite" "$@"
