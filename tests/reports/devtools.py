"""A small Chrome DevTools Protocol client: open a page in headless Chromium and look at it.

Only what the report's browser test needs: load a file, collect console errors, uncaught
exceptions and any network request that is not the file itself or a data URI, evaluate an
expression, take a full-page screenshot. Speaks CDP over the page's websocket with
``websocket-client`` (a test extra); the browser is started with a fresh profile and told to
fetch nothing on its own.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import urllib.request
from pathlib import Path

import websocket

from reports.pdf import chromium_command


class DevToolsError(RuntimeError):
    """The browser did not start, answer or load the page in time."""


class Page:
    """A headless Chromium with one page, driven over CDP (use as a context manager)."""

    def __init__(self, browser: str, profile_dir: Path, timeout: float = 30.0):
        self.timeout = timeout
        self.events: list[dict] = []
        self._id = 0
        profile_dir = Path(profile_dir)
        profile_dir.mkdir(parents=True, exist_ok=True)
        cmd = chromium_command(browser, profile_dir, "--remote-debugging-port=0", "--remote-allow-origins=*",
                               "--hide-scrollbars", "about:blank")
        if "--no-sandbox" not in cmd:  # containers often cannot give Chromium its sandbox
            cmd.insert(1, "--no-sandbox")
        # stderr to a file, not a pipe: Chromium logs freely and a full pipe would stall it
        self._log_path = profile_dir / "chromium-stderr.log"
        self._log = open(self._log_path, "wb")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self._log)
        try:
            port = self._port(profile_dir)
            targets = self._json(f"http://127.0.0.1:{port}/json/list")
            pages = [t for t in targets if t.get("type") == "page"]
            if not pages:
                raise DevToolsError(f"Chromium shows no page target: {targets}")
            self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=timeout, suppress_origin=True)
        except BaseException:
            # the browser this object started must not outlive a failed start
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self._log.close()
            raise

    def _port(self, profile_dir: Path) -> int:
        marker = profile_dir / "DevToolsActivePort"
        end = time.monotonic() + self.timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                self._log.flush()
                err = self._log_path.read_bytes().decode("utf-8", "replace")[-2000:]
                self._log.close()
                raise DevToolsError(f"Chromium exited with code {self.proc.returncode}: {err}")
            if marker.exists():
                first = marker.read_text().splitlines()[:1]
                if first and first[0].strip().isdigit():
                    return int(first[0])
            time.sleep(0.05)
        raise DevToolsError("Chromium did not open its DevTools port in time")

    def _json(self, url: str):
        end = time.monotonic() + self.timeout
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    return json.loads(r.read().decode("utf-8"))
            except OSError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.1)

    def send(self, method: str, **params) -> dict:
        """Call a CDP method and return its result (events that arrive meanwhile are kept)."""
        self._id += 1
        my = self._id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params}))
        end = time.monotonic() + self.timeout
        while time.monotonic() < end:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == my:
                if "error" in msg:
                    raise DevToolsError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)
        raise DevToolsError(f"{method}: no answer in {self.timeout} s")

    def wait_for(self, event: str) -> dict:
        """Wait for an event (or return it if it already came)."""
        for ev in self.events:
            if ev["method"] == event:
                return ev
        end = time.monotonic() + self.timeout
        while time.monotonic() < end:
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)
                if msg["method"] == event:
                    return msg
        raise DevToolsError(f"no {event} in {self.timeout} s")

    def open(self, path: Path, width: int = 900, height: int = 1200) -> None:
        """Load a local file and wait until it (and its images) finished loading."""
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.send(f"{domain}.enable")
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        self.events.clear()
        self.send("Page.navigate", url=Path(path).resolve().as_uri())
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str):
        """Evaluate JavaScript in the page and return its value."""
        res = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in res:
            raise DevToolsError(f"evaluation failed: {res['exceptionDetails']}")
        return res["result"].get("value")

    def console_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and error log entries since the page was opened."""
        out = []
        for ev in self.events:
            m, p = ev["method"], ev.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in p.get("args", [])))
            elif m == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails", {}))[:500])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", ""))
        return out

    def requests(self) -> list[str]:
        """URLs the page asked for (data URIs shortened to their scheme)."""
        urls = []
        for ev in self.events:
            if ev["method"] == "Network.requestWillBeSent":
                url = ev["params"]["request"]["url"]
                urls.append("data:" if url.startswith("data:") else url)
        return urls

    def screenshot(self, path: Path, width: int = 900, max_height: int = 20000) -> Path:
        """Save a PNG of the whole page (up to ``max_height`` pixels tall)."""
        metrics = self.send("Page.getLayoutMetrics")
        size = metrics.get("cssContentSize") or metrics["contentSize"]
        height = int(min(max_height, max(1, round(size["height"]))))
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False)
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:  # the browser may already be gone; it is killed below either way
            pass
        try:
            self.ws.close()
        finally:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
            self._log.close()

    def __enter__(self) -> "Page":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def artefact_dir() -> Path:
    """Where browser tests leave their screenshots: ``FRONTDOOR_TEST_ARTEFACTS`` or tests/artefacts."""
    return Path(os.environ.get("FRONTDOOR_TEST_ARTEFACTS") or Path(__file__).resolve().parents[1] / "artefacts")
