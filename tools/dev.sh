#!/usr/bin/env bash
# The newcomer's entry point on a fresh Debian 12 machine (run as root):
#   tools/dev.sh run    install packages, build, format var/blobfs.img (if absent) and mount it on
#                       var/mnt (the daemon stays in the background; `umount var/mnt` stops it)
#   tools/dev.sh test   install packages, build, run every test (release, then ASan+UBSan), then
#                       the fuzz targets for 40 s
#   tools/dev.sh build  install packages and build (release) only
#   tools/dev.sh deps   install the Debian packages only
# Build trees: build/ (release, gcc) and build-sanitize/ (clang, address + undefined behaviour
# sanitizers, with the libFuzzer targets).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

packages=(
  build-essential meson ninja-build pkg-config python3
  libfuse3-dev fuse3 fuse2fs rsync attr
  liburing-dev libabsl-dev libgflags-dev libgoogle-glog-dev libgtest-dev libgmock-dev libisal-dev libxxhash-dev
  clang libclang-rt-14-dev lld
)

deps() {
  local missing=()
  for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
}

# configure DIR [meson options...]: sets up DIR once, then only rebuilds.
configure() {
  local dir=$1
  shift
  [ -f "$dir/build.ninja" ] || meson setup "$dir" "$@"
}

build() {
  deps
  configure build -Dbuildtype=release
  ninja -C build
}

run() {
  build
  mkdir -p var/mnt
  local image=var/blobfs.img
  if [ ! -e "$image" ]; then
    echo "== mkfs.blobfs $image (an 8 GiB sparse image file)"
    build/tools/mkfs.blobfs "$image" --size=8G --label=blobfs
  fi
  if mountpoint -q var/mnt; then
    echo "== var/mnt is already mounted"
  else
    echo "== mounting $image on var/mnt"
    build/tools/blobfs "$image" var/mnt
  fi
  df -h var/mnt
  echo "blobfs is mounted on $root/var/mnt: use it like any directory (cp, tar, rsync, ...)."
  echo "Unmount with: umount $root/var/mnt"
}

test_all() {
  build
  # One clang tree for the sanitizers and the fuzz targets, which need clang: the libraries are
  # compiled once for both (a gcc sanitizer tree beside a clang fuzz tree took 5 more minutes).
  # -O1 with line tables only: the sanitizers' recommended level, and a third of -O2 -g's compile
  # time on our coroutine-heavy tests.
  CXX=clang++ CXX_LD=lld configure build-sanitize -Doptimization=1 -Ddebug=false -Db_ndebug=false -Dfuzz=true \
    -Db_sanitize=address,undefined -Db_lundef=false "-Dcpp_args=-g1 -fno-sanitize-recover=all"
  ninja -C build-sanitize
  local status=0
  meson test -C build --print-errorlogs --num-processes 2 || status=1
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    meson test -C build-sanitize --no-rebuild --print-errorlogs --num-processes 2 \
    --timeout-multiplier 3 --no-suite fuzz || status=1
  # Every fuzz target at once, so the run lasts one fuzz_seconds (each gets its share of the CPUs).
  meson test -C build-sanitize --no-rebuild --print-errorlogs --num-processes 4 --suite fuzz \
    --logbase fuzzlog || status=1
  python3 tools/test_summary.py build/meson-logs/testlog build-sanitize/meson-logs/testlog \
    build-sanitize/meson-logs/fuzzlog || status=1
  return $status
}

case "${1:-}" in
  deps) deps ;;
  build) build ;;
  run) run ;;
  test) test_all ;;
  *)
    sed -n '2,9p' "$0"
    exit 2
    ;;
esac
