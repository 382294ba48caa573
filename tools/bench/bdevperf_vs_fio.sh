#!/usr/bin/env bash
# Side-by-side figures for the bdev layer: fio (io_uring engine, O_DIRECT) and bdevperf on the same
# image file, one after the other, page cache dropped before every run, plus bdevperf on a malloc
# bdev. Prints one line per run and the bdevperf/fio ratios. Run as root from the repository root:
#   tools/bench/bdevperf_vs_fio.sh [IMAGE] [SECONDS] [ROUNDS]
# IMAGE defaults to var/bench.img (1 GiB, created and fully written first); it must sit on a file
# system that supports O_DIRECT (not tmpfs).
set -euo pipefail

image=${1:-var/bench.img}
seconds=${2:-10}
rounds=${3:-3}
bdevperf=build/tools/bdevperf

command -v fio >/dev/null || { apt-get update -qq && apt-get install -y -qq fio; }
[ -x "$bdevperf" ] || tools/dev.sh build
mkdir -p "$(dirname "$image")"
if [ ! -f "$image" ] || [ "$(stat -c %s "$image")" -ne $((1 << 30)) ]; then
  fio --name=fill --filename="$image" --size=1G --rw=write --bs=1M --direct=1 \
    --ioengine=io_uring --iodepth=8 >/dev/null
fi

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }

# fio_run RW BS QD -> "IOPS MB/s p50_us p99_us"
fio_run() {
  drop_caches
  fio --name=bench --filename="$image" --ioengine=io_uring --direct=1 --rw="$1" --bs="$2" \
    --iodepth="$3" --runtime="$seconds" --time_based --output-format=json |
    python3 -c '
import json, sys
job = json.load(sys.stdin)["jobs"][0]
side = job["read"] if job["read"]["io_bytes"] else job["write"]
pct = side["clat_ns"]["percentile"]
print("%.0f %.1f %.1f %.1f" % (side["iops"], side["bw_bytes"] / 1e6,
      pct["50.000000"] / 1e3, pct["99.000000"] / 1e3))'
}

# bdevperf_run SPEC PATTERN IO_SIZE QD -> "IOPS MB/s p50_us p99_us"
bdevperf_run() {
  drop_caches
  "$bdevperf" --bdev="$1" --pattern="$2" --io_size="$3" --queue_depth="$4" --time="$seconds" |
    sed -n 's/^total: IOPS=\([0-9.]*\) MB\/s=\([0-9.]*\) latency_us p50=\([0-9.]*\) p99=\([0-9.]*\).*/\1 \2 \3 \4/p'
}

printf '%-34s %-9s %10s %10s %9s %9s\n' workload tool IOPS MB/s p50_us p99_us
ratio_lines=()
for workload in "randread 4k 32" "write 1M 8" "read 1M 8"; do
  set -- $workload
  rw=$1 bs=$2 qd=$3
  fio_sum=0 perf_sum=0
  for ((round = 1; round <= rounds; round++)); do
    f=$(fio_run "$rw" "$bs" "$qd")
    b=$(bdevperf_run "uring:$image" "$rw" "$bs" "$qd")
    printf '%-34s %-9s %10s %10s %9s %9s\n' "$rw bs=$bs qd=$qd round $round" fio $f
    printf '%-34s %-9s %10s %10s %9s %9s\n' "" bdevperf $b
    fio_sum=$(python3 -c "print(${fio_sum} + ${f%% *})")
    perf_sum=$(python3 -c "print(${perf_sum} + ${b%% *})")
  done
  ratio_lines+=("$(python3 -c "print('%-22s bdevperf/fio = %.2f (mean IOPS %.0f vs %.0f)' % ('$rw $bs qd$qd', $perf_sum / $fio_sum, $perf_sum / $rounds, $fio_sum / $rounds))")")
done
for pattern in randread randwrite; do
  b=$(bdevperf_run "malloc:1G" "$pattern" 4k 32)
  printf '%-34s %-9s %10s %10s %9s %9s\n' "malloc $pattern 4k qd=32 1 reactor" bdevperf $b
done
printf '%s\n' "${ratio_lines[@]}"
