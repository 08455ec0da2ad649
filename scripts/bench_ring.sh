#!/usr/bin/env bash
# Cost of the event ring: bench_random_mixed under libhakmem.so with the ring
# off and on, alternating (so drift and noise hit both alike), then the ratio
# of the median throughputs. A benchmark, not a test: it prints numbers.
#   scripts/bench_ring.sh [RUNS [ITERS WS SEED]]   (default 5, the seed's 20000000 400 1234567)
# Env: HAKMEM_BUILD_DIR (default build/), HAKMEM_RING_MODE / HAKMEM_RING_SIZE
# (passed through to the ring-on runs; default stream, 4 MiB).
# Two ratios: wall-clock ops/s, and ops per CPU second of the process (ring
# set-up included). On a machine shared with other work a run may get a
# fraction of a core; CPU time barely moves when that happens, wall time
# does, so trust the CPU ratio there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAKMEM_BUILD_DIR:-$root/build}
runs=${1:-5}
args=("${2:-20000000}" "${3:-400}" "${4:-1234567}")
lib=$build/preload/libhakmem.so
bench=$build/examples/bench_random_mixed
for f in "$lib" "$bench"; do
  [[ -f $f ]] || { echo "bench_ring: $f missing; build first (scripts/build.sh)" >&2; exit 2; }
done
dir=$(mktemp -d /dev/shm/hakmem-bench-ring-XXXXXX)
trap 'rm -rf "$dir"' EXIT

run() {  # run off|on -> "wall_ops_per_s cpu_ops_per_s"
  local out
  if [[ $1 == on ]]; then
    out=$(LD_PRELOAD=$lib HAKMEM_RING=$dir/ring "$bench" "${args[@]}")
    rm -f "$dir"/ring.*
  else
    out=$(env -u HAKMEM_RING LD_PRELOAD=$lib "$bench" "${args[@]}")
  fi
  awk '{
    for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%s %.0f\n", v["ops/s"], v["ops"] / v["cpu_seconds"]
  }' <<<"$out"
}

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

echo "bench_ring: bench_random_mixed ${args[*]}, $runs runs each, ring mode ${HAKMEM_RING_MODE:-stream}"
off_wall=() on_wall=() off_cpu=() on_cpu=()
for ((i = 1; i <= runs; i++)); do
  # Alternate which goes first, so neither always runs on a warmer machine.
  if ((i % 2)); then order=(off on); else order=(on off); fi
  for m in "${order[@]}"; do
    read -r wall cpu < <(run "$m")
    if [[ $m == on ]]; then on_wall+=("$wall") on_cpu+=("$cpu"); else off_wall+=("$wall") off_cpu+=("$cpu"); fi
    printf '  run %d ring %-3s %12.0f ops/s wall %12.0f ops/cpu-s\n' "$i" "$m" "$wall" "$cpu"
  done
done
ratio() {  # ratio LABEL OFF_VALUES... -- ON_VALUES...
  local label=$1 off on
  shift
  off=$(printf '%s\n' "${@:1:runs}" | median)
  on=$(printf '%s\n' "${@:runs+1}" | median)
  awk -v l="$label" -v off="$off" -v on="$on" 'BEGIN {
    printf "%-8s median ring off %12.0f, ring on %12.0f: on/off = %.4f (%+.2f%% slower with the ring; goal under 3%%)\n",
      l, off, on, on / off, (off - on) / off * 100 }'
}
ratio wall "${off_wall[@]}" "${on_wall[@]}"
ratio cpu "${off_cpu[@]}" "${on_cpu[@]}"
