#!/usr/bin/env bash
# Runs a libFuzzer target for a bounded time on seeds generated at run time:
#   run_fuzz.sh FUZZER SEED_GENERATOR SECONDS ARTIFACT_DIR
# Exits non-zero when the fuzzer finds a crash, a leak or a timeout; the offending input is kept
# in ARTIFACT_DIR and printed in hex so that a CI log alone reproduces it.
set -euo pipefail

fuzzer=$1
seed_generator=$2
seconds=$3
artifacts=$4

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/corpus" "$work/seeds" "$artifacts"
touch "$work/start"
"$seed_generator" "$work/seeds"
echo "seeds: $(ls "$work/seeds" | wc -l) files"

# libFuzzer's default exit code for a crash is 77, which meson reads as "skipped": ask for 1.
status=0
"$fuzzer" -max_total_time="$seconds" -max_len=40000 -timeout=10 -rss_limit_mb=2048 \
  -error_exitcode=1 -print_final_stats=1 -artifact_prefix="$artifacts/" \
  "$work/corpus" "$work/seeds" || status=$?
if ((status == 77)); then status=1; fi
if ((status != 0)); then
  find "$artifacts" -maxdepth 1 -type f -newer "$work/start" \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) |
    while read -r artifact; do
      echo "== $artifact (reproduce: $fuzzer $artifact)"
      od -A x -t x1z -v "$artifact" | head -n 64
    done
fi
exit $status
