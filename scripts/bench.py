#!/usr/bin/env python3
"""Side-by-side allocator benchmark for issue 6 (scripts/bench.sh calls it).

Runs every workload in examples/ under glibc, mimalloc, jemalloc, tcmalloc and
hakmem, each preloaded with LD_PRELOAD, and hakmem once more with a recorder
attached (`hakmem-analyze record`, ring and probe) when that is available.

- Runs alternate: for each workload, every repetition runs each allocator
  once, in an order that rotates with the repetition, so drift on a shared
  machine hits every allocator alike. The table shows medians.
- Per run: the program's own result (ops/s, or seconds when that is all it
  prints) and peak RSS (/usr/bin/time -f %M).
- Memory syscalls (mmap, munmap, mremap, madvise, brk; whole process, the
  loader's included) come from ONE separate `strace -f -c` run per allocator
  and workload, plus one at a tenth of the operations: if the count grows
  with the operation count rather than with the footprint, it shows.

Prints one table and writes the same data as JSON. Standard library only.
"""
import argparse
import datetime
import json
import os
import platform
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

LIBDIR = "/usr/lib/x86_64-linux-gnu"
PEER_LIBS = {
    "glibc": None,
    "mimalloc": f"{LIBDIR}/libmimalloc.so.2",
    "jemalloc": f"{LIBDIR}/libjemalloc.so.2",
    "tcmalloc": f"{LIBDIR}/libtcmalloc_minimal.so.4",
}
PEERS = list(PEER_LIBS)
HAKMEM = "hakmem"
RECORDED = "hakmem+rec"  # hakmem under `hakmem-analyze record` (ring + probe)
MEMORY_SYSCALLS = ("mmap", "munmap", "mremap", "madvise", "brk")
SMALL = 10  # the syscall-scaling run does 1/SMALL of the operations
SPEED_GOAL_1040 = 1.2  # issue 6: random_mixed 16..1040 >= 1.2x mimalloc
RSS_GOAL = 1.25        # issue 6: peak RSS <= 1.25x the best peer's
RECORDER_GOAL = 0.03   # issue 6: recorder attached costs at most 3%


class Workload:
    """One program invocation. `ops_arg` indexes the argument that sets the
    amount of work (None: the program has no such knob), so that the syscall
    run can be scaled down to 1/SMALL of the operations."""

    def __init__(self, name, program, full, quick, ops_arg):
        self.name, self.program = name, program
        self.full, self.quick, self.ops_arg = full, quick, ops_arg

    def args(self, quick, divisor=1):
        args = list(self.quick if quick else self.full)
        if divisor > 1:
            args[self.ops_arg] = str(max(1, int(args[self.ops_arg]) // divisor))
        return args


def random_mixed(lo, hi):
    return Workload(f"random_mixed_{lo}_{hi}", "bench_random_mixed",
                    ["20000000", "400", "1234567", str(lo), str(hi)],
                    ["1000000", "400", "1234567", str(lo), str(hi)], 0)


WORKLOADS = [
    random_mixed(16, 1040),
    random_mixed(16, 2048),
    random_mixed(16, 32768),
    Workload("random_mixed_seed", "bench_random_mixed",
             ["200000", "4096", "1234567"], ["200000", "4096", "1234567"], 0),
    Workload("fill_free_all", "fill_free_all", ["400", "20000", "1234567"],
             ["20", "20000", "1234567"], 0),
    Workload("producer_consumer", "producer_consumer", ["5000000"], ["100000"], 0),
    Workload("mt_random_mixed_2t", "bench_mt_random_mixed",
             ["2", "25000000", "400", "1234567"], ["2", "500000", "400", "1234567"], 1),
    Workload("mt_random_mixed_4t", "bench_mt_random_mixed",
             ["4", "25000000", "400", "1234567"], ["4", "500000", "400", "1234567"], 1),
    Workload("large_block_loop", "large_block_loop", ["300000", "1"], ["2000", "1"], 0),
    Workload("larson", "larson", ["4", "600"], ["4", "10"], 1),
    # Issue 15: the shapes of well-known allocator benchmarks, written here
    # from their descriptions (examples/*.c say which).
    Workload("stress_large_small", "stress_large_small", ["4", "50", "25", "1"],
             ["4", "5", "2", "1"], 2),
    Workload("large_buffer_swap", "large_buffer_swap", ["500", "20", "1"],
             ["20", "20", "1"], 0),
    Workload("fixed_size_batches", "fixed_size_batches", ["1200", "1"], ["20", "1"], 0),
    Workload("tree_builder", "tree_builder", ["4000000", "20000", "1"],
             ["200000", "20000", "1"], 0),
    Workload("mt_mixed_sizes_8t", "mt_mixed_sizes", ["8", "1500000", "2000", "1"],
             ["8", "50000", "2000", "1"], 1),
]

NUMBER = r"([0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?)"
FIELDS = {name: re.compile(r"(?<![\w/])" + re.escape(name) + r"\s*[=:]\s*" + NUMBER)
          for name in ("ops/s", "ops", "seconds", "cpu_seconds")}


def parse_result(output):
    """(metric, value, cpu_value) from the program's result line.

    metric is "ops/s" when the line has it (higher is better), else
    "seconds" (lower is better). cpu_value is the same measure per CPU second
    (ops / cpu_seconds, or cpu_seconds itself), None when the program does
    not print its CPU time. All None when there is no result line."""
    for line in reversed(output.splitlines()):
        f = {k: float(m.group(1)) for k, rx in FIELDS.items() if (m := rx.search(line))}
        cpu = f.get("cpu_seconds")
        if "ops/s" in f:
            per_cpu = f["ops"] / cpu if cpu and "ops" in f else None
            return "ops/s", f["ops/s"], per_cpu
        if "seconds" in f:
            return "seconds", f["seconds"], cpu
    return None, None, None


def run(cmd, env, timeout):
    """Runs cmd to completion; returns (exit code or "timeout", output, peak
    RSS in KiB, wall seconds).

    The RSS comes from /usr/bin/time -f %M. Python's own wait4() would not do:
    the kernel carries the high-water mark of the process that exec()s, so a
    child spawned from Python starts at Python's RSS; /usr/bin/time forks
    from a process a few MiB small."""
    with tempfile.NamedTemporaryFile(suffix=".rss") as rss_file:
        timed = ["/usr/bin/time", "-f", "%M %e", "-o", rss_file.name] + cmd
        # A session of its own, so that a timeout kills the program under
        # time (and a recorder's children), not only time itself.
        proc = subprocess.Popen(timed, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            out = proc.communicate(timeout=timeout)[0].decode(errors="replace")
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return "timeout", "", 0, timeout
        # time may write "Command exited with non-zero status N" first.
        fields = open(rss_file.name, encoding="utf-8").read().split()
        try:
            rss, wall = int(fields[-2]), float(fields[-1])
        except (IndexError, ValueError):
            rss, wall = 0, 0.0
        return proc.returncode, out, rss, wall


class Allocators:
    """Knows how to start a program under each allocator."""

    def __init__(self, build, trace):
        self.build = build
        self.hakmem_lib = os.path.join(build, "preload", "libhakmem.so")
        self.analyzer = os.path.join(build, "analyzer", "hakmem-analyze")
        self.trace = trace

    def lib(self, name):
        return self.hakmem_lib if name in (HAKMEM, RECORDED) else PEER_LIBS[name]

    @staticmethod
    def env():
        return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}

    def command(self, name, program_cmd):
        """The command line that runs program_cmd under allocator `name`.
        env(1) puts the preload on the program alone, not on /usr/bin/time."""
        if name == RECORDED:
            return (["env", f"HAKMEM_LIB={self.hakmem_lib}", self.analyzer, "record",
                     "-o", self.trace, "--"] + program_cmd)
        lib = self.lib(name)
        return (["env", f"LD_PRELOAD={lib}"] if lib else []) + program_cmd

    def discard_trace(self):
        """Traces are only a by-product here; keep /tmp from filling up."""
        if os.path.exists(self.trace):
            os.remove(self.trace)

    def missing(self, name):
        """Why an allocator cannot run here, or None."""
        lib = self.lib(name)
        if lib and not os.path.exists(lib):
            return f"{lib} not found"
        if name == RECORDED:
            if not os.access(self.analyzer, os.X_OK):
                return f"{self.analyzer} not found"
            code, out, _, _ = run(self.command(name, ["/bin/true"]), self.env(), 60)
            self.discard_trace()
            if code != 0:
                last = out.strip().splitlines()[-1] if out.strip() else ""
                return f"`hakmem-analyze record -- /bin/true` failed (exit {code}): {last}"
        return None


def count_memory_syscalls(allocators, name, cmd, timeout):
    """One `strace -f -c` run; returns {syscall: calls} for MEMORY_SYSCALLS
    plus "total", or {"error": why}."""
    with tempfile.NamedTemporaryFile(suffix=".strace") as summary:
        strace = ["strace", "-f", "-c", "-o", summary.name,
                  "-e", "trace=" + ",".join(MEMORY_SYSCALLS)]
        # -E rather than env(1): env's own loader mmaps would be counted too.
        lib = allocators.lib(name)
        if lib:
            strace += ["-E", f"LD_PRELOAD={lib}"]
        code, out, _, _ = run(strace + cmd, allocators.env(), timeout)
        if code != 0:
            return {"error": f"exit {code}"}
        counts = {s: 0 for s in MEMORY_SYSCALLS}
        for line in open(summary.name, encoding="utf-8", errors="replace"):
            fields = line.split()
            # "% time seconds usecs/call calls [errors] syscall"
            if len(fields) >= 5 and fields[-1] in counts and fields[3].isdigit():
                counts[fields[-1]] = int(fields[3])
        counts["total"] = sum(counts[s] for s in MEMORY_SYSCALLS)
        return counts


def syscall_growth(result):
    """Memory syscalls added by going from 1/SMALL of the ops to all of them."""
    big, small = result.get("memsys", {}), result.get("memsys_small", {})
    if "total" in big and "total" in small:
        return big["total"] - small["total"]
    return None


def speed_ratio(metric, hakmem, other):
    """How many times faster hakmem is than `other` (>1: hakmem is faster)."""
    if not hakmem or not other:
        return None
    return hakmem / other if metric == "ops/s" else other / hakmem


def median(values):
    return statistics.median(values) if values else None


def measure_workload(wl, allocs, allocators, opts, program_dir, log):
    program = os.path.join(program_dir, wl.program)
    entry = {"workload": wl.name, "program": wl.program, "args": wl.args(opts.quick),
             "metric": None, "results": {}}
    if not os.access(program, os.X_OK):
        entry["error"] = f"{program} not built"
        log(f"  {wl.name}: skipped, {entry['error']}")
        return entry
    cmd = [program] + wl.args(opts.quick)
    for a in allocs:
        entry["results"][a] = {"runs": []}

    for rep in range(opts.reps):
        order = allocs[rep % len(allocs):] + allocs[:rep % len(allocs)]
        for a in order:
            code, out, rss, wall = run(opts.rt_prefix + allocators.command(a, cmd),
                                       allocators.env(), opts.timeout)
            allocators.discard_trace()
            metric, value, cpu_value = parse_result(out) if code == 0 else (None,) * 3
            run_entry = {"rep": rep, "exit": code, "value": value, "cpu_value": cpu_value,
                         "rss_kib": rss, "wall_seconds": wall}
            if code != 0 or value is None:
                run_entry["output_tail"] = out.strip().splitlines()[-3:]
                log(f"  {wl.name} {a} rep {rep}: FAILED (exit {code}) "
                    f"{' | '.join(run_entry['output_tail'])}")
            else:
                entry["metric"] = entry["metric"] or metric
            entry["results"][a]["runs"].append(run_entry)
        log(f"  {wl.name} rep {rep + 1}/{opts.reps} done")

    if not opts.no_strace:
        for a in allocs:
            if a == RECORDED:  # the probe and strace would trace the same calls
                continue
            r = entry["results"][a]
            r["memsys"] = count_memory_syscalls(allocators, a, cmd, opts.timeout * 4)
            if wl.ops_arg is not None:
                small = [program] + wl.args(opts.quick, SMALL)
                r["memsys_small"] = count_memory_syscalls(allocators, a, small,
                                                          opts.timeout * 4)
        log(f"  {wl.name} strace runs done")

    for a, r in entry["results"].items():
        ok = [x for x in r["runs"] if x["value"] is not None]
        r["median"] = median([x["value"] for x in ok])
        r["min"] = min((x["value"] for x in ok), default=None)
        r["max"] = max((x["value"] for x in ok), default=None)
        r["cpu_median"] = median([x["cpu_value"] for x in ok if x["cpu_value"]])
        r["rss_median_kib"] = median([x["rss_kib"] for x in ok])
        r["failed_runs"] = len(r["runs"]) - len(ok)
    hk = entry["results"].get(HAKMEM)
    for a, r in entry["results"].items():
        # The recorded run is judged against untraced hakmem (see goals()),
        # not given a hakmem-vs-peer ratio.
        if hk and a not in (HAKMEM, RECORDED):
            r["hakmem_speed_ratio"] = speed_ratio(entry["metric"], hk["median"], r["median"])
            r["hakmem_cpu_ratio"] = speed_ratio(entry["metric"], hk["cpu_median"],
                                                r["cpu_median"])
            if hk["rss_median_kib"] and r["rss_median_kib"]:
                r["hakmem_rss_ratio"] = hk["rss_median_kib"] / r["rss_median_kib"]
    return entry


def goals(entries, allocs, judge):
    """Issue 6's "done when" list, judged on these numbers. `judge` picks the
    speed measure: "wall" (the programs' ops/s, as the issue states it) or
    "cpu" (per CPU second; steadier on a shared machine). Both are shown."""
    out = []
    key = "hakmem_speed_ratio" if judge == "wall" else "hakmem_cpu_ratio"
    other = "hakmem_cpu_ratio" if judge == "wall" else "hakmem_speed_ratio"
    other_name = "cpu" if judge == "wall" else "wall"

    def add(workload, goal, value, ok, detail):
        out.append({"workload": workload, "goal": goal, "value": value,
                    "pass": ok, "detail": detail})

    def also(r):
        return f" ({other_name}: {r:.2f}x)" if r is not None else ""

    measure = "value" if judge == "wall" else "cpu_value"

    def spread(r):
        """Half the min..max range of one cell's runs over their median, on
        the judged measure: how far one run strays on this machine."""
        vals = sorted(x[measure] for x in r["runs"] if x.get(measure))
        if len(vals) < 2:
            return 0.0
        return (vals[-1] - vals[0]) / 2 / statistics.median(vals)

    def noise(ratio, limit, *cells):
        """A verdict whose ratio is closer to its limit than the runs' own
        spread could flip on a rerun; say so next to it."""
        s = sum(spread(c) for c in cells)
        return (f"; within the runs' spread (±{100 * s:.0f}%)"
                if abs(ratio - limit) <= s * ratio else "")

    if HAKMEM not in allocs:
        return out
    for e in entries:
        res = e["results"]
        hk = res.get(HAKMEM)
        if not hk or hk["median"] is None:
            if not e.get("error"):
                add(e["workload"], "hakmem runs", None, False, "no successful hakmem run")
            continue
        peers = {p: res[p] for p in PEERS if p in res and res[p].get(key) is not None}
        if e["workload"] == "random_mixed_16_1040" and "mimalloc" in peers:
            r = peers["mimalloc"][key]
            add(e["workload"], f">= {SPEED_GOAL_1040}x mimalloc", r, r >= SPEED_GOAL_1040,
                f"hakmem/mimalloc = {r:.2f}x{also(peers['mimalloc'].get(other))}")
        if peers:
            best = min(peers, key=lambda p: peers[p][key])
            r = peers[best][key]
            add(e["workload"], ">= 1.0x best peer speed", r, r >= 1.0,
                f"best peer {best}: hakmem is {r:.2f}x as fast{also(peers[best].get(other))}"
                f"{noise(r, 1.0, hk, peers[best])}")
        rss_peers = {p: res[p] for p in PEERS if p in res and res[p]["rss_median_kib"]}
        if rss_peers and hk["rss_median_kib"]:
            lean = min(rss_peers, key=lambda p: rss_peers[p]["rss_median_kib"])
            r = hk["rss_median_kib"] / rss_peers[lean]["rss_median_kib"]
            add(e["workload"], f"RSS <= {RSS_GOAL}x best peer", r, r <= RSS_GOAL,
                f"leanest peer {lean}: hakmem RSS is {r:.3f}x")
        growth = syscall_growth(hk)
        peer_growth = {p: syscall_growth(res[p]) for p in PEERS
                       if p in res and syscall_growth(res[p]) is not None}
        if growth is not None and peer_growth:
            # The footprint is about the same at 1/SMALL of the operations, so
            # an allocator whose syscalls follow the footprint adds none. Some
            # workloads add syscalls of their own with more work (larson's
            # thread stacks), which is why the least-growing peer is the
            # baseline; the slack absorbs jitter.
            lean = min(peer_growth, key=peer_growth.get)
            ok = growth <= 1.5 * max(peer_growth[lean], 0) + 16
            add(e["workload"], "memory syscalls flat in op count", growth, ok,
                f"{SMALL}x the ops adds {growth} syscalls "
                f"({hk['memsys']['total']} vs {hk['memsys_small']['total']}); "
                f"least-growing peer {lean} adds {peer_growth[lean]}")
        rec = res.get(RECORDED)
        if rec and rec["median"] is not None:
            wall = speed_ratio(e["metric"], rec["median"], hk["median"])
            cpu = speed_ratio(e["metric"], rec["cpu_median"], hk["cpu_median"])
            r, o = (wall, cpu) if judge == "wall" else (cpu, wall)
            if r is not None:
                add(e["workload"], f"recorder within {RECORDER_GOAL:.0%}", r,
                    r >= 1 - RECORDER_GOAL,
                    f"traced runs at {r:.3f}x untraced speed{also(o)}"
                    f"{noise(r, 1 - RECORDER_GOAL, hk, rec)}")
    return out


def fmt_value(metric, v):
    if v is None:
        return "-"
    if metric == "seconds":
        return f"{v:.3f} s"
    return f"{v / 1e6:.2f}M" if v >= 1e5 else f"{v:.0f}"


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}x"


def fmt_memsys(r):
    big, small = r.get("memsys"), r.get("memsys_small")
    if not big:
        return "-"
    if "error" in big:
        return "err"
    return f"{big['total']}" + (f" ({small['total']})" if small and "total" in small else "")


def print_table(entries, allocs, opts, notes):
    header = ["workload", "allocator", "median", "spread", "hakmem x", "per CPU-s",
              "hakmem x CPU", "RSS MiB", "hakmem RSS x", f"mem syscalls (1/{SMALL} ops)"]
    rows = []
    for e in entries:
        if e.get("error"):
            notes = notes + [f"{e['workload']} skipped: {e['error']}"]
            continue
        unit = "ops/s" if e["metric"] != "seconds" else "seconds"
        for a in allocs:
            r = e["results"][a]
            spread = "-"
            if r["median"] and r["min"] is not None:
                spread = f"±{100 * (r['max'] - r['min']) / 2 / r['median']:.1f}%"
            rss = r["rss_median_kib"]
            median_text = fmt_value(e["metric"], r["median"]) if r["median"] else "FAIL"
            if r["failed_runs"]:
                median_text += f" ({r['failed_runs']} failed)"
            rows.append([e["workload"] + ("" if a != allocs[0] else f" [{unit}]"), a,
                         median_text, spread,
                         fmt_ratio(r.get("hakmem_speed_ratio")),
                         fmt_value(e["metric"], r["cpu_median"]),
                         fmt_ratio(r.get("hakmem_cpu_ratio")),
                         f"{rss / 1024:.1f}" if rss else "-",
                         fmt_ratio(r.get("hakmem_rss_ratio")),
                         fmt_memsys(r)])
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    line = "  ".join("-" * w for w in widths)
    print()
    print("  ".join(h.ljust(w) for h, w in zip(header, widths)))
    print(line)
    for r in rows:
        print("  ".join(str(c).rjust(w) if i >= 2 else str(c).ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths))))
    print(line)
    print(f"median of {opts.reps} run(s) per cell, allocators alternating; spread = half the "
          "min..max range of the wall-clock result.")
    print("hakmem x = how many times faster hakmem is than that allocator, wall clock "
          "(>1: hakmem faster; for [seconds] rows, that allocator's time / hakmem's).")
    print("per CPU-s = ops per CPU second of the whole process (all threads, set-up "
          "included); hakmem x CPU = the same ratio on that measure, which a busy machine "
          "disturbs far less than the wall clock.")
    print("hakmem RSS x = hakmem's peak RSS / that allocator's (<1: hakmem smaller). "
          "RSS = ru_maxrss of the process.")
    if not opts.no_strace:
        print("mem syscalls = mmap+munmap+mremap+madvise+brk of the whole process from ONE "
              f"`strace -f -c` run per cell; in brackets, one run at 1/{SMALL} of the ops.")
    for n in notes:
        print("note: " + n)


def print_goals(gs, judge):
    if not gs:
        return
    print(f"\nissue 6 goals (hakmem; speed judged on {judge} clock):")
    for g in gs:
        print(f"  {'PASS' if g['pass'] else 'FAIL'}  {g['workload']:<21} {g['goal']:<34} "
              f"{g['detail']}")


def source_revision():
    """The commit of the tree the bench runs from ("+dirty" when it has local
    changes), so a saved JSON says which allocator it measured."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "status", "--porcelain"],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def replay(opts):
    try:
        with open(opts.replay, encoding="utf-8") as f:
            doc = json.load(f)
        allocs, entries = list(doc["allocators"]), doc["workloads"]
        opts.reps, opts.no_strace = doc["reps"], False
    except (OSError, ValueError, KeyError, TypeError) as e:
        print(f"bench: cannot replay {opts.replay}: {e}", file=sys.stderr)
        return 2
    gs = goals(entries, allocs, opts.judge)
    print_table(entries, allocs, opts, doc.get("notes", []))
    print_goals(gs, opts.judge)
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default=os.environ.get("HAKMEM_BUILD_DIR", "build"),
                    help="build directory (examples/, preload/libhakmem.so, analyzer/)")
    ap.add_argument("--quick", action="store_true", help="short iteration counts (smoke run)")
    ap.add_argument("--reps", type=int, default=int(os.environ.get("HAKMEM_BENCH_REPS", 5)),
                    help="repetitions per allocator and workload (default 5, env "
                         "HAKMEM_BENCH_REPS)")
    ap.add_argument("--only", help="comma list of workloads (name or prefix, e.g. random_mixed)")
    ap.add_argument("--alloc", default=",".join(PEERS + [HAKMEM]),
                    help="comma list from: " + ", ".join(PEERS + [HAKMEM, RECORDED]))
    ap.add_argument("--recorder", choices=("auto", "on", "off"), default="auto",
                    help="add hakmem under `hakmem-analyze record` (auto: when hakmem is "
                         "benchmarked and the recorder works)")
    ap.add_argument("--judge", choices=("wall", "cpu"), default="wall",
                    help="speed measure the goals are judged on: wall-clock ops/s (the "
                         "issue's) or ops per CPU second (steadier on a busy machine)")
    ap.add_argument("--rt", action="store_true",
                    help="run measured commands under `chrt -f 10` so that other work on a "
                         "busy machine cannot preempt them (starves that work meanwhile)")
    ap.add_argument("--no-strace", action="store_true", help="skip the syscall-count runs")
    ap.add_argument("--json", default="out/bench.json", help="JSON output path")
    ap.add_argument("--replay", metavar="JSON",
                    help="print the table and goals of a saved run again (e.g. with another "
                         "--judge); runs nothing")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per run before it counts as failed (default 600, quick 60)")
    opts = ap.parse_args()
    opts.timeout = opts.timeout or (60 if opts.quick else 600)
    opts.rt_prefix = ["chrt", "-f", "10"] if opts.rt else []
    if opts.reps < 1:
        ap.error("--reps must be at least 1")

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    if opts.replay:
        return replay(opts)

    allocs = [a.strip() for a in opts.alloc.split(",") if a.strip()]
    unknown = [a for a in allocs if a not in PEERS + [HAKMEM, RECORDED]]
    if unknown:
        ap.error(f"unknown allocator(s): {', '.join(unknown)}")
    if opts.recorder != "off" and HAKMEM in allocs and RECORDED not in allocs:
        allocs.append(RECORDED)
    if opts.recorder == "off" and RECORDED in allocs:
        allocs.remove(RECORDED)
    workloads = WORKLOADS
    if opts.only:
        wanted = [w.strip() for w in opts.only.split(",")]
        workloads = [w for w in WORKLOADS if any(w.name.startswith(x) for x in wanted)]
        if not workloads:
            ap.error(f"--only {opts.only} matches none of: "
                     + ", ".join(w.name for w in WORKLOADS))
    if not opts.no_strace and subprocess.run(["which", "strace"],
                                             capture_output=True).returncode != 0:
        ap.error("strace not found (install it, or pass --no-strace)")

    notes = []
    trace = os.path.join(tempfile.gettempdir(), f"hakmem-bench-{os.getpid()}.trace")
    allocators = Allocators(os.path.abspath(opts.build), trace)
    for a in list(allocs):
        why = allocators.missing(a)
        if why:
            if a == RECORDED and opts.recorder == "auto":
                notes.append(f"no {RECORDED} row: {why}")
            else:
                notes.append(f"{a} skipped: {why}")
            log(f"bench: {notes[-1]}")
            allocs.remove(a)
    if not allocs:
        log("bench: no allocator can run")
        return 1
    if RECORDED in allocs:
        notes.append(f"{RECORDED}: hakmem under `hakmem-analyze record -o <tmp> -- CMD` "
                     "(ring + probe); its RSS includes the recorder's; the goals below "
                     "compare its speed with untraced hakmem; no strace run (the probe "
                     "traces the same syscalls)")

    program_dir = os.path.join(allocators.build, "examples")
    log(f"bench: {len(workloads)} workloads x {allocs} x {opts.reps} reps"
        f"{' (quick)' if opts.quick else ''}; programs from {program_dir}")
    entries = [measure_workload(w, allocs, allocators, opts, program_dir, log)
               for w in workloads]
    gs = goals(entries, allocs, opts.judge)
    print_table(entries, allocs, opts, notes)
    print_goals(gs, opts.judge)

    doc = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "host": platform.node(), "kernel": platform.release(), "cpus": os.cpu_count(),
        "source": source_revision(), "build": allocators.build,
        "quick": opts.quick, "reps": opts.reps, "realtime": opts.rt,
        "allocators": {a: allocators.lib(a) or "glibc (no preload)" for a in allocs},
        "memory_syscalls": list(MEMORY_SYSCALLS), "small_run_divisor": SMALL,
        "judge": opts.judge,
        "ratios": {"hakmem_speed_ratio": "hakmem speed / this allocator's (>1: hakmem faster)",
                   "hakmem_cpu_ratio": "the same per CPU second (cpu_value: ops per CPU "
                                       "second, or CPU seconds for [seconds] workloads)",
                   "hakmem_rss_ratio": "hakmem peak RSS / this allocator's (<1: hakmem smaller)"},
        "notes": notes, "workloads": entries, "goals": gs,
    }
    os.makedirs(os.path.dirname(os.path.abspath(opts.json)), exist_ok=True)
    with open(opts.json, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1)
    log(f"bench: wrote {opts.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
