#!/usr/bin/env bash
# blobcli as a user runs it on an image file: init, create with xattrs, list, write and read back
# byte for byte, resize, delete, the raw dumps, errors (exit 1 with the Error), bad usage (exit 2
# naming the problem), and read-only commands on a store left dirty, which must not change it.
# Usage: blobcli_cli_test.sh PATH/TO/blobcli
set -u
blobcli=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
img=$work/store.img
passed=0
failed=0
out=""

pass() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  echo "FAIL $1"
  [ -n "${2:-}" ] && sed 's/^/    /' <<<"$2"
}

# expect NAME EXIT_CODE PATTERN_IN_OUTPUT -- ARGS...: runs blobcli ARGS; its stdout and stderr
# are left in $out.
expect() {
  local name=$1 want_code=$2 want_text=$3
  shift 4
  local code
  out=$("$blobcli" "$@" 2>&1)
  code=$?
  if [ "$code" -eq "$want_code" ] && grep -qE -- "$want_text" <<<"$out"; then
    pass
  else
    fail "$name: exit $code (want $want_code), output lacks /$want_text/:" "$out"
  fi
}

# lacks NAME PATTERN: $out (of the last expect) has no line matching PATTERN.
lacks() {
  if grep -qE -- "$2" <<<"$out"; then fail "$1: output has /$2/:" "$out"; else pass; fi
}

# check NAME COMMAND...: COMMAND succeeds.
check() {
  local name=$1
  shift
  if "$@"; then pass; else fail "$name: '$*' failed"; fi
}

truncate -s 64M "$img"

# --- A store, blobs, xattrs.
expect "init" 0 "initialized: .*bstype='test' cluster_size=65536 io_unit_size=4096 clusters=1024" -- \
  init "$img" --cluster_size=64k --md_pages=128 --bstype=test
expect "create" 0 "^0x100000000$" -- create "$img" --clusters=4 --xattr=name=alpha --xattr $'bin=a\x01z'
a=$out
expect "create thin" 0 "^0x100000001$" -- create "$img" --thin --clusters=2 --xattr=eq=x=y
b=$out
expect "set internal xattr" 0 "" -- set-xattr "$img" "$b" inode 42 --internal
expect "set xattr by decimal id" 0 "" -- set-xattr "$img" 4294967297 note $'two\nlines'
expect "list" 0 "^$a clusters=4 bytes=262144 allocated=4 flags=-$" -- list "$img"
check "list: escaped user xattr" grep -qxF '  xattr bin=a\x01z' <<<"$out"
check "list: value with =" grep -qxF '  xattr eq=x=y' <<<"$out"
check "list: newline escaped" grep -qxF '  xattr note=two\nlines' <<<"$out"
check "list: thin blob" grep -qxF "$b clusters=2 bytes=131072 allocated=0 flags=thin" <<<"$out"
check "list: internal xattr marked" grep -qxF '  xattr (internal) inode=42' <<<"$out"
expect "get-xattr" 0 "^alpha$" -- get-xattr "$img" "$a" name
expect "get-xattr --internal" 0 "^42$" -- get-xattr "$img" "$b" inode --internal
expect "internal xattr is not a user one" 1 "ENOENT: blob $b has no xattr 'inode'" -- get-xattr "$img" "$b" inode
expect "remove-xattr" 0 "" -- remove-xattr "$img" "$b" note
expect "removed xattr is gone" 1 "ENOENT" -- get-xattr "$img" "$b" note
expect "stats" 0 "blobs +2" -- stats "$img"
check "stats: clean" grep -qE "^state +clean$" <<<"$out"
check "stats: clusters" grep -qE "^clusters +1024 total" <<<"$out"

# --- Data: write a file that is not a whole number of io units, read it back.
head -c 300000 /dev/urandom >"$work/data"
expect "write past the end" 1 "EINVAL: write blob $a: 303104 bytes at offset 8192 run past its end.*--grow" -- \
  write "$img" "$a" 8192 "$work/data"
expect "write --grow" 0 "wrote 300000 bytes at offset 8192 of blob $a \(303104 with zero padding\); grew it from 4 to 5 clusters" -- \
  write "$img" "$a" 8k "$work/data" --grow
expect "read back" 0 "read 300000 bytes" -- read "$img" "$a" 8192 300000 "$work/back"
check "read back is identical" cmp "$work/data" "$work/back"
expect "read to the end" 0 "read 319488 bytes at offset 8192" -- read "$img" "$a" 0x2000 0 "$work/all"
check "read to the end starts with the data" cmp -n 300000 "$work/data" "$work/all"
check "the last io unit is zero-padded" cmp -i 300000:0 -n 3104 "$work/all" /dev/zero
expect "unaligned read" 0 "read 1000 bytes at offset 8292" -- read "$img" "$a" 8292 1000 "$work/part"
check "unaligned read is the right bytes" cmp -i 100:0 -n 1000 "$work/data" "$work/part"
head -c 5000 /dev/urandom >"$work/small"
expect "thin write" 0 "wrote 5000 bytes at offset 65536" -- write "$img" "$b" 64k "$work/small"
expect "thin read" 0 "" -- read "$img" "$b" 0 128k "$work/thin"
check "thin hole reads as zeroes" cmp -n 65536 "$work/thin" /dev/zero
check "thin data" cmp -i 0:65536 -n 5000 "$work/small" "$work/thin"
expect "thin allocation" 0 "^$b clusters=2 bytes=131072 allocated=1 flags=thin$" -- list "$img"
expect "resize" 0 "resized blob $a from 5 to 2 clusters" -- resize "$img" "$a" 2
expect "resized" 0 "^$a clusters=2 bytes=131072 allocated=2 " -- list "$img"

# --- The raw dumps.
expect "dump-super" 0 "^magic +BLOBSTOR$" -- dump-super "$img"
for field in "version +1" "cluster_size +65536" "io_unit_size +4096" "total_clusters +1024 \(67108864 bytes\)" \
  "md_len +128" "bstype +'test'" "super_blob +none" "state +0x1 \(clean" "clean +yes" \
  "used_blobid_mask +valid, 2 of 128 bits set"; do
  check "dump-super: $field" grep -qE "^ *$field" <<<"$out"
done
expect "dump-blob" 0 "^page 0 \(device page [0-9]+\): blob_id=$a sync_generation=[0-9]+ sequence=0 " -- dump-blob "$img" "$a"
check "dump-blob: flags" grep -qE "FLAGS invalid_flags=0x0 data_ro_flags=0x0 md_ro_flags=0x0 num_clusters=2$" <<<"$out"
check "dump-blob: xattr" grep -qF "XATTR 'name' value_length=5 fragment [0, +5): alpha" <<<"$out"
check "dump-blob: extents" grep -qE "EXTENTS 1 run$" <<<"$out"
check "dump-blob: extent run" grep -qE "logical \[0, \+2\) -> physical [0-9]+$" <<<"$out"
check "dump-blob: valid chain" grep -qx "chain: valid, 1 page" <<<"$out"
expect "dump-blob thin" 0 "invalid_flags=0x1 \(thin\)" -- dump-blob "$img" "$b"
check "dump-blob: internal xattr" grep -qF "XATTR_INTERNAL 'inode' value_length=2 fragment [0, +2): 42" <<<"$out"
check "dump-blob: thin extent" grep -qE "logical \[1, \+1\) -> physical [0-9]+$" <<<"$out"

# --- Delete.
expect "delete" 0 "deleted blob $b" -- delete "$img" "$b"
expect "deleted blob is not listed" 0 "^$a " -- list "$img"
lacks "deleted blob is not listed" "^$b "

# --- Errors: exit 1 with the Error.
expect "unknown id" 1 "^blobcli: ENOENT: no blob $b$" -- get-xattr "$img" "$b" name
expect "delete unknown id" 1 "ENOENT: no blob 0x100000050" -- delete "$img" 0x100000050
expect "dump-blob of no blob id" 1 "EINVAL: 0x5 is not a blob id" -- dump-blob "$img" 5
expect "dump-blob of a free root page" 1 "EUCLEAN: metadata page 1: crc" -- dump-blob "$img" "$b"
expect "unaligned write" 1 "EINVAL: .*not a multiple of the io unit 4096" -- write "$img" "$a" 100 "$work/small"
expect "read outside the blob" 1 "EINVAL: read blob $a: \[0, \+999999\) is outside" -- read "$img" "$a" 0 999999 "$work/x"
expect "missing input file" 1 "ENOENT: $work/absent" -- write "$img" "$a" 0 "$work/absent"
expect "other bstype" 1 "EMEDIUMTYPE" -- list "$img" --bstype=other
expect "missing image" 1 "ENOENT" -- list "$work/absent.img"
expect "bad xattr name" 1 "EINVAL: xattr name ''" -- set-xattr "$img" "$a" "" v
expect "too big" 1 "ENOSPC" -- resize "$img" "$a" 5000
expect "a failed change leaves the store clean" 0 "^clean +yes$" -- dump-super "$img"

# --- Bad usage: exit 2 naming the problem.
expect "no command" 2 "missing command" --
expect "unknown command" 2 "unknown command 'frob'" -- frob "$img"
expect "missing argument" 2 "resize takes DEV ID CLUSTERS, got 2 arguments" -- resize "$img" "$a"
expect "extra argument" 2 "list takes DEV, got 2 arguments" -- list "$img" extra
expect "id not a number" 2 "ID 'zz' is not a number" -- delete "$img" zz
expect "flag of another command" 2 "list does not take --thin" -- list "$img" --thin
expect "xattr on another command" 2 "delete does not take --xattr" -- delete "$img" "$a" --xattr=a=b
expect "xattr without =" 2 "--xattr wants NAME=VALUE" -- create "$img" --xattr=novalue
expect "unknown flag" 2 "unknown flag --no_such_flag" -- list "$img" --no_such_flag
expect "bad cluster size" 2 "--cluster_size 'big'" -- init "$img" --cluster_size=big
expect "value after --" 0 "" -- set-xattr "$img" "$a" -- -k -v
expect "value after -- read back" 0 "^-v$" -- get-xattr "$img" "$a" -- -k

# --- A store left dirty: read-only commands recover in memory and change nothing on disk.
expect "create without unload" 0 "^0x10000000[0-9a-f]$" -- create "$img" --clusters=1 --xattr=k=v --no_unload
c=$out
expect "dirty super block" 0 "^clean +no$" -- dump-super "$img"
check "dirty state" grep -qE "^state +0x0 \(not clean" <<<"$out"
before=$(cksum <"$img")
expect "list on a dirty store" 0 "note: the store was not unloaded cleanly.*loaded read-only: nothing was written" -- list "$img"
check "list on a dirty store: the new blob" grep -qxF "  xattr k=v" <<<"$out"
expect "stats on a dirty store" 0 "^state +not clean \(masks rebuilt" -- stats "$img"
expect "get-xattr on a dirty store" 0 "^v$" -- get-xattr "$img" "$c" k
expect "read on a dirty store" 0 "read 65536 bytes" -- read "$img" "$c" 0 0 "$work/c"
expect "dump-blob on a dirty store" 0 "chain: valid" -- dump-blob "$img" "$c"
check "read-only commands left the image as it was" test "$(cksum <"$img")" = "$before"
expect "a change recovers the store" 0 "note: the store was not unloaded cleanly" -- set-xattr "$img" "$c" k w
expect "recovered store is clean again" 0 "^clean +yes$" -- dump-super "$img"
expect "recovered change persisted" 0 "^w$" -- get-xattr "$img" "$c" k

# --- A damaged super block: dump-super still shows the page.
cp "$img" "$work/damaged.img"
printf 'XXXX' | dd of="$work/damaged.img" conv=notrunc status=none
expect "dump-super of a damaged store" 1 "EUCLEAN: super block: magic" -- dump-super "$work/damaged.img"
check "dump-super shows the bytes" grep -qE "^  0000: 58 58 58 58 53 54 4f 52 " <<<"$out"
expect "list of a damaged store" 1 "EUCLEAN: super block" -- list "$work/damaged.img"

echo "blobcli cli: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
