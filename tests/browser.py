"""A headless Chromium driven over the DevTools protocol, for tests where a page is the product.

Debian's ``chromium`` (installed by ``.ci/run`` when missing) started with a
remote-debugging port; :class:`Browser` opens a URL and evaluates JavaScript in
the page, so a test reads what the page shows from its DOM. Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from typing import Any

from conftest import free_port, require, require_program

TIMEOUT = 20


def chromium() -> str:
    """The browser's path; a skip (a failure under DJNG_REQUIRE_SERVICES=1) without one."""
    return require_program("chromium", "apt-get install chromium; .ci/run does")


class Browser:
    def __init__(self) -> None:
        require("websockets", extra="test")
        self.port = free_port()
        self.profile = tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
        self.process = subprocess.Popen(
            [chromium(), "--headless=new", "--no-sandbox", "--disable-gpu",
             "--no-first-run", "--disable-extensions", f"--user-data-dir={self.profile.name}",
             f"--remote-debugging-port={self.port}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,  # its helper processes are killed with it
        )
        self.ids = itertools.count(1)
        self.socket = self._connect()

    def _connect(self) -> Any:
        from websockets.sync.client import connect

        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/json/list",
                                            timeout=2) as answer:
                    pages = [t for t in json.load(answer) if t.get("type") == "page"]
                if pages:
                    self._connection = connect(pages[0]["webSocketDebuggerUrl"],
                                               open_timeout=TIMEOUT, max_size=None)
                    return self._connection.__enter__()
            except OSError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("Chromium did not open its DevTools port")
            time.sleep(0.1)

    def call(self, method: str, **params: Any) -> dict:
        """One DevTools command, its result (events in between are skipped)."""
        number = next(self.ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv(timeout=TIMEOUT))
            if message.get("id") == number:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
        raise TimeoutError(method)

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def wait_for(self, expression: str, timeout: float = TIMEOUT) -> Any:
        """Evaluate ``expression`` until it is truthy; its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except RuntimeError:
                value = None  # the page is still loading
            if value:
                return value
            time.sleep(0.05)
        raise TimeoutError(f"{expression} stayed false for {timeout} s")

    def close(self) -> None:
        try:
            self._connection.__exit__(None, None, None)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(TIMEOUT)
            self.profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
