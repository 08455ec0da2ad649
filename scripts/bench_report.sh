#!/bin/sh
# Benchmark of `hakmem-analyze report` (not a test): writes synthetic traces
# of 5M and 50M allocator events (plus their kernel records) with
# tests/report/gen_trace, reports on each, and prints records/s and peak
# RSS. Goal: >= 10M events/s, and the same RSS for both sizes (memory must
# not grow with the trace). Rates are given per wall second and per CPU
# second (user + sys): on a busy machine the wall figure mostly measures the
# neighbours, and the load average is printed for that reason.
# For the larger trace it also writes the HTML report (its size, and the time
# headless Chromium takes to draw it: scripts/html_open_time.py) and the
# Perfetto export to /dev/null (its time, bytes and peak RSS: the export is
# a stream, so memory must not grow with the trace either).
#   scripts/bench_report.sh [BUILD_DIR] [EVENTS]   (defaults: build, 50000000)
# Needs about 4 GB of free space in ${TMPDIR:-/tmp} for the 50M trace.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${1:-$ROOT/build}
EVENTS=${2:-50000000}
cmake --build "$BUILD" -j2 --target hakmem-analyze gen_trace >/dev/null
ANALYZE=$BUILD/analyzer/hakmem-analyze
GEN=$BUILD/tests/report/gen_trace
DIR=$(mktemp -d "${TMPDIR:-/tmp}/bench_report.XXXXXX")
trap 'rm -rf "$DIR"' EXIT

run() {
  n=$1
  "$GEN" "$DIR/t.hkt" --events "$n" >"$DIR/gen.out"
  kernel=$(sed -n 's/.* \([0-9]*\) kernel records$/\1/p' "$DIR/gen.out")
  bytes=$(stat -c %s "$DIR/t.hkt")
  # Warm the page cache so the first run does not measure the disk.
  cat "$DIR/t.hkt" >/dev/null
  /usr/bin/time -f "%e %U %S %M" -o "$DIR/time" "$ANALYZE" report "$DIR/t.hkt" >"$DIR/report.txt"
  read -r secs user sys rss_kb <"$DIR/time"
  awk -v n="$n" -v k="$kernel" -v s="$secs" -v u="$user" -v y="$sys" -v rss="$rss_kb" -v b="$bytes" \
      -v load="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN {
    if (s <= 0) s = 0.01;
    cpu = u + y; if (cpu <= 0) cpu = 0.01;
    printf "report: %d allocator events + %d kernel records (%.0f MB): %.2f s wall, %.2f s CPU; " \
           "%.1fM events/s wall, %.1fM events/s CPU (%.1fM records/s CPU); peak RSS %.1f MB; load %s\n",
           n, k, b / 1e6, s, cpu, n / s / 1e6, n / cpu / 1e6, (n + k) / cpu / 1e6, rss / 1024, load
  }'
  if [ "${2:-}" = html ]; then
    "$ANALYZE" report "$DIR/t.hkt" --format html -o "$DIR/t.html"
    python3 "$ROOT/scripts/html_open_time.py" "$DIR/t.html" || true
    /usr/bin/time -f "%e %U %S %M" -o "$DIR/time" "$ANALYZE" export "$DIR/t.hkt" -o /dev/null 2>"$DIR/export.err"
    read -r secs user sys rss_kb <"$DIR/time"
    echo "export: $secs s wall, $user s user, $sys s sys, peak RSS $((rss_kb / 1024)) MB; $(tail -1 "$DIR/export.err")"
  fi
  rm -f "$DIR/t.hkt"
}

run $((EVENTS / 10))
run "$EVENTS" html
