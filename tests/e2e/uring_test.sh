#!/usr/bin/env bash
# End-to-end over FUSE over io_uring: turns the fuse module's enable_uring on for the test (and
# back to what it was on any exit), mounts with the real daemon, checks that it registered a queue
# per possible CPU, drives every CPU's queue (callers pinned with taskset) with a tar of
# /usr/include, diff, checksums, a rename, rm -rf and the whole POSIX suite, then checks that the
# requests went through the rings and that fsck.blobfs finds the unmounted image clean; last, a
# daemon confined to one CPU (taskset) serves the queues of all of them.
#   uring_test.sh BLOBFS MKFS_BLOBFS FSCK_BLOBFS POSIX_TEST
# Needs root, /dev/fuse and a kernel with FUSE over io_uring (exit 77, "skipped", otherwise). Run
# alone: while it runs, every FUSE daemon on the machine is offered io_uring.
set -euo pipefail

blobfs=$(realpath "$1")
mkfs=$(realpath "$2")
fsck=$(realpath "$3")
suite=$(realpath "$4")
param=/sys/module/fuse/parameters/enable_uring

if [[ $(id -u) != 0 || ! -c /dev/fuse || ! -w $param ]]; then
  echo "skipped: needs root, /dev/fuse and $param"
  exit 77
fi

work=$(mktemp -d /tmp/blobfs-uring.XXXXXX)
chmod 0755 "$work"
mnt=$work/mnt
mkdir "$mnt"
saved=$(cat "$param")
daemon=

cleanup() {
  local status=$?
  mountpoint -q "$mnt" && { umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; }
  if [[ -n $daemon ]]; then
    for _ in $(seq 100); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$daemon" 2>/dev/null || true
  fi
  echo "$saved" >"$param"
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

step() { echo "== [${SECONDS}s] $*"; }
fail() { echo "FAIL: $*" >&2; [[ -f $work/daemon.log ]] && tail -20 "$work/daemon.log" >&2; exit 1; }

# mount_daemon [TASKSET_CPUS]: starts the daemon (on those CPUs only, if given) and waits for the
# mount and its io_uring queues.
mount_daemon() {
  local confine=()
  [[ $# -gt 0 ]] && confine=(taskset -c "$1")
  "${confine[@]}" "$blobfs" "$work/image" "$mnt" -f 2>"$work/daemon.log" &
  daemon=$!
  for _ in $(seq 100); do mountpoint -q "$mnt" && break; sleep 0.1; done
  mountpoint -q "$mnt" || fail "not mounted"
  chmod 0777 "$mnt"
  # The queues are registered right after INIT; the first request waits for them.
  ls "$mnt" >/dev/null
  grep -q "FUSE over io_uring: $possible queues" "$work/daemon.log" || fail "no io_uring queues"
}

# unmount_daemon: unmounts, checks that the daemon exits cleanly and sets `served` to the number of
# requests it served over io_uring.
unmount_daemon() {
  umount "$mnt"
  for _ in $(seq 300); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$daemon" 2>/dev/null && fail "daemon still running 30 s after umount"
  wait "$daemon" || fail "daemon exit status $?"
  daemon=
  served=$(sed -n 's/.* \([0-9]*\) requests served over io_uring.*/\1/p' "$work/daemon.log")
}

possible=$(awk -F, '{n = 0; for (i = 1; i <= NF; i++) {split($i, r, "-"); n += (r[2] == "" ? 1 : r[2] - r[1] + 1)} print n}' /sys/devices/system/cpu/possible)

step "mkfs, enable_uring, mount"
"$mkfs" "$work/image" --size=4G >/dev/null
echo 1 >"$param"
mount_daemon

step "a tree through every CPU's queue"
cpus=$(nproc)
for ((cpu = 0; cpu < cpus; cpu++)); do
  mkdir "$mnt/cpu$cpu"
  taskset -c "$cpu" tar -C /usr -cf - include | taskset -c "$cpu" tar -C "$mnt/cpu$cpu" -xf -
  taskset -c "$cpu" diff -r --no-dereference /usr/include "$mnt/cpu$cpu/include" ||
    fail "tree differs (CPU $cpu)"
done
(cd /usr/include && find . -type f -print0 | sort -z | xargs -0 sha256sum) >"$work/sums"
(cd "$mnt/cpu0/include" && sha256sum --quiet -c "$work/sums") || fail "checksums differ"
mv "$mnt/cpu0" "$mnt/moved"
[[ -f $mnt/moved/include/stdio.h && ! -e $mnt/cpu0 ]] || fail "rename"
head -c 64M /dev/urandom >"$work/big"
taskset -c $((cpus - 1)) cp "$work/big" "$mnt/big"
cmp "$work/big" "$mnt/big" || fail "big file differs"
rm -rf "$mnt/moved" "$mnt"/cpu* "$mnt/big"
[[ -z $(ls -A "$mnt") ]] || fail "rm -rf left entries"

step "the POSIX suite over io_uring"
BLOBFS_POSIX_DIR=$mnt "$suite" --gtest_brief=1 || fail "POSIX suite"

step "unmount"
unmount_daemon
[[ -n $served && $served -gt 10000 ]] || fail "only '${served}' requests went through io_uring"
echo "$served requests served over io_uring"
"$fsck" -v "$work/image" >"$work/fsck.out" 2>&1 || { cat "$work/fsck.out"; fail "fsck.blobfs"; }
grep -q ": clean," "$work/fsck.out" || { cat "$work/fsck.out"; fail "fsck.blobfs"; }

step "a daemon confined to the last CPU serves every CPU's queue"
last=$((cpus - 1))
mount_daemon "$last"
grep -q "reactors on CPUs $last\$" "$work/daemon.log" || fail "reactors not on CPU $last alone"
for status in /proc/"$daemon"/task/*/status; do
  allowed=$(awk '/^Cpus_allowed_list:/ {print $2}' "$status")
  [[ $allowed == "$last" ]] || fail "a daemon thread may run on CPUs $allowed, not just $last"
done
for ((cpu = 0; cpu < cpus; cpu++)); do
  taskset -c "$cpu" cp -r /usr/include/linux "$mnt/linux$cpu"
  taskset -c "$cpu" diff -r /usr/include/linux "$mnt/linux$cpu" || fail "tree differs (CPU $cpu)"
done
unmount_daemon
[[ -n $served && $served -gt 1000 ]] || fail "only '${served}' requests went through io_uring"
"$fsck" "$work/image" >/dev/null 2>&1 || fail "fsck.blobfs after the confined daemon"
echo "PASS"
