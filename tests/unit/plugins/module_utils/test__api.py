"""The Pinggy API client against a real emulator on loopback (and a stub only where no server can help)."""

from __future__ import annotations

import re
import socket
import time
import typing as t
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
    PinggyResponseError,
    client_from_options,
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
