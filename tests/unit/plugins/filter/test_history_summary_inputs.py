"""history_summary on records the API should not send, and on the argument forms a playbook may pass."""

from __future__ import annotations

import typing as t
from datetime import date, datetime, timedelta, timezone

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinggy.tunnels.plugins.filter.history_summary import history_summary

NOW = "2025-02-08T03:00:00+00:00"
DAY = {"start_date": "2025-02-05", "end_date": "2025-02-05"}


def _record(**fields: t.Any) -> dict[str, t.Any]:
    return {"start_time": "2025-02-05T10:00:00Z", "end_time": "2025-02-05T11:00:00Z", "mode": "http", **fields}


@pytest.mark.parametrize(("domains", "shown"), [
    ("web.a.pinggy.link", ["web.a.pinggy.link"]),  # one string, not a list
    (["", None, "web.a.pinggy.link"], ["web.a.pinggy.link"]),  # empty entries left out
    ([7], ["7"]),
    (None, []),
    ({"web.a.pinggy.link": 1}, []),  # neither a string nor a list: no domain
    (42, []),
])
def test_domains_of_any_shape_never_crash(domains: t.Any, shown: list[str]) -> None:
    (row,) = history_summary([_record(domains=domains)], now=NOW, **DAY)["sessions"]
    assert row["domains"] == shown
    assert row["domain"] == (shown[0] if shown else "(no domain)")


@pytest.mark.parametrize(("end_time", "problem"), [
    ("later", "end_time 'later' is not a timestamp with a time zone"),
    ("2025-02-05T11:00:00", "end_time '2025-02-05T11:00:00' is not a timestamp with a time zone"),
    (12345, "end_time 12345 is not a timestamp with a time zone"),
    ("x" * 200, "end_time '" + "x" * 59),  # quoted, cut to one short line
])
def test_an_unusable_end_time_makes_the_session_unparsable_not_running(end_time: t.Any, problem: str) -> None:
    summary = history_summary([_record(end_time=end_time)], now=NOW, **DAY)
    (unparsable,) = summary["unparsable"]
    assert unparsable["problem"].startswith(problem) and len(unparsable["problem"]) < 120
    assert summary["running"] == [] and summary["totals"]["sessions"] == 1 and summary["totals"]["hours"] == 0.0


def test_without_now_a_running_session_runs_up_to_the_current_clock() -> None:
    started = datetime.now(timezone.utc) - timedelta(hours=2)
    summary = history_summary([_record(start_time=started.isoformat(), end_time=None)])
    (running,) = summary["running"]
    assert 2 * 3600 - 5 <= running["seconds"] <= 2 * 3600 + 600
    now = datetime.fromisoformat(summary["range"]["now"])
    assert abs((now - datetime.now(timezone.utc)).total_seconds()) < 600


def test_dates_and_datetimes_may_be_given_as_objects() -> None:
    summary = history_summary([_record()], now=datetime(2025, 2, 8, 5, tzinfo=timezone(timedelta(hours=2))),
                              start_date=date(2025, 2, 5), end_date=date(2025, 2, 6))
    assert (summary["range"]["start_date"], summary["range"]["end_date"], summary["range"]["days"]) == ("2025-02-05", "2025-02-06", 2)
    assert summary["totals"]["sessions"] == 1
    # One date alone is that one day.
    assert history_summary([_record()], now=NOW, end_date="2025-02-05")["range"]["days"] == 1


@pytest.mark.parametrize(("options", "error"), [
    ({"now": datetime(2025, 2, 8, 3)}, "now must be an ISO 8601 timestamp with a time zone"),
    ({"now": 1738983600}, "now must be an ISO 8601 timestamp with a time zone, got 1738983600"),
    ({"start_date": datetime(2025, 2, 5, tzinfo=timezone.utc)}, "start_date must be a date as YYYY-MM-DD"),
    ({"end_date": "2025-02-30"}, "end_date must be a date as YYYY-MM-DD, got '2025-02-30'"),
    ({"end_date": ["2025-02-05"]}, "end_date must be a date as YYYY-MM-DD"),
    ({"token_names": {"ci": 1}}, "token_names must be a list of strings"),
    ({"modes": "ftp"}, "modes has unknown value(s) ftp"),
])
def test_hostile_arguments_are_one_clear_error(options: dict[str, t.Any], error: str) -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        history_summary([_record()], **{"now": NOW, **options})
    assert str(caught.value).startswith(f"history_summary: {error}")
