#!/usr/bin/env bash
# The probe's overhead benchmark (issue 4), not a test: examples/mmap_churn N
# run bare, under the eBPF probe and under `strace -f -o /dev/null`, in the
# same run, alternating, REPS times each; prints the median of the loop time
# mmap_churn reports itself, the ratio to bare, and the probe's lost events.
#   scripts/bench_probe.sh [N]        (default 100000; needs root for the probe)
# Env: HAKMEM_BUILD_DIR (default build/), REPS (default 5),
#      PROBE_VIA=record|bench (default: record if hakmem-analyze has it),
#      BENCH_RT=1 runs every measured command under `chrt -f 10`, so that a
#      busy machine's other work does not blur the comparison.
# Under the probe it runs `hakmem-analyze record --no-preload`; PROBE_VIA=bench
# uses bpf/hakmem-probe-bench, which loads the same probe without writing a
# trace file. A fourth line runs that tool with --no-stacks, to show what the
# user stacks cost. Goal: probe <= 1.2x bare, 0 lost, at N=100000.
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
trap 'rm -f "$trace" "$trace.old" "$errlog"' EXIT

die() { echo "bench_probe: $*" >&2; exit 1; }
[[ -x $churn ]] || die "no $churn: build first (cmake --build $build --target mmap_churn)"
command -v strace >/dev/null || die "strace is not installed"

via=${PROBE_VIA:-}
if [[ -z $via ]]; then
  if [[ -x $analyze ]] && "$analyze" record --help >/dev/null 2>&1; then via=record; else via=bench; fi
fi
case $via in
  record) [[ -x $analyze ]] || die "no $analyze"
          probe_cmd=("$analyze" record --no-preload -o "$trace" --) ;;
  bench)  [[ -x $probe_bench ]] || die "no $probe_bench"
          probe_cmd=("$probe_bench" --) ;;
  *) die "PROBE_VIA must be record or bench" ;;
esac

rt=()
[[ ${BENCH_RT:-0} == 1 ]] && rt=(chrt -f 10)
# One run: prints mmap_churn's own loop time; the tool's stderr goes to $errlog.
run() { "${rt[@]}" "$@" "$churn" "$n" 2>"$errlog"; }
lost_of_last_run() { grep -o 'lost [0-9]*' "$errlog" | tail -1 | cut -d' ' -f2; }
median() { sort -g | awk '{v[NR]=$1} END {print (NR % 2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

bare=() probe=() nostack=() strace_t=() lost=() lost_nostack=()
for ((i = 1; i <= reps; i++)); do
  bare+=("$(run)")
  t=$(run "${probe_cmd[@]}") || die "probe run failed: $(tail -3 "$errlog")"
  probe+=("$t")
  l=$(lost_of_last_run)
  [[ -n $l ]] || die "no lost count in the probe's summary: $(tail -3 "$errlog")"
  lost+=("$l")
  if [[ -x $probe_bench ]]; then
    nostack+=("$(run "$probe_bench" --no-stacks --)")
    l=$(lost_of_last_run)
    lost_nostack+=("${l:-0}")
  fi
  strace_t+=("$(run strace -f -o /dev/null)")
  echo "rep $i/$reps: bare ${bare[-1]} s, probe ${probe[-1]} s, strace ${strace_t[-1]} s" >&2
done

b=$(printf '%s\n' "${bare[@]}" | median)
p=$(printf '%s\n' "${probe[@]}" | median)
s=$(printf '%s\n' "${strace_t[@]}" | median)
max_lost=$(printf '%s\n' "${lost[@]}" | sort -n | tail -1)
echo "mmap_churn $n (1 MiB mmap+munmap pairs), median of $reps, probe via $via$( ((${#rt[@]})) && echo ", under ${rt[*]}"):"
printf '  %-28s %9.3f s\n' "bare" "$b"
printf '  %-28s %9.3f s  %5.2fx  lost %s (max over runs)\n' "probe ($via)" "$p" \
  "$(awk -v a="$p" -v b="$b" 'BEGIN {print a / b}')" "$max_lost"
if ((${#nostack[@]})); then
  q=$(printf '%s\n' "${nostack[@]}" | median)
  printf '  %-28s %9.3f s  %5.2fx  lost %s (max over runs)\n' "probe, no user stacks" "$q" \
    "$(awk -v a="$q" -v b="$b" 'BEGIN {print a / b}')" \
    "$(printf '%s\n' "${lost_nostack[@]}" | sort -n | tail -1)"
fi
printf '  %-28s %9.3f s  %5.2fx\n' "strace -f -o /dev/null" "$s" "$(awk -v a="$s" -v b="$b" 'BEGIN {print a / b}')"
