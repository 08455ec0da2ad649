#!/usr/bin/env bash
# Issue 6's benchmark: hakmem side by side with glibc, mimalloc, jemalloc and
# tcmalloc on every workload in examples/. Installs the peer allocators,
# builds, then measures (scripts/bench.py does the measuring and the table).
#   scripts/bench.sh [--quick] [--reps N] [--only WORKLOAD[,..]] [--alloc LIST]
#                    [--recorder auto|on|off] [--judge wall|cpu] [--rt] [--no-strace]
#                    [--json PATH] [--timeout S] [--no-build]
#   scripts/bench.sh --no-build --replay out/bench.json [--judge cpu]
#                    (prints a saved run's table and goals again, runs nothing)
# Env: HAKMEM_BUILD_DIR (default build/), HAKMEM_BENCH_REPS (default 5).
# Output: one table on stdout, progress on stderr, JSON in out/bench.json.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAKMEM_BUILD_DIR:-$root/build}

build_first=1
args=()
for a in "$@"; do
  if [[ $a == --no-build ]]; then build_first=0; else args+=("$a"); fi
done

"$root/scripts/install-deps.sh" --bench
if ((build_first)); then
  # Build progress goes to stderr: stdout carries the table alone.
  HAKMEM_BUILD_DIR=$build "$root/scripts/build.sh" >&2
fi
cd "$root"
exec python3 "$root/scripts/bench.py" --build "$build" "${args[@]}"
