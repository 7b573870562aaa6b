# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one Pinggy API client of the collection (private: not a public API).

Used by the module (inside AnsiballZ) and by the controller-side plugins. Every failure is raised as
a ``PinggyError`` subclass whose message is one line and never contains the API key.
"""

from __future__ import annotations

import re
import traceback
import typing as t
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from urllib.parse import urlsplit

from ansible.module_utils.basic import env_fallback

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
MESSAGE_MAX_CHARS = 200
MAX_WORKERS_LIMIT = 16
# A history with more pages than this is refused before any page after the first is asked for.
MAX_HISTORY_PAGES = 10000
_PAGE_KEYS = ("content", "totalElements", "totalPages")
_CONNECTION_PREFIX = re.compile(r"^(<[^>]*>|\w+\([^)]*\)): ")


class PinggyError(Exception):
    """Base class: any failure to get a usable answer from the Pinggy API."""


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


if HAS_REQUESTS:

    class _CappedRetry(Retry):
        """urllib3 Retry that honours Retry-After but never sleeps longer than RETRY_AFTER_MAX_SECONDS."""

        def get_retry_after(self, response: t.Any) -> t.Optional[float]:
            retry_after = super().get_retry_after(response)
            return None if retry_after is None else min(retry_after, RETRY_AFTER_MAX_SECONDS)


class PinggyClient:
    """A requests.Session bound to one API URL and key, with retries and typed one-line errors."""

    def __init__(
        self,
        api_key: str,
        api_url: str = DEFAULT_API_URL,
        validate_certs: bool = True,
        timeout: float = 30,
        retries: int = 3,
    ) -> None:
        if not HAS_REQUESTS:
            raise PinggyError("The Pinggy API client needs the Python library 'requests': pip install requests")
        self._check_options(api_key, api_url, timeout, retries)
        self._api_key = api_key
        self.api_url = api_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.verify = validate_certs
        self.session.headers.update({
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": f"pinggy.tunnels/{COLLECTION_VERSION} (Ansible collection) python-requests/{requests.__version__}",
        })
        retry = _CappedRetry(
            total=retries,
            connect=retries,
            read=retries,
            status=retries,
            other=0,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=frozenset({"GET"}),
            backoff_factor=BACKOFF_FACTOR,
            respect_retry_after_header=True,
            # Hand the last error response back so it is reported with its status and message.
            raise_on_status=False,
        )
        # Enough pooled connections for the largest history fan-out, so workers reuse them.
        adapter = HTTPAdapter(max_retries=retry, pool_maxsize=MAX_WORKERS_LIMIT)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        if not validate_certs:
            # The caller warns once in its own words; urllib3's per-request warning would repeat it.
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)

    @staticmethod
    def _check_options(api_key: str, api_url: str, timeout: float, retries: int) -> None:
        if not api_key or not str(api_key).strip():
            raise PinggyError("api_key: a non-empty Pinggy API key is required (option api_key or env PINGGY_API_KEY)")
        parts = urlsplit(str(api_url or ""))
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise PinggyError(f"api_url: expected an http(s) URL such as {DEFAULT_API_URL}, got {_one_line(repr(api_url), 80)}")
        if timeout is None or timeout <= 0:
            raise PinggyError(f"timeout: expected a number of seconds greater than 0, got {timeout!r}")
        if retries is None or retries < 0:
            raise PinggyError(f"retries: expected an integer of 0 or more, got {retries!r}")

    @property
    def host(self) -> str:
        """host[:port] of the API, as named in connection errors."""
        return urlsplit(self.api_url).netloc

    def _redact(self, text: str) -> str:
        # Messages built here never hold the key; text from the server or the network stack might echo it.
        return text.replace(self._api_key, "********") if self._api_key else text

    def get_json(self, path: str, params: t.Optional[dict[str, t.Any]] = None) -> t.Any:
        """GET api_url + path and return the decoded JSON; raise a PinggyError subclass otherwise."""
        url = f"{self.api_url}/{path.lstrip('/')}"
        where = f"GET {urlsplit(url).path}"
        try:
            response = self.session.get(url, params=params, timeout=self.timeout)
        except requests.exceptions.SSLError as exc:
            raise PinggyConnectionError(
                f"TLS verification failed for the Pinggy API at {self.host} ({where}); "
                f"set validate_certs=false only for a test server: {self._redact(_describe(_root_cause(exc)))}") from None
        except requests.exceptions.RequestException as exc:
            cause = _root_cause(exc)
            # urllib3 files "connection refused / DNS failure" (NewConnectionError) under its timeout errors.
            timed_out = isinstance(exc, requests.exceptions.Timeout) or isinstance(cause, urllib3.exceptions.TimeoutError)
            if timed_out and not isinstance(cause, urllib3.exceptions.NewConnectionError):
                raise PinggyConnectionError(
                    f"Timed out after {self.timeout:g}s talking to the Pinggy API at {self.host} ({where})") from None
            raise PinggyConnectionError(
                f"Cannot reach the Pinggy API at {self.host} ({where}): {self._redact(_describe(cause))}") from None
        return self._decode(response, where)

    def _decode(self, response: t.Any, where: str) -> t.Any:
        status = response.status_code
        if status in (401, 403):
            raise PinggyAuthError(
                f"Pinggy API rejected the API key (HTTP {status}) for {where} at {self.host}: check api_key or PINGGY_API_KEY")
        if status >= 400:
            raise PinggyApiError(
                f"Pinggy API error HTTP {status} for {where} at {self.host}: {self._redact(_server_message(response))}")
        try:
            return response.json()
        except ValueError:
            raise PinggyResponseError(
                f"Pinggy API returned a body that is not valid JSON for {where} (HTTP {status}): "
                f"{self._redact(_one_line(response.text, 80))!r}") from None

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

    def history(self, start: date, end: date, page_size: int = 100, max_workers: int = 4) -> list[dict[str, t.Any]]:
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
    """One readable line for a network failure, without urllib3's object reprs."""
    args = getattr(cause, "args", ())
    if isinstance(cause, urllib3.exceptions.ProtocolError) and len(args) == 2:
        # ('Connection aborted.', RemoteDisconnected('Remote end closed connection without response'))
        return _one_line(f"{str(args[0]).rstrip('.')}: {args[1]}", 120)
    # urllib3 prefixes the reason with the connection object: "HTTPConnection(host=..., port=...): Failed to ..."
    return _one_line(_CONNECTION_PREFIX.sub("", str(cause)), 120)


def _server_message(response: t.Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return _one_line(response.text or response.reason or "no message")
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or body
        return _one_line(message)
    return _one_line(body)


def client_from_options(options: t.Mapping[str, t.Any], warn: t.Callable[[str], None]) -> PinggyClient:
    """Build the client from the connection options, warning through the caller when TLS checks are off."""
    if not options.get("validate_certs", True):
        warn("validate_certs is false: the Pinggy API's TLS certificate is not verified; use this only against a test server")
    # Unset optional settings keep the client's defaults; a missing key still reaches the client's own check.
    settings = {name: options[name] for name in CONNECTION_OPTIONS if name != "api_key" and options.get(name) is not None}
    return PinggyClient(api_key=options.get("api_key") or "", **settings)
