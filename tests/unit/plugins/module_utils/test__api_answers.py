"""The client on odd error answers and history pages, and without its libraries."""

from __future__ import annotations

import json

import pytest

from ansible_collections.pinggy.tunnels.plugins.module_utils import _api, _sessions
from ansible_collections.pinggy.tunnels.plugins.module_utils._api import (
    PinggyApiError,
    PinggyClient,
    PinggyError,
    PinggyQueryError,
    PinggyResponseError,
    redact_key,
)
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import compile_query
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, EmulatorControl, utc_today


def _client(emulator: EmulatorControl) -> PinggyClient:
    return PinggyClient(api_key=API_KEY, api_url=emulator.api_url, retries=0)


def _api_error(emulator: EmulatorControl, status: int, body: str) -> str:
    emulator.fault(kind="status", status=status, count=1, body=body)
    with pytest.raises(PinggyApiError) as error:
        _client(emulator).active_sessions()
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
        _client(emulator).history(utc_today(), utc_today())


def test_redacting_with_an_empty_key_changes_nothing() -> None:
    assert redact_key("nothing to hide", "") == "nothing to hide"


def test_without_requests_the_client_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_api, "HAS_REQUESTS", False)
    with pytest.raises(PinggyError, match=r"needs the Python library 'requests': pip install requests$"):
        PinggyClient(api_key=API_KEY)


def test_without_jmespath_a_query_fails_naming_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sessions, "HAS_JMESPATH", False)
    with pytest.raises(PinggyQueryError, match=r"^query: the Python library 'jmespath' is required"):
        compile_query("[].id")
