"""The client's handling of the key and of strict settings: nothing of the key ever shows, bad settings fail first."""

from __future__ import annotations

import socket
import threading
import time
import typing as t

import pytest
import requests

from ansible_collections.pinggy.tunnels.plugins.module_utils import _api
from ansible_collections.pinggy.tunnels.plugins.module_utils._api import (
    PinggyApiError,
    PinggyClient,
    PinggyConnectionError,
    PinggyOptionError,
    redact_key,
)
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, SEED_SESSION, EmulatorControl


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
