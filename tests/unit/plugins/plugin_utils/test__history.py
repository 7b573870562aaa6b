"""The history engine (plugin_utils/_history.py): the ranges, the record filters, and one range and one set of records
for the same inputs in the lookup, history_summary, history_range and so the history_report role."""

from __future__ import annotations

import typing as t
from datetime import date, timedelta

import pytest
from ansible.errors import AnsibleFilterError
from ansible.plugins.loader import lookup_loader

from ansible_collections.pinggy.tunnels.plugins.filter.history_summary import history_range, history_summary
from ansible_collections.pinggy.tunnels.plugins.module_utils._api import PinggyClient, PinggyOptionError
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._history import (
    LAST_DAY,
    checked_int,
    filter_records,
    parse_day,
    record_domains,
    report_range,
    resolve_date_range,
    token_label,
)
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, EmulatorControl, history_records, utc_today

TODAY = date(2025, 3, 31)


# -- the range the API serves ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("terms, options, expected", [
    ([], {}, (TODAY - timedelta(days=6), TODAY)),
    ([], {"days": 1}, (TODAY, TODAY)),
    ([], {"days": 60}, (TODAY - timedelta(days=59), TODAY)),
    (["2025-03-30"], {}, (date(2025, 3, 30), date(2025, 3, 30))),
    (["2025-03-01", "2025-03-05"], {}, (date(2025, 3, 1), date(2025, 3, 5))),
    ([], {"start_date": "2025-03-01", "end_date": "2025-03-31"}, (date(2025, 3, 1), TODAY)),
    ([], {"start_date": "2025-03-02"}, (date(2025, 3, 2), date(2025, 3, 2))),
    ([], {"start_date": "2025-01-30"}, (date(2025, 1, 30), date(2025, 1, 30))),
])
def test_date_ranges(terms: list, options: dict, expected: tuple) -> None:
    arguments = {"start_date": None, "end_date": None, "days": None, **options}
    assert resolve_date_range(terms, today=TODAY, **arguments) == expected


@pytest.mark.parametrize("terms, options, message", [
    ([], {"start_date": "2025/03/01"}, "start_date: expected a date as YYYY-MM-DD"),
    ([], {"end_date": "2025-02-30"}, "end_date: expected a date as YYYY-MM-DD"),
    (["tomorrow"], {}, "start_date: expected a date as YYYY-MM-DD"),
    ([], {"start_date": "2025-03-05", "end_date": "2025-03-01"}, "start_date: 2025-03-05 is after end_date 2025-03-01"),
    ([], {"start_date": "2025-01-29"}, "start_date: 2025-01-29 is older than 60 days"),
    ([], {"end_date": "2025-04-01"}, "end_date: 2025-04-01 is in the future"),
    ([], {"start_date": "2025-04-01"}, "start_date: 2025-04-01 is in the future"),
    ([], {"start_date": "2025-04-01", "end_date": "2025-03-01"}, "start_date: 2025-04-01 is in the future"),
    ([], {"days": 0}, "days: expected an integer from 1 to 60, got 0"),
    ([], {"days": 61}, "days: expected an integer from 1 to 60, got 61"),
    ([], {"days": 3, "start_date": "2025-03-01"}, "days: cannot be combined"),
    (["2025-03-01"], {"days": 3}, "terms: give dates either"),
    (["2025-03-01", "2025-03-02", "2025-03-03"], {}, "terms: expected one date or a start and an end date"),
])
def test_invalid_ranges_name_the_option(terms: list, options: dict, message: str) -> None:
    arguments = {"start_date": None, "end_date": None, "days": None, **options}
    with pytest.raises(PinggyOptionError) as error:
        resolve_date_range(terms, today=TODAY, **arguments)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("value", ["2025-03-01", date(2025, 3, 1)])
def test_parse_day_takes_a_date_or_its_text(value: t.Any) -> None:
    assert parse_day(value) == date(2025, 3, 1)


@pytest.mark.parametrize("value", ["2025-3-1", "2025-02-30", "2025-03-01T00:00:00", None, 20250301, "x" * 10])
def test_parse_day_refuses_anything_else(value: t.Any) -> None:
    assert parse_day(value) is None


@pytest.mark.parametrize("value", [0, 61, True, "3", 2.0, None])
def test_checked_int_wants_an_integer_in_range(value: t.Any) -> None:
    with pytest.raises(PinggyOptionError, match=f"^days: expected an integer from 1 to 60, got {value!r}$"):
        checked_int(value, "days", 1, 60)


# -- the range a report covers -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(("start_date", "end_date", "starts", "expected"), [
    ("2025-03-01", "2025-03-05", [], (date(2025, 3, 1), date(2025, 3, 5))),
    ("2025-03-01", None, [], (date(2025, 3, 1), date(2025, 3, 1))),
    (None, "2025-03-05", [], (date(2025, 3, 5), date(2025, 3, 5))),
    (None, None, [date(2025, 3, 3), date(2025, 3, 1)], (date(2025, 3, 1), date(2025, 3, 3))),
    (None, None, [date(2025, 3, 3), date(9999, 12, 31)], (date(2025, 3, 3), TODAY)),  # never past today
    (None, None, [], (TODAY, TODAY)),
    ("2020-01-01", "2020-12-31", [], (date(2020, 1, 1), date(2020, 12, 31))),  # no 60-day window: any records
])
def test_report_ranges(start_date: t.Any, end_date: t.Any, starts: list[date], expected: tuple[date, date]) -> None:
    assert report_range(start_date, end_date, starts, TODAY) == expected


@pytest.mark.parametrize(("start_date", "end_date", "message"), [
    ("2025-3-1", None, "start_date must be a date as YYYY-MM-DD, got '2025-3-1'"),
    (None, "9999-12-31", f"end_date must be a date up to {LAST_DAY}, got '9999-12-31'"),
    ("2025-03-05", "2025-03-01", "start_date 2025-03-05 is after end_date 2025-03-01"),
    ("2023-01-01", "2025-01-01", "the range 2023-01-01 to 2025-01-01 is longer than 366 days"),
])
def test_bad_report_ranges_are_one_line(start_date: t.Any, end_date: t.Any, message: str) -> None:
    with pytest.raises(PinggyOptionError) as error:
        report_range(start_date, end_date, [], TODAY)
    assert str(error.value) == message


# -- the records -------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("record", "label"), [
    ({"token_value": "AAXXYY99F"}, "****Y99F"), ({"virtual_token_value": "sJsufpgMMl-10003"}, "****0003"),
    ({"token_value": "short"}, "****"), ({"token_value": "****0003"}, "****0003"),
    ({"token_name": "prod", "token_value": "AAXXYY99F"}, "prod"), ({"token_value": None}, "(no token)"), ({"token_value": ""}, "(no token)"),
])
def test_token_label_names_or_redacts(record: dict[str, t.Any], label: str) -> None:
    assert token_label(record) == label


RECORDS = [
    {"mode": "tcp", "token_name": "prod", "domains": ["DB.a.pinggy.link"]},
    {"mode": "http", "mode_udp": "udp", "token_value": "AAXXYY99F", "domains": "dns.a.pinggy.link"},
    {"mode": "http", "virtual_token_value": "sJsufpgMMl-10003", "domains": ["app.example.com", "web.a.pinggy.link"]},
    {"mode": None, "domains": None},
]


@pytest.mark.parametrize(("filters", "indexes"), [
    ({}, [0, 1, 2, 3]),
    ({"modes": ["udp"]}, [1]),
    ({"modes": ["http", "tcp"]}, [0, 2]),
    ({"token_names": ["prod", "****0003"]}, [0, 2]),
    ({"domains": ["db.*"]}, [0]),  # case-insensitive
    ({"domains": ["*.example.com"]}, [2]),  # any of the domains
    ({"modes": ["http"], "domains": ["db.*"]}, []),
])
def test_filter_records(filters: dict[str, t.Any], indexes: list[int]) -> None:
    assert filter_records(RECORDS, **filters) == [RECORDS[index] for index in indexes]


def test_record_domains_of_any_shape() -> None:
    assert [record_domains(record) for record in RECORDS] == [
        ["DB.a.pinggy.link"], ["dns.a.pinggy.link"], ["app.example.com", "web.a.pinggy.link"], []]


# -- one range and one set of records everywhere --------------------------------------------------------------------------
def _lookup(emulator: EmulatorControl, **options: t.Any) -> list[t.Any]:
    lookup = lookup_loader.get("pinggy.tunnels.pinggy_history")
    return lookup.run([], variables={}, api_key=API_KEY, api_url=emulator.api_url, **options)


@pytest.mark.parametrize("options", [
    {}, {"days": 1}, {"days": 3}, {"days": 60},
    {"start_date": "-2"}, {"end_date": "-1"}, {"start_date": "-5", "end_date": "-1"}, {"start_date": "-60", "end_date": "0"},
    {"start_date": "", "days": 2},
])
def test_the_lookup_history_range_and_history_summary_read_one_range(
        emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch, options: dict[str, t.Any]) -> None:
    today = utc_today()
    # Dates relative to today: "-2" is two days ago.
    options = {key: (today + timedelta(days=int(value))).isoformat() if key != "days" and value else value for key, value in options.items()}
    requested: list[tuple[date, date]] = []
    history = PinggyClient.history
    monkeypatch.setattr(PinggyClient, "history", lambda client, start, end, **kw: requested.append((start, end)) or history(client, start, end, **kw))
    records = _lookup(emulator, **options)
    span = history_range(options)
    summary = history_summary(records, start_date=span["start_date"], end_date=span["end_date"])
    assert requested == [(date.fromisoformat(span["start_date"]), date.fromisoformat(span["end_date"]))]
    assert (summary["range"]["start_date"], summary["range"]["end_date"], summary["range"]["days"]) == (
        span["start_date"], span["end_date"], span["days"])
    assert summary["totals"]["outside_range"] == 0


@pytest.mark.parametrize("options", [{"days": 0}, {"days": 61}, {"days": 2, "end_date": "2025-01-01"}, {"start_date": "2025-3-1"},
                                     {"end_date": "2999-01-01"}])
def test_history_range_refuses_what_the_lookup_refuses_in_the_same_words(emulator: EmulatorControl, options: dict[str, t.Any]) -> None:
    with pytest.raises(AnsibleFilterError) as refused:
        history_range(options)
    with pytest.raises(Exception) as failed:
        _lookup(emulator, **options)
    reason = str(refused.value).removeprefix("history_range: ")
    assert reason in str(failed.value)
    assert emulator.requests("history") == 0


@pytest.mark.parametrize("options", [["days", 3], {"days": 3, "mode": ["tcp"]}, "days=3"])
def test_history_range_wants_the_range_options_only(options: t.Any) -> None:
    with pytest.raises(AnsibleFilterError, match="^history_range: the input must be a dict of start_date, end_date, days"):
        history_range(options)


@pytest.mark.parametrize("modes", [["tcp"], ["http", "udp"], ["tls"]])
def test_the_lookup_and_history_summary_keep_the_same_records(emulator: EmulatorControl, modes: list[str]) -> None:
    today = utc_today()
    emulator.reset(active=[], history=history_records(4, today, "tcp") + history_records(3, today, "http")
                   + [{**record, "mode_udp": "udp"} for record in history_records(2, today, "http")])
    every = _lookup(emulator, days=1)
    kept = history_summary(every, start_date=today.isoformat(), modes=modes)["sessions"]
    assert [every[index] for index in sorted(row["index"] for row in kept)] == _lookup(emulator, days=1, mode=modes)
    assert len(kept) == {"tcp": 4, "http": 3, "udp": 2, "tls": 0}[modes[0]] + (2 if modes == ["http", "udp"] else 0)
