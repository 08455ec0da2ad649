#!/usr/bin/env python3
"""Validates `export --format perfetto` against the trace event format
(the Chrome "Trace Event Format" document that Perfetto's JSON importer
follows), on each trace given:

  - the file is one JSON object with a traceEvents array;
  - every event has ph, pid and tid (ints), and name; every event but
    metadata has a numeric ts >= 0; X has a numeric dur >= 0; C has numeric
    args; s/f have an id, and f binds to its enclosing slice (bp "e");
  - B and E pair up per track (same name, nested, none left open);
  - timestamps never go backward per track, in file order;
  - flow ids pair up: one s and one f each, the s on a kernel track inside
    a syscall slice, the f on the same process's allocator track at an
    allocator event;
  - it has what the export promises when the trace has it: a kernel track
    with syscalls, allocator tracks, thread names, counters for mapped bytes,
    the LRU and the accounting gap, and as many flows as the report's join
    matched (`report --format json`: join.matched).

  perfetto_test.py HAKMEM_ANALYZE OUT_DIR TRACE [TRACE...]
"""
import json
import os
import subprocess
import sys
from collections import defaultdict

KERNEL_BIT = 1 << 30


def validate(path, report):
    fails = []
    with open(path) as f:
        doc = json.load(f)
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["not an object with a traceEvents array"]
    events = doc["traceEvents"]
    last_ts = {}
    open_slices = defaultdict(list)
    flows = defaultdict(lambda: {"s": [], "f": []})
    counters = set()
    names = {}
    kinds = defaultdict(int)
    for i, e in enumerate(events):
        where = f"event {i} {json.dumps(e)[:160]}"
        ph = e.get("ph")
        kinds[ph] += 1
        if ph not in ("M", "X", "B", "E", "i", "C", "s", "f"):
            fails.append(f"{where}: unexpected ph {ph!r}")
            continue
        if not isinstance(e.get("pid"), int) or not isinstance(e.get("tid"), int) or not isinstance(e.get("name"), str):
            fails.append(f"{where}: pid, tid (ints) and name are required")
            continue
        if ph == "M":
            if e["name"] == "thread_name":
                names[(e["pid"], e["tid"])] = e["args"]["name"]
            continue
        ts = e.get("ts")
        if not isinstance(ts, (int, float)) or ts < 0:
            fails.append(f"{where}: ts missing or negative")
            continue
        track = ("C", e["pid"], e["name"]) if ph == "C" else ("T", e["pid"], e["tid"])
        if ts < last_ts.get(track, 0):
            fails.append(f"{where}: ts {ts} goes back from {last_ts[track]} on its track")
        last_ts[track] = ts
        if ph == "X":
            if not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0:
                fails.append(f"{where}: X without a dur >= 0")
            if e["tid"] & KERNEL_BIT:
                fails.append(f"{where}: allocator event on a kernel track")
        elif ph == "B":
            open_slices[track].append((e["name"], ts))
        elif ph == "E":
            if not open_slices[track]:
                fails.append(f"{where}: E without a B")
            else:
                name, _ = open_slices[track].pop()
                if name != e["name"]:
                    fails.append(f"{where}: E of {e['name']} closes B of {name}")
        elif ph == "C":
            args = e.get("args")
            if not isinstance(args, dict) or not args or not all(isinstance(v, (int, float)) for v in args.values()):
                fails.append(f"{where}: C needs numeric args")
            counters.add(e["name"].split(" class ")[0])
        elif ph in ("s", "f"):
            if "id" not in e:
                fails.append(f"{where}: flow event without an id")
                continue
            if ph == "f" and e.get("bp") != "e":
                fails.append(f"{where}: f must bind to its enclosing slice (bp e)")
            if ph == "s" and not open_slices[track]:
                fails.append(f"{where}: s outside a syscall slice")
            flows[e["id"]][ph].append(e)
    for track, stack in open_slices.items():
        if stack:
            fails.append(f"track {track}: {len(stack)} B without E ({stack[0][0]} at {stack[0][1]})")
    x_at = defaultdict(set)
    for e in events:
        if e.get("ph") == "X":
            x_at[(e["pid"], e["tid"])].add(e["ts"])
    for fid, ends in flows.items():
        if len(ends["s"]) != 1 or len(ends["f"]) != 1:
            fails.append(f"flow {fid}: {len(ends['s'])} s and {len(ends['f'])} f, want one each")
            continue
        s, f = ends["s"][0], ends["f"][0]
        if not s["tid"] & KERNEL_BIT or f["tid"] & KERNEL_BIT:
            fails.append(f"flow {fid}: must run from a kernel track to an allocator track")
        if s["pid"] != f["pid"] or (s["tid"] & ~KERNEL_BIT) != f["tid"]:
            fails.append(f"flow {fid}: syscall and event on different threads")
        if f["ts"] < s["ts"]:
            fails.append(f"flow {fid}: ends before it starts")
        if f["ts"] not in x_at[(f["pid"], f["tid"])]:
            fails.append(f"flow {fid}: f at {f['ts']} is at no allocator event")
    for (pid, tid) in {(e["pid"], e["tid"]) for e in events if e.get("ph") in ("X", "B")}:
        if (pid, tid) not in names:
            fails.append(f"track {pid}/{tid} has no thread_name")

    trace = report["trace"]
    if trace["kernel_records"] and not kinds["B"]:
        fails.append("the trace has syscalls but the export no B/E slices")
    if trace["allocator_events"]:
        if not kinds["X"]:
            fails.append("the trace has allocator events but the export no X slices")
        for want in ("mapped bytes", "LRU occupancy", "accounting gap"):
            if want not in counters and want_counter(report, want):
                fails.append(f"no counter track for {want}")
    matched = report["join"]["matched"] if report["join"]["available"] else 0
    if len(flows) != matched:
        fails.append(f"{len(flows)} flows, but the join matched {matched}")
    summary = ", ".join(f"{k}={v}" for k, v in sorted(kinds.items()))
    print(f"{os.path.basename(path)}: {len(events)} events ({summary}), {len(flows)} flows, "
          f"{len(last_ts)} tracks, counters {sorted(counters)}")
    return fails


def want_counter(report, name):
    a = report["allocator"]
    if name == "LRU occupancy":
        return a["lru_push"] + a["lru_hit"] + a["lru_miss"] + a["lru_evict"] > 0
    if name == "accounting gap":
        return bool(report["accounting"])
    return a["peak_mapped_bytes"] > 0


def main():
    analyze, out_dir = sys.argv[1:3]
    os.makedirs(out_dir, exist_ok=True)
    fails = []
    for trace in sys.argv[3:]:
        name = os.path.basename(trace).rsplit(".", 1)[0]
        out = os.path.join(out_dir, name + ".json")
        r = subprocess.run([analyze, "export", trace, "--format", "perfetto", "-o", out], capture_output=True, text=True)
        if r.returncode != 0:
            fails.append(f"{name}: export exited {r.returncode}: {r.stderr.strip()}")
            continue
        report = json.loads(subprocess.run([analyze, "report", trace, "--format", "json"], check=True,
                                           capture_output=True, text=True).stdout)
        fails += [f"{name}: {f}" for f in validate(out, report)[:20]]
    # Bad input: one line, exit 2.
    r = subprocess.run([analyze, "export", "/nonexistent.hkt", "-o", os.path.join(out_dir, "x.json")],
                       capture_output=True, text=True)
    if r.returncode != 2 or len(r.stderr.strip().splitlines()) != 1:
        fails.append(f"export of a missing file: exit {r.returncode}, stderr {r.stderr!r}")
    for f in fails:
        print("FAIL", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
