#!/usr/bin/env python3
"""Opens an HTML report in headless Chromium (tests/report/chromium.py) and
prints how long the page took to draw every chart: the page's own
"hk-drawn" performance mark, in ms after navigation started, and the wall
time from asking Chromium to open it. Used by scripts/bench_report.sh.

  html_open_time.py PAGE.html [CHROMIUM]
"""
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "report"))
from chromium import Chromium  # noqa: E402

page = os.path.abspath(sys.argv[1])
with Chromium(sys.argv[2] if len(sys.argv) > 2 else "/usr/bin/chromium") as b:
    start = time.monotonic()
    b.open("file://" + page)
    checks = b.wait_for("window.__hk_checks")
    wall = time.monotonic() - start
    errors = b.errors() + checks["errors"]
print(f"html: {os.path.getsize(page) / 1e3:.0f} kB, {len(checks['charts'])} charts, drawn {checks['drawn_ms']:.0f} ms "
      f"after navigation ({wall:.2f} s from opening)" + (f"; {len(errors)} page errors: {errors[0]}" if errors else ""))
sys.exit(1 if errors else 0)
