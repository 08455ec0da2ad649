"""Headless Chromium driven over the DevTools protocol (python3 stdlib only).

Contract: used by the report tests (html_test.py, and scripts/bench_html.sh
for the open time). Chromium([...]) starts a fresh browser on
--remote-debugging-pipe (fd 3 in, fd 4 out, NUL-terminated JSON), so no port
and no websocket are needed; open(url) attaches one page and records every
console error, uncaught exception, log error and network request from then
on. One thread; close() (or the with-block) kills the browser and removes
its profile.
"""
import base64
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--disable-default-apps", "--hide-scrollbars",
         "--remote-debugging-pipe"]


class CdpError(Exception):
    pass


def high_fd(fd):
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10)
    os.close(fd)
    return moved


class Chromium:
    def __init__(self, exe, timeout=60.0):
        self.profile = tempfile.mkdtemp(prefix="hk-chromium-")
        # The child must see the pipes on fds 3 and 4 exactly. Its ends are
        # moved above 10 first, so that neither sits on 3 or 4 already; dup2
        # leaves the copies inheritable, and every other fd closes at exec.
        to_browser_r, self._to_browser = (high_fd(fd) for fd in os.pipe())
        self._from_browser, from_browser_w = (high_fd(fd) for fd in os.pipe())
        def child_fds():
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)
        self.proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, preexec_fn=child_fds, close_fds=False)
        os.close(to_browser_r)
        os.close(from_browser_w)
        self.deadline = time.monotonic() + timeout
        self._buf = b""
        self._next_id = 0
        self.events = []
        self.session = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()
        for fd in (self._to_browser, self._from_browser):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def _read_message(self):
        while b"\0" not in self._buf:
            if time.monotonic() > self.deadline:
                raise CdpError("timed out waiting for Chromium")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                err = self.proc.stderr.read().decode(errors="replace")[-2000:] if self.proc.poll() is not None else ""
                raise CdpError("Chromium closed the DevTools pipe: " + err)
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=True):
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self._to_browser, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read_message()
            if m.get("id") == self._next_id:
                if "error" in m:
                    raise CdpError(f"{method}: {m['error']}")
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method):
        for i, m in enumerate(self.events):
            if m["method"] == method:
                del self.events[i]
                return m
        while True:
            m = self._read_message()
            if m.get("method") == method:
                return m
            if "method" in m:
                self.events.append(m)

    def open(self, url, width=1280, height=900):
        target = self.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
        self.session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True},
                                 session=False)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", {"expression": expr, "returnByValue": True})
        if "exceptionDetails" in r:
            raise CdpError(f"evaluate {expr!r}: {r['exceptionDetails'].get('text')}")
        return r["result"].get("value")

    def wait_for(self, expr, timeout=30.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            v = self.evaluate(expr)
            if v:
                return v
            time.sleep(0.05)
        raise CdpError(f"timed out waiting for {expr}")

    def screenshot(self, path):
        size = self.call("Page.getLayoutMetrics")["cssContentSize"]
        shot = self.call("Page.captureScreenshot", {
            "format": "png", "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
        with open(path, "wb") as f:
            f.write(base64.b64decode(shot["data"]))

    def errors(self):
        """Console errors, uncaught exceptions and error log entries so far."""
        self.call("Runtime.evaluate", {"expression": "1"})  # flush pending events
        out = []
        for m in self.events:
            p = m.get("params", {})
            if m["method"] == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: " + str(d.get("exception", {}).get("description") or d.get("text")))
            elif m["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console." + p["type"] + ": " + " ".join(str(a.get("value", a.get("description")))
                                                                    for a in p.get("args", [])))
            elif m["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append("log: " + p["entry"].get("text", ""))
        return out

    def requests(self):
        return [m["params"]["request"]["url"] for m in self.events if m["method"] == "Network.requestWillBeSent"]
