#!/usr/bin/env bash
# bdevperf as a user runs it: verify passes on every module, bad flags exit 2 naming the flag, a bad
# bdev exits 1 with the error. Usage: bdevperf_cli_test.sh PATH/TO/bdevperf
set -u
bdevperf=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0

# expect NAME EXIT_CODE PATTERN_IN_OUTPUT -- ARGS...
expect() {
  local name=$1 want_code=$2 want_text=$3
  shift 4
  local out code
  out=$("$bdevperf" "$@" 2>&1)
  code=$?
  if [ "$code" -eq "$want_code" ] && grep -qE -- "$want_text" <<<"$out"; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    echo "FAIL $name: exit $code (want $want_code), output lacks /$want_text/:"
    sed 's/^/    /' <<<"$out"
  fi
}

expect "verify on malloc" 0 "total: IOPS=" -- --bdev=malloc:64M --pattern=verify --time=1
expect "verify on error over malloc" 0 "total: IOPS=" -- --bdev=error:malloc:64M --pattern=verify --time=1 --queue_depth=4
expect "verify on uring image" 0 "uring.*total: IOPS=|total: IOPS=" -- \
  --bdev="uring:$work/image,size=64M" --pattern=verify --time=1 --io_size=16k
expect "randwrite on 2 reactors" 0 "reactor 1:" -- --bdev=malloc:64M --pattern=randwrite --time=1 --reactors=2
expect "QoS-limited reads" 0 "qos_iops=2000" -- --bdev=malloc:64M --pattern=randread --time=1 --qos_iops=2000
expect "unknown pattern" 2 "pattern" -- --bdev=malloc:64M --pattern=sideways
expect "io_size not a block multiple" 2 "io_size" -- --bdev=malloc:64M --io_size=1000
expect "io_size beyond the device" 2 "io_size" -- --bdev=malloc:1M --io_size=2M
expect "zero queue depth" 2 "queue_depth" -- --bdev=malloc:64M --queue_depth=0
expect "unknown flag" 2 "no_such_flag" -- --bdev=malloc:64M --no_such_flag=1
expect "missing bdev" 2 "bdev" --
expect "bad bdev spec" 1 "EINVAL" -- --bdev=floppy:1M
expect "missing image" 1 "ENOENT.*does not exist" -- --bdev="uring:$work/absent"

echo "bdevperf cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
