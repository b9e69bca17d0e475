"""A tiny headless-Chromium driver over the DevTools protocol (``--remote-debugging-pipe``).

It loads local HTML files, records console errors, uncaught exceptions, log errors and every
network request the page makes, and saves full-page screenshots. No third-party package:
the pipe transport is JSON messages separated by NUL bytes on file descriptors 3 and 4.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import queue
import shutil
import signal
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe",
)
LOCAL_SCHEMES = ("file:", "data:", "blob:", "about:")


def find_chromium() -> str | None:
    for path in CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return shutil.which("chromium")


class Browser:
    """One headless Chromium with one page; use as a context manager."""

    def __init__(self, executable: str, width: int = 1100, height: int = 900) -> None:
        self.profile = tempfile.mkdtemp(prefix="ck-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        # Park both child ends above fd 9 so the dup2 onto 3 and 4 cannot clobber each other.
        hi_r = fcntl.fcntl(to_child_r, fcntl.F_DUPFD_CLOEXEC, 10)
        hi_w = fcntl.fcntl(from_child_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_child_r)
        os.close(from_child_w)
        argv = [executable, *FLAGS, f"--user-data-dir={self.profile}", f"--window-size={width},{height}", "about:blank"]
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, hi_r, 3),
            (os.POSIX_SPAWN_DUP2, hi_w, 4),
        ]
        self.pid = os.posix_spawn(executable, argv, dict(os.environ), file_actions=actions, setsid=True)
        os.close(hi_r)
        os.close(hi_w)
        self._ids = 0
        self._replies: dict[int, Any] = {}
        self._events: queue.Queue = queue.Queue()
        self._cv = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.page_id = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", page=True)
        self.call("Emulation.setDeviceMetricsOverride", page=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=False)

    # ------------------------------------------------------------------ transport
    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._from_child, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                if "id" in msg:
                    with self._cv:
                        self._replies[msg["id"]] = msg
                        self._cv.notify_all()
                else:
                    self._events.put(msg)

    def call(self, method: str, page: bool = False, timeout: float = 30.0, **params: Any) -> Any:
        self._ids += 1
        mid = self._ids
        msg: dict[str, Any] = {"id": mid, "method": method, "params": params}
        if page:
            msg["sessionId"] = self.page_id
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        with self._cv:
            while mid not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"Chromium did not answer {method} within {timeout} s")
                self._cv.wait(left)
            reply = self._replies.pop(mid)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def _drain(self) -> list[dict[str, Any]]:
        out = []
        while True:
            try:
                out.append(self._events.get_nowait())
            except queue.Empty:
                return out

    # ------------------------------------------------------------------ pages
    def load(self, path: Path, screenshot: Path | None = None, ready_timeout: float = 20.0) -> dict[str, list[str]]:
        """Open ``path``; return {"errors": [...], "requests": [...]} and optionally save a PNG."""
        self._drain()
        url = path.resolve().as_uri()
        self.call("Page.navigate", page=True, url=url)
        deadline = time.monotonic() + ready_timeout
        events: list[dict[str, Any]] = []
        loaded = False
        while time.monotonic() < deadline and not loaded:
            try:
                ev = self._events.get(timeout=0.2)
            except queue.Empty:
                continue
            events.append(ev)
            loaded = ev.get("method") == "Page.loadEventFired"
        # Figures are drawn after plotly.js is ready; the page sets data-ck-ready then.
        has_figs = self.call("Runtime.evaluate", page=True,
                             expression="document.querySelectorAll('script[data-ck-fig]').length")["result"]["value"]
        while has_figs and time.monotonic() < deadline:
            ready = self.call("Runtime.evaluate", page=True,
                              expression="document.documentElement.getAttribute('data-ck-ready')")["result"].get("value")
            if ready == "1":
                break
            time.sleep(0.1)
        time.sleep(0.3)
        events += self._drain()
        report = {"errors": [], "requests": [], "loaded": [str(loaded)],
                  "drawn": [str(self._count(".ck-plot .main-svg") > 0 if has_figs else True)]}
        for ev in events:
            method, p = ev.get("method"), ev.get("params", {})
            if method == "Runtime.exceptionThrown":
                d = p["exceptionDetails"]
                report["errors"].append(f"exception: {d.get('exception', {}).get('description') or d.get('text')}")
            elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                report["errors"].append("console: " + " ".join(str(a.get("value", a.get("description"))) for a in p["args"]))
            elif method == "Log.entryAdded" and p["entry"]["level"] == "error":
                report["errors"].append(f"log: {p['entry']['text']} {p['entry'].get('url', '')}")
            elif method == "Network.requestWillBeSent":
                req = p["request"]["url"]
                if not req.startswith(LOCAL_SCHEMES) or (req.startswith("file:") and req != url):
                    report["requests"].append(req)
        if screenshot is not None:
            self.screenshot(screenshot)
        return report

    def _count(self, selector: str) -> int:
        return int(self.call("Runtime.evaluate", page=True,
                             expression=f"document.querySelectorAll({json.dumps(selector)}).length")["result"]["value"])

    def screenshot(self, path: Path, max_height: int = 6000) -> None:
        metrics = self.call("Page.getLayoutMetrics", page=True)
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        clip = {"x": 0, "y": 0, "width": size["width"], "height": min(size["height"], max_height), "scale": 1}
        shot = self.call("Page.captureScreenshot", page=True, format="png", clip=clip, captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))

    def set_width(self, width: int, height: int = 900) -> None:
        """Resize the viewport (a phone at 390 px is emulated as mobile, with touch)."""
        self.call("Emulation.setDeviceMetricsOverride", page=True, width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 600)

    def evaluate(self, expression: str) -> Any:
        return self.call("Runtime.evaluate", page=True, expression=expression, returnByValue=True)["result"].get("value")

    def overflow(self) -> dict[str, Any]:
        """Page width against the viewport, and the widest elements that stick out (for messages)."""
        return self.evaluate(
            "(() => { const w = window.innerWidth; const out = [];"
            " document.querySelectorAll('body *').forEach(e => { const r = e.getBoundingClientRect();"
            " if (r.right > w + 1 && out.length < 5 && !e.closest('.ck-scroll')) out.push(e.tagName + '.' + e.className + ' ' + Math.round(r.right)); });"
            " return {scroll: document.documentElement.scrollWidth, inner: w, culprits: out}; })()"
        )

    def pdf(self) -> bytes:
        """The page printed to PDF on A4 with the page's print CSS."""
        data = self.call("Page.printToPDF", page=True, preferCSSPageSize=True, printBackground=True, timeout=60)["data"]
        return base64.b64decode(data)

    def close(self) -> None:
        try:
            self.call("Browser.close", timeout=5)
        except (TimeoutError, RuntimeError, OSError):
            pass
        deadline = time.monotonic() + 10
        exited = False
        while time.monotonic() < deadline:
            if os.waitpid(self.pid, os.WNOHANG) != (0, 0):
                exited = True
                break
            time.sleep(0.05)
        if not exited:
            try:
                os.killpg(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
