"""The Pinggy API client against a real emulator on loopback (and a stub only where no server can help)."""

from __future__ import annotations

import re
import socket
import time
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
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, SEED_SESSION, EmulatorControl

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
