#!/usr/bin/env bash
# kill -9 of the daemon at a random moment, mid-commit included, under parallel workers, cycle
# after cycle on one image: after every cycle fsck.blobfs -n exits 0 (on even cycles after an
# fsck -p that replays the journal and repairs nothing), and every file whose fsync
# (and its directory's) returned in any cycle so far is there with its exact bytes.
# Three workers each loop: write a new file, fsync it, rename it to its final name, fsync the
# directory, and only then record it (outside the mount); in between they link, unlink, rename
# over, symlink, mkdir, rmdir and setxattr files they never record. A reader walks the tree.
#   crash_loop_test.sh BLOBFS MKFS_BLOBFS FSCK_BLOBFS
# Env: BLOBFS_CRASH_CYCLES (default 10). Needs root and /dev/fuse (exit 77, "skipped",
# otherwise). Everything lives in its own temporary directory; whatever this script mounted is
# unmounted and every process it started is ended (by PID) on any exit.
set -euo pipefail

blobfs=$(realpath "$1")
mkfs=$(realpath "$2")
fsck=$(realpath "$3")
cycles=${BLOBFS_CRASH_CYCLES:-10}

if [[ $(id -u) != 0 || ! -c /dev/fuse ]]; then
  echo "skipped: needs root and /dev/fuse"
  exit 77
fi

work=$(mktemp -d /tmp/blobfs-crash.XXXXXX)
image=$work/image
mnt=$work/mnt
records=$work/records
mkdir -p "$mnt" "$records"
daemon_pid=
worker_pids=()

end_workers() {
  for pid in "${worker_pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  for pid in "${worker_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  worker_pids=()
}

cleanup() {
  local status=$?
  end_workers
  [[ -n $daemon_pid ]] && kill -9 "$daemon_pid" 2>/dev/null || true
  mountpoint -q "$mnt" && { umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true; }
  rm -rf "$work"
  exit $status
}
trap cleanup EXIT

step() { echo "== [${SECONDS}s] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

recorded() { find "$records" -type f -exec cat {} + | wc -l; }

mount_blobfs() {
  "$blobfs" "$image" "$mnt"
  daemon_pid=$(pgrep -n -f "^$blobfs $image $mnt") || fail "no daemon after mount"
  mountpoint -q "$mnt" || fail "not mounted"
}

# One worker: WORKER ID SEED. Records "path sha256" lines once a file and its name are durable.
cat >"$work/worker.py" <<'EOF'
import hashlib, os, random, sys
mnt, records, wid, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
base = os.path.join(mnt, "w%d" % wid)
os.makedirs(base, exist_ok=True)
log = open(os.path.join(records, "w%d-%d" % (wid, seed)), "a")
n = 0

def fsync_path(path, flags=os.O_RDONLY):
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

def noise(i):
    # Changes to files the worker never records.
    scratch = os.path.join(base, "scratch-%d" % (i % 7))
    op = rng.randrange(7)
    if op == 0:
        with open(scratch, "wb") as f:
            f.write(os.urandom(rng.randrange(1, 20000)))
    elif op == 1 and os.path.exists(scratch):
        os.link(scratch, scratch + ".link-%d" % i)
    elif op == 2:
        for name in os.listdir(base):
            if ".link-" in name and rng.random() < 0.5:
                os.unlink(os.path.join(base, name))
    elif op == 3 and os.path.exists(scratch):
        os.rename(scratch, os.path.join(base, "scratch-%d" % ((i + 3) % 7)))
    elif op == 4:
        os.symlink("scratch-%d" % i, os.path.join(base, "sym-%d-%d" % (seed, i)))
    elif op == 5:
        d = os.path.join(base, "dir-%d" % (i % 5))
        if os.path.isdir(d):
            for name in os.listdir(d):
                os.unlink(os.path.join(d, name))
            os.rmdir(d)
        else:
            os.mkdir(d)
            with open(os.path.join(d, "x"), "wb") as f:
                f.write(b"x" * rng.randrange(100, 9000))
    elif op == 6 and os.path.exists(scratch):
        os.setxattr(scratch, "user.n", str(i).encode())

while True:
    n += 1
    data = os.urandom(rng.randrange(0, 200000))
    final = os.path.join(base, "f-%d-%d" % (seed, n))
    tmp = final + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.write(fd, data)
    os.fsync(fd)
    os.close(fd)
    os.rename(tmp, final)
    fsync_path(base)
    log.write("%s %s\n" % (final[len(mnt) + 1:], hashlib.sha256(data).hexdigest()))
    log.flush()
    try:
        noise(n)
    except (FileExistsError, FileNotFoundError):
        pass
EOF

cat >"$work/reader.py" <<'EOF'
import os, sys
while True:
    for root, dirs, files in os.walk(sys.argv[1]):
        for name in files:
            try:
                with open(os.path.join(root, name), "rb") as f:
                    f.read(65536)
            except OSError:
                pass
EOF

# Every recorded file, with its bytes; prints how many.
cat >"$work/verify.py" <<'EOF'
import hashlib, os, sys
mnt, records = sys.argv[1], sys.argv[2]
checked = 0
for name in sorted(os.listdir(records)):
    for line in open(os.path.join(records, name)):
        path, want = line.split()
        try:
            got = hashlib.sha256(open(os.path.join(mnt, path), "rb").read()).hexdigest()
        except OSError as error:
            sys.exit("%s was fsync'd and is gone: %s" % (path, error))
        if got != want:
            sys.exit("%s was fsync'd and has other bytes" % path)
        checked += 1
print(checked)
EOF

step "mkfs"
"$mkfs" "$image" --size=2G >/dev/null
total=0
for cycle in $(seq "$cycles"); do
  mount_blobfs
  for wid in 1 2 3; do
    python3 "$work/worker.py" "$mnt" "$records" "$wid" "$((cycle * 10 + wid))" 2>>"$work/worker.err" &
    worker_pids+=($!)
  done
  python3 "$work/reader.py" "$mnt" 2>/dev/null &
  worker_pids+=($!)
  # Once the workers are under way (a file recorded this cycle), a random moment.
  before=$(recorded)
  for _ in $(seq 200); do
    [[ $(recorded) -gt $before ]] && break
    sleep 0.1
  done
  sleep "$(awk -v s=$RANDOM 'BEGIN { printf "%.2f", 0.2 + (s % 250) / 100 }')"
  kill -9 "$daemon_pid"
  end_workers
  umount -l "$mnt" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
  daemon_pid=
  # Even cycles first run fsck -p, as a boot would: it replays the journal in place (exit 1, the
  # image modified, or 0 when the journal was empty) and finds nothing to repair.
  if ((cycle % 2 == 0)); then
    code=0
    "$fsck" -p "$image" >"$work/fsck.out" 2>&1 || code=$?
    if ((code > 1)) || grep -q "repaired:" "$work/fsck.out"; then
      cat "$work/fsck.out"
      fail "cycle $cycle: fsck.blobfs -p after kill -9 exited $code"
    fi
  fi
  if ! "$fsck" -n "$image" >"$work/fsck.out" 2>&1; then
    cat "$work/fsck.out"
    [[ -n ${BLOBFS_CRASH_KEEP:-} ]] && cp --sparse=always "$image" "$BLOBFS_CRASH_KEEP"
    fail "cycle $cycle: fsck.blobfs after kill -9"
  fi
  mount_blobfs
  checked=$(python3 "$work/verify.py" "$mnt" "$records") || fail "cycle $cycle: lost a file"
  umount "$mnt"
  for _ in $(seq 300); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
  daemon_pid=
  "$fsck" "$image" >"$work/fsck.out" 2>&1 || { cat "$work/fsck.out"; fail "cycle $cycle: fsck after unmount"; }
  step "cycle $cycle: fsck clean; $checked fsync'd files intact"
  grep -v "Transport endpoint\|Traceback\|^  " "$work/worker.err" | sort | uniq -c | head -5 || true
  : >"$work/worker.err"
  total=$checked
done
[[ $total -gt 0 ]] || fail "no file was ever fsync'd"
# fsck.blobfs's exit codes as e2fsck's: 16 usage, 8 when it cannot run.
code=0; "$fsck" -n -y "$image" >/dev/null 2>&1 || code=$?
[[ $code -eq 16 ]] || fail "fsck.blobfs -n -y exited $code, not 16"
code=0; "$fsck" -n "$work/no-such-image" >/dev/null 2>&1 || code=$?
[[ $code -eq 8 ]] || fail "fsck.blobfs of a missing image exited $code, not 8"
code=0; "$fsck" -p -C 0 "$image" >"$work/fsck.out" 2>&1 || code=$?
[[ $code -eq 0 ]] && grep -q "directories" "$work/fsck.out" ||
  { cat "$work/fsck.out"; fail "fsck.blobfs -p -C 0 of a clean image exited $code"; }
echo "crash loop: $cycles kill -9 cycles, fsck clean after each, $total fsync'd files intact"
