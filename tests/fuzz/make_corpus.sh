#!/bin/sh
# Regenerates the fuzzers' seed corpus (corpus/): small traces of each shape
# the reader and the analysis meet. Run from a build tree's parent:
#   tests/fuzz/make_corpus.sh build
# Synthetic scenarios (gen_trace, cut to 24 KiB when longer than 32 KiB), record_target under `record` (allocator
# only, and with the probe when it loads), and the first 24 KiB of each
# example's trace in tests/report/data (cut traces, a real shape of input).
set -eu
BUILD=${1:?usage: make_corpus.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=$HERE/corpus
ANALYZE=$BUILD/analyzer/hakmem-analyze
TARGET=$BUILD/tests/record/record_target
mkdir -p "$OUT"
for s in bench seed healthy churn random; do
  "$BUILD/tests/report/gen_trace" "$OUT/gen_$s.hkt" --scenario "$s" --events 100 >/dev/null
done
"$ANALYZE" record --no-bpf -o "$OUT/rec_alloc.hkt" -- "$TARGET" alloc 3000 fork 2>/dev/null
"$ANALYZE" record --no-bpf -o "$OUT/rec_killed.hkt" -- "$TARGET" threads 2 20 2>/dev/null || true
if "$ANALYZE" record -o "$OUT/rec_bpf.hkt" -- "$TARGET" alloc 300 mmap 20 2>/dev/null; then :; else
  rm -f "$OUT/rec_bpf.hkt"
fi
for f in "$HERE"/../report/data/*.hkt; do
  head -c 24576 "$f" >"$OUT/cut_$(basename "$f")"
done
# Seeds beyond the fuzzers' -max_len (32 KiB) are cut, as the examples are.
for f in "$OUT"/*.hkt; do
  if [ "$(wc -c <"$f")" -gt 32768 ]; then
    head -c 24576 "$f" >"$f.cut" && mv "$f.cut" "$f"
  fi
done
rm -f "$OUT"/*.old
ls -l "$OUT"
