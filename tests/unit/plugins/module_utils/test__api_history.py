"""History paging of the client (module_utils/_api.py PinggyClient.history) against the emulator."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import (
    HISTORY_PAGE_SIZE_MAX,
    PinggyApiError,
    PinggyClient,
    PinggyResponseError,
)
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import (
    API_KEY,
    EmulatorControl,
    history_records,
    utc_today,
)


def _history(emulator: EmulatorControl, **options: object) -> list:
    client = PinggyClient(api_key=API_KEY, api_url=emulator.api_url, retries=options.pop("retries", 3))
    return client.history(utc_today(), utc_today(), **options)


def _tokens(records: list) -> list:
    return [record["token_value"] for record in records]


def test_every_page_once_in_order(emulator: EmulatorControl) -> None:
    emulator.reset(active=[], history=history_records(250, utc_today()))
    records = _history(emulator, page_size=20, max_workers=4)
    assert _tokens(records) == [f"T{index:05d}" for index in range(250)]
    assert emulator.requests("history") == 13


def test_server_cap_on_page_size_still_yields_every_record_once(emulator: EmulatorControl) -> None:
    emulator.reset(active=[], history=history_records(95, utc_today()))
    emulator.call("PUT", "config", {"page_size_cap": 20})
    try:
        records = _history(emulator, page_size=100)
    finally:
        emulator.call("PUT", "config", {"page_size_cap": 2000})
    assert _tokens(records) == [f"T{index:05d}" for index in range(95)]
    assert emulator.requests("history") == 5


def test_single_page_and_empty_range(emulator: EmulatorControl) -> None:
    emulator.reset(active=[], history=history_records(3, utc_today() - timedelta(days=1)))
    assert _history(emulator) == []
    assert emulator.requests("history") == 1


def test_default_page_size_is_the_largest_the_api_serves(emulator: EmulatorControl) -> None:
    # The lookup's default and bound are the same constant; without page_size the client asks for as much.
    assert HISTORY_PAGE_SIZE_MAX == 2000
    emulator.reset(active=[], history=history_records(2500, utc_today()))
    assert _tokens(_history(emulator)) == [f"T{index:05d}" for index in range(2500)]
    assert emulator.requests("history") == 2


def test_transient_failure_on_a_later_page_is_retried(emulator: EmulatorControl) -> None:
    emulator.reset(active=[], history=history_records(200, utc_today()))
    emulator.fault(kind="status", status=503, count=1, endpoint="history", page=7)
    assert len(_history(emulator, page_size=20)) == 200
    assert emulator.requests("history") == 11


def test_persistent_failure_on_a_later_page_fails_the_whole_history(emulator: EmulatorControl) -> None:
    emulator.reset(active=[], history=history_records(200, utc_today()))
    emulator.fault(kind="status", status=500, count=0, endpoint="history", page=7)
    with pytest.raises(PinggyApiError, match="HTTP 500"):
        _history(emulator, page_size=20)


def test_a_failed_page_stops_the_queued_ones(emulator: EmulatorControl) -> None:
    emulator.reset(active=[], history=history_records(50, utc_today()))
    emulator.fault(kind="status", status=500, count=0, endpoint="history", page=2)
    with pytest.raises(PinggyApiError, match="HTTP 500"):
        _history(emulator, page_size=1, max_workers=1, retries=0)
    # Pages 0-2 and whatever the worker started before the cancel: far fewer than the 50 pages.
    assert emulator.requests("history") < 10


def test_history_growing_while_paging_is_an_error(emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.reset(active=[], history=history_records(40, utc_today()))
    client = PinggyClient(api_key=API_KEY, api_url=emulator.api_url)
    real_page = client.history_page

    def page_then_grow(start, end, page, size):  # type: ignore[no-untyped-def]
        answer = real_page(start, end, page, size)
        if page == 0:
            emulator.call("POST", "history", history_records(1, utc_today())[0])
        return answer

    monkeypatch.setattr(client, "history_page", page_then_grow)
    with pytest.raises(PinggyResponseError, match="changed while paging"):
        client.history(utc_today(), utc_today(), page_size=20)


def test_a_page_that_is_not_a_page_is_an_error(emulator: EmulatorControl) -> None:
    emulator.fault(kind="status", status=200, count=1, endpoint="history", body="[]")
    with pytest.raises(PinggyResponseError, match="not a history page"):
        _history(emulator)


@pytest.mark.parametrize("counts", [
    {"totalElements": "5", "totalPages": 1},
    {"totalElements": 5, "totalPages": None},
    {"totalElements": -1, "totalPages": 2},
    {"totalElements": 5, "totalPages": True},
])
def test_page_counts_that_are_not_counts_are_an_error(emulator: EmulatorControl, counts: dict) -> None:
    emulator.fault(kind="status", status=200, count=1, endpoint="history", body=json.dumps({"content": [], **counts}))
    with pytest.raises(PinggyResponseError, match="expected non-negative integers"):
        _history(emulator)


def _page(total: int, pages: int, size: object, number: int = 0) -> dict:
    return {"totalElements": total, "totalPages": pages, "size": size, "content": [], "number": number,
            "first": True, "last": False, "empty": True}


@pytest.mark.parametrize("page, message", [
    (_page(10, 10 ** 9, 1), "announces 1000000000 pages, more than the 10000"),
    (_page(10 ** 12, 10 ** 9, 1000), "announces 1000000000 pages, more than the 10000"),
    (_page(10, 5, 1), "announces 5 pages for 10 records of 1 per page (expected 10)"),
    (_page(100, 3, 20), "announces 3 pages for 100 records of 20 per page (expected 5)"),
    (_page(100, 5, None), "announces 5 pages but a page size of None"),
    (_page(100, 5, True), "announces 5 pages but a page size of True"),
])
def test_an_abusive_page_count_fails_before_any_other_request(emulator: EmulatorControl, page: dict, message: str) -> None:
    emulator.fault(kind="status", status=200, count=0, endpoint="history", body=json.dumps(page))
    with pytest.raises(PinggyResponseError, match=re.escape(message)) as error:
        _history(emulator, page_size=20)
    assert emulator.requests("history") == 1
    assert "\n" not in str(error.value)
