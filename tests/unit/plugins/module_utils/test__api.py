"""The Pinggy API client against a real emulator on loopback (and a stub only where no server can help): answers,
odd error bodies and history pages, the key and strict settings, deadlines, and bodies it must not swallow whole."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from ansible_collections.pinggy.tunnels.plugins.module_utils import _api
from ansible_collections.pinggy.tunnels.plugins.module_utils._api import (
    PinggyApiError,
    PinggyAuthError,
    PinggyClient,
    PinggyConnectionError,
    PinggyError,
    PinggyOptionError,
    PinggyResponseError,
    client_from_options,
    redact_key,
)
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, SEED_SESSION, EmulatorControl, utc_today

GALAXY_YML = Path(__file__).parents[4] / "galaxy.yml"


def _client(emulator: EmulatorControl, **options: object) -> PinggyClient:
    return PinggyClient(api_key=options.pop("api_key", API_KEY), api_url=emulator.api_url, **options)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_active_sessions_returns_the_raw_records(emulator: EmulatorControl) -> None:
    assert _client(emulator).active_sessions() == [SEED_SESSION]


def test_trailing_slash_in_api_url_is_tolerated(emulator: EmulatorControl) -> None:
    client = PinggyClient(api_key=API_KEY, api_url=emulator.api_url + "/")
    assert client.active_sessions() == [SEED_SESSION]


def test_empty_account_is_an_empty_list(emulator: EmulatorControl) -> None:
    emulator.reset(active=[])
    assert _client(emulator).active_sessions() == []


def test_headers_carry_bearer_and_collection_version(emulator: EmulatorControl) -> None:
    headers = _client(emulator).session.headers
    assert headers["Authorization"] == f"Bearer {API_KEY}"
    assert headers["User-Agent"].startswith(f"pinggy.tunnels/{_api.COLLECTION_VERSION} ")


def test_collection_version_matches_galaxy_yml() -> None:
    version = re.search(r"^version:\s*(\S+)", GALAXY_YML.read_text(encoding="utf-8"), re.M).group(1)
    assert _api.COLLECTION_VERSION == version


def test_wrong_key_is_an_auth_error_without_the_key(emulator: EmulatorControl) -> None:
    wrong_key = "wrong-key-0123456789"
    with pytest.raises(PinggyAuthError) as error:
        _client(emulator, api_key=wrong_key).active_sessions()
    message = str(error.value)
    assert "HTTP 401" in message and "api_key" in message
    assert wrong_key not in message and API_KEY not in message


def test_transient_503_is_retried(emulator: EmulatorControl) -> None:
    emulator.fault(kind="status", status=503, count=2)
    assert _client(emulator, retries=3).active_sessions() == [SEED_SESSION]
    assert emulator.requests() == 3


def test_persistent_503_fails_with_status_and_server_message(emulator: EmulatorControl) -> None:
    emulator.fault(kind="status", status=503, count=0, body='{"message": "maintenance window"}')
    with pytest.raises(PinggyApiError) as error:
        _client(emulator, retries=1).active_sessions()
    assert "HTTP 503" in str(error.value) and "maintenance window" in str(error.value)
    assert emulator.requests() == 2


def test_500_is_not_retried(emulator: EmulatorControl) -> None:
    emulator.fault(kind="status", status=500, count=1)
    with pytest.raises(PinggyApiError, match="HTTP 500"):
        _client(emulator, retries=3).active_sessions()
    assert emulator.requests() == 1


def test_429_waits_for_retry_after(emulator: EmulatorControl) -> None:
    emulator.fault(kind="status", status=429, retry_after=1, count=1)
    started = time.monotonic()
    assert _client(emulator).active_sessions() == [SEED_SESSION]
    # A lower bound only: proves the header was honoured, says nothing about speed.
    assert time.monotonic() - started >= 1
    assert emulator.requests() == 2


@pytest.mark.parametrize("header, seconds", [("86400", _api.RETRY_AFTER_MAX_SECONDS), ("2", 2), ("-5", 1), ("soon", 1)])
def test_retry_after_is_capped_and_read_safely(header: str, seconds: float) -> None:
    response = type("Response", (), {"headers": {"Retry-After": header}})()
    assert _api._retry_after(response) == seconds


def test_server_text_echoing_the_key_is_redacted(emulator: EmulatorControl) -> None:
    emulator.fault(kind="status", status=400, count=1, body=f'{{"message": "bad token {API_KEY}"}}')
    with pytest.raises(PinggyApiError) as error:
        _client(emulator).active_sessions()
    assert API_KEY not in str(error.value) and "********" in str(error.value)


def test_malformed_json_is_a_response_error(emulator: EmulatorControl) -> None:
    emulator.fault(kind="malformed", count=1)
    with pytest.raises(PinggyResponseError, match="not valid JSON"):
        _client(emulator).active_sessions()


def test_wrong_shape_is_a_response_error(emulator: EmulatorControl) -> None:
    emulator.fault(kind="status", status=200, count=1, body='{"sessions": []}')
    with pytest.raises(PinggyResponseError, match="expected a list of session objects"):
        _client(emulator).active_sessions()


def test_dropped_connection_fails_naming_the_host(emulator: EmulatorControl) -> None:
    emulator.fault(kind="drop", count=0)
    client = _client(emulator, retries=1)
    with pytest.raises(PinggyConnectionError) as error:
        client.active_sessions()
    assert client.host in str(error.value)
    assert emulator.requests() == 2


def test_unreachable_host_fails_naming_it() -> None:
    port = _free_port()
    client = PinggyClient(api_key=API_KEY, api_url=f"http://127.0.0.1:{port}/backend/api/v1", retries=0)
    with pytest.raises(PinggyConnectionError) as error:
        client.active_sessions()
    message = str(error.value)
    assert f"127.0.0.1:{port}" in message and "\n" not in message and " at 0x" not in message


def test_timeout_is_reported_as_such(emulator: EmulatorControl) -> None:
    emulator.fault(kind="latency", delay=1.0, count=1)
    with pytest.raises(PinggyConnectionError, match="Timed out after 0.2s"):
        _client(emulator, timeout=0.2, retries=0).active_sessions()


def test_tls_failure_names_validate_certs(monkeypatch: pytest.MonkeyPatch) -> None:
    client = PinggyClient(api_key=API_KEY, api_url="https://pinggy.invalid/backend/api/v1")

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise requests.exceptions.SSLError("certificate verify failed")

    monkeypatch.setattr(client.session, "get", refuse)
    with pytest.raises(PinggyConnectionError) as error:
        client.active_sessions()
    assert "pinggy.invalid" in str(error.value) and "validate_certs" in str(error.value)


@pytest.mark.parametrize("options, option_name", [
    ({"api_key": ""}, "api_key"),
    ({"api_key": "   "}, "api_key"),
    ({"api_url": "ftp://example.com"}, "api_url"),
    ({"api_url": "dashboard.pinggy.io"}, "api_url"),
    ({"timeout": 0}, "timeout"),
    ({"retries": -1}, "retries"),
])
def test_bad_options_fail_naming_the_option(options: dict, option_name: str) -> None:
    arguments = {"api_key": API_KEY, **options}
    with pytest.raises(PinggyError) as error:
        PinggyClient(**arguments)
    assert str(error.value).startswith(f"{option_name}: ")
    assert API_KEY not in str(error.value)


def test_client_from_options_warns_only_when_tls_checks_are_off(emulator: EmulatorControl) -> None:
    warnings: list[str] = []
    options = {"api_key": API_KEY, "api_url": emulator.api_url, "validate_certs": True, "timeout": 5, "retries": 0}
    client_from_options(options, warnings.append)
    assert not warnings
    client = client_from_options({**options, "validate_certs": False}, warnings.append)
    assert client.session.verify is False
    assert len(warnings) == 1 and "validate_certs" in warnings[0]
    assert client.active_sessions() == [SEED_SESSION]


def test_client_from_options_without_a_key_names_the_option() -> None:
    with pytest.raises(PinggyError) as error:
        client_from_options({"api_key": None, "api_url": None, "validate_certs": True}, print)
    assert str(error.value).startswith("api_key: ")


# -- odd answers, and no library ---------------------------------------------------------------------------------
def _api_error(emulator: EmulatorControl, status: int, body: str) -> str:
    emulator.fault(kind="status", status=status, count=1, body=body)
    with pytest.raises(PinggyApiError) as error:
        _client(emulator, retries=0).active_sessions()
    return str(error.value)


def test_a_plain_text_error_body_is_the_message(emulator: EmulatorControl) -> None:
    message = _api_error(emulator, 400, "upstream exploded")
    assert "HTTP 400" in message and "upstream exploded" in message


def test_an_empty_error_body_falls_back_to_the_reason_phrase(emulator: EmulatorControl) -> None:
    assert "Bad Gateway" in _api_error(emulator, 502, "")


@pytest.mark.parametrize(("body", "shown"), [
    ('["quota", "exceeded"]', "['quota', 'exceeded']"),  # JSON, but not an object
    ('{"error": "Forbidden region"}', "Forbidden region"),  # no message: the error field
    ('{"detail": "odd"}', "{'detail': 'odd'}"),  # neither: the object itself
])
def test_an_error_body_of_any_json_shape_is_shown_in_one_line(emulator: EmulatorControl, body: str, shown: str) -> None:
    message = _api_error(emulator, 409, body)
    assert shown in message and "\n" not in message


def test_a_hostile_error_body_is_one_short_line_without_the_key(emulator: EmulatorControl) -> None:
    message = _api_error(emulator, 418, f"line one\nline two {API_KEY}\r\n" + "x" * 5000)
    assert "\n" not in message and "\r" not in message and API_KEY not in message and len(message) < 1000


@pytest.mark.parametrize("content", ['"not a list"', "[1, 2]", '[{"id": 1}, null]'])
def test_a_history_page_whose_content_is_not_records_is_an_error(emulator: EmulatorControl, content: str) -> None:
    page = {"content": "@", "totalElements": 1, "totalPages": 1, "number": 0, "size": 20, "last": True}
    emulator.fault(kind="status", status=200, count=1, endpoint="history", body=json.dumps(page).replace('"@"', content))
    with pytest.raises(PinggyResponseError, match="with a content that is not a list of records"):
        _client(emulator, retries=0).history(utc_today(), utc_today())


def test_redacting_with_an_empty_key_changes_nothing() -> None:
    assert redact_key("nothing to hide", "") == "nothing to hide"


def test_without_requests_the_client_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_api, "HAS_REQUESTS", False)
    with pytest.raises(PinggyError, match=r"needs the Python library 'requests': pip install requests$"):
        PinggyClient(api_key=API_KEY)


# -- the key and strict settings, deadlines -----------------------------------------------------------------------
def key_runs(key: str, width: int = _api.KEY_RUN_CHARS) -> set[str]:
    return {key[i:i + width] for i in range(len(key) - width + 1)}


def leaks(text: str, key: str = API_KEY) -> list[str]:
    return [run for run in key_runs(key) if run in text]


@pytest.mark.parametrize("suffix", ["\n", "\r\n", "\r", " \t\n"])
def test_key_with_surrounding_whitespace_works(emulator: EmulatorControl, suffix: str) -> None:
    client = PinggyClient(api_key=f" {API_KEY}{suffix}", api_url=emulator.api_url)
    assert client.active_sessions() == [SEED_SESSION]


@pytest.mark.parametrize("bad_key", [f"{API_KEY[:5]}\n{API_KEY[5:]}", f"{API_KEY}\x00", f"{API_KEY}é", f"{API_KEY}\u2028", 12345, None])
def test_unusable_key_is_refused_naming_api_key_without_showing_it(bad_key: t.Any) -> None:
    with pytest.raises(PinggyOptionError) as error:
        PinggyClient(api_key=bad_key)
    message = str(error.value)
    assert message.startswith("api_key: ") and "\n" not in message and not leaks(message)


@pytest.mark.parametrize("url, shown", [
    ("https://user:s3cr3t-pa55w0rd@dashboard.pinggy.io/backend/api/v1", False),
    ("https://:s3cr3t-pa55w0rd@dashboard.pinggy.io/backend/api/v1", False),
    ("https://dashboard.pinggy.io/backend/api/v1?x=1", True),
    ("https://dashboard.pinggy.io/backend/api/v1#top", True),
    ("https://dashboard.pinggy.io/backend/api v1", True),
    ("https:///backend/api/v1", True),
    ("file:///etc/passwd", True),
])
def test_api_url_that_would_misroute_or_leak_is_refused(url: str, shown: bool) -> None:
    with pytest.raises(PinggyOptionError) as error:
        PinggyClient(api_key=API_KEY, api_url=url)
    assert str(error.value).startswith("api_url: ")
    assert "s3cr3t-pa55w0rd" not in str(error.value)
    assert (repr(url)[:60] in str(error.value)) is shown


@pytest.mark.parametrize("option, value", [
    ("timeout", float("nan")), ("timeout", float("inf")), ("timeout", 0), ("timeout", -1), ("timeout", 3601),
    ("timeout", True), ("timeout", "30"), ("retries", -1), ("retries", 11), ("retries", True), ("retries", 1.5),
    ("validate_certs", "ture"), ("validate_certs", None),
])
def test_numbers_and_booleans_are_strict(option: str, value: t.Any) -> None:
    with pytest.raises(PinggyOptionError) as error:
        PinggyClient(api_key=API_KEY, **{option: value})
    assert str(error.value).startswith(f"{option}: ") and "\n" not in str(error.value)


def test_redaction_covers_every_run_of_the_key() -> None:
    key = "ABCDEFGHIJKLMNOP"
    assert redact_key(f"x {key} y", key) == "x ******** y"
    assert redact_key("prefix ABCDEFGHIJ!", key) == "prefix ********!"
    assert redact_key("tail IJKLMNOP", key) == "tail ********"
    assert redact_key("short ABCDEFG ok", key) == "short ABCDEFG ok"
    assert redact_key(f"{key}{key}", key) == "********"
    assert not leaks(redact_key(f"a{key[:9]}b{key[3:]}c", key), key)


def test_server_echo_cut_by_the_length_limit_is_redacted_first(emulator: EmulatorControl) -> None:
    # The key starts just before the truncation point: cutting first would leave most of it.
    padding = "x" * (_api.MESSAGE_MAX_CHARS - 12)
    emulator.fault(kind="status", status=400, count=1, body=f'{{"message": "{padding} {API_KEY}"}}')
    with pytest.raises(PinggyApiError) as error:
        PinggyClient(api_key=API_KEY, api_url=emulator.api_url).active_sessions()
    assert not leaks(str(error.value)) and len(str(error.value)) < 400


def test_malformed_body_echoing_the_key_is_redacted(emulator: EmulatorControl) -> None:
    emulator.fault(kind="status", status=200, count=1, body=f"<html>token {API_KEY[:10]} refused</html>")
    with pytest.raises(_api.PinggyResponseError) as error:
        PinggyClient(api_key=API_KEY, api_url=emulator.api_url).active_sessions()
    assert "not valid JSON" in str(error.value) and not leaks(str(error.value))


def test_fingerprint_depends_on_url_and_key_and_hides_the_key() -> None:
    client = PinggyClient(api_key=API_KEY, api_url="http://127.0.0.1:1/backend/api/v1")
    assert client.fingerprint == PinggyClient(api_key=API_KEY + "\n", api_url="http://127.0.0.1:1/backend/api/v1/").fingerprint
    assert client.fingerprint != PinggyClient(api_key=API_KEY + "x", api_url="http://127.0.0.1:1/backend/api/v1").fingerprint
    assert client.fingerprint != PinggyClient(api_key=API_KEY, api_url="http://127.0.0.1:2/backend/api/v1").fingerprint
    assert not leaks(client.fingerprint)


@pytest.mark.parametrize("validate_certs", [True, False])
def test_validate_certs_is_passed_on_every_request(monkeypatch: pytest.MonkeyPatch, validate_certs: bool) -> None:
    # requests lets REQUESTS_CA_BUNDLE override a session's verify=False unless verify is given per request.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/nonexistent/ca.pem")
    client = PinggyClient(api_key=API_KEY, api_url="https://pinggy.invalid/backend/api/v1", validate_certs=validate_certs, retries=0)
    seen: list[t.Any] = []

    def record(*_args: object, **kwargs: t.Any) -> None:
        seen.append(kwargs.get("verify"))
        raise requests.exceptions.ConnectionError("stop here")

    monkeypatch.setattr(client.session, "get", record)
    with pytest.raises(PinggyConnectionError):
        client.active_sessions()
    assert seen == [validate_certs]


class DripServer:
    """An HTTP server on loopback that sends its answer one byte at a time: in the headers or in the body."""

    def __init__(self, where: str, interval: float = 0.1) -> None:
        body = b"[]" + b" " * 200
        self.answer = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
        self.split = 0 if where == "headers" else self.answer.index(b"\r\n\r\n") + 4
        self.interval = interval
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.stop = threading.Event()
        threading.Thread(target=self.serve, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/backend/api/v1"

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                connection, _address = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.drip, args=(connection,), daemon=True).start()

    def drip(self, connection: socket.socket) -> None:
        with connection:
            connection.recv(65536)
            connection.sendall(self.answer[:self.split])
            for index in range(self.split, len(self.answer)):
                if self.stop.is_set():
                    return
                try:
                    connection.sendall(self.answer[index:index + 1])
                except OSError:
                    return
                time.sleep(self.interval)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()


@pytest.mark.parametrize("where", ["headers", "body"])
def test_timeout_is_a_deadline_for_the_whole_answer(where: str) -> None:
    server = DripServer(where)
    try:
        client = PinggyClient(api_key=API_KEY, api_url=server.url, timeout=0.8, retries=0)
        started = time.monotonic()
        with pytest.raises(PinggyConnectionError, match=r"Timed out after 0\.8s"):
            client.active_sessions()
        # Each byte came well within the timeout; only a deadline over the whole answer stops it (~20 s otherwise).
        assert time.monotonic() - started < 5
    finally:
        server.close()


def test_secret_forms_are_what_masking_would_miss() -> None:
    assert _api.secret_forms({"api_key": f"{API_KEY}\r\n", "api_url": "https://u:pa55-word@h.example/backend/api/v1"}) == {
        API_KEY, "pa55-word"}
    assert _api.secret_forms({"api_key": "  ", "api_url": "https://h.example/backend/api/v1"}) == set()
    assert _api.secret_forms({"api_key": None, "api_url": "http://[::1/x"}) == set()


# -- bodies the client must not swallow whole --------------------------------------------------------------------
def _nested(levels: int, leaf: object = "leaf") -> object:
    """leaf inside this many containers, dicts and lists in turn."""
    for level in range(levels):
        leaf = {"deeper": leaf} if level % 2 else [leaf]
    return leaf


def _assert_one_line_refusal(message: str, where: str, client: PinggyClient) -> None:
    assert "\n" not in message and len(message) < 300 and where in message and client.host in message
    assert API_KEY not in message and API_KEY[:8] not in message


@pytest.mark.parametrize("call, where", [
    (lambda client: client.active_sessions(), "GET /backend/api/v1/session/active"),
    (lambda client: client.history(utc_today(), utc_today()), "GET /backend/api/v1/session/history/"),
])
def test_a_body_over_the_limit_is_refused_while_streaming_and_not_retried(
        emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch, call: t.Callable[[PinggyClient], object], where: str) -> None:
    monkeypatch.setattr(_api, "MAX_BODY_BYTES", 2**20)
    emulator.fault(kind="huge", size=8 * 2**20, count=0)  # chunked: no Content-Length to judge it by
    client = _client(emulator, retries=2)
    with pytest.raises(PinggyResponseError, match=r"with a body over 1 MiB, the most this client reads; refused$") as error:
        call(client)
    _assert_one_line_refusal(str(error.value), where, client)
    assert emulator.requests("active") + emulator.requests("history") == 1


def test_a_declared_length_over_the_limit_is_refused_before_reading(emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.reset([SEED_SESSION] * 3)
    monkeypatch.setattr(_api, "MAX_BODY_BYTES", 1000)
    read: list[int] = []
    monkeypatch.setattr(requests.Response, "iter_content", lambda self, *args: read.append(1) or iter([b"[]"]))
    with pytest.raises(PinggyResponseError, match="body over 0 MiB"):
        _client(emulator).active_sessions()
    assert not read


def test_a_body_at_the_limit_is_read(emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.reset([SEED_SESSION] * 3)
    body = requests.get(f"{emulator.api_url}/session/active", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10).content
    monkeypatch.setattr(_api, "MAX_BODY_BYTES", len(body))
    assert _client(emulator).active_sessions() == [SEED_SESSION] * 3


def test_the_limit_is_generous_for_a_hundred_thousand_tunnels() -> None:
    # 100,000 generated sessions (the emulator's generator, shaped as the API's) take about 37 MB.
    assert _api.MAX_BODY_BYTES >= 3 * 37_400_000


@pytest.mark.parametrize("status, error_class", [(200, PinggyResponseError), (500, PinggyApiError)])
def test_json_nested_past_the_recursion_limit_is_one_line(emulator: EmulatorControl, status: int, error_class: type) -> None:
    emulator.fault(kind="status", status=status, count=1, body="[" * 100_000 + "]" * 100_000)
    client = _client(emulator)
    with pytest.raises(error_class) as error:
        client.active_sessions()
    message = str(error.value)
    assert "\n" not in message and len(message) < 300 and "recursion" not in message.lower() and f"HTTP {status}" in message
    if status == 200:
        assert message == "Pinggy API returned JSON nested too deeply to read for GET /backend/api/v1/session/active (HTTP 200)"


def test_a_field_nested_500_deep_is_kept_cut_with_one_warning(emulator: EmulatorControl) -> None:
    emulator.reset([{**SEED_SESSION, "extra": _nested(500)}, {**SEED_SESSION, "id": "flat"}])
    warnings: list[str] = []
    sessions = _client(emulator, warn=warnings.append).active_sessions()
    assert [session["id"] for session in sessions] == [SEED_SESSION["id"], "flat"]
    assert sessions[1] == {**SEED_SESSION, "id": "flat"}
    value, depth = sessions[0]["extra"], 3  # list, record, field
    while isinstance(value, (dict, list)):
        value, depth = (value["deeper"] if isinstance(value, dict) else value[0]), depth + 1
    assert value == _api.TOO_DEEP_TEXT and depth == _api.MAX_NESTING + 1  # the containers to MAX_NESTING are kept
    assert warnings == [f"Pinggy API answered GET /backend/api/v1/session/active with 1 value(s) nested deeper than "
                        f"{_api.MAX_NESTING} levels; each is kept as the text {_api.TOO_DEEP_TEXT!r}"]


def test_an_answer_nested_to_the_limit_is_left_alone_without_a_warning(emulator: EmulatorControl) -> None:
    deepest_kept = _nested(_api.MAX_NESTING - 2)  # in a record (2) in the list (1)
    emulator.reset([{**SEED_SESSION, "extra": deepest_kept}])
    warnings: list[str] = []
    assert _client(emulator, warn=warnings.append).active_sessions() == [{**SEED_SESSION, "extra": deepest_kept}]
    assert not warnings


class _Redirecting(BaseHTTPRequestHandler):
    """Answers GET with the server's ``location`` as a 302, or with an empty session list; records the requests."""

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        self.server.requests.append(self.path)  # type: ignore[attr-defined]
        location = self.server.location  # type: ignore[attr-defined]
        body = b"" if location else b"[]"
        self.send_response(302 if location else 200)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: t.Any) -> None:  # pylint: disable=arguments-differ
        pass


@pytest.fixture
def loopback_servers() -> t.Iterator[t.Callable[[str], ThreadingHTTPServer]]:
    servers: list[ThreadingHTTPServer] = []

    def start(location: str) -> ThreadingHTTPServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirecting)
        server.requests, server.location = [], location  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("where", ["another port", "the same server"])
def test_a_redirect_is_refused_in_one_line_and_never_followed(loopback_servers: t.Callable[[str], ThreadingHTTPServer],
                                                              where: str) -> None:
    target = loopback_servers("")
    target_url = f"http://127.0.0.1:{target.server_address[1]}/api/session/active"
    redirecting = loopback_servers(target_url if where == "another port" else "/api/elsewhere")
    client = PinggyClient(api_key=API_KEY, api_url=f"http://127.0.0.1:{redirecting.server_address[1]}/api", retries=2)
    with pytest.raises(PinggyApiError) as error:
        client.active_sessions()
    location = target_url if where == "another port" else "/api/elsewhere"
    assert str(error.value) == (f"Pinggy API answered GET /api/session/active at 127.0.0.1:{redirecting.server_address[1]} "
                                f"with a redirect (HTTP 302) to {location!r}, which is not followed: "
                                "set api_url to the address that answers")
    assert redirecting.requests == ["/api/session/active"]  # once: not retried
    assert target.requests == []
