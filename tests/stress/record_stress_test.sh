#!/bin/sh
# The multi-threaded stress under `hakmem-analyze record --no-bpf`: the run
# must pass its own checks (patterns, peak RSS) with the recorder attached,
# and the trace must hold every record the rings say were written. A ring's
# writers claim slots by advancing `head`; head = read + dropped + torn
# (ring_format.h), so with dropped, overwritten and torn all 0 every claimed
# record was read, and the trace must hold exactly the records read.
#   record_stress_test.sh HAKMEM_ANALYZE STRESS_PROGRAM SECONDS THREADS RSS_LIMIT_MIB
set -eu
ANALYZE=$1 PROG=$2 SECONDS_=$3 THREADS=$4 LIMIT=$5
DIR=$(mktemp -d /tmp/hk-record-stress.XXXXXX)
trap 'rm -rf "$DIR"' EXIT
fail() { echo "record_stress_test: $*" >&2; exit 1; }

# 64 MiB rings: a ring sized for the load drops nothing; what is tested is
# that nothing is lost between the rings and the file.
"$ANALYZE" record --no-bpf --ring-size 64M -o "$DIR/t.trace" -- "$PROG" "$SECONDS_" "$THREADS" "$LIMIT" \
  >"$DIR/out" 2>"$DIR/err" || fail "record exited $?: $(cat "$DIR/err")"
cat "$DIR/out"
line=$(grep '^  allocator:' "$DIR/err") || fail "no allocator summary: $(cat "$DIR/err")"
echo "$line"
# "  allocator: N events from R rings; dropped D, overwritten O, torn T"
set -- $(echo "$line" | sed 's/[^0-9 ]//g')
events=$1 rings=$2 dropped=$3 overwritten=$4 torn=$5
[ "$rings" -ge 2 ] || fail "expected the process and its forked children's rings, got $rings"
[ "$events" -gt 1000 ] || fail "only $events events recorded"
[ "$dropped" -eq 0 ] && [ "$overwritten" -eq 0 ] && [ "$torn" -eq 0 ] ||
  fail "rings lost records: dropped $dropped, overwritten $overwritten, torn $torn"
in_trace=$("$ANALYZE" events --json --source alloc "$DIR/t.trace" | wc -l)
[ "$in_trace" -eq "$events" ] || fail "the rings gave $events records, the trace holds $in_trace"
"$ANALYZE" report --format json "$DIR/t.trace" >"$DIR/report.json"
python3 - "$DIR/report.json" "$events" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
t = r["trace"]
assert t["complete"], "trace not complete"
assert t["allocator_events"] == int(sys.argv[2]), (t["allocator_events"], sys.argv[2])
PY
echo "record_stress_test: $events records from $rings rings, all in the trace"
