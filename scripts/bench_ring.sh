#!/usr/bin/env bash
# Cost of the event ring: bench_random_mixed under libhakmem.so with the ring
# off and on, alternating (so drift and noise hit both alike), then the ratio
# of the median throughputs. A benchmark, not a test: it prints numbers.
#   scripts/bench_ring.sh [RUNS [ITERS WS SEED]]   (default 5, the seed's 20000000 400 1234567)
# Env: HAKMEM_BUILD_DIR (default build/), HAKMEM_RING_MODE (default stream).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAKMEM_BUILD_DIR:-$root/build}
runs=${1:-5}
args=("${2:-20000000}" "${3:-400}" "${4:-1234567}")
lib=$build/preload/libhakmem.so
bench=$build/examples/bench_random_mixed
for f in "$lib" "$bench"; do
  [[ -x $f || -f $f ]] || { echo "bench_ring: $f missing; build first (scripts/build.sh)" >&2; exit 2; }
done
dir=$(mktemp -d /dev/shm/hakmem-bench-ring-XXXXXX)
trap 'rm -rf "$dir"' EXIT

run() {  # run off|on -> ops/s
  local out
  if [[ $1 == on ]]; then
    out=$(LD_PRELOAD=$lib HAKMEM_RING=$dir/ring "$bench" "${args[@]}")
    rm -f "$dir"/ring.*
  else
    out=$(env -u HAKMEM_RING LD_PRELOAD=$lib "$bench" "${args[@]}")
  fi
  sed -n 's/.*ops\/s=\([0-9.]*\).*/\1/p' <<<"$out"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "bench_ring: bench_random_mixed ${args[*]}, $runs runs each, ring mode ${HAKMEM_RING_MODE:-stream}"
off=() on=()
for ((i = 1; i <= runs; i++)); do
  # Alternate which goes first, so neither always runs on a warmer machine.
  if ((i % 2)); then order=(off on); else order=(on off); fi
  for m in "${order[@]}"; do
    v=$(run "$m")
    if [[ $m == on ]]; then on+=("$v"); else off+=("$v"); fi
    printf '  run %d ring %-3s %12.0f ops/s\n' "$i" "$m" "$v"
  done
done
moff=$(printf '%s\n' "${off[@]}" | median)
mon=$(printf '%s\n' "${on[@]}" | median)
awk -v off="$moff" -v on="$mon" 'BEGIN {
  printf "median ops/s: ring off %.0f, ring on %.0f\n", off, on
  printf "ring on / off = %.4f (%+.2f%% slower with the ring; goal: under 3%%)\n", on / off, (off - on) / off * 100
}'
