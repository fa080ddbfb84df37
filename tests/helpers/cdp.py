"""A minimal driver for headless Chromium over the DevTools protocol: navigate, type, click, read, screenshot.

Enough to click through a page the way a person does, with JavaScript *disabled* for the page
(``--blink-settings=scriptEnabled=false``): clicks are real mouse events at the element's box,
typing is real text input into the focused field. The only dependency is ``websockets`` (already
a dependency of the shim). Chromium is Debian's ``chromium`` (the Makefile installs it where it can).
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from websockets.sync.client import ClientConnection, connect

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: Headless, quiet, no first-run screens: every test that starts Chromium uses these.
BASE_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
FLAGS = (*BASE_FLAGS, "--blink-settings=scriptEnabled=false", "--window-size=1100,800")


class Page:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        self.ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv(timeout=60))
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result: dict[str, Any] = message.get("result", {})
                return result
            self.events.append(message)

    def wait_for_load(self, timeout: float = 60.0) -> None:
        """Until the current document has loaded (Page.loadEventFired), then a settled DOM."""
        deadline = time.monotonic() + timeout
        while True:
            if any(e.get("method") == "Page.loadEventFired" for e in self.events):
                self.events.clear()
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the page did not finish loading")
            self.events.append(json.loads(self.ws.recv(timeout=remaining)))

    def navigate(self, url: str) -> None:
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for_load()

    def html(self) -> str:
        root = self.send("DOM.getDocument", depth=-1)["root"]
        outer: str = self.send("DOM.getOuterHTML", nodeId=root["nodeId"])["outerHTML"]
        return outer

    def url(self) -> str:
        history = self.send("Page.getNavigationHistory")
        entry: str = history["entries"][history["currentIndex"]]["url"]
        return entry

    def _center(self, selector: str) -> tuple[float, float]:
        root = self.send("DOM.getDocument", depth=-1)["root"]
        node = self.send("DOM.querySelector", nodeId=root["nodeId"], selector=selector)["nodeId"]
        if not node:
            raise AssertionError(f"no element matches {selector!r}")
        quad = self.send("DOM.getBoxModel", nodeId=node)["model"]["content"]
        return (quad[0] + quad[4]) / 2, (quad[1] + quad[5]) / 2

    def click(self, selector: str, *, navigates: bool = True) -> None:
        x, y = self._center(selector)
        self.events.clear()
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)
        if navigates:
            self.wait_for_load()

    def click_at(self, x: float, y: float) -> None:
        """A real left click at page coordinates (no navigation expected)."""
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

    def type_into(self, selector: str, text: str) -> None:
        self.click(selector, navigates=False)
        self.send("Input.insertText", text=text)

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression in the page (awaited if it is a promise)."""
        answer = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in answer:
            raise RuntimeError(f"page script failed: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))


@contextlib.contextmanager
def chromium_page(*, scripts: bool = False, window: str = "1100,800", extra: tuple[str, ...] = ()) -> Iterator[Page]:
    """A fresh headless Chromium (its own profile) and its one tab, closed afterwards.

    ``scripts`` runs the page's JavaScript (a test host page for an MCP App needs it)."""
    assert CHROMIUM is not None
    flags = (*BASE_FLAGS, f"--window-size={window}", *extra) if scripts else FLAGS
    with tempfile.TemporaryDirectory(prefix="cw-cdp-", ignore_cleanup_errors=True) as profile:
        process = subprocess.Popen(
            [CHROMIUM, *flags, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + 60
            while not (port_file.exists() and port_file.read_text().strip()):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("Chromium did not start its DevTools endpoint")
                time.sleep(0.05)
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=30) as answer:
                targets = json.loads(answer.read())
            target = next(t for t in targets if t.get("type") == "page")
            with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=30) as ws:
                page = Page(ws)
                page.send("Page.enable")
                page.send("DOM.enable")
                yield page
        finally:
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(10)
