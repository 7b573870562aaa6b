"""Load a history report in headless Chromium and check it the way a reader's browser sees it.

Drives Chromium with the DevTools protocol over --remote-debugging-pipe (file descriptors 3 and 4, NUL-separated
JSON), so it needs nothing but the Python standard library and the chromium binary.

    report_browser.py REPORT.html --sessions N [--rows M] --screenshot OUT.png [--text STRING]...

Checks: no console error, no uncaught exception, no dialog, no request other than the file itself (no external
asset); exactly N session bars in the timeline SVG and M (default N) table rows; sorting by a column reorders the rows; the
filter box narrows them; each --text string is in the page's text. Then, with JavaScript disabled, the timeline and
the full table are still there. Saves a full-page PNG screenshot. Exits non-zero with one line per failed check.
"""

from __future__ import annotations

import argparse
import base64
import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import typing as t
from pathlib import Path

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--disable-default-apps", "--mute-audio", "--hide-scrollbars", "--remote-debugging-pipe"]
DEADLINE_SECONDS = 45


def _above_four(fd: int) -> int:
    moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 5)
    os.close(fd)
    return moved


class Browser:
    """One Chromium process and one page, spoken to over the DevTools pipe."""

    def __init__(self, binary: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="report-browser-")
        to_chrome_read, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_write = os.pipe()
        # Move the child's ends above 4 so that placing them on 3 and 4 cannot overwrite one with the other.
        to_chrome_read, from_chrome_write = (_above_four(fd) for fd in (to_chrome_read, from_chrome_write))

        def wire_pipes() -> None:  # runs in the child: Chromium reads commands on fd 3 and writes on fd 4
            os.dup2(to_chrome_read, 3)
            os.dup2(from_chrome_write, 4)

        self.process = subprocess.Popen(  # pylint: disable=subprocess-popen-preexec-fn
            [binary, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=wire_pipes, pass_fds=(3, 4))
        os.close(to_chrome_read)
        os.close(from_chrome_write)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict[str, t.Any]] = []
        self.deadline = time.monotonic() + DEADLINE_SECONDS
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]

    def _read_message(self) -> dict[str, t.Any]:
        while b"\0" not in self._buffer:
            if time.monotonic() > self.deadline:
                raise TimeoutError(f"Chromium did not answer within {DEADLINE_SECONDS} s")
            chunk = os.read(self._from_chrome, 65536)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def call(self, method: str, page: bool = False, **params: t.Any) -> dict[str, t.Any]:
        """Send one command (to the page when page is true) and return its result; events are kept."""
        self._next_id += 1
        command: dict[str, t.Any] = {"id": self._next_id, "method": method, "params": params}
        if page:
            command["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(command).encode() + b"\0")
        while True:
            message = self._read_message()
            if message.get("id") == self._next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str) -> None:
        while not any(message.get("method") == event for message in self.events):
            self.events.append(self._read_message())

    def evaluate(self, expression: str) -> t.Any:
        result = self.call("Runtime.evaluate", page=True, expression=expression, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluating {expression!r}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def open(self, url: str, javascript: bool = True) -> None:
        self.events.clear()
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", page=True)
        self.call("Emulation.setScriptExecutionDisabled", page=True, value=not javascript)
        self.call("Emulation.setDeviceMetricsOverride", page=True, width=1280, height=900, deviceScaleFactor=1, mobile=False)
        self.call("Page.navigate", page=True, url=url)
        self.wait_for("Page.loadEventFired")

    def screenshot(self, path: Path, height: int) -> None:
        size = self.call("Page.getLayoutMetrics", page=True)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": 1280, "height": min(int(size["height"]), height), "scale": 1}
        data = self.call("Page.captureScreenshot", page=True, format="png", captureBeyondViewport=True, clip=clip)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except (OSError, RuntimeError, TimeoutError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def page_problems(events: list[dict[str, t.Any]], url: str) -> list[str]:
    """Console errors, uncaught exceptions, dialogs and requests for anything but the report itself."""
    problems = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert", "warning"):
            problems.append(f"console {params['type']}: {[arg.get('value') for arg in params.get('args', [])]}")
        elif method == "Runtime.exceptionThrown":
            problems.append(f"uncaught exception: {params['exceptionDetails'].get('text')}")
        elif method == "Log.entryAdded" and params["entry"].get("level") in ("error", "warning"):
            problems.append(f"browser log {params['entry']['level']}: {params['entry'].get('text')}")
        elif method == "Page.javascriptDialogOpening":
            problems.append(f"a dialog opened: {params.get('message')!r}")
        elif method == "Network.requestWillBeSent" and params["request"]["url"] != url:
            problems.append(f"request for an external asset: {params['request']['url'][:100]}")
    return problems


COUNTS = """({bars: document.querySelectorAll('svg.timeline .session-bar').length,
  rows: document.querySelectorAll('#sessions tbody tr').length,
  visible: Array.prototype.filter.call(document.querySelectorAll('#sessions tbody tr'), function (r) { return !r.hidden; }).length,
  images: document.images.length, scripts: document.scripts.length,
  text: document.body.innerText})"""

SORT_BY_DURATION = """(function () {
  var button = document.querySelectorAll('#sessions thead th button')[2];
  button.click(); button.click();
  return Array.prototype.map.call(document.querySelectorAll('#sessions tbody tr td:nth-child(3)'),
                                  function (cell) { return cell.getAttribute('data-sort'); });
}())"""


def check_interactive(browser: Browser, sessions: int, rows: int, texts: list[str]) -> list[str]:
    counts = browser.evaluate(COUNTS)
    problems = []
    if counts["bars"] != sessions:
        problems.append(f"{counts['bars']} session bars in the timeline SVG, expected {sessions}")
    if counts["rows"] != rows:
        problems.append(f"{counts['rows']} table rows, expected {rows}")
    if counts["images"] or counts["scripts"] != 1:
        problems.append(f"{counts['images']} images and {counts['scripts']} scripts in the page (expected 0 and 1): markup was injected")
    problems += [f"text not shown as text: {text!r}" for text in texts if text not in counts["text"]]
    if rows > 1:
        durations = [float(value) if value else -1.0 for value in browser.evaluate(SORT_BY_DURATION)]
        if durations != sorted(durations, reverse=True):
            problems.append("sorting by Duration (descending) did not order the rows")
        browser.evaluate("var f = document.getElementById('session-filter'); f.value = 'no such row at all';"
                         "f.dispatchEvent(new Event('input'));")
        if browser.evaluate(COUNTS)["visible"] != 0:
            problems.append("the filter box did not hide the rows that do not match")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("report", type=Path)
    parser.add_argument("--sessions", type=int, required=True, help="how many sessions the report must show")
    parser.add_argument("--rows", type=int, help="how many table rows (default: --sessions; sessions with unusable times have no bar)")
    parser.add_argument("--screenshot", type=Path, required=True)
    parser.add_argument("--height", type=int, default=16000, help="crop the full-page screenshot to this many pixels")
    parser.add_argument("--text", action="append", default=[], help="a string the page must show as text")
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = parser.parse_args()
    url = args.report.resolve().as_uri()
    started = time.monotonic()
    browser = Browser(args.chromium)
    try:
        browser.open(url)
        rows = args.sessions if args.rows is None else args.rows
        problems = check_interactive(browser, args.sessions, rows, args.text)
        problems += page_problems(browser.events, url)
        browser.open(url, javascript=False)
        browser.screenshot(args.screenshot, args.height)
        without_js = browser.evaluate(COUNTS)
        if (without_js["bars"], without_js["rows"]) != (args.sessions, rows):
            problems.append(f"without JavaScript: {without_js['bars']} bars and {without_js['rows']} rows, expected {args.sessions} and {rows}")
    finally:
        browser.close()
    for problem in problems:
        print(f"report browser check FAILED: {problem}", file=sys.stderr)
    if not problems:
        print(f"report browser check passed: {args.sessions} session bars and rows, no console error, no external request, "
              f"sorting and filtering work; screenshot {args.screenshot} ({time.monotonic() - started:.1f} s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
