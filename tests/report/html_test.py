#!/usr/bin/env python3
"""The HTML report in a real browser: renders each trace given with
`report --format html`, opens the page in headless Chromium (chromium.py),
waits for the page's own checks (window.__hk_checks, set once every chart
has drawn) and takes a full-page screenshot. Fails when the page logs a
console error or an exception, asks for anything but its own file, draws no
chart or a chart with no size or no marks in its series' colours, lacks a
diagnosis the trace raises (each with its fix), or draws a chart that does
not apply to the trace (an allocator chart of a --no-preload trace), or
leaves out the page fault chart of a trace that has faults.

  html_test.py HAKMEM_ANALYZE CHROMIUM OUT_DIR TRACE:KIND [TRACE:KIND...]

KIND is `preload` (allocator charts expected) or `no-preload` (kernel
charts only). Screenshots land in OUT_DIR/NAME.png.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from chromium import Chromium  # noqa: E402

ALLOCATOR_CHARTS = {"superslabs", "lru_length", "lru_traffic"}
KERNEL_CHARTS = {"sys_calls", "sys_latency", "mem_bytes"}


def check_page(analyze, chromium, out_dir, trace, kind):
    name = os.path.basename(trace).rsplit(".", 1)[0]
    page = os.path.join(out_dir, name + ".html")
    shot = os.path.join(out_dir, name + ".png")
    subprocess.run([analyze, "report", trace, "--format", "html", "-o", page], check=True)
    report = json.loads(subprocess.run([analyze, "report", trace, "--format", "json"], check=True,
                                       capture_output=True, text=True).stdout)
    fails = []
    with Chromium(chromium) as b:
        start = time.monotonic()
        b.open("file://" + os.path.abspath(page))
        checks = b.wait_for("window.__hk_checks")
        opened = time.monotonic() - start
        text = b.evaluate("document.body.innerText")
        b.screenshot(shot)
        errors = b.errors() + checks["errors"]
        foreign = [u for u in b.requests() if u != "file://" + os.path.abspath(page)]
    fails += [f"page error: {e}" for e in errors]
    fails += [f"page asked the network for {u}" for u in foreign]
    charts = {c["id"]: c for c in checks["charts"]}
    if not charts:
        fails.append("no chart drawn")
    for c in checks["charts"]:
        if c["width"] <= 0 or c["height"] <= 0:
            fails.append(f"chart {c['id']} has no size ({c['width']}x{c['height']})")
        if c["marks"] <= 0:
            fails.append(f"chart {c['id']} drew no marks ({c['nonblank']} non-blank pixels)")
        if c["points"] <= 1:
            fails.append(f"chart {c['id']} has {c['points']} points")
    for want in KERNEL_CHARTS - charts.keys():
        fails.append(f"kernel chart {want} missing")
    if report["faults"]["total"]["faults"] and "page_faults" not in charts:
        fails.append("the trace has page faults but no page fault chart")
    if kind == "preload":
        for want in ALLOCATOR_CHARTS - charts.keys():
            fails.append(f"allocator chart {want} missing")
        if not any(k.startswith("gap_") for k in charts) and any(
                d["id"] == "accounting_gap" for d in report["diagnoses"]):
            fails.append("accounting_gap raised but no per-class gap chart")
    else:
        for extra in (ALLOCATOR_CHARTS | {k for k in charts if k.startswith("gap_")}) & charts.keys():
            fails.append(f"chart {extra} drawn for a --no-preload trace")
        if "--no-preload" not in text:
            fails.append("page does not say the allocator's charts do not apply (--no-preload)")
    if not report["diagnoses"]:
        fails.append(f"{trace} raises no diagnosis: pick a trace of a pathology")
    for d in report["diagnoses"]:
        if "diag-" + d["id"] not in checks["diagnoses"]:
            fails.append(f"diagnosis {d['id']} missing")
        for part in ("summary", "fix"):
            if d[part] not in text:
                fails.append(f"diagnosis {d['id']}: {part} text missing")
    for label in ("% time", "usecs/call"):
        if label not in text:
            fails.append(f"strace -c table lacks '{label}'")
    print(f"{name}: {len(charts)} charts, {os.path.getsize(page)} bytes, drawn at {checks['drawn_ms']:.0f} ms "
          f"after navigation ({opened:.2f} s from opening), screenshot {shot}")
    return [f"{name}: {f}" for f in fails]


def main():
    analyze, chromium, out_dir = sys.argv[1:4]
    os.makedirs(out_dir, exist_ok=True)
    if not os.access(chromium, os.X_OK):
        print(f"FAIL: {chromium} not found (scripts/install-deps.sh installs Debian's chromium)")
        return 1
    fails = []
    for arg in sys.argv[4:]:
        trace, kind = arg.rsplit(":", 1)
        fails += check_page(analyze, chromium, out_dir, trace, kind)
    for f in fails:
        print("FAIL", f)
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
