#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, then tells the
# seed's story on examples/bench_random_mixed. It records the workload with
# the TLS SLL drain off (the Phase 9 bug, on purpose) and on (the fix),
# prints both diagnoses and the before/after diff.
#   scripts/demo.sh [ITERS WS SEED]     (default: the seed's 200000 4096 1234567)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAKMEM_BUILD_DIR:-$root/build}
"$root/scripts/install-deps.sh"
mkdir -p "$root/out"
# The build's log goes to a file; the screen is for the story.
echo "== building (log: out/build.log)"
if ! "$root/scripts/build.sh" >"$root/out/build.log" 2>&1; then
  tail -20 "$root/out/build.log" >&2
  echo "demo: the build failed; the whole log is out/build.log" >&2
  exit 1
fi

analyze="$build/analyzer/hakmem-analyze"
bench="$build/examples/bench_random_mixed"
[[ $# -eq 0 ]] && set -- 200000 4096 1234567
args=("$@")
out="$root/out"
mkdir -p "$out"

bpf=()
if [[ $(id -u) -ne 0 ]]; then
  echo "demo: not root, so the kernel probe is off (--no-bpf); run as root for the syscall view" >&2
  bpf=(--no-bpf)
fi

record() {  # record NAME DRAIN_INTERVAL
  echo "== recording $1: HAKMEM_TLS_SLL_DRAIN_INTERVAL=$2 bench_random_mixed ${args[*]}"
  HAKMEM_TLS_SLL_DRAIN_INTERVAL=$2 "$analyze" record "${bpf[@]}" -o "$out/$1.trace" -- "$bench" "${args[@]}"
}
record drain-off 0
record drain-on 1024

for t in drain-off drain-on; do
  echo
  echo "== report: $t"
  "$analyze" report "$out/$t.trace"
done
echo
echo "== diff: drain-off -> drain-on"
"$analyze" diff "$out/drain-off.trace" "$out/drain-on.trace"
