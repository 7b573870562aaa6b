"""The Pinggy API emulator: shared state, the HTTP handler and the ``Emulator`` wrapper."""

from __future__ import annotations

import bisect
import hmac
import ipaddress
import itertools
import json
import random
import re
import socket
import ssl
import threading
import time
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional
from urllib.parse import parse_qs, unquote, urlsplit

from .data import (
    HISTORY_WINDOW_DAYS,
    Record,
    complete_active,
    complete_history,
    ended_session,
    format_timestamp,
    generate_active,
    generate_history,
    load_fixture,
    now_on,
    parse_timestamp,
    spring_page,
    utc_today,
)

if TYPE_CHECKING:
    from .ssh_front import SSHFront

API_PREFIX = "/backend/api/v1"
CONTROL_PREFIX = "/_emulator"
ACTIVE_PATH = f"{API_PREFIX}/session/active"
HISTORY_PATH = re.compile(rf"{re.escape(API_PREFIX)}/session/history/([^/]+)/([^/]+)")
DATE_FORMAT = re.compile(r"\d{4}-\d{2}-\d{2}")
FAULT_KINDS = ("status", "latency", "malformed", "drop", "huge")
FAULT_ENDPOINTS = ("active", "history", "any")
FAULT_KEYS = {"kind", "count", "endpoint", "page", "status", "retry_after", "body", "delay", "size"}
HUGE_BODY_BYTES = 200 * 1000 * 1000  # a "huge" fault's default size
# A "huge" body is this block ("{}," 21,845 times) over and over, sent in chunks as it is made: never held whole.
HUGE_BLOCK = b"{}," * 21845
CONFIG_KEYS = {"page_size_cap", "default_page_size", "today"}
MALFORMED_BODY = b'[{"id": "9345b393-d916-4a2e-816a-3347468a03c0", "mode": "tc'


class ApiError(ValueError):
    """An HTTP error answer; ``status`` 400 unless told otherwise."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def _int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ApiError(f"'{name}' must be an integer >= {minimum}")
    return value


def _seconds(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ApiError(f"'{name}' must be a number of seconds >= 0")
    return float(value)


def _parse_date(text: str, name: str) -> date:
    try:
        if DATE_FORMAT.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ApiError(f"Invalid {name} date '{text}': expected a valid date as YYYY-MM-DD")


def _query_int(query: dict[str, list[str]], name: str, default: int, minimum: int) -> int:
    if name not in query:
        return default
    try:
        value = int(query[name][0])
    except ValueError:
        raise ApiError(f"Query parameter '{name}' must be an integer") from None
    if value < minimum:
        raise ApiError(f"Query parameter '{name}' must be >= {minimum}")
    return value


def _records(body: Any) -> list[Record]:
    """One record or a list of records, as a list; anything else is a 400."""
    records = body if isinstance(body, list) else [body]
    if not all(isinstance(record, dict) for record in records):
        raise ApiError("Expected a JSON object or a list of JSON objects")
    return records


def _options(body: Any, allowed: set[str]) -> dict[str, Any]:
    options = {} if body is None else body
    if not isinstance(options, dict):
        raise ApiError("Expected a JSON object")
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ApiError(f"Unknown keys: {', '.join(unknown)}")
    return options


@dataclass
class Fault:
    """A queued misbehaviour for the next ``count`` matching API requests."""

    kind: str
    count: int
    remaining: Optional[int]  # None: applies until cleared
    endpoint: str = "any"
    page: Optional[int] = None
    status: int = 503
    retry_after: Optional[float] = None
    body: Optional[str] = None
    delay: float = 0.0
    size: int = HUGE_BODY_BYTES

    @classmethod
    def from_request(cls, body: Any) -> Fault:
        spec = _options(body, FAULT_KEYS)
        if spec.get("kind") not in FAULT_KINDS:
            raise ApiError(f"'kind' must be one of {', '.join(FAULT_KINDS)}")
        if spec.get("endpoint", "any") not in FAULT_ENDPOINTS:
            raise ApiError(f"'endpoint' must be one of {', '.join(FAULT_ENDPOINTS)}")
        status = _int(spec.get("status", 503), "status", 100)
        if status > 599:
            raise ApiError("'status' must be an HTTP status code")
        if not isinstance(spec.get("body", ""), str):
            raise ApiError("'body' must be a string")
        count = _int(spec.get("count", 1), "count", 0)
        return cls(
            kind=spec["kind"],
            count=count,
            remaining=count or None,
            endpoint=spec.get("endpoint", "any"),
            page=None if spec.get("page") is None else _int(spec["page"], "page", 0),
            status=status,
            retry_after=None if spec.get("retry_after") is None else _seconds(spec["retry_after"], "retry_after"),
            body=spec.get("body"),
            delay=_seconds(spec.get("delay", 0), "delay"),
            size=_int(spec.get("size", HUGE_BODY_BYTES), "size", 2),
        )

    def matches(self, endpoint: str, page: Optional[int]) -> bool:
        if self.endpoint not in ("any", endpoint):
            return False
        return self.page is None or (endpoint == "history" and page == self.page)


class EmulatorState:
    """Everything the server knows; every access goes through ``_lock``."""

    def __init__(self, api_key: str, *, generate: int = 0, history_count: Optional[int] = None, seed: int = 1,
                 fixture: Optional[str | Path] = None, today: Optional[date] = None, page_size_cap: int = 2000) -> None:
        if not api_key:
            raise ValueError("an API key is required")
        self.api_key = api_key
        self._lock = threading.Lock()
        fixture_active, fixture_history = load_fixture(fixture)
        self._startup: dict[str, Any] = {"generate": generate, "history_count": history_count, "seed": seed,
                                         "active": fixture_active, "history": fixture_history}
        self._config: dict[str, Any] = {"page_size_cap": _int(page_size_cap, "page_size_cap", 1), "default_page_size": 20, "today": today}
        self._sequence = itertools.count()  # tie-breaker keeping insertion order among equal start times
        self._rng = random.Random(seed)
        self._active: dict[str, Record] = {}
        self._active_body: Optional[bytes] = None  # encoded once per change: N may be 50,000
        self._history: list[tuple[datetime, int, Record]] = []  # sorted by (start, insertion)
        self._faults: list[Fault] = []
        self._counters = {"active": 0, "history": 0, "total": 0}
        self._generated: dict[str, int] = {}  # what the last reset generated, for /_emulator/state
        self.ssh_port: Optional[int] = None  # set by Emulator while its SSH front listens, for /_emulator/state
        self.reset(None)

    # -- time ------------------------------------------------------------------------------------
    def today(self) -> date:
        return self._config["today"] or utc_today()

    def now(self) -> datetime:
        return now_on(self.today())

    # -- data ------------------------------------------------------------------------------------
    def reset(self, body: Any) -> Record:
        """Rebuild the data from the startup settings overridden by ``body``; clear faults and counters."""
        options = _options(body, set(self._startup))
        settings = {**self._startup, **options}
        generate = _int(settings["generate"], "generate", 0)
        seed = _int(settings["seed"], "seed", 0)
        history_count = settings["history_count"]
        if "generate" in options and "history_count" not in options:
            history_count = None  # a new N implies the default 2*N, not the startup count
        history_count = 2 * generate if history_count is None else _int(history_count, "history_count", 0)
        today, now = self.today(), self.now()
        # Explicit lists replace everything; otherwise the fixture records come first, then generated ones.
        active = [complete_active(record, now) for record in _records(settings["active"])]
        history = self._complete_history(_records(settings["history"]), now)
        if "active" not in options:
            active += generate_active(generate, seed, today)
        if "history" not in options:
            history += generate_history(history_count, seed, today)
        history_entries = self._history_entries(history)
        with self._lock:
            self._active = {}
            self._store(active)
            self._active_body = None
            self._history = sorted(history_entries)
            self._faults.clear()
            self._counters = dict.fromkeys(self._counters, 0)
            self._generated = {"seed": seed, "generate": generate, "history_count": history_count}
        return self.snapshot()

    def _client_port(self) -> int:
        return self._rng.randint(30000, 60000)

    def _complete_history(self, records: list[Record], now: datetime) -> list[Record]:
        return [complete_history(record, now, self._client_port()) for record in records]

    def _history_entries(self, records: list[Record]) -> list[tuple[datetime, int, Record]]:
        entries = []
        for record in records:
            try:
                started = parse_timestamp(record["start_time"])
            except (TypeError, ValueError):
                raise ApiError(f"Invalid start_time {record['start_time']!r}") from None
            entries.append((started, next(self._sequence), record))
        return entries

    def add_sessions(self, body: Any) -> list[Record]:
        """Store (or replace, by id) active sessions."""
        now = self.now()
        records = [complete_active(record, now) for record in _records(body)]
        with self._lock:
            self._store(records, replace=True)
            self._active_body = None
        return records

    def _store(self, records: list[Record], replace: bool = False) -> None:
        """Keep every record, hostile ones too (caller holds the lock).

        A record is stored under its id when that is a string not taken yet (or, with ``replace``, taken: the record
        then replaces the session of that id). Any other id - missing, null, a number, a list, a duplicate in one
        reset - gets a private key, so tests can serve data the API should never send without losing any of it.
        """
        for record in records:
            session_id = record.get("id")
            if isinstance(session_id, str) and (replace or session_id not in self._active):
                self._active[session_id] = record
            else:
                self._active[f"_emulator-{next(self._sequence)}"] = record

    def active_session(self, session_id: str) -> Optional[Record]:
        """The active session of that id as the API serves it now (a copy: the control API may replace it), or None."""
        with self._lock:
            session = self._active.get(session_id)
            return None if session is None else dict(session)

    def end_session(self, session_id: str, client_port: Optional[int] = None) -> Record:
        """Move one active session to history, as a disconnect would; ``client_port``: the client's source port (random if unknown)."""
        with self._lock:
            if session_id not in self._active:
                raise ApiError(f"No active session with id '{session_id}'", 404)
            return self._end_sessions([self._active[session_id]], client_port)[0]

    def end_all_sessions(self) -> list[Record]:
        with self._lock:
            return self._end_sessions(list(self._active.values()))

    def _end_sessions(self, sessions: list[Record], client_port: Optional[int] = None) -> list[Record]:
        # Caller holds the lock.
        now = self.now()
        ended = [ended_session(session, now, self._client_port() if client_port is None else client_port) for session in sessions]
        keys = {id(stored): key for key, stored in self._active.items()}
        for session in sessions:
            del self._active[keys[id(session)]]
        self._active_body = None
        self._insert_history(self._history_entries(ended))
        return ended

    def add_history(self, body: Any) -> list[Record]:
        entries = self._history_entries(self._complete_history(_records(body), self.now()))
        with self._lock:
            self._insert_history(entries)
        return [record for _started, _seq, record in entries]

    def _insert_history(self, entries: list[tuple[datetime, int, Record]]) -> None:
        # Caller holds the lock; timsort makes appending a few records to a sorted list cheap.
        self._history.extend(entries)
        self._history.sort()

    # -- API answers -----------------------------------------------------------------------------
    def active_body(self) -> bytes:
        with self._lock:
            if self._active_body is None:
                self._active_body = json.dumps(list(self._active.values()), separators=(",", ":")).encode()
            return self._active_body

    def history_page(self, start_text: str, end_text: str, query: dict[str, list[str]]) -> Record:
        start, end = _parse_date(start_text, "start"), _parse_date(end_text, "end")
        if start > end:
            raise ApiError(f"Start date {start} is after end date {end}")
        oldest = self.today() - timedelta(days=HISTORY_WINDOW_DAYS)
        if start < oldest:
            raise ApiError(f"Start date {start} is older than {HISTORY_WINDOW_DAYS} days (oldest allowed: {oldest})")
        with self._lock:
            page = _query_int(query, "page", 0, 0)
            # Spring clamps an oversized page size to its maximum and reports the effective size.
            size = min(_query_int(query, "size", self._config["default_page_size"], 1), self._config["page_size_cap"])
            # Entries are sorted by start time: a one-element tuple sorts before any entry at that time.
            first = bisect.bisect_left(self._history, (datetime.combine(start, datetime.min.time(), timezone.utc),))
            last = bisect.bisect_left(self._history, (datetime.combine(end + timedelta(days=1), datetime.min.time(), timezone.utc),))
            in_range = self._history[first:last]
        content = [record for _started, _seq, record in in_range[page * size:(page + 1) * size]]
        return spring_page(content, len(in_range), page, size)

    # -- counters, faults, config ----------------------------------------------------------------
    def count_request(self, endpoint: Optional[str]) -> None:
        with self._lock:
            self._counters["total"] += 1
            if endpoint:
                self._counters[endpoint] += 1

    def counters(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counters)

    def clear_counters(self) -> dict[str, int]:
        with self._lock:
            self._counters = dict.fromkeys(self._counters, 0)
            return dict(self._counters)

    def add_fault(self, body: Any) -> Record:
        fault = Fault.from_request(body)
        with self._lock:
            self._faults.append(fault)
        return asdict(fault)

    def clear_faults(self) -> list[Record]:
        with self._lock:
            self._faults.clear()
        return []

    def take_faults(self, endpoint: str, page: Optional[int]) -> tuple[float, Optional[Fault]]:
        """Consume the faults hitting this request: total latency, then the first other fault."""
        delay, chosen = 0.0, None
        with self._lock:
            for fault in list(self._faults):
                if not fault.matches(endpoint, page) or (chosen and fault.kind != "latency"):
                    continue
                if fault.kind == "latency":
                    delay += fault.delay
                else:
                    chosen = fault
                if fault.remaining is not None:
                    fault.remaining -= 1
                    if fault.remaining == 0:
                        self._faults.remove(fault)
        return delay, chosen

    def update_config(self, body: Any) -> Record:
        options = _options(body, CONFIG_KEYS)
        changes = {key: _int(options[key], key, 1) for key in ("page_size_cap", "default_page_size") if key in options}
        if "today" in options:
            today = options["today"]
            changes["today"] = None if today is None else _parse_date(str(today), "today")
        with self._lock:
            self._config.update(changes)
        return self.snapshot()["config"]

    def snapshot(self) -> Record:
        with self._lock:
            config = {**self._config, "today": self.today().isoformat(), "today_frozen": self._config["today"] is not None, **self._generated}
            return {"active": len(self._active), "history": len(self._history), "config": config,
                    "faults": [asdict(fault) for fault in self._faults], "ssh_port": self.ssh_port}


# (method, resource) -> (success status, action). Resources are the path below /_emulator/.
CONTROL_ROUTES: dict[tuple[str, str], tuple[int, Callable[[EmulatorState, Any], Any]]] = {
    ("GET", "state"): (200, lambda state, _body: state.snapshot()),
    ("POST", "reset"): (200, EmulatorState.reset),
    ("POST", "sessions"): (201, EmulatorState.add_sessions),
    ("DELETE", "sessions"): (200, lambda state, _body: state.end_all_sessions()),
    ("POST", "history"): (201, EmulatorState.add_history),
    ("GET", "requests"): (200, lambda state, _body: state.counters()),
    ("DELETE", "requests"): (200, lambda state, _body: state.clear_counters()),
    ("PUT", "config"): (200, EmulatorState.update_config),
    ("POST", "faults"): (201, EmulatorState.add_fault),
    ("DELETE", "faults"): (200, lambda state, _body: state.clear_faults()),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like the real API behind its load balancer
    # Headers and body go out in two writes: with Nagle on, the body waits for the client's delayed ACK,
    # adding ~40 ms to every request after the first on a kept-alive connection.
    disable_nagle_algorithm = True
    server: _Server

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format: str, *args: Any) -> None:  # pylint: disable=redefined-builtin
        """Stay quiet: tests and the CLI only want the URL line on stdout."""

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        try:
            body = self._read_json()
            if url.path.startswith(f"{CONTROL_PREFIX}/"):
                self._control(url.path[len(CONTROL_PREFIX) + 1:].strip("/"), body)
            elif url.path.startswith(f"{API_PREFIX}/"):
                self._api(url.path, parse_qs(url.query))
            else:
                raise ApiError("Not Found", 404)
        except ApiError as error:
            self._send_error(error.status, str(error), url.path)

    def _read_json(self) -> Any:
        try:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            return json.loads(raw) if raw.strip() else None
        except ValueError:
            self.close_connection = True  # the rest of the stream can no longer be trusted
            raise ApiError("Request body is not valid JSON") from None

    # -- the Pinggy API --------------------------------------------------------------------------
    def _api(self, path: str, query: dict[str, list[str]]) -> None:
        state = self.server.state
        history_match = HISTORY_PATH.fullmatch(path)
        endpoint = "active" if path == ACTIVE_PATH else "history" if history_match else None
        state.count_request(endpoint)
        if endpoint is None:
            raise ApiError("Not Found", 404)
        if self.command != "GET":
            raise ApiError(f"Request method '{self.command}' is not supported", 405)
        delay, fault = state.take_faults(endpoint, self._page_or_none(query))
        time.sleep(delay)
        if fault:
            self._apply_fault(fault, path)
            return
        self._check_auth()
        if history_match:
            start, end = (unquote(part) for part in history_match.groups())
            self._send_json(200, state.history_page(start, end, query))
        else:
            self._send(200, state.active_body())

    @staticmethod
    def _page_or_none(query: dict[str, list[str]]) -> Optional[int]:
        try:
            return int(query.get("page", ["0"])[0])
        except ValueError:
            return None

    def _check_auth(self) -> None:
        presented = self.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(presented, f"Bearer {self.server.state.api_key}".encode()):
            raise ApiError("Invalid or missing API key", 401)

    def _apply_fault(self, fault: Fault, path: str) -> None:
        if fault.kind == "drop":
            self.close_connection = True  # nothing written: the client sees the socket close
        elif fault.kind == "malformed":
            self._send(200, MALFORMED_BODY)
        elif fault.kind == "huge":
            self._send_huge(fault.size)
        else:
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            if fault.body is None:
                self._send_error(fault.status, "Fault injected by the emulator", path, headers)
            else:
                self._send(fault.status, fault.body.encode(), headers)

    # -- the control API -------------------------------------------------------------------------
    def _control(self, resource: str, body: Any) -> None:
        if not ipaddress.ip_address(self.client_address[0]).is_loopback:
            raise ApiError("The control API only answers loopback clients", 403)
        state = self.server.state
        if resource.startswith("sessions/") and self.command == "DELETE":
            self._send_json(200, state.end_session(unquote(resource[len("sessions/"):])))
            return
        route = CONTROL_ROUTES.get((self.command, resource))
        if route is None:
            known = any(name == resource for _method, name in CONTROL_ROUTES)
            raise ApiError("Method Not Allowed", 405) if known else ApiError("Not Found", 404)
        status, action = route
        self._send_json(status, action(state, body))

    # -- responses -------------------------------------------------------------------------------
    def _send_error(self, status: int, message: str, path: str, headers: Optional[dict[str, str]] = None) -> None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        self._send_json(status, {"timestamp": format_timestamp(datetime.now(timezone.utc)), "status": status,
                                 "error": reason, "message": message, "path": path}, headers)

    def _send_json(self, status: int, payload: Any, headers: Optional[dict[str, str]] = None) -> None:
        self._send(status, json.dumps(payload).encode(), headers)

    def _send(self, status: int, body: bytes, headers: Optional[dict[str, str]] = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _send_huge(self, size: int) -> None:
        """200 with a JSON list of ``{}`` of ``size`` bytes or a block more, chunked, without Content-Length."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunks = [b"[" + HUGE_BLOCK] + [HUGE_BLOCK] * (-(-size // len(HUGE_BLOCK)) - 1) + [b"{}]"]
        try:
            for chunk in chunks:  # a list of one shared block: its length is all it costs
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        except OSError:
            pass  # the client stopped reading: what it is meant to do
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not block shutdown
    TLS_HANDSHAKE_TIMEOUT = 10

    def __init__(self, address: tuple[str, int], state: EmulatorState, ssl_context: Optional[ssl.SSLContext] = None) -> None:
        self.state = state
        self.ssl_context = ssl_context
        super().__init__(address, _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        """With TLS, handshake in the connection's own thread, so a slow or failing client never blocks accept()."""
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        request.settimeout(self.TLS_HANDSHAKE_TIMEOUT)
        try:
            tls_request = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # e.g. a client that rejects the certificate: nothing to answer
        tls_request.settimeout(None)
        try:
            super().finish_request(tls_request, client_address)
        finally:
            try:
                tls_request.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            tls_request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that drops a TLS connection is not a server error worth a traceback."""


class Emulator:
    """The emulator as a context manager: ``with Emulator(api_key="k", generate=10) as emu: emu.url``.

    ``tls_cert`` and ``tls_key`` (PEM files) make it serve HTTPS (``tests/emulator/tls.py`` generates a test CA).
    ``ssh_port`` (0 = a free port) also starts the SSH front on 127.0.0.1, where ``ssh -R`` opens live tunnels;
    it needs asyncssh (ImportError otherwise). The keepalive settings bound how long a vanished client's
    tunnels stay active: about interval * (count_max + 1) seconds.
    """

    def __init__(self, api_key: str, *, host: str = "127.0.0.1", port: int = 0, generate: int = 0,
                 history_count: Optional[int] = None, seed: int = 1, fixture: Optional[str | Path] = None,
                 today: Optional[date | str] = None, page_size_cap: int = 2000, ssh_port: Optional[int] = None,
                 ssh_keepalive_interval: float = 1.0, ssh_keepalive_count_max: int = 3,
                 tls_cert: Optional[str | Path] = None, tls_key: Optional[str | Path] = None) -> None:
        frozen_today = _parse_date(today, "today") if isinstance(today, str) else today
        self.state = EmulatorState(api_key, generate=generate, history_count=history_count, seed=seed, fixture=fixture,
                                   today=frozen_today, page_size_cap=page_size_cap)
        self._address = (host, port)
        self._ssl_context: Optional[ssl.SSLContext] = None
        if (tls_cert is None) != (tls_key is None):
            raise ValueError("HTTPS needs both a certificate and its key (tls_cert and tls_key)")
        if tls_cert is not None:
            self._ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self._ssl_context.load_cert_chain(str(tls_cert), str(tls_key))
        self._server: Optional[_Server] = None
        self._thread: Optional[threading.Thread] = None
        self._ssh_front: Optional[SSHFront] = None
        if ssh_port is not None:
            from .ssh_front import SSHFront  # asyncssh is optional: imported only when the SSH front is wanted
            self._ssh_front = SSHFront(self.state, port=ssh_port, keepalive_interval=ssh_keepalive_interval,
                                       keepalive_count_max=ssh_keepalive_count_max)

    def start(self) -> Emulator:
        self._server = _Server(self._address, self.state, self._ssl_context)
        self._thread = threading.Thread(target=self._server.serve_forever, name="pinggy-emulator", daemon=True)
        self._thread.start()
        if self._ssh_front is not None:
            try:
                self.state.ssh_port = self._ssh_front.start()
            except BaseException:
                self.stop()
                raise
        return self

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        host, port = self._server.server_address[:2]
        return f"{'http' if self._ssl_context is None else 'https'}://{host}:{port}"

    @property
    def url(self) -> str:
        return f"{self.base_url}{API_PREFIX}"

    @property
    def ssh_port(self) -> Optional[int]:
        """The SSH front's port on 127.0.0.1; None when the emulator runs without it."""
        return None if self._ssh_front is None else self._ssh_front.port

    def stop(self) -> None:
        if self._ssh_front is not None:
            self._ssh_front.stop()  # first: its disconnects move the live tunnels to history
            self.state.ssh_port = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
            self._server = self._thread = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
