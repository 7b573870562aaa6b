# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The history_summary filter (figures of a Pinggy session history), the two report renderers built on it, and
history_range (the lookup's range for a playbook, so the history_report role does no date arithmetic of its own).

The range and the record filters are plugin_utils/_history.py's. Documentation: history_summary.yml,
history_report_html.yml, history_report_markdown.yml and history_range.yml beside this file.
Everything but history_range (which reads the clock, as the lookup does) is a pure function of its arguments (``now``
included), so the unit tests compute exact figures.
"""

from __future__ import annotations

import typing as t
from datetime import date, datetime, time, timedelta, timezone

from ansible.errors import AnsibleFilterError

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import PinggyOptionError
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import MODES, effective_mode, parse_client_ip, parse_timestamp
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._history import (
    LAST_DAY,
    record_domains,
    record_matches,
    report_range,
    resolve_date_range,
    short_repr,
    token_label,
)
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._history_report import duration_text, render_html, render_markdown
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._unsafe import make_unsafe

LONGEST_LIMIT = 10
NO_DOMAIN = "(no domain)"
# Axis tick steps in hours: the smallest that gives at most MAX_TICKS ticks is used.
TICK_STEPS_HOURS = (1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720, 2160)
MAX_TICKS = 12

Session = dict[str, t.Any]


def _error(message: str) -> AnsibleFilterError:
    return AnsibleFilterError(f"history_summary: {message}")


def _utc(value: t.Any, name: str) -> tuple[t.Optional[datetime], t.Optional[str]]:
    """(the API timestamp in UTC, None), or (None, the problem): days are UTC days, whatever offset the API gave."""
    moment = parse_timestamp(value)
    if moment is None:
        return None, f"{name} {short_repr(value)} is not a timestamp with a time zone"
    try:
        return moment.astimezone(timezone.utc), None
    except OverflowError:
        return None, f"{name} {short_repr(value)} is out of range in UTC"


def _times(record: t.Mapping[str, t.Any], now: datetime) -> tuple[t.Optional[datetime], t.Optional[datetime], t.Optional[str]]:
    """(start, end, problem): unusable times give a problem; a session ends at now at the latest (never before its start).

    A running session ends at now; so does one whose end_time is after now (no history knows the future), so an
    end in year 9999 counts up to now, not 70 million hours.
    """
    start, problem = _utc(record.get("start_time"), "start_time")
    if start is None:
        return None, None, problem
    if record.get("end_time") in (None, ""):
        return start, max(start, now), None
    end, problem = _utc(record.get("end_time"), "end_time")
    if end is None:
        return start, None, problem
    if end < start:
        return start, None, "end_time is before start_time"
    return start, min(end, max(start, now)), None


def _client(record: t.Mapping[str, t.Any]) -> tuple[t.Optional[str], t.Optional[int]]:
    if record.get("client_address"):
        return str(record["client_address"]), record.get("client_port")
    return parse_client_ip(record.get("client_ip"))


def _session(index: int, record: t.Mapping[str, t.Any], now: datetime) -> Session:
    """The fields of one record the report uses; raw token values are left behind here."""
    start, end, problem = _times(record, now)
    domains = record_domains(record)
    address, port = _client(record)
    return {
        "index": index,
        "start": start,
        "end": end,
        "running": problem is None and record.get("end_time") in (None, ""),
        "problem": problem,
        "raw_start": record.get("start_time"),
        "mode": effective_mode(record) or "unknown",
        "domain": domains[0] if domains else NO_DOMAIN,
        "domains": domains,
        "token": token_label(record),
        "client_address": address,
        "client_port": port,
        "port": record.get("port"),
    }


# -- arguments -----------------------------------------------------------------------------------------------------
def _as_now(value: t.Any) -> datetime:
    if value is None:
        return datetime.now(timezone.utc)
    moment = value if isinstance(value, datetime) else parse_timestamp(str(value))
    if moment is None or moment.tzinfo is None:
        raise _error(f"now must be an ISO 8601 timestamp with a time zone, got {short_repr(value)}")
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:
        moment = datetime.max.replace(tzinfo=timezone.utc)  # not a time in UTC at all: refused just below
    if moment.date() > LAST_DAY:
        raise _error(f"now must be a time from {date.min} to {LAST_DAY} (UTC), got {short_repr(value)}")
    return moment


def _string_list(value: t.Any, name: str, choices: t.Optional[t.Sequence[str]] = None) -> list[str]:
    if value in (None, ""):
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
        raise _error(f"{name} must be a list of strings, got {short_repr(value)}")
    unknown = [item for item in items if choices is not None and item not in choices]
    if unknown:
        raise _error(f"{name} has unknown value(s) {', '.join(unknown)}; known: {', '.join(choices or ())}")
    return [str(item) for item in items]


# -- figures -------------------------------------------------------------------------------------------------------
def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), timezone.utc)


def _iso(moment: t.Optional[datetime]) -> t.Optional[str]:
    return moment.isoformat(timespec="seconds") if moment else None


def _hours(seconds: float) -> float:
    return round(seconds / 3600, 2)


def _row(session: Session) -> dict[str, t.Any]:
    """One session as the report shows it (and as the JSON holds it)."""
    seconds = None if session["problem"] else round((session["end"] - session["start"]).total_seconds(), 3)
    raw_start = session["raw_start"]
    return {
        "index": session["index"],
        "start_time": _iso(session["start"]) or (None if raw_start is None else short_repr(raw_start, str)),
        "end_time": None if session["running"] else _iso(session["end"]),
        "running": session["running"],
        "seconds": seconds,
        "hours": None if seconds is None else _hours(seconds),
        "duration": None if seconds is None else duration_text(seconds),
        **{key: session[key] for key in ("mode", "domain", "domains", "token", "client_address", "client_port", "port", "problem")},
    }


def _group(rows: list[dict[str, t.Any]], key: str) -> list[dict[str, t.Any]]:
    """Sessions and time per value of key, the most used first (then by name, so the order is stable)."""
    groups: dict[t.Any, list[float]] = {}
    for row in rows:
        groups.setdefault(row[key], []).append(row["seconds"] or 0.0)
    figures = [{key: value, "sessions": len(seconds), "seconds": round(sum(seconds), 3), "hours": _hours(sum(seconds))}
               for value, seconds in groups.items()]
    return sorted(figures, key=lambda item: (-item["seconds"], -item["sessions"], str(item[key]).lower(), str(item[key])))


def _split_by_day(start: datetime, end: datetime) -> t.Iterator[tuple[date, float]]:
    """(day, seconds) for each UTC day that [start, end) touches: a session over midnight counts on both days."""
    cursor = start
    while cursor < end:
        stop = min(end, _midnight(cursor.date() + timedelta(days=1)))
        yield cursor.date(), (stop - cursor).total_seconds()
        cursor = stop


def _by_day(timed: list[Session], start: date, end: date) -> list[dict[str, t.Any]]:
    """Every day of the range: sessions started that day, and the time used within it (clipped to the range)."""
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]
    seconds, started = dict.fromkeys(days, 0.0), dict.fromkeys(days, 0)
    low, high = _midnight(start), _midnight(end + timedelta(days=1))
    for session in timed:
        if session["start"].date() in started:
            started[session["start"].date()] += 1
        for day, used in _split_by_day(max(session["start"], low), min(session["end"], high)):
            seconds[day] += used
    return [{"date": day.isoformat(), "sessions": started[day], "seconds": round(seconds[day], 3), "hours": _hours(seconds[day])}
            for day in days]


def _totals(rows: list[dict[str, t.Any]], by_day: list[dict[str, t.Any]], outside: int) -> dict[str, t.Any]:
    seconds = sum(row["seconds"] or 0.0 for row in rows)
    in_range = sum(day["seconds"] for day in by_day)
    return {
        "sessions": len(rows),
        "ended": sum(1 for row in rows if row["seconds"] is not None and not row["running"]),
        "running": sum(1 for row in rows if row["running"]),
        "unparsable": sum(1 for row in rows if row["problem"]),
        "outside_range": outside,
        "seconds": round(seconds, 3),
        "hours": _hours(seconds),
        "seconds_in_range": round(in_range, 3),
        "hours_in_range": _hours(in_range),
        "client_addresses": len({row["client_address"] for row in rows if row["client_address"]}),
        "domains": len({row["domain"] for row in rows}),
        "tokens": len({row["token"] for row in rows}),
    }


# -- timeline geometry (fractions of the axis; the renderer scales them) --------------------------------------------
def _fraction(moment: datetime, axis: tuple[datetime, datetime]) -> float:
    span = (axis[1] - axis[0]).total_seconds()
    return round(min(max((moment - axis[0]).total_seconds() / span, 0.0), 1.0), 6)


def _ticks(axis: tuple[datetime, datetime]) -> list[dict[str, t.Any]]:
    """Axis ticks every 1, 2, 3, 6, 12 hours or whole days, at most MAX_TICKS + 1; labelled with the hour or the day."""
    span_hours = (axis[1] - axis[0]).total_seconds() / 3600
    step = next((hours for hours in TICK_STEPS_HOURS if span_hours / hours <= MAX_TICKS), TICK_STEPS_HOURS[-1])
    ticks = []
    for count in range(int(span_hours // step) + 1):
        moment = axis[0] + timedelta(hours=count * step)
        label = moment.strftime("%m-%d" if step >= 24 else ("%m-%d %H:00" if moment.hour == 0 else "%H:00"))
        ticks.append({"x": _fraction(moment, axis), "label": label, "at": _iso(moment)})
    return ticks


def _tooltip(row: dict[str, t.Any]) -> str:
    end = "now (running)" if row["running"] else row["end_time"]
    client = f", client {row['client_address']}" if row["client_address"] else ""
    return f"{row['domain']} ({row['mode']}, token {row['token']}): {row['start_time']} to {end}, {row['duration']}{client}"


def _bar(session: Session, row: dict[str, t.Any], axis: tuple[datetime, datetime]) -> dict[str, t.Any]:
    left, right = _fraction(session["start"], axis), _fraction(session["end"], axis)
    return {
        "index": session["index"],
        "x": left,
        "width": round(right - left, 6),
        "mode": session["mode"],
        "running": session["running"],
        "clipped_start": session["start"] < axis[0],
        "clipped_end": session["end"] > axis[1],
        "tooltip": _tooltip(row),
    }


def _timeline(timed: list[Session], rows: dict[int, dict[str, t.Any]], axis: tuple[datetime, datetime],
              now: datetime) -> dict[str, t.Any]:
    """One row per (domain, token), sorted by name, with one bar per session from its start to its end (or now)."""
    grouped: dict[tuple[str, str], list[dict[str, t.Any]]] = {}
    for session in timed:
        grouped.setdefault((session["domain"], session["token"]), []).append(_bar(session, rows[session["index"]], axis))
    running = any(session["running"] for session in timed)
    return {
        "start": _iso(axis[0]),
        "end": _iso(axis[1]),
        "now": _fraction(now, axis) if running and axis[0] <= now <= axis[1] else None,
        "ticks": _ticks(axis),
        "rows": [{"label": f"{domain} \u00b7 {token}", "domain": domain, "token": token, "sessions": len(bars), "bars": bars}
                 for (domain, token), bars in sorted(grouped.items(), key=lambda item: (item[0][0].lower(), item[0][1].lower(), item[0]))],
    }


# -- the filters ---------------------------------------------------------------------------------------------------
def _overlaps(session: Session, axis: tuple[datetime, datetime]) -> bool:
    return bool(session["problem"]) or (session["start"] < axis[1] and session["end"] >= axis[0])


def _summary(sessions: list[Session], outside: int, start: date, end: date, now: datetime,
             filters: dict[str, list[str]]) -> dict[str, t.Any]:
    timed = sorted((session for session in sessions if not session["problem"]), key=lambda session: (session["start"], session["index"]))
    rows = [_row(session) for session in timed + [session for session in sessions if session["problem"]]]
    axis = (_midnight(start), _midnight(end + timedelta(days=1)))
    by_day = _by_day(timed, start, end)
    timed_rows = [row for row in rows if row["seconds"] is not None]
    running = [row for row in rows if row["running"]]
    return {
        # now only matters (and so only appears) when a session is running: the figures do not change with the clock.
        "range": {"start_date": start.isoformat(), "end_date": end.isoformat(), "days": len(by_day), "now": _iso(now) if running else None},
        "filters": filters,
        "totals": _totals(rows, by_day, outside),
        "by_mode": _group(rows, "mode"),
        "by_token": _group(rows, "token"),
        "by_domain": _group(rows, "domain"),
        "by_day": by_day,
        "client_addresses": sorted({row["client_address"] for row in rows if row["client_address"]}),
        "longest": sorted(timed_rows, key=lambda row: (-row["seconds"], row["start_time"], row["index"]))[:LONGEST_LIMIT],
        "running": running,
        "unparsable": [{"index": row["index"], "domain": row["domain"], "problem": row["problem"]} for row in rows if row["problem"]],
        "sessions": rows,
        "timeline": _timeline(timed, {row["index"]: row for row in rows}, axis, now),
    }


def history_summary(records: t.Any, now: t.Any = None, start_date: t.Any = None, end_date: t.Any = None,
                    modes: t.Any = None, token_names: t.Any = None, domains: t.Any = None) -> dict[str, t.Any]:
    """The figures of a report over the history records (see history_summary.yml for the shape)."""
    if not isinstance(records, list) or not all(isinstance(record, t.Mapping) for record in records):
        raise _error("the input must be the list of records returned by the pinggy.tunnels.pinggy_history lookup")
    moment = _as_now(now)
    filters = {
        "modes": _string_list(modes, "modes", MODES),
        "token_names": _string_list(token_names, "token_names"),
        "domains": _string_list(domains, "domains"),
    }
    sessions = [_session(index, record, moment) for index, record in enumerate(records) if record_matches(record, **filters)]
    try:
        start, end = report_range(start_date, end_date, [session["start"].date() for session in sessions if session["start"]],
                                  moment.date())
    except PinggyOptionError as error:
        raise _error(str(error)) from None
    axis = (_midnight(start), _midnight(end + timedelta(days=1)))
    kept = [session for session in sessions if _overlaps(session, axis)]
    # The figures quote API strings (domains, token names): nothing in them may ever be templated.
    return make_unsafe(_summary(kept, len(sessions) - len(kept), start, end, moment, filters))


RANGE_OPTIONS = ("start_date", "end_date", "days")


def history_range(options: t.Any) -> dict[str, t.Any]:
    """The UTC dates the pinggy_history lookup reads for these options, today (see history_range.yml)."""
    if not isinstance(options, t.Mapping) or set(options) - set(RANGE_OPTIONS):
        raise AnsibleFilterError(f"history_range: the input must be a dict of {', '.join(RANGE_OPTIONS)} (the lookup's range options), "
                                 f"got {short_repr(options)}")
    try:
        start, end = resolve_date_range((), options.get("start_date"), options.get("end_date"), options.get("days"),
                                        datetime.now(timezone.utc).date())
    except PinggyOptionError as error:
        raise AnsibleFilterError(f"history_range: {error}") from None
    return {"start_date": start.isoformat(), "end_date": end.isoformat(), "days": (end - start).days + 1}


def _checked_summary(summary: t.Any, name: str) -> t.Mapping[str, t.Any]:
    if not isinstance(summary, t.Mapping) or not all(key in summary for key in ("range", "totals", "sessions", "timeline")):
        raise AnsibleFilterError(f"{name}: the input must be the output of the pinggy.tunnels.history_summary filter")
    return summary


def history_report_html(summary: t.Any, title: str = "Pinggy tunnel usage") -> str:
    """The report as one self-contained HTML page (see history_report_html.yml)."""
    return make_unsafe(render_html(_checked_summary(summary, "history_report_html"), str(title)))


def history_report_markdown(summary: t.Any, title: str = "Pinggy tunnel usage") -> str:
    """The report as Markdown: totals and the sessions table (see history_report_markdown.yml)."""
    return make_unsafe(render_markdown(_checked_summary(summary, "history_report_markdown"), str(title)))


class FilterModule:
    """pinggy.tunnels history report filters."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "history_summary": history_summary,
            "history_range": history_range,
            "history_report_html": history_report_html,
            "history_report_markdown": history_report_markdown,
        }
