"""A minimal Chrome DevTools Protocol client over --remote-debugging-pipe (fd 3 in, fd 4 out).

No websocket library, no playwright: headless Chromium is started with its debugging pipe
on two OS pipes; messages are JSON separated by NUL bytes. Used to open a report offline and
record every network request the page makes.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import time
from pathlib import Path

from kikan_testenv import need_chromium

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--disable-extensions", "--remote-debugging-pipe"]


class Chrome:
    def __init__(self, profile_dir: Path) -> None:
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def wire() -> None:  # in the child: the pipe ends must become exactly fds 3 and 4
            a, b = os.dup(to_chrome_r), os.dup(from_chrome_w)   # out of the way of 3/4 first
            os.dup2(a, 3, inheritable=True)
            os.dup2(b, 4, inheritable=True)

        self.proc = subprocess.Popen([need_chromium(), *FLAGS, f"--user-data-dir={profile_dir}", "about:blank"],
                                     preexec_fn=wire, close_fds=False,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, session: str | None = None, timeout: float = 30) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        want = self._id
        deadline = time.monotonic() + timeout
        while True:
            m = self._next(deadline)
            if m.get("id") == want:
                if "error" in m:
                    raise RuntimeError(f"{method}: {m['error']}")
                return m.get("result", {})
            self.events.append(m)

    def wait_event(self, method: str, timeout: float = 30) -> dict:
        for i, e in enumerate(self.events):
            if e.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout
        while True:
            m = self._next(deadline)
            if m.get("method") == method:
                return m
            self.events.append(m)

    def drain(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._next(deadline))
        except TimeoutError:
            pass

    def _next(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no message from Chromium")
            ready, _, _ = select.select([self._r], [], [], left)
            if ready:
                chunk = os.read(self._r, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the debugging pipe")
                self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def close(self) -> None:
        try:
            self.send("Browser.close", timeout=5)
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._r, self._w):
            try:
                os.close(fd)
            except OSError:
                pass


def open_offline(url: str, profile_dir: Path, settle: float = 1.5) -> tuple[str, list[dict]]:
    """Open `url` in a fresh headless Chromium; return (the DOM as HTML, every request the page made).

    The document's own file:// request is excluded; anything else — http(s), data fetched by a
    script, a favicon, a prefetch, a WebSocket — is in the list, including attempts a CSP blocked."""
    chrome = Chrome(profile_dir)
    try:
        target = chrome.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = chrome.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        chrome.send("Network.enable", session=session)
        chrome.send("Page.enable", session=session)
        chrome.send("Log.enable", session=session)
        chrome.send("Page.navigate", {"url": url}, session=session)
        chrome.wait_event("Page.loadEventFired")
        chrome.drain(settle)   # late requests (timers, lazy images) still count
        dom = chrome.send("Runtime.evaluate", {"expression": "document.documentElement.outerHTML", "returnByValue": True},
                          session=session)["result"]["value"]
        requests = []
        for e in chrome.events:
            m, p = e.get("method"), e.get("params", {})
            if m == "Network.requestWillBeSent" and p.get("request", {}).get("url") != url:
                requests.append({"url": p["request"]["url"], "type": p.get("type")})
            elif m in ("Network.webSocketCreated",):
                requests.append({"url": p.get("url"), "type": "WebSocket"})
            elif m == "Log.entryAdded" and p.get("entry", {}).get("source") == "security":
                requests.append({"url": p["entry"].get("url") or p["entry"].get("text"), "type": "csp-blocked"})
        return dom, requests
    finally:
        chrome.close()
