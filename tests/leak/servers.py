"""Hostile HTTP servers for the key-leak test: each behaviour the Pinggy API client must survive without leaking the key.

One ``HostileServer`` serves every behaviour, chosen by the first path segment, ``<behaviour>~<tag>``:
``http://127.0.0.1:PORT/long_echo~run7/backend/api/v1/session/active``. Every request is recorded (behaviour,
tag, path, headers) so a test can check what reached which server, e.g. that a redirect target never saw the key.
Standard library only.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional

# Where today's client truncates server text (module_utils/_api.py MESSAGE_MAX_CHARS, and 80 for a body that
# is not JSON): an echo placed across these offsets is cut in the middle by a client that truncates first.
MESSAGE_CUT = 200
MALFORMED_CUT = 80
LONG_ECHO_CHARS = 1200
DRIP_BYTES = 12
DRIP_INTERVAL = 0.5
HANG_SECONDS = 60

# One tunnel, the shape of GET /session/active (camelCase), and an empty history page (Spring Page).
ACTIVE_SESSION = {
    "id": "1eaf1eaf-0000-4000-8000-000000000001", "userId": 1, "tokenId": 1, "token": None, "tokenName": "leak",
    "virtualToken": None, "virtualTokenName": None, "subdomain": "leak-1.a.pinggy.link", "customdomain": None,
    "mode": "tcp", "modeUdp": "", "port": 15432,
    "creationTimestamp": "2026-01-01T00:00:00.000+00:00", "lastUpdateTimestamp": "2026-01-01T00:00:00.000+00:00",
}
EMPTY_PAGE = {
    "totalElements": 0, "totalPages": 0, "size": 100, "content": [], "number": 0, "sort": {"empty": True},
    "pageable": {"pageNumber": 0, "pageSize": 100}, "numberOfElements": 0, "first": True, "last": True, "empty": True,
}


def valid_body(api_path: str) -> bytes:
    """A correct answer for an API path: one active tunnel, or an empty history page."""
    return json.dumps(EMPTY_PAGE if "/session/history/" in api_path else [ACTIVE_SESSION]).encode()


def straddle(echo: str, cut: int, total: int, before: int = 0) -> str:
    """Filler with ``echo`` placed so that its last 20 chars lie past offset ``cut``, padded to ``total`` chars.

    ``before``: how many chars precede the returned text in the whole answer. With the key at the end of the
    echo (``Bearer KEY``), a client that truncates at ``cut`` before redacting shows all but 20 chars of the key.
    """
    start = max(0, cut - before - (len(echo) - 20))
    text = "x" * start + echo + " "
    return text + "y" * max(0, total - len(text))


@dataclass
class Recorded:
    """One request as the server saw it."""

    behaviour: str
    tag: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: HostileServer
    tag = ""

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        """Quiet: the test prints its own report."""

    def do_GET(self) -> None:
        first, _sep, rest = self.path.lstrip("/").partition("/")
        behaviour, _sep, self.tag = first.partition("~")
        rest = "/" + rest
        self.server.record(Recorded(behaviour, self.tag, rest, dict(self.headers.items())))
        action = BEHAVIOURS.get(behaviour)
        if action is None:
            self._send(404, b'{"message": "no such behaviour"}')
        else:
            action(self, rest, self.headers.get("Authorization", ""))

    # -- helpers used by the behaviours ----------------------------------------------------------
    def _send(self, status: int, body: bytes, reason: Optional[str] = None, content_type: str = "application/json",
              headers: Optional[dict[str, str]] = None) -> None:
        self.send_response(status, reason)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json_error(self, status: int, message: str, reason: Optional[str] = None) -> None:
        body = {"timestamp": "2026-01-01T00:00:00.000+00:00", "status": status, "error": "Error", "message": message, "path": self.path}
        self._send(status, json.dumps(body).encode(), reason)

    def ok(self, path: str, _auth: str) -> None:
        self._send(200, valid_body(path))

    def unauthorized_echo(self, _path: str, auth: str) -> None:
        self._json_error(401, f"Invalid API key in header Authorization: {auth}", reason=f"Unauthorized {auth}")

    def error_echo_json(self, _path: str, auth: str) -> None:
        self._json_error(500, f"Internal error while checking {auth}")

    def error_echo_text(self, _path: str, auth: str) -> None:
        body = f"<html><body><h1>502 Bad Gateway</h1><pre>upstream said: Authorization: {auth}</pre></body></html>"
        self._send(500, body.encode(), content_type="text/html")

    def unavailable_echo(self, _path: str, auth: str) -> None:
        # 503 is retried: every attempt gets the echo, in the reason phrase and in the body.
        self._json_error(503, f"Service unavailable for {auth}", reason=f"Service Unavailable for {auth}")

    def reason_echo(self, _path: str, auth: str) -> None:
        # An empty body: the client falls back on the reason phrase.
        self._send(500, b"", reason=f"Internal Server Error for {auth}", content_type="text/plain")

    def long_echo(self, _path: str, auth: str) -> None:
        self._json_error(500, straddle(auth, MESSAGE_CUT, LONG_ECHO_CHARS))

    def flood_echo(self, _path: str, auth: str) -> None:
        # The echo repeated past any plausible truncation limit, in a body that is not JSON; with a 40-char key
        # MESSAGE_CUT falls inside the fourth copy of the key.
        text = "upstream error: "
        while len(text) < LONG_ECHO_CHARS:
            text += f"{auth} | "
        self._send(500, text.encode(), content_type="text/plain")

    def malformed_echo(self, _path: str, auth: str) -> None:
        lead = '{"error": "'
        body = lead + straddle(auth, MALFORMED_CUT, LONG_ECHO_CHARS, before=len(lead))  # never closed: not JSON
        self._send(200, body.encode())

    def hang(self, _path: str, _auth: str) -> None:
        # Read the request, never answer: the client's timeout must end it.
        self.server.stopping.wait(HANG_SECONDS)
        self.close_connection = True

    def drip(self, path: str, _auth: str) -> None:
        # A valid answer whose leading whitespace arrives one byte every DRIP_INTERVAL seconds.
        body = b" " * DRIP_BYTES + valid_body(path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        try:
            for index in range(DRIP_BYTES):
                self.wfile.write(body[index:index + 1])
                self.wfile.flush()
                if self.server.stopping.wait(DRIP_INTERVAL):
                    return
            self.wfile.write(body[DRIP_BYTES:])
        except OSError:
            self.close_connection = True  # the client gave up

    def redirect_host(self, path: str, _auth: str) -> None:
        # Same server, another host name: the Authorization header must not follow.
        port = self.server.server_address[1]
        self._send(302, b"", headers={"Location": f"http://localhost:{port}/target~{self.tag}{path}"})

    def redirect_port(self, path: str, _auth: str) -> None:
        # Same host name, another server (port): the Authorization header must not follow either.
        other = self.server.other_port
        self._send(302, b"", headers={"Location": f"http://127.0.0.1:{other}/target~{self.tag}{path}"})

    def target(self, path: str, _auth: str) -> None:
        # The redirect target answers correctly whatever it receives; the test inspects what it recorded.
        self.ok(path, _auth)


BEHAVIOURS: dict[str, Callable[[_Handler, str, str], None]] = {
    "ok": _Handler.ok,
    "unauthorized_echo": _Handler.unauthorized_echo,
    "error_echo_json": _Handler.error_echo_json,
    "error_echo_text": _Handler.error_echo_text,
    "unavailable_echo": _Handler.unavailable_echo,
    "reason_echo": _Handler.reason_echo,
    "long_echo": _Handler.long_echo,
    "flood_echo": _Handler.flood_echo,
    "malformed_echo": _Handler.malformed_echo,
    "hang": _Handler.hang,
    "drip": _Handler.drip,
    "redirect_host": _Handler.redirect_host,
    "redirect_port": _Handler.redirect_port,
    "target": _Handler.target,
}


class HostileServer(ThreadingHTTPServer):
    """``with HostileServer() as server: server.url('long_echo')``; ``server.requests`` lists what it received."""

    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1", other_port: int = 0) -> None:
        super().__init__((host, 0), _Handler)
        self.other_port = other_port
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[Recorded] = []
        self._thread: Optional[threading.Thread] = None

    def record(self, request: Recorded) -> None:
        with self._lock:
            self._requests.append(request)

    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def url(self, behaviour: str, tag: str = "") -> str:
        """The api_url that makes this server behave so; ``tag`` marks the requests of one test run."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/{behaviour}~{tag}/backend/api/v1"

    def requests_tagged(self, tag: str) -> list[Recorded]:
        return [request for request in self.requests if request.tag == tag]

    def start(self) -> HostileServer:
        self._thread = threading.Thread(target=self.serve_forever, name="hostile-server", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> HostileServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed: connections to it are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()
