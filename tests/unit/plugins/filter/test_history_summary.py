"""The history_summary filter and the report renderers: figures computed by hand, edges, bad input, escaping."""

from __future__ import annotations

import json
import typing as t
from datetime import datetime, timezone
from html.parser import HTMLParser

import pytest
from ansible.errors import AnsibleFilterError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string it is given
    def trust_as_template(value: str) -> str:
        return value

from ansible_collections.pinggy.tunnels.plugins.filter.history_summary import (
    FilterModule,
    history_range,
    history_report_html,
    history_report_markdown,
    history_summary,
)
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import normalize_history

NOW = "2025-02-08T03:00:00+00:00"
RANGE = {"start_date": "2025-02-05", "end_date": "2025-02-07"}


def _record(start: t.Optional[str], end: t.Optional[str], mode: str, domains: list[str], **extra: t.Any) -> dict[str, t.Any]:
    return normalize_history({"start_time": start, "end_time": end, "mode": mode, "mode_udp": "", "domains": domains,
                              "token_value": None, "virtual_token_value": None, "client_ip": None, "port": None, **extra})


# The range is 2025-02-05 to 2025-02-07 (72 hours), now is 2025-02-08 03:00 UTC. Figures below are worked out by hand.
RECORDS = [
    # A: 2 h on 02-05.
    _record("2025-02-05T10:00:00.000+00:00", "2025-02-05T12:00:00.000+00:00", "http", ["web.example.com", "w.a.pinggy.link"],
            token_name="web", client_ip="[5.7.152.215]:48696"),
    # B: 2.5 h over midnight: 1 h on 02-05, 1.5 h on 02-06.
    _record("2025-02-05T23:00:00.000+00:00", "2025-02-06T01:30:00.000+00:00", "tcp", ["db.a.pinggy.link"],
            token_value="AAXXYY99F", client_ip="[2001:db8::1]:5555", port=15432),
    # C: running since 02-07 09:00: 18 h up to now, 15 h of them within the range.
    _record("2025-02-07T09:00:00.000+00:00", None, "tcp", ["db.a.pinggy.link"],
            virtual_token_value="sJsufpgMMl-10003", client_ip="[5.7.152.215]:40000", port=10003),
    # D: unparsable start; a UDP tunnel (mode_udp wins over mode).
    _record("yesterday", "2025-02-06T01:00:00+00:00", "tcp", [], mode_udp="udp"),
    # E: ends before it starts (times in +02:00).
    _record("2025-02-06T10:00:00+02:00", "2025-02-06T09:00:00+02:00", "http", ["e.a.pinggy.link"], token_value="abc"),
    # F: 6 h over the end of the range: 4 h within it (02-07 20:00 to midnight).
    _record("2025-02-07T20:00:00Z", "2025-02-08T02:00:00Z", "tls", ["secure.a.pinggy.link"], token_name="ci",
            client_ip="[10.0.0.9]:1"),
    # G: before the range: left out, counted as outside.
    _record("2025-02-03T10:00:00Z", "2025-02-03T11:00:00Z", "http", ["old.a.pinggy.link"]),
    # H: 4 h over the start of the range: 2 h within it (02-05 00:00 to 02:00); its token value is already redacted.
    _record("2025-02-04T22:00:00Z", "2025-02-05T02:00:00Z", "tcp", ["late.a.pinggy.link"], token_value="****0042"),
]


@pytest.fixture(name="summary")
def summary_fixture() -> dict[str, t.Any]:
    return history_summary(RECORDS, now=NOW, **RANGE)


def test_filters_are_registered_under_their_names() -> None:
    assert FilterModule().filters() == {"history_summary": history_summary, "history_report_html": history_report_html,
                                        "history_report_markdown": history_report_markdown, "history_range": history_range}


def test_totals_are_the_hand_computed_figures(summary: dict[str, t.Any]) -> None:
    assert summary["range"] == {"start_date": "2025-02-05", "end_date": "2025-02-07", "days": 3, "now": NOW}
    assert summary["totals"] == {
        "sessions": 7, "ended": 4, "running": 1, "unparsable": 2, "outside_range": 1,
        # A 2 h + B 2.5 h + C 18 h + F 6 h + H 4 h
        "seconds": 117000.0, "hours": 32.5,
        # 02-05: A 2 + B 1 + H 2; 02-06: B 1.5; 02-07: C 15 + F 4
        "seconds_in_range": 91800.0, "hours_in_range": 25.5,
        "client_addresses": 3, "domains": 6, "tokens": 7,
    }
    assert summary["client_addresses"] == ["10.0.0.9", "2001:db8::1", "5.7.152.215"]


def test_days_split_sessions_at_midnight_and_at_the_range_edges(summary: dict[str, t.Any]) -> None:
    assert summary["by_day"] == [
        {"date": "2025-02-05", "sessions": 2, "seconds": 18000.0, "hours": 5.0},
        {"date": "2025-02-06", "sessions": 0, "seconds": 5400.0, "hours": 1.5},
        {"date": "2025-02-07", "sessions": 2, "seconds": 68400.0, "hours": 19.0},
    ]


def test_groups_are_ordered_by_use(summary: dict[str, t.Any]) -> None:
    assert summary["by_mode"] == [
        {"mode": "tcp", "sessions": 3, "seconds": 88200.0, "hours": 24.5},
        {"mode": "tls", "sessions": 1, "seconds": 21600.0, "hours": 6.0},
        {"mode": "http", "sessions": 2, "seconds": 7200.0, "hours": 2.0},
        {"mode": "udp", "sessions": 1, "seconds": 0.0, "hours": 0.0},
    ]
    assert [(row["token"], row["seconds"]) for row in summary["by_token"]] == [
        ("****0003", 64800.0), ("ci", 21600.0), ("****0042", 14400.0), ("****Y99F", 9000.0), ("web", 7200.0),
        ("(no token)", 0.0), ("****", 0.0)]
    assert [(row["domain"], row["sessions"]) for row in summary["by_domain"]][:2] == [("db.a.pinggy.link", 2), ("secure.a.pinggy.link", 1)]


def test_token_values_never_appear_whole(summary: dict[str, t.Any]) -> None:
    everything = json.dumps(summary) + history_report_html(summary) + history_report_markdown(summary)
    assert "AAXXYY99F" not in everything and "sJsufpgMMl" not in everything and "abc" not in everything


def test_sessions_in_start_order_then_the_unparsable(summary: dict[str, t.Any]) -> None:
    rows = summary["sessions"]
    assert [row["index"] for row in rows] == [7, 0, 1, 2, 5, 3, 4]
    running = rows[3]
    assert running["running"] is True and running["end_time"] is None and running["duration"] == "18 h 00 min"
    assert summary["running"] == [running]
    assert [row["index"] for row in summary["longest"]] == [2, 5, 7, 1, 0]
    assert summary["unparsable"] == [
        {"index": 3, "domain": "(no domain)", "problem": "start_time 'yesterday' is not a timestamp with a time zone"},
        {"index": 4, "domain": "e.a.pinggy.link", "problem": "end_time is before start_time"},
    ]
    assert rows[5]["mode"] == "udp" and rows[5]["seconds"] is None and rows[5]["start_time"] == "yesterday"


def test_timeline_rows_and_bars(summary: dict[str, t.Any]) -> None:
    timeline = summary["timeline"]
    assert (timeline["start"], timeline["end"], timeline["now"]) == ("2025-02-05T00:00:00+00:00", "2025-02-08T00:00:00+00:00", None)
    assert [(row["domain"], row["token"], row["sessions"]) for row in timeline["rows"]] == [
        ("db.a.pinggy.link", "****0003", 1), ("db.a.pinggy.link", "****Y99F", 1), ("late.a.pinggy.link", "****0042", 1),
        ("secure.a.pinggy.link", "ci", 1), ("web.example.com", "web", 1)]
    bars = {session["index"]: session for row in timeline["rows"] for session in row["bars"]}
    assert len(bars) == 5  # one bar per session with usable times
    assert (bars[0]["x"], bars[0]["width"]) == (round(10 / 72, 6), round(2 / 72, 6))
    assert (bars[7]["x"], bars[7]["width"], bars[7]["clipped_start"]) == (0.0, round(2 / 72, 6), True)
    assert (bars[5]["x"], bars[5]["width"], bars[5]["clipped_end"]) == (round(68 / 72, 6), round(4 / 72, 6), True)
    assert (bars[2]["x"], bars[2]["width"], bars[2]["running"]) == (round(57 / 72, 6), round(15 / 72, 6), True)
    assert bars[0]["tooltip"] == ("web.example.com (http, token web): 2025-02-05T10:00:00+00:00 to 2025-02-05T12:00:00+00:00, "
                                  "2 h 00 min, client 5.7.152.215")
    # 72 hours: a tick every 6 hours, the day shown at midnight.
    assert [tick["label"] for tick in timeline["ticks"][:5]] == ["02-05 00:00", "06:00", "12:00", "18:00", "02-06 00:00"]
    assert len(timeline["ticks"]) == 13


def test_a_running_session_is_drawn_up_to_now() -> None:
    records = [_record("2025-02-07T06:00:00Z", None, "http", ["a.a.pinggy.link"]),
               _record("2025-02-07T18:00:00Z", None, "http", ["b.a.pinggy.link"])]  # starts after now: zero long
    summary = history_summary(records, now="2025-02-07T12:00:00Z", start_date="2025-02-07")
    assert summary["range"]["end_date"] == "2025-02-07"
    assert summary["timeline"]["now"] == 0.5
    assert [row["seconds"] for row in summary["sessions"]] == [21600.0, 0.0]
    assert summary["by_day"] == [{"date": "2025-02-07", "sessions": 2, "seconds": 21600.0, "hours": 6.0}]
    # One day: a tick every 2 hours.
    assert [tick["label"] for tick in summary["timeline"]["ticks"][:3]] == ["02-07 00:00", "02:00", "04:00"]


def test_figures_do_not_change_with_the_clock_when_nothing_runs() -> None:
    ended = [record for record in RECORDS if record["end_time"]]
    early, late = (history_summary(ended, now=now, **RANGE) for now in ("2025-02-08T03:00:00Z", "2025-03-01T00:00:00Z"))
    assert early == late and early["range"]["now"] is None
    assert history_report_html(early) == history_report_html(late)


@pytest.mark.parametrize(("filters", "indexes"), [
    ({"modes": ["tcp"]}, [7, 1, 2]),
    ({"modes": ["udp", "tls"]}, [5, 3]),
    ({"token_names": ["web", "****0042"]}, [7, 0]),
    ({"domains": ["DB.*", "*.example.com"]}, [0, 1, 2]),
    ({"modes": ["tcp"], "domains": ["db.*"], "token_names": ["****Y99F"]}, [1]),
])
def test_filters(filters: dict[str, t.Any], indexes: list[int]) -> None:
    summary = history_summary(RECORDS, now=NOW, **RANGE, **filters)
    assert [row["index"] for row in summary["sessions"]] == indexes
    assert summary["filters"] == {"modes": [], "token_names": [], "domains": [], **filters}


def test_an_empty_range_says_so() -> None:
    summary = history_summary([], now=NOW, start_date="2025-02-01", end_date="2025-02-02")
    assert summary["totals"]["sessions"] == 0 and summary["totals"]["hours"] == 0.0
    assert [day["sessions"] for day in summary["by_day"]] == [0, 0]
    assert summary["timeline"]["rows"] == [] and summary["sessions"] == []
    assert "No sessions between 2025-02-01 and 2025-02-02 (UTC)." in history_report_html(summary)
    assert "No sessions between 2025-02-01 and 2025-02-02 (UTC)." in history_report_markdown(summary)


def test_the_range_defaults_to_the_days_of_the_sessions() -> None:
    summary = history_summary(RECORDS[:3], now=datetime(2025, 2, 8, 3, tzinfo=timezone.utc))
    assert (summary["range"]["start_date"], summary["range"]["end_date"]) == ("2025-02-05", "2025-02-07")
    assert history_summary([], now=NOW)["range"]["start_date"] == "2025-02-08"


@pytest.mark.parametrize(("records", "options", "error"), [
    ({"a": 1}, {}, "the input must be the list of records returned by the pinggy.tunnels.pinggy_history lookup"),
    (["x"], {}, "the input must be the list of records returned by the pinggy.tunnels.pinggy_history lookup"),
    ([], {"now": "2025-02-08T03:00:00"}, "now must be an ISO 8601 timestamp with a time zone, got '2025-02-08T03:00:00'"),
    ([], {"start_date": "2025-2-1"}, "start_date must be a date as YYYY-MM-DD, got '2025-2-1'"),
    ([], {"start_date": "2025-02-03", "end_date": "2025-02-01"}, "start_date 2025-02-03 is after end_date 2025-02-01"),
    ([], {"start_date": "2023-01-01", "end_date": "2025-01-01"}, "the range 2023-01-01 to 2025-01-01 is longer than 366 days"),
    ([], {"modes": ["ftp"]}, "modes has unknown value(s) ftp; known: http, tcp, tls, tlstcp, udp"),
    ([], {"domains": [1]}, "domains must be a list of strings, got [1]"),
])
def test_bad_input_is_one_clear_error(records: t.Any, options: dict[str, t.Any], error: str) -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        history_summary(records, **{"now": NOW, **options})
    assert str(caught.value) == f"history_summary: {error}"


@pytest.mark.parametrize("name", ["history_report_html", "history_report_markdown"])
def test_renderers_want_a_summary(name: str) -> None:
    with pytest.raises(AnsibleFilterError, match=f"{name}: the input must be the output of the pinggy.tunnels.history_summary filter"):
        FilterModule().filters()[name]({"sessions": []})


# -- escaping ------------------------------------------------------------------------------------------------------
HOSTILE = ["<script>window.pwned=1</script>.a.pinggy.link", '"><img src=x onerror="window.pwned=2">',
           "{{ lookup('pipe', 'touch /nonexistent/pwned') }}", "pipe|in\nname"]


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, t.Optional[str]]]) -> None:
        self.tags.append(tag)
        self.attributes += [f"{name}={value}" for name, value in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(name="hostile")
def hostile_fixture() -> dict[str, t.Any]:
    records = [_record("2025-02-05T10:00:00Z", "2025-02-05T11:00:00Z", "http", [name], token_name=name) for name in HOSTILE]
    return history_summary(records, now=NOW, **RANGE)


def test_hostile_names_are_text_in_the_html(hostile: dict[str, t.Any]) -> None:
    page = history_report_html(hostile, title="<b>title</b>")
    parser = _Tags()
    parser.feed(page)
    assert parser.tags.count("script") == 1 and "img" not in parser.tags and "b" not in parser.tags
    assert not any(attribute.startswith("onerror") for attribute in parser.attributes)
    text = "".join(parser.text)
    for name in HOSTILE[:3]:
        assert name in text  # shown, as text (table cells, labels and tooltips)
    assert "{{" not in page and "{%" not in page


def test_hostile_names_are_text_in_the_markdown(hostile: dict[str, t.Any]) -> None:
    markdown = history_report_markdown(hostile)
    sessions = markdown.split("## Sessions", 1)[1].strip().splitlines()
    assert len(sessions) == 2 + len(HOSTILE)  # one line per session: the newline and | in a name stay in their cell
    assert all(line.count(" | ") == 6 for line in sessions)
    assert r"pipe\|in\\x0aname" in markdown and r"\<script\>" in markdown and "<script>" not in markdown
    assert "{{" not in markdown


def test_summary_strings_are_never_templated(hostile: dict[str, t.Any]) -> None:
    templar = Templar(loader=DataLoader(), variables={"summary": hostile, "page": history_report_html(hostile)})
    rendered = templar.template(trust_as_template("{{ summary.sessions[2].domain }}"))
    assert rendered == HOSTILE[2]
    assert json.dumps(HOSTILE[2])[1:-1] in templar.template(trust_as_template("{{ summary | to_json }}"))
    assert templar.template(trust_as_template("{{ page }}")) == history_report_html(hostile)
