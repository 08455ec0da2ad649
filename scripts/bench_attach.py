#!/usr/bin/env python3
"""What `hakmem-analyze attach` costs a running program: its throughput
before, during and after an attach.

Starts tests/attach/attach_target (a churn loop printing its operations per
interval), waits, attaches for a while, detaches, and keeps reading. Each
interval line is put in the phase it was read in: before the attach command
started, while it ran (its probe load and ring switch-on included), after it
exited. Prints the median operations per second of each phase, per run and
over all runs.

usage: scripts/bench_attach.py [--build build] [--mode malloc|mmap|fork]
                               [--no-preload] [--runs 3] [--before 3]
                               [--during 3] [--after 3] [--attach-args ...]
"""
import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

p = argparse.ArgumentParser()
p.add_argument("--build", default="build")
p.add_argument("--mode", default="malloc")
p.add_argument("--no-preload", action="store_true")
p.add_argument("--runs", type=int, default=3)
p.add_argument("--before", type=float, default=3)
p.add_argument("--during", type=float, default=3)
p.add_argument("--after", type=float, default=3)
p.add_argument("--interval-ms", type=int, default=250)
p.add_argument("--attach-args", nargs=argparse.REMAINDER, default=[])
a = p.parse_args()

target = os.path.join(a.build, "tests/attach/attach_target")
analyze = os.path.join(a.build, "analyzer/hakmem-analyze")
env = dict(os.environ)
env.pop("HAKMEM_RING", None)
if a.no_preload:
    env.pop("LD_PRELOAD", None)
else:
    env["LD_PRELOAD"] = os.path.abspath(os.path.join(a.build, "preload/libhakmem.so"))

phases = {"before": [], "during": [], "after": []}
for run in range(a.runs):
    total = a.before + a.during + a.after + 2
    t = subprocess.Popen([target, str(total), str(a.interval_ms), a.mode], stdout=subprocess.PIPE,
                         text=True, env=env)
    pid = int(t.stdout.readline().split()[1])
    lines = []

    def reader():
        for line in t.stdout:
            lines.append((time.monotonic(), int(line.split()[1])))

    th = threading.Thread(target=reader)
    th.start()
    time.sleep(a.before + 0.5)
    start = time.monotonic()
    r = subprocess.run([analyze, "attach", str(pid), "-o", "/tmp/bench_attach.trace", "--duration",
                        str(a.during)] + a.attach_args, capture_output=True, text=True)
    end = time.monotonic()
    if r.returncode != 0:
        sys.exit(f"attach failed ({r.returncode}): {r.stderr}")
    t.wait()
    th.join()
    per_s = 1000.0 / a.interval_ms
    # The interval read first in a phase started in the one before: skip it.
    run_phases = {
        "before": [n * per_s for ts, n in lines[1:] if ts < start],
        "during": [n * per_s for ts, n in lines if start + a.interval_ms / 1000 <= ts < end],
        "after": [n * per_s for ts, n in lines if ts >= end + a.interval_ms / 1000],
    }
    row = []
    for k, v in run_phases.items():
        phases[k] += v
        row.append(f"{k} {statistics.median(v) / 1e6:.3f}M/s ({len(v)})" if v else f"{k} -")
    print(f"run {run + 1}: " + ", ".join(row) + f"; attach ran {end - start:.2f} s", flush=True)

med = {k: statistics.median(v) for k, v in phases.items() if v}
print("all runs, median ops/s: " + ", ".join(f"{k} {v / 1e6:.3f}M" for k, v in med.items()))
if "before" in med:
    print("relative to before: " + ", ".join(f"{k} {v / med['before']:.3f}" for k, v in med.items()))
