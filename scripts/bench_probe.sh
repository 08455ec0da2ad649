#!/usr/bin/env bash
# The probe's overhead benchmark (issue 4), not a test: examples/mmap_churn N
# run bare, under the eBPF probe (without and with user stacks) and under
# `strace -f -o /dev/null`, in the same run, alternating, REPS times each;
# prints the median of the loop time mmap_churn reports itself, the ratio to
# bare, the probe's lost events, and the median CPU time (user + system) of
# mmap_churn itself with its ratio to bare. The probe's BPF programs run in
# the traced task, so their cost is in its system time; the CPU ratio is the
# one to trust on a loaded machine. The recorder's own CPU is shown apart
# (its summary line); strace's cost is mostly in the tracer and its context
# switches, which the traced task's CPU time does not show.
#   scripts/bench_probe.sh [N]        (default 100000; needs root for the probe)
# Env: HAKMEM_BUILD_DIR (default build/), REPS (default 5),
#      PROBE_VIA=record|bench (default: record if hakmem-analyze has it),
#      BENCH_RT=1 runs every measured command under `chrt -f 10`, so that a
#      busy machine's other work does not blur the comparison.
# Under the probe it runs `hakmem-analyze record --no-preload` (user stacks
# off, the default; a second line adds --stacks); PROBE_VIA=bench uses
# bpf/hakmem-probe-bench, which loads the same probe without writing a trace
# file. Goal: probe <= 1.2x bare, 0 lost, at N=100000.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${HAKMEM_BUILD_DIR:-$root/build}
n=${1:-100000}
reps=${REPS:-5}

churn=$build/examples/mmap_churn
analyze=$build/analyzer/hakmem-analyze
probe_bench=$build/bpf/hakmem-probe-bench
trace=$(mktemp /tmp/hakmem-bench-probe.XXXXXX.trace)
errlog=$(mktemp /tmp/hakmem-bench-probe.XXXXXX.log)
cpulog=$(mktemp /tmp/hakmem-bench-probe.XXXXXX.cpu)
trap 'rm -f "$trace" "$trace.old" "$errlog" "$cpulog"' EXIT

die() { echo "bench_probe: $*" >&2; exit 1; }
[[ -x $churn ]] || die "no $churn: build first (cmake --build $build --target mmap_churn)"
command -v strace >/dev/null || die "strace is not installed"
[[ -x /usr/bin/time ]] || die "GNU time (/usr/bin/time) is not installed"

via=${PROBE_VIA:-}
if [[ -z $via ]]; then
  if [[ -x $analyze ]] && "$analyze" record --help >/dev/null 2>&1; then via=record; else via=bench; fi
fi
case $via in
  record) [[ -x $analyze ]] || die "no $analyze"
          probe_cmd=("$analyze" record --no-preload -o "$trace" --)
          stacks_cmd=("$analyze" record --no-preload --stacks -o "$trace" --) ;;
  bench)  [[ -x $probe_bench ]] || die "no $probe_bench"
          probe_cmd=("$probe_bench" --no-stacks --)
          stacks_cmd=("$probe_bench" --) ;;
  *) die "PROBE_VIA must be record or bench" ;;
esac

rt=()
[[ ${BENCH_RT:-0} == 1 ]] && rt=(chrt -f 10)
# One run: prints mmap_churn's own loop time; the tool's stderr goes to
# $errlog, mmap_churn's user+system seconds to $cpulog.
run() { "${rt[@]}" "$@" /usr/bin/time -f '%U %S' -o "$cpulog" "$churn" "$n" 2>"$errlog"; }
cpu_of_last_run() { awk 'NF == 2 {print $1 + $2}' "$cpulog" | tail -1; }
lost_of_last_run() { grep -o 'lost [0-9]*' "$errlog" | tail -1 | cut -d' ' -f2; }
# The recorder's summary: "recorder:  U s user, S s system".
recorder_cpu_of_last_run() { awk '/recorder:/ {print $2 + $5}' "$errlog" | tail -1; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {print (b > 0 ? a / b : 0)}'; }

declare -A wall cpu lost rec_cpu
# One measured run of `kind`; its loop time is left in $last.
measure() {  # kind [tool command...]
  local kind=$1; shift
  last=$(run "$@") || die "$kind run failed: $(tail -3 "$errlog")"
  wall[$kind]+="$last "
  cpu[$kind]+="$(cpu_of_last_run) "
  [[ $kind == probe || $kind == stacks ]] || return 0
  local l
  l=$(lost_of_last_run)
  [[ -n $l ]] || die "no lost count in the probe's summary: $(tail -3 "$errlog")"
  lost[$kind]+="$l "
  if [[ $via == record ]]; then rec_cpu[$kind]+="$(recorder_cpu_of_last_run) "; fi
}
for ((i = 1; i <= reps; i++)); do
  measure bare; b=$last
  measure probe "${probe_cmd[@]}"; p=$last
  measure stacks "${stacks_cmd[@]}"; k=$last
  measure strace strace -f -o /dev/null; s=$last
  echo "rep $i/$reps: bare $b s, probe $p s, probe+stacks $k s, strace $s s" >&2
done

med() { tr ' ' '\n' <<<"$1" | grep . | median; }
maxof() { tr ' ' '\n' <<<"$1" | grep . | sort -n | tail -1; }
bw=$(med "${wall[bare]}") bc=$(med "${cpu[bare]}")
echo "mmap_churn $n (1 MiB mmap+munmap pairs), median of $reps, probe via $via$( ((${#rt[@]})) && echo ", under ${rt[*]}"):"
printf '  %-28s %8s %7s  %9s %7s  %s\n' "" "wall" "ratio" "CPU" "ratio" "notes"
line() {  # label kind notes
  local w c
  w=$(med "${wall[$2]}") c=$(med "${cpu[$2]}")
  printf '  %-28s %8.3f %6.2fx  %8.2fs %6.2fx  %s\n' "$1" "$w" "$(ratio "$w" "$bw")" "$c" \
    "$(ratio "$c" "$bc")" "$3"
}
probe_notes() {  # kind
  local notes="lost $(maxof "${lost[$1]}") (max over runs)"
  [[ $via == record ]] && notes+=", recorder CPU $(med "${rec_cpu[$1]}") s"
  echo "$notes"
}
line "bare" bare ""
line "probe ($via)" probe "$(probe_notes probe)"
line "probe ($via), user stacks" stacks "$(probe_notes stacks)"
line "strace -f -o /dev/null" strace "tracer's own CPU not counted"
