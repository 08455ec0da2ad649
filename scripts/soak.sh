#!/bin/sh
# Soak (not a test): tests/stress/mt_stress for DURATION seconds (default
# 600) with `hakmem-analyze record --no-bpf` attached, printing every
# INTERVAL seconds the target's RSS and its rings' claim counter, backlog
# and drops (read from the ring headers, never by a second reader, which
# would take records from the recorder), then record's summary and the RSS
# curve in brief (first, min, max, last sample).
#   scripts/soak.sh [DURATION_S [THREADS [INTERVAL_S]]]   (BUILD=build)
set -eu
DURATION=${1:-600} THREADS=${2:-8} INTERVAL=${3:-15}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$ROOT/build}
ANALYZE=$BUILD/analyzer/hakmem-analyze
STRESS=$BUILD/tests/stress/stress_mt_stress
for f in "$ANALYZE" "$STRESS"; do
  [ -x "$f" ] || { echo "soak: $f is not built (cmake --build $BUILD)" >&2; exit 2; }
done
OUT=$ROOT/out
mkdir -p "$OUT"
TRACE=$OUT/soak.trace

# The RSS limit is the stress's own check; 2 GiB only catches runaway growth.
"$ANALYZE" record --no-bpf --ring-size 16M -o "$TRACE" -- "$STRESS" "$DURATION" "$THREADS" 2048 \
  >"$OUT/soak.out" 2>"$OUT/soak.err" &
REC=$!
target=""
while [ -z "$target" ] && kill -0 "$REC" 2>/dev/null; do
  sleep 0.1
  target=$(ps -o pid= --ppid "$REC" | head -1 | tr -d ' ')
done
ring_dir=$(tr '\0' '\n' <"/proc/$target/environ" | sed -n 's/^HAKMEM_RING=//p' | xargs dirname)

# ring_format.h: head at byte 64, tail at 128, dropped at 192 of the header.
u64_at() { od -An -t u8 -j "$2" -N 8 "$1" 2>/dev/null | tr -d ' '; }
echo "    time   target RSS  rings  claimed       backlog  dropped"
start=$(date +%s)
samples=""
while kill -0 "$REC" 2>/dev/null; do
  now=$(($(date +%s) - start))
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$target/status" 2>/dev/null || true)
  [ -n "$rss" ] || break
  rings=0 claimed=0 backlog=0 dropped=0
  for r in "$ring_dir"/ring.*; do
    [ -f "$r" ] || continue
    # The tail first: it never passes head, so the backlog read is >= 0.
    t=$(u64_at "$r" 128) h=$(u64_at "$r" 64) d=$(u64_at "$r" 192)
    [ -n "$h" ] && [ -n "$t" ] && [ -n "$d" ] || continue
    rings=$((rings + 1)) claimed=$((claimed + h)) backlog=$((backlog + h - t)) dropped=$((dropped + d))
  done
  printf '%7ss %9s KiB %6s %8s %13s %8s\n' "$now" "$rss" "$rings" "$claimed" "$backlog" "$dropped"
  samples="$samples $rss"
  i=0
  while [ $i -lt "$INTERVAL" ] && kill -0 "$REC" 2>/dev/null; do sleep 1; i=$((i + 1)); done
done
rc=0
wait "$REC" || rc=$?
cat "$OUT/soak.out" "$OUT/soak.err"
echo "$samples" | tr ' ' '\n' | grep . | awk '
  NR == 1 { first = $1; min = $1; max = $1 }
  { if ($1 < min) min = $1; if ($1 > max) max = $1; last = $1 }
  END { printf "soak: RSS over %d samples: first %d KiB, min %d, max %d, last %d\n", NR, first, min, max, last }'
echo "soak: record exited $rc; trace $TRACE"
exit "$rc"
