# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Pinggy API client of the collection (private: not a public API).

Used by the module (inside AnsiballZ) and by the controller-side plugins. Every failure is raised as
a ``PinggyError`` subclass whose message is one line and never contains the API key, whole or in part.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import re
import socket
import threading
import time
import traceback
import typing as t
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback

# The optional-import guard Ansible modules use (missing_required_lib reads the flag and the traceback).
try:
    import requests
    import urllib3
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR: t.Optional[str] = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

COLLECTION_VERSION = "0.1.0"
DEFAULT_API_URL = "https://dashboard.pinggy.io/backend/api/v1"
RETRY_STATUSES = (429, 502, 503, 504)
# A misbehaving server must not park a playbook for an hour with a huge Retry-After.
RETRY_AFTER_MAX_SECONDS = 60
BACKOFF_FACTOR = 0.5
TIMEOUT_MAX_SECONDS = 3600
RETRIES_MAX = 10
MESSAGE_MAX_CHARS = 200
MAX_WORKERS_LIMIT = 16
# Any run of this many characters of the key counts as a leak; server text is searched for such runs.
KEY_RUN_CHARS = 8
# Only the head of a server's text is ever shown; redaction scans a little more than that.
SERVER_TEXT_SCAN_CHARS = 4096
# A history with more pages than this is refused before any page after the first is asked for.
MAX_HISTORY_PAGES = 10000
# The largest history page the API serves (a Spring pageable endpoint capped at 2000): the client's default page
# size and the lookup's upper bound and documented default.
HISTORY_PAGE_SIZE_MAX = 2000
# The largest response body read, on every endpoint and attempt (documented in the pinggy doc fragment and README):
# 100,000 active sessions take about 37 MB of JSON and a full history page about 0.7 MB.
MAX_BODY_BYTES = 128 * 1024 * 1024
BODY_CHUNK_BYTES = 64 * 1024
# API records are flat: a value nested deeper than this (counted from the top of the answer) is replaced by
# TOO_DEEP_TEXT, so no recursive walk (ours, Ansible's, a JSON encoder's) meets an answer it cannot finish.
MAX_NESTING = 32
TOO_DEEP_TEXT = f"(nested deeper than {MAX_NESTING} levels: not kept)"
_PAGE_KEYS = ("content", "totalElements", "totalPages")
_CONNECTION_PREFIX = re.compile(r"^(<[^>]*>|\w+\([^)]*\)): ")
# A Bearer token is printable ASCII; anything else would be rejected by the HTTP stack in a message showing it.
_PRINTABLE_ASCII = re.compile(r"^[\x20-\x7e]+$")


class PinggyError(Exception):
    """Base class: any failure to get a usable answer from the Pinggy API."""


class PinggyOptionError(PinggyError, ValueError):
    """An option value that cannot work, found before any request."""


class PinggyQueryError(PinggyError, ValueError):
    """A JMESPath query that does not compile, or fails on the records."""


class PinggyAuthError(PinggyError):
    """The API rejected the key (HTTP 401/403)."""


class PinggyApiError(PinggyError):
    """Any other HTTP error status."""


class PinggyConnectionError(PinggyError):
    """DNS, connect, TLS or timeout failure: no HTTP answer at all."""


class PinggyResponseError(PinggyError):
    """An HTTP 2xx answer that is not JSON or not of the documented shape."""


def connection_argument_spec() -> dict[str, dict[str, t.Any]]:
    """AnsibleModule argument spec of the connection options (documented in the pinggy doc fragment)."""
    return {
        "api_key": {"type": "str", "required": True, "no_log": True, "fallback": (env_fallback, ["PINGGY_API_KEY"])},
        "api_url": {"type": "str", "default": DEFAULT_API_URL, "fallback": (env_fallback, ["PINGGY_API_URL"])},
        "validate_certs": {"type": "bool", "default": True, "fallback": (env_fallback, ["PINGGY_VALIDATE_CERTS"])},
        "timeout": {"type": "float", "default": 30, "fallback": (env_fallback, ["PINGGY_TIMEOUT"])},
        "retries": {"type": "int", "default": 3, "fallback": (env_fallback, ["PINGGY_RETRIES"])},
    }


CONNECTION_OPTIONS = tuple(connection_argument_spec())


def _one_line(text: str, limit: int = MESSAGE_MAX_CHARS) -> str:
    """Collapse whitespace and truncate, so server text cannot break the one-line error rule."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def clean_api_key(api_key: t.Any) -> str:
    """The key without surrounding whitespace (keys read from files end in a newline); refused if unusable.

    The message never shows the key: an HTTP library refusing a bad header would print it.
    """
    key = api_key.strip(" \t\r\n\f\v") if isinstance(api_key, str) else ""
    if not key:
        raise PinggyOptionError("api_key: a non-empty Pinggy API key is required (option api_key or env PINGGY_API_KEY)")
    if not _PRINTABLE_ASCII.match(key):
        raise PinggyOptionError("api_key: the key holds a control or non-ASCII character; expected printable ASCII (value not shown)")
    return key


def check_api_url(api_url: t.Any) -> str:
    """An http(s) base URL with a host and nothing that would send the requests elsewhere, without a trailing /."""
    text = api_url if isinstance(api_url, str) else ""
    parts = urlsplit(text)
    if parts.username is not None or parts.password is not None:
        # The URL is not shown: it holds a password.
        raise PinggyOptionError("api_url: must not hold a user name or password; the API key goes in api_key")
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment or re.search(r"\s", text):
        raise PinggyOptionError(
            f"api_url: expected an http(s) URL with a host and no query, fragment or spaces, such as {DEFAULT_API_URL}, "
            f"got {_one_line(repr(api_url), 80)}")
    return text.rstrip("/")


def check_timeout(timeout: t.Any) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not math.isfinite(timeout) \
            or not 0 < timeout <= TIMEOUT_MAX_SECONDS:
        raise PinggyOptionError(f"timeout: expected a number of seconds above 0 and at most {TIMEOUT_MAX_SECONDS}, got {timeout!r}")
    return float(timeout)


def check_retries(retries: t.Any) -> int:
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= RETRIES_MAX:
        raise PinggyOptionError(f"retries: expected an integer from 0 to {RETRIES_MAX}, got {retries!r}")
    return retries


def secret_forms(options: t.Mapping[str, t.Any]) -> set[str]:
    """The forms of the secrets in the options that the caller's own masking would miss.

    The key as sent (without the whitespace a secret file leaves) and a password written into api_url,
    which the module's echo of its arguments would otherwise show.
    """
    forms = set()
    if isinstance(options.get("api_key"), str) and options["api_key"].strip():
        forms.add(options["api_key"].strip())
    if isinstance(options.get("api_url"), str):
        with contextlib.suppress(ValueError):
            forms.update(part for part in (urlsplit(options["api_url"]).password,) if part)
    return forms


def key_fingerprint(api_url: str, api_key: str) -> str:
    """A one-way digest of the account a client talks to: safe to put in cache keys, never reversible to the key."""
    return hashlib.sha256(f"pinggy.tunnels\0{api_url}\0{api_key}".encode()).hexdigest()[:16]


def redact_key(text: str, api_key: str) -> str:
    """Replace every stretch of text made of runs of KEY_RUN_CHARS characters of the key by '********'."""
    width = min(KEY_RUN_CHARS, len(api_key))
    if not width:
        return text
    runs = {api_key[i:i + width] for i in range(len(api_key) - width + 1)}
    pieces, shown_from, covered_to = [], 0, -1
    for start in range(len(text) - width + 1):
        if text[start:start + width] in runs:
            if start > covered_to:
                pieces += [text[shown_from:start], "********"]
            covered_to = shown_from = start + width
    pieces.append(text[shown_from:])
    return "".join(pieces)


class _AttemptTimedOut(Exception):
    """One attempt (connect, headers and whole body) outlived the timeout."""


class _BodyTooLarge(Exception):
    """An answer's body (declared or read so far) is over MAX_BODY_BYTES."""


class PinggyClient:
    """A requests.Session bound to one API URL and key, with retries, a deadline per attempt and typed one-line errors."""

    def __init__(
        self,
        api_key: str,
        api_url: str = DEFAULT_API_URL,
        validate_certs: bool = True,
        timeout: float = 30,
        retries: int = 3,
        warn: t.Optional[t.Callable[[str], None]] = None,
    ) -> None:
        if not HAS_REQUESTS:
            raise PinggyError("The Pinggy API client needs the Python library 'requests': pip install requests")
        if not isinstance(validate_certs, bool):
            raise PinggyOptionError(f"validate_certs: expected a boolean, got {_one_line(repr(validate_certs), 40)}")
        self._api_key = clean_api_key(api_key)
        self.api_url = check_api_url(api_url)
        self.timeout = check_timeout(timeout)
        self.retries = check_retries(retries)
        self.validate_certs = validate_certs
        self.warn: t.Callable[[str], None] = warn or (lambda message: None)
        self.session = self._new_session()

    def _new_session(self) -> t.Any:
        session = requests.Session()
        session.verify = self.validate_certs
        session.headers.update({
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "User-Agent": f"pinggy.tunnels/{COLLECTION_VERSION} (Ansible collection) python-requests/{requests.__version__}",
        })
        # Retries are this client's own (see _get), so that each attempt gets its own deadline.
        # Enough pooled connections for the largest history fan-out, so workers reuse them.
        adapter = HTTPAdapter(max_retries=0, pool_maxsize=MAX_WORKERS_LIMIT)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        if not self.validate_certs:
            # The caller warns once in its own words; urllib3's per-request warning would repeat it.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        return session

    @property
    def host(self) -> str:
        """host[:port] of the API, as named in connection errors."""
        return urlsplit(self.api_url).netloc

    @property
    def fingerprint(self) -> str:
        """A one-way digest of the API URL and key, for cache keys."""
        return key_fingerprint(self.api_url, self._api_key)

    def _server_text(self, text: t.Any, limit: int = MESSAGE_MAX_CHARS) -> str:
        # Text from the server or the network stack may echo the key: redact first, then cut, so no cut-off run survives.
        return _one_line(redact_key(str(text)[:SERVER_TEXT_SCAN_CHARS], self._api_key), limit)

    def get_json(self, path: str, params: t.Optional[dict[str, t.Any]] = None) -> t.Any:
        """GET api_url + path and return the decoded JSON; raise a PinggyError subclass otherwise."""
        url = f"{self.api_url}/{path.lstrip('/')}"
        where = f"GET {urlsplit(url).path}"
        data = self._decode(self._get(url, params, where), where)
        cut = _cut_deep_values(data)
        if cut:
            self.warn(f"Pinggy API answered {where} with {cut} value(s) nested deeper than {MAX_NESTING} levels; "
                      f"each is kept as the text {TOO_DEEP_TEXT!r}")
        return data

    def _get(self, url: str, params: t.Optional[dict[str, t.Any]], where: str) -> t.Any:
        """The response of the first attempt that is not a retryable failure, or of the last attempt."""
        for attempt in range(self.retries + 1):
            last = attempt == self.retries
            try:
                response = self._attempt(url, params)
            except requests.exceptions.SSLError as exc:
                # A certificate does not get better by asking again.
                raise PinggyConnectionError(
                    f"TLS verification failed for the Pinggy API at {self.host} ({where}); set validate_certs=false "
                    f"only for a test server: {self._server_text(_describe(_root_cause(exc)), 120)}") from None
            except _BodyTooLarge:
                # Not retried: the same request would get the same answer.
                raise PinggyResponseError(
                    f"Pinggy API answered {where} at {self.host} with a body over {MAX_BODY_BYTES // 2 ** 20} MiB, "
                    "the most this client reads; refused") from None
            except (requests.exceptions.RequestException, _AttemptTimedOut) as exc:
                if last:
                    raise self._connection_error(exc, where) from None
                time.sleep(_backoff(attempt))
                continue
            if last or response.status_code not in RETRY_STATUSES:
                return response
            response.close()
            time.sleep(_retry_after(response) if response.headers.get("Retry-After") else _backoff(attempt))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _attempt(self, url: str, params: t.Optional[dict[str, t.Any]]) -> t.Any:
        """One GET whose connect, headers and whole body end within the timeout (requests' own timeout is per read).

        A worker that outlives the deadline is left behind as a daemon thread, woken up when it is reading a body.
        """
        outcome: dict[str, t.Any] = {}

        def fetch() -> None:
            try:
                # verify on each request: the session's value alone is overridden by REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE.
                response = self.session.get(url, params=params, timeout=self.timeout, verify=self.validate_certs, stream=True)
                outcome["response"] = response
                _read_body(response)  # the whole body, within the deadline
            except Exception as exc:  # pylint: disable=broad-exception-caught  # handed to the caller's thread
                outcome["error"] = exc

        worker = threading.Thread(target=fetch, name="pinggy-api-get", daemon=True)
        worker.start()
        worker.join(self.timeout)
        if worker.is_alive():
            _shut_down(outcome.get("response"))
            raise _AttemptTimedOut()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["response"]

    def _connection_error(self, exc: Exception, where: str) -> PinggyConnectionError:
        cause = _root_cause(exc)
        # urllib3 files "connection refused / DNS failure" (NewConnectionError) under its timeout errors.
        timed_out = isinstance(exc, (_AttemptTimedOut, requests.exceptions.Timeout)) or isinstance(cause, urllib3.exceptions.TimeoutError)
        if timed_out and not isinstance(cause, urllib3.exceptions.NewConnectionError):
            return PinggyConnectionError(f"Timed out after {self.timeout:g}s talking to the Pinggy API at {self.host} ({where})")
        return PinggyConnectionError(f"Cannot reach the Pinggy API at {self.host} ({where}): {self._server_text(_describe(cause), 120)}")

    def _decode(self, response: t.Any, where: str) -> t.Any:
        status = response.status_code
        if status in (401, 403):
            raise PinggyAuthError(
                f"Pinggy API rejected the API key (HTTP {status}) for {where} at {self.host}: check api_key or PINGGY_API_KEY")
        if status >= 400:
            raise PinggyApiError(f"Pinggy API error HTTP {status} for {where} at {self.host}: {self._server_text(_server_message(response))}")
        try:
            return response.json()
        except RecursionError:
            raise PinggyResponseError(
                f"Pinggy API returned JSON nested too deeply to read for {where} (HTTP {status})") from None
        except ValueError:
            raise PinggyResponseError(
                f"Pinggy API returned a body that is not valid JSON for {where} (HTTP {status}): "
                f"{self._server_text(response.text, 80)!r}") from None

    def active_sessions(self) -> list[dict[str, t.Any]]:
        """The raw (camelCase) active sessions of the account."""
        data = self.get_json("session/active")
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise PinggyResponseError(
                f"Pinggy API answered GET /session/active with {type(data).__name__}, expected a list of session objects")
        return data

    def history_page(self, start: date, end: date, page: int, size: int) -> dict[str, t.Any]:
        """One page (Spring Page object) of the session history between two UTC dates, inclusive."""
        path = f"session/history/{start.isoformat()}/{end.isoformat()}"
        data = self.get_json(path, params={"page": page, "size": size})
        if not isinstance(data, dict) or any(key not in data for key in _PAGE_KEYS):
            raise PinggyResponseError(
                f"Pinggy API answered GET /{path} page {page} with {type(data).__name__} lacking "
                f"{', '.join(_PAGE_KEYS)}: not a history page")
        if not isinstance(data["content"], list) or not all(isinstance(item, dict) for item in data["content"]):
            raise PinggyResponseError(f"Pinggy API answered GET /{path} page {page} with a content that is not a list of records")
        # The counts drive the fan-out, so anything but a non-negative integer is refused here.
        counts = [data[key] for key in ("totalElements", "totalPages")]
        if not all(isinstance(count, int) and not isinstance(count, bool) and count >= 0 for count in counts):
            raise PinggyResponseError(
                f"Pinggy API answered GET /{path} page {page} with totalElements {_one_line(repr(counts[0]), 40)} and "
                f"totalPages {_one_line(repr(counts[1]), 40)}, expected non-negative integers")
        return data

    def history(self, start: date, end: date, page_size: int = HISTORY_PAGE_SIZE_MAX, max_workers: int = 4) -> list[dict[str, t.Any]]:
        """Every history record between two UTC dates: page 0, then the other pages concurrently, in page order.

        The page count comes from the server's answer, not from page_size, since a server may cap the size.
        Each page must report the same total as page 0 and the pages must add up to it; otherwise the history
        changed while paging and an error is raised rather than a list with gaps or duplicates.
        """
        first = self.history_page(start, end, 0, page_size)
        total, pages = first["totalElements"], first["totalPages"]
        _check_page_count(first, f"{start}..{end}")
        rest: list[dict[str, t.Any]] = []
        if pages > 1 and not first.get("last", False):
            with ThreadPoolExecutor(max_workers=max(1, min(max_workers, MAX_WORKERS_LIMIT))) as pool:
                futures = [pool.submit(self.history_page, start, end, page, page_size) for page in range(1, pages)]
                try:
                    rest = [future.result() for future in futures]
                except PinggyError:
                    # The lookup fails on the first failed page: do not fetch the queued ones for nothing.
                    for future in futures:
                        future.cancel()
                    raise
        records = [record for page in [first] + rest for record in page["content"]]
        if any(page["totalElements"] != total for page in rest) or len(records) != total:
            raise PinggyResponseError(
                f"Pinggy API history for {start}..{end} changed while paging (expected {total} records, "
                f"got {len(records)} over {1 + len(rest)} pages); run again")
        return records


def _check_page_count(first: dict[str, t.Any], span: str) -> None:
    """Refuse a page count that does not follow from totalElements and the page size, or is absurd, before any fan-out."""
    total, pages, size = first["totalElements"], first["totalPages"], first.get("size")
    if pages > MAX_HISTORY_PAGES:
        raise PinggyResponseError(
            f"Pinggy API history for {span} announces {pages} pages, more than the {MAX_HISTORY_PAGES} this client fetches; "
            "narrow the date range or raise page_size")
    if pages <= 1:
        return
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise PinggyResponseError(
            f"Pinggy API history for {span} announces {pages} pages but a page size of {_one_line(repr(size), 40)}, "
            "expected a positive integer")
    if pages != -(-total // size):
        raise PinggyResponseError(
            f"Pinggy API history for {span} announces {pages} pages for {total} records of {size} per page "
            f"(expected {-(-total // size)}); not a usable history page")


def _root_cause(exc: Exception) -> object:
    """What went wrong under requests' wrapping: the reason of urllib3's MaxRetryError when there is one."""
    wrapped = exc.args[0] if exc.args else None
    return getattr(wrapped, "reason", None) or wrapped or exc


def _describe(cause: object) -> str:
    """A readable account of a network failure, without urllib3's object reprs (not yet redacted or cut)."""
    args = getattr(cause, "args", ())
    if isinstance(cause, urllib3.exceptions.ProtocolError) and len(args) == 2:
        # ('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))
        return f"{str(args[0]).rstrip('.')}: {args[1]}"
    # urllib3 prefixes the reason with the connection object: "HTTPConnection(host=..., port=...): Failed to ..."
    return _CONNECTION_PREFIX.sub("", str(cause))


def _server_message(response: t.Any) -> str:
    """The error message of a failed answer's body, else its text or reason phrase (not yet redacted or cut)."""
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return response.text or response.reason or "no message"
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or body)
    return str(body)


def _read_body(response: t.Any) -> None:
    """Read the body into the response (response.json() and .text then use it), refusing it past MAX_BODY_BYTES."""
    try:
        # requests keeps a streamed body only when read through .content; this is where .content keeps it.
        response._content = _bounded_body(response)  # pylint: disable=protected-access
    except _BodyTooLarge:
        response.close()  # the rest is never read
        raise


def _bounded_body(response: t.Any) -> bytes:
    """The body, refused when its declared length is over the limit, or as soon as what arrived (decompressed) is."""
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise _BodyTooLarge()
    chunks, size = [], 0
    for chunk in response.iter_content(BODY_CHUNK_BYTES):
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _cut_deep_values(data: t.Any) -> int:
    """Replace, in place, every list or dict nested deeper than MAX_NESTING by TOO_DEEP_TEXT; how many were.

    Iterative: the answer may be nested as deep as the JSON decoder allows.
    """
    cut, pending = 0, [(data, 1)] if isinstance(data, (dict, list)) else []
    while pending:
        container, depth = pending.pop()
        for key, value in (container.items() if isinstance(container, dict) else enumerate(container)):
            if not isinstance(value, (dict, list)):
                continue
            if depth >= MAX_NESTING:
                container[key], cut = TOO_DEEP_TEXT, cut + 1
            else:
                pending.append((value, depth + 1))
    return cut


def _shut_down(response: t.Any) -> None:
    """End a body read in another thread: a socket shutdown takes no lock (closing the response waits for the reader)."""
    sock = getattr(getattr(getattr(response, "raw", None), "connection", None), "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _backoff(attempt: int) -> float:
    """Seconds before retrying after a failed attempt: at once, then exponentially longer, capped."""
    return min(BACKOFF_FACTOR * 2 ** attempt, RETRY_AFTER_MAX_SECONDS) if attempt else 0.0


def _retry_after(response: t.Any) -> float:
    """The server's Retry-After (seconds or an HTTP date, read by urllib3), capped; an unreadable one means 1 s."""
    try:
        seconds = Retry().parse_retry_after(response.headers["Retry-After"])
    except urllib3.exceptions.InvalidHeader:
        return 1.0
    return max(0.0, min(seconds, RETRY_AFTER_MAX_SECONDS))


def client_from_options(options: t.Mapping[str, t.Any], warn: t.Callable[[str], None]) -> PinggyClient:
    """Build the client from the connection options, warning through the caller when TLS checks are off."""
    if not options.get("validate_certs", True):
        warn("validate_certs is false: the Pinggy API's TLS certificate is not verified; use this only against a test server")
    # Unset optional settings keep the client's defaults; a missing key still reaches the client's own check.
    settings = {name: options[name] for name in CONNECTION_OPTIONS if name != "api_key" and options.get(name) is not None}
    return PinggyClient(api_key=options.get("api_key"), warn=warn, **settings)
