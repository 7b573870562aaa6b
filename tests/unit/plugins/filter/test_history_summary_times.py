"""history_summary on times at the edges of what Python can hold, and on offsets other than UTC.

A session dated 9999-12-31 made the report raise OverflowError and an end in year 9999 counted ~70 million hours:
an end after now counts up to now (as a running session does), a time that has no UTC value is an unusable time
(listed, left out of the figures), and the range never goes past the last day whose next midnight exists.
"""

from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinggy.tunnels.plugins.filter.history_summary import (
    history_report_html,
    history_report_markdown,
    history_summary,
)

NOW = "2025-02-08T03:00:00+00:00"
RANGE = {"start_date": "2025-02-05", "end_date": "2025-02-08"}


def _record(start: t.Any = "2025-02-05T10:00:00Z", end: t.Any = "2025-02-05T11:00:00Z") -> dict[str, t.Any]:
    return {"start_time": start, "end_time": end, "mode": "http", "domains": ["web.a.pinggy.link"]}


def _rendered(summary: t.Any) -> None:
    assert "Pinggy tunnel usage" in history_report_html(summary) and "Pinggy tunnel usage" in history_report_markdown(summary)


@pytest.mark.parametrize("end", [None, "9999-12-31T23:59:59Z", "9999-12-31T10:00:00.999999+00:00"])
def test_a_session_of_year_9999_without_a_range_is_outside_the_range_of_now(end: t.Any) -> None:
    summary = history_summary([_record("9999-12-31T10:00:00Z", end)], now=NOW)
    assert summary["range"]["start_date"] == summary["range"]["end_date"] == "2025-02-08"  # up to now's day
    assert summary["totals"]["outside_range"] == 1 and summary["totals"]["sessions"] == 0
    _rendered(summary)


@pytest.mark.parametrize("end", ["9999-12-31T23:59:59Z", "9999-12-31T00:00:00+14:00", "2026-01-01T00:00:00Z"])
def test_an_end_after_now_counts_up_to_now(end: str) -> None:
    summary = history_summary([_record(end=end)], now=NOW, **RANGE)
    (row,) = summary["sessions"]
    assert row["seconds"] == 65 * 3600.0 and row["end_time"] == NOW and not row["running"] and row["problem"] is None
    assert summary["totals"]["hours"] == summary["totals"]["hours_in_range"] == 65.0
    assert summary["timeline"]["rows"][0]["bars"][0]["width"] <= 1.0
    assert "65 h 00 min" in history_report_markdown(summary)


def test_a_start_after_now_with_an_end_is_zero_long_like_a_running_one() -> None:
    summary = history_summary([_record("2025-02-08T05:00:00Z", "9999-01-01T00:00:00Z")], now=NOW, **RANGE)
    assert summary["sessions"][0]["seconds"] == 0.0
    _rendered(summary)


@pytest.mark.parametrize(("field", "value"), [
    ("start_time", "9999-12-31T23:00:00-05:00"),
    ("start_time", "0001-01-01T00:00:00+05:00"),
    ("end_time", "9999-12-31T23:00:00-05:00"),
])
def test_a_time_with_no_utc_value_is_an_unusable_time(field: str, value: str) -> None:
    record = {**_record(), field: value}
    summary = history_summary([record], now=NOW, **RANGE)
    (unparsable,) = summary["unparsable"]
    assert unparsable["problem"] == f"{field} {value!r} is out of range in UTC"
    assert summary["totals"]["unparsable"] == 1 and summary["totals"]["hours"] == 0.0
    _rendered(summary)


def test_a_start_in_year_1_counts_in_the_range_only_within_it() -> None:
    summary = history_summary([_record("0001-01-01T00:00:00Z", "2025-02-05T11:00:00Z")], now=NOW, **RANGE)
    assert summary["totals"]["hours_in_range"] == 11.0
    assert summary["timeline"]["rows"][0]["bars"][0]["x"] == 0.0 and summary["timeline"]["rows"][0]["bars"][0]["clipped_start"]
    _rendered(summary)


def test_times_with_another_offset_count_on_their_utc_day() -> None:
    # 02:00 to 04:00 at +05:00 is 21:00 to 23:00 UTC the day before.
    summary = history_summary([_record("2025-02-06T02:00:00+05:00", "2025-02-06T04:00:00+05:00")], now=NOW, **RANGE)
    assert [(day["date"], day["sessions"], day["hours"]) for day in summary["by_day"][:2]] == [("2025-02-05", 1, 2.0), ("2025-02-06", 0, 0.0)]
    assert summary["sessions"][0]["start_time"] == "2025-02-05T21:00:00+00:00"
    assert "2025-02-05 21:00:00" in history_report_markdown(summary)
    assert history_summary([_record("2025-02-06T02:00:00+05:00")], now=NOW)["range"]["start_date"] == "2025-02-05"


@pytest.mark.parametrize("start", ["NaN", "nan", "inf", "-1", "", "9999-99-99T00:00:00Z",
                                   pytest.param(10 ** 5000, id="huge-int"), float("nan"), 1e308])
def test_odd_start_times_are_unusable_times_not_errors(start: t.Any) -> None:
    summary = history_summary([_record(start)], now=NOW, **RANGE)
    assert summary["totals"]["unparsable"] == 1 and len(summary["unparsable"][0]["problem"]) < 120
    _rendered(summary)


@pytest.mark.parametrize(("options", "error"), [
    ({"end_date": "9999-12-31"}, "end_date must be a date up to 9999-12-30, got '9999-12-31'"),
    ({"start_date": "9999-12-31"}, "start_date must be a date up to 9999-12-30, got '9999-12-31'"),
    ({"now": "9999-12-31T00:00:00Z"}, "now must be a time from 0001-01-01 to 9999-12-30 (UTC), got '9999-12-31T00:00:00Z'"),
    ({"now": "0001-01-01T00:00:00+05:00"}, "now must be a time from 0001-01-01 to 9999-12-30 (UTC), got '0001-01-01T00:00:00+05:00'"),
])
def test_arguments_past_the_last_day_are_one_clear_error(options: dict[str, t.Any], error: str) -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        history_summary([], **{"now": NOW, **options})
    assert str(caught.value) == f"history_summary: {error}"


def test_the_last_day_itself_is_a_range() -> None:
    summary = history_summary([_record("9999-12-30T10:00:00Z", "9999-12-30T12:00:00Z")], now="9999-12-30T23:00:00Z")
    assert summary["range"]["end_date"] == "9999-12-30" and summary["totals"]["hours"] == 2.0
    _rendered(summary)


def test_a_client_ip_with_thousands_of_digits_is_no_address() -> None:
    summary = history_summary([{**_record(), "client_ip": "[5.7.152.215]:" + "9" * 5000}], now=NOW, **RANGE)
    assert summary["sessions"][0]["client_address"] is None
    _rendered(summary)
