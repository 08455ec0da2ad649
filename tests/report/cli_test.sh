#!/bin/sh
# Command-level tests of report, diff and check: exit codes (0 holds,
# 1 fails, 2 bad input), output shape, and the diagnoses of every trace in
# data/ (each data/NAME.hkt comes with data/NAME.expect: the ids it must
# raise, one per line; every other id must stay silent).
#   cli_test.sh HAKMEM_ANALYZE GEN_TRACE DATA_DIR
set -u
ANALYZE=$1 GEN=$2 DATA=$3
TMP=$(mktemp -d) || exit 1
trap 'rm -rf "$TMP"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
expect_rc() {  # expect_rc RC DESCRIPTION CMD...
  want=$1 what=$2
  shift 2
  "$@" >"$TMP/out" 2>"$TMP/err"
  rc=$?
  [ "$rc" -eq "$want" ] || { fail "$what: exit $rc, want $want"; cat "$TMP/out" "$TMP/err"; }
}
ALL_IDS="lru_unreachable accounting_gap stuck_slabs superslab_churn large_block_churn alignment_trim
foreign_mmap_churn brk_trim_churn dropped_events"

"$GEN" "$TMP/seed.hkt" --scenario seed >/dev/null || fail "gen seed"
"$GEN" "$TMP/healthy.hkt" --scenario healthy >/dev/null || fail "gen healthy"

# report
expect_rc 0 "report text" "$ANALYZE" report "$TMP/seed.hkt"
grep -q "LRU unreachable: 200 LRU lookups, 0 pushes" "$TMP/out" || fail "report text lacks the seed's conclusion"
grep -q "$(printf '\033')" "$TMP/out" && fail "colour written to a pipe"
expect_rc 0 "report json" "$ANALYZE" report --format json "$TMP/seed.hkt"
grep -q '"format_version": 1' "$TMP/out" || fail "json lacks format_version"
expect_rc 2 "report of a missing file" "$ANALYZE" report "$TMP/nope.hkt"
grep -q "nope.hkt" "$TMP/err" || fail "missing-file error does not name the file"
printf 'not a trace at all' >"$TMP/junk.hkt"
expect_rc 2 "report of junk" "$ANALYZE" report "$TMP/junk.hkt"
[ "$(wc -l <"$TMP/err")" -eq 1 ] || fail "junk error is not one line"
head -c 3000 "$TMP/seed.hkt" >"$TMP/cut.hkt"
expect_rc 0 "report of a truncated trace" "$ANALYZE" report "$TMP/cut.hkt"
grep -q "truncated" "$TMP/out" || fail "truncated trace not flagged"

"$GEN" "$TMP/random.hkt" --scenario random --events 200000 >/dev/null || fail "gen random"
expect_rc 0 "report of random records in valid chunks" "$ANALYZE" report "$TMP/random.hkt"
expect_rc 0 "json report of random records" "$ANALYZE" report --format json "$TMP/random.hkt"

# diff
expect_rc 0 "diff" "$ANALYZE" diff "$TMP/seed.hkt" "$TMP/healthy.hkt"
grep -q "gone:.*lru_unreachable" "$TMP/out" || fail "diff does not say lru_unreachable went away"
grep -q "mmap calls.*-88.0%" "$TMP/out" || fail "diff lacks the mmap change"
expect_rc 0 "diff json" "$ANALYZE" diff --format json "$TMP/seed.hkt" "$TMP/healthy.hkt"
expect_rc 2 "diff with a bad file" "$ANALYZE" diff "$TMP/seed.hkt" "$TMP/junk.hkt"

# check
expect_rc 0 "check healthy" "$ANALYZE" check "$TMP/healthy.hkt" --max-syscalls 100 --min-lru-hit-rate 0.5 \
  --max-syscall-share 50 --forbid lru_unreachable --forbid accounting_gap
expect_rc 1 "check seed" "$ANALYZE" check "$TMP/seed.hkt" --max-syscalls 100 --forbid lru_unreachable
grep -q "FAIL max-syscalls: 200 memory syscalls > 100" "$TMP/out" || fail "check does not name the syscall limit"
grep -q "FAIL forbid lru_unreachable" "$TMP/out" || fail "check does not name the diagnosis"
expect_rc 1 "check seed hit rate" "$ANALYZE" check "$TMP/seed.hkt" --min-lru-hit-rate 0.1
expect_rc 2 "check unknown id" "$ANALYZE" check "$TMP/seed.hkt" --forbid no_such_thing
expect_rc 2 "check without limits" "$ANALYZE" check "$TMP/seed.hkt"
expect_rc 2 "check junk" "$ANALYZE" check "$TMP/junk.hkt" --max-syscalls 1
expect_rc 2 "check bad number" "$ANALYZE" check "$TMP/seed.hkt" --min-lru-hit-rate 7

# checked-in recordings made by `record`
for trace in "$DATA"/*.hkt; do
  [ -e "$trace" ] || continue
  name=${trace%.hkt}
  [ -f "$name.expect" ] || { fail "$trace has no .expect"; continue; }
  for id in $ALL_IDS; do
    if grep -qx "$id" "$name.expect"; then want=1; else want=0; fi
    expect_rc $want "$(basename "$trace"): $id" "$ANALYZE" check "$trace" --forbid "$id"
  done
done

[ "$fails" -eq 0 ] && echo "cli_test: all passed"
[ "$fails" -eq 0 ]
