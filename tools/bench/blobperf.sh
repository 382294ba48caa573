#!/usr/bin/env bash
# Side-by-side figures for the blob store: blobperf on a malloc bdev and on a uring image file of
# the same size: the seqwrite test ROUNDS times, then the create and load tests once, on each;
# blobperf drops the page cache right before each load it times. Prints every blobperf line as it
# comes, then one table of the headline figures (each figure's text up to its first ", "). Run as
# root from the repository root:
#   tools/bench/blobperf.sh [ROUNDS] [SIZE_GIB]
# The image (SIZE_GIB GiB, default 8) lives in a temporary directory under var/, on the same file
# system as the repository, and is written in full first: blobperf formats without trimming, so its
# writes then overwrite allocated blocks, as bdevperf's do in tools/bench/bdevperf_vs_fio.sh. The
# malloc bdev commits SIZE_GIB GiB of RAM. Each seqwrite pass writes 3/8 of the device (the test
# needs two blobs of that size side by side).
set -euo pipefail

rounds=${1:-3}
size_gib=${2:-8}
blobperf=build/tools/blobperf
pass_bytes=$((size_gib * 1024 * 3 / 8))M

[ -x "$blobperf" ] || tools/dev.sh build
mkdir -p var
work=$(mktemp -d "$PWD/var/blobperf.XXXXXX")
trap 'rm -rf "$work"' EXIT
image=$work/blob.img
dd if=/dev/zero of="$image" bs=1M count=$((size_gib * 1024)) oflag=direct conv=fsync status=none

# run COLUMN SPEC ARGS...: one blobperf run; its lines are shown and appended to COLUMN's file.
run() {
  local column=$1 spec=$2
  shift 2
  "$blobperf" --bdev="$spec" "$@" | tee -a "$work/$column.out"
}

echo "machine: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
for column in malloc uring; do
  if [ "$column" = malloc ]; then spec=malloc:${size_gib}G; else spec=uring:$image; fi
  # The seqwrite rounds first: in trial runs the first pass after the create and load tests (tens
  # of thousands of flushes) ran up to 30% slower than any other, which skewed only its round.
  for ((round = 1; round <= rounds; round++)); do
    run "$column" "$spec" --test=seqwrite --bytes="$pass_bytes"
  done
  run "$column" "$spec" --test=create
  run "$column" "$spec" --test=load --drop_caches
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"

python3 - "$work/malloc.out" "$work/uring.out" "malloc:${size_gib}G" \
  "uring (${size_gib} GiB image)" <<'EOF'
import sys
files, titles = sys.argv[1:3], sys.argv[3:5]
rows = {}  # figure name -> one list of headline figures per column, in first-seen order
for column, path in enumerate(files):
    for text in open(path):
        name, sep, figure = text.rstrip("\n").partition(": ")
        if not sep or name == "blobperf":
            continue
        rows.setdefault(name, ([], []))[column].append(figure.split(", ")[0])

def mean(values):  # of headlines that start with a number: "2,706 MB/s (0.99x raw)" -> 2706
    numbers = [float(v.split()[0].replace(",", "")) for v in values]
    return sum(numbers) / len(numbers)

width = max(len(name) for name in rows)
def line(name, left, right):
    print("%-*s  %-28s  %s" % (width, name, left, right))

print()
line("figure", titles[0], titles[1])
for name, columns in rows.items():
    for i in range(max(len(c) for c in columns)):
        line(name if i == 0 else "", *(c[i] if i < len(c) else "" for c in columns))
    if min(len(c) for c in columns) > 1:
        line("", *("mean %s MB/s" % format(round(mean(c)), ",") for c in columns))
raw = next((name for name in rows if name.endswith(", raw bdev")), None)
for name in rows:
    if raw is not None and name.startswith("seqwrite") and name != raw:
        ratios = ["%.2fx" % (mean(c) / mean(r)) for c, r in zip(rows[name], rows[raw])]
        line(name.split(", ", 1)[1] + " / raw bdev (means)", *ratios)
EOF
