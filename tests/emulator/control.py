"""The one client of the emulator's control API (``/_emulator/...``, see README.md): the unit tests' helper
(tests/unit/plugins/emulator_control.py), the integration targets' ``pinggy_emulator_control`` module
(tests/integration/targets/setup_pinggy_emulator) and the end-to-end scripts (tests/e2e/lib/emulator.sh) use it.

Standard library only: the integration module loads this file by its path, the end-to-end scripts run it::

    python3 tests/emulator/control.py [--url CONTROL_URL] METHOD RESOURCE [JSON_BODY]

(CONTROL_URL defaults to $PINGGY_EMULATOR_URL; the answer is printed as JSON.)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import typing as t
import urllib.error
import urllib.request

# The control API's calls by name: (HTTP method, resource below /_emulator/).
CALLS: dict[str, tuple[str, str]] = {
    "reset": ("POST", "reset"),
    "add_sessions": ("POST", "sessions"),
    "add_history": ("POST", "history"),
    "fault": ("POST", "faults"),
    "clear_faults": ("DELETE", "faults"),
    "config": ("PUT", "config"),
    "counters": ("GET", "requests"),
    "clear_counters": ("DELETE", "requests"),
    "state": ("GET", "state"),
}


class ControlError(Exception):
    """A control API call failed (refused, timed out, or answered with an HTTP error)."""


class ControlClient:
    """Calls to one emulator's control API, ``http://127.0.0.1:PORT/_emulator``."""

    def __init__(self, control_url: str, timeout: float = 30) -> None:
        self.control_url = control_url.rstrip("/")
        self.timeout = timeout

    def call(self, method: str, resource: str, body: t.Any = None) -> t.Any:
        """The JSON answer of METHOD /_emulator/RESOURCE with body as JSON (None: no body)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.control_url}/{resource}", data=data, method=method,
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # nosec: loopback test server
                text = response.read()
        except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors
            raise ControlError(f"emulator control API {method} {resource} failed: {error}") from error
        return json.loads(text) if text else None

    def named(self, name: str, body: t.Any = None) -> t.Any:
        """The call CALLS names (reset, fault, counters...)."""
        method, resource = CALLS[name]
        return self.call(method, resource, body)

    def remove_session(self, session_id: t.Optional[str] = None) -> t.Any:
        """End one session, or every session without an id."""
        return self.call("DELETE", "sessions" if session_id is None else f"sessions/{session_id}")


def main(argv: t.Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="control.py", description="Call the Pinggy API emulator's control API.")
    parser.add_argument("--url", default=os.environ.get("PINGGY_EMULATOR_URL"), help="default: $PINGGY_EMULATOR_URL")
    parser.add_argument("method", choices=["GET", "POST", "PUT", "DELETE"])
    parser.add_argument("resource", help="below /_emulator/, e.g. reset, faults, sessions/ID")
    parser.add_argument("body", nargs="?", type=json.loads, help="a JSON body")
    args = parser.parse_args(argv)
    if not args.url:
        parser.error("--url: no control API URL (and no PINGGY_EMULATOR_URL)")
    try:
        answer = ControlClient(args.url).call(args.method, args.resource, args.body)
    except ControlError as error:
        print(error, file=sys.stderr)
        return 1
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
