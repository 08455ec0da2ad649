#!/usr/bin/env bash
# ring-dump from the command line: text and JSON output, --follow on a live
# writer, and one-line errors with exit code 2 for hostile or missing rings.
#   ring_dump_cli_test.sh HAKMEM_ANALYZE RING_EXEC_HELPER
set -euo pipefail
analyze=$1 helper=$2
dir=$(mktemp -d /dev/shm/hakmem-ring-cli-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A finished writer: the helper logs its ring mapping and one thread_start record.
mkdir "$dir/a"
HAKMEM_RING=$dir/a/ring "$helper" </dev/null
"$analyze" ring-dump "$dir/a/ring" >"$dir/text" 2>"$dir/err" || fail "text dump exited $?"
grep -q '^# ring pid=' "$dir/text" || fail "no ring header line"
grep -q ' os_mmap reason=ring addr=0x' "$dir/text" || fail "no os_mmap line: $(cat "$dir/text")"
grep -q ' thread_start pid=' "$dir/text" || fail "no thread_start line: $(cat "$dir/text")"
grep -q '2 records, 0 dropped, 0 overwritten, 0 torn; writer [0-9]* exited cleanly' "$dir/err" ||
  fail "summary: $(cat "$dir/err")"
"$analyze" ring-dump --json "$dir/a/ring" >"$dir/json" 2>/dev/null || fail "json dump exited $?"
python3 - "$dir/json" <<'PY' || fail "json lines"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["type"] for r in recs] == ["os_mmap", "thread_start"], recs
assert recs[0]["reason"] == "ring" and recs[0]["addr"].startswith("0x"), recs[0]
assert all(isinstance(r["ts_ns"], int) and r["tid"] > 0 for r in recs), recs
PY

# --follow on a live writer: it prints what was committed and stops once the
# writer is gone (the helper waits for its stdin to close).
mkdir "$dir/b"
mkfifo "$dir/b.fifo"
HAKMEM_RING=$dir/b/ring "$helper" <"$dir/b.fifo" &
writer=$!
exec 3>"$dir/b.fifo"
for _ in $(seq 200); do [[ -n $(ls "$dir/b") ]] && break; sleep 0.05; done
"$analyze" ring-dump --follow "$dir/b/ring" >"$dir/follow" 2>"$dir/ferr" 3>&- &
dumper=$!
sleep 0.3
kill -0 $dumper 2>/dev/null || fail "--follow returned while the writer runs"
exec 3>&-
wait $writer
wait $dumper || fail "--follow exited $?"
grep -q ' thread_start pid=' "$dir/follow" || fail "--follow missed the thread_start record"

# Hostile input: exit code 2 and exactly one line on stderr.
expect_bad() {  # expect_bad FILE WHAT
  local rc=0
  "$analyze" ring-dump "$1" >/dev/null 2>"$dir/bad.err" || rc=$?
  [[ $rc -eq 2 ]] || fail "$2: exit code $rc, want 2"
  [[ $(wc -l <"$dir/bad.err") -eq 1 ]] || fail "$2: stderr is not one line: $(cat "$dir/bad.err")"
}
head -c 4352 /dev/urandom >"$dir/random"
expect_bad "$dir/random" "random bytes"
: >"$dir/empty"
expect_bad "$dir/empty" "empty file"
expect_bad "$dir/missing" "missing ring"
mkdir "$dir/c"
HAKMEM_RING=$dir/c/ring "$helper" </dev/null
HAKMEM_RING=$dir/c/ring "$helper" </dev/null
expect_bad "$dir/c/ring" "ambiguous prefix"
grep -q '2 rings match' "$dir/bad.err" || fail "ambiguous prefix message: $(cat "$dir/bad.err")"
echo "ring-dump CLI: ok"
