# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The session history's date range and its record filters, decided in one place (private: not a public API).

The pinggy_history lookup, the history_summary and history_range filters and, through them, the history_report role
all come here, so the same inputs give the same range and the same records everywhere. Two range rules live here:

- what the API serves (``resolve_date_range``): dates or days, at most 60 days back, nothing in the future, the last
  7 days when nothing is given; the lookup reads it, and the history_range filter tells a playbook what it is;
- what a report covers (``report_range``): any dates a report can draw (up to ``LAST_DAY``, at most 366 days), or the
  days the sessions started on; history_summary takes records from anywhere, not only from the lookup.

Both parse a day with ``parse_day``; their messages are worded for their callers' options (the lookup's
``option: expected ...``, the filter's ``option must be ...``).
"""

from __future__ import annotations

import fnmatch
import typing as t
from datetime import date, datetime, timedelta

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import PinggyOptionError
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import effective_mode, redact_token

HISTORY_WINDOW_DAYS = 60
DEFAULT_DAYS = 7
MAX_REPORT_DAYS = 366
# A report's axis ends at the midnight after its last day, which must be a datetime Python can hold.
LAST_DAY = date.max - timedelta(days=1)
NO_TOKEN = "(no token)"

Record = t.Mapping[str, t.Any]


# -- days ----------------------------------------------------------------------------------------------------------
def parse_day(value: t.Any) -> t.Optional[date]:
    """A date, or its YYYY-MM-DD text, as a date; None for anything else."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = str(value)
    try:
        return date.fromisoformat(text) if len(text) == 10 else None
    except ValueError:
        return None


def short_repr(value: t.Any, show: t.Callable[[t.Any], str] = repr) -> str:
    """The value as at most 60 characters of text (quoted by default), for one-line messages."""
    try:
        return show(value if not isinstance(value, str) else str(value))[:60]
    except ValueError:  # an int past Python's limit on the digits it converts to text
        return "an integer too long to show"


def checked_int(value: t.Any, option: str, low: int, high: int) -> int:
    """The value if it is an integer from low to high (not a bool), else one line naming the option."""
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise PinggyOptionError(f"{option}: expected an integer from {low} to {high}, got {value!r}")
    return value


# -- the range the API serves (the lookup) ---------------------------------------------------------------------------
def _served_day(value: t.Any, option: str, today: date) -> date:
    """A YYYY-MM-DD option value as a date, checked here so the error names the option the user gave."""
    day = parse_day(value)
    if day is None:
        raise PinggyOptionError(f"{option}: expected a date as YYYY-MM-DD, got {str(value)[:40]!r}")
    if day > today:
        raise PinggyOptionError(f"{option}: {day} is in the future (today is {today} UTC)")
    return day


def _range_options(terms: t.Sequence[t.Any], start_date: t.Any, end_date: t.Any, days: t.Optional[int]) -> tuple[t.Any, t.Any]:
    """(start_date, end_date) from the terms or the options, once the combinations are checked."""
    if len(terms) > 2:
        raise PinggyOptionError(f"terms: expected one date or a start and an end date, got {len(terms)} terms")
    if terms and (start_date or end_date or days is not None):
        raise PinggyOptionError("terms: give dates either as positional terms or as start_date/end_date/days, not both")
    if days is not None and (start_date or end_date):
        raise PinggyOptionError("days: cannot be combined with start_date or end_date")
    return (terms[0], terms[-1]) if terms else (start_date, end_date)


def resolve_date_range(terms: t.Sequence[t.Any], start_date: t.Any, end_date: t.Any, days: t.Optional[int],
                       today: date) -> tuple[date, date]:
    """The (start, end) UTC dates asked for, checked against the API's rules before any request."""
    start_date, end_date = _range_options(terms, start_date, end_date, days)
    if start_date or end_date:
        start = _served_day(start_date, "start_date", today) if start_date else None
        end = _served_day(end_date, "end_date", today) if end_date else None
        start, end = t.cast(date, start or end), t.cast(date, end or start)
    else:
        count = checked_int(DEFAULT_DAYS if days is None else days, "days", 1, HISTORY_WINDOW_DAYS)
        start, end = today - timedelta(days=count - 1), today
    if start > end:
        raise PinggyOptionError(f"start_date: {start} is after end_date {end}")
    oldest = today - timedelta(days=HISTORY_WINDOW_DAYS)
    if start < oldest:
        raise PinggyOptionError(f"start_date: {start} is older than {HISTORY_WINDOW_DAYS} days (oldest allowed: {oldest})")
    return start, end


# -- the range a report covers (history_summary) --------------------------------------------------------------------
def _report_day(value: t.Any, option: str) -> t.Optional[date]:
    if value in (None, ""):
        return None
    day = parse_day(value)
    if day is None:
        raise PinggyOptionError(f"{option} must be a date as YYYY-MM-DD, got {short_repr(value)}")
    if day > LAST_DAY:
        raise PinggyOptionError(f"{option} must be a date up to {LAST_DAY}, got {short_repr(value)}")
    return day


def report_range(start_date: t.Any, end_date: t.Any, starts: t.Iterable[date], today: date) -> tuple[date, date]:
    """A report's UTC dates: as given (one alone means that day), else the days sessions started on, up to today."""
    start, end = _report_day(start_date, "start_date"), _report_day(end_date, "end_date")
    if start is None and end is None:
        days = [min(day, today) for day in starts]
        start, end = (min(days), max(days)) if days else (today, today)
    start, end = t.cast(date, start or end), t.cast(date, end or start)
    if start > end:
        raise PinggyOptionError(f"start_date {start} is after end_date {end}")
    if (end - start).days + 1 > MAX_REPORT_DAYS:
        raise PinggyOptionError(f"the range {start} to {end} is longer than {MAX_REPORT_DAYS} days")
    return start, end


# -- the records -----------------------------------------------------------------------------------------------------
def token_label(record: Record) -> str:
    """The token a session used, by name where the record has one, else redacted: a token value is a credential."""
    for key in ("token_name", "virtual_token_name"):
        if record.get(key):
            return str(record[key])
    for key in ("token_value", "virtual_token_value"):
        if record.get(key):
            # The lookup redacts tokens already unless revealed; redacting again keeps the same label.
            return str(redact_token(record[key]))
    return NO_TOKEN


def record_domains(record: Record) -> list[str]:
    """The public names of a history record (its ``domains``, one string or a list), empty ones left out."""
    domains = record.get("domains")
    if isinstance(domains, str):
        domains = [domains]
    if not isinstance(domains, (list, tuple)):
        return []
    return [str(domain) for domain in domains if domain]


def record_matches(record: Record, modes: t.Sequence[str] = (), token_names: t.Sequence[str] = (),
                   domains: t.Sequence[str] = ()) -> bool:
    """Every given filter must match: the mode (udp by mode_udp), the token (name or redacted label), one domain
    against one shell-style pattern (case-insensitive: DNS names are)."""
    if modes and effective_mode(record) not in modes:
        return False
    if token_names and token_label(record) not in token_names:
        return False
    names = [name.lower() for name in record_domains(record)]
    return not domains or any(fnmatch.fnmatchcase(name, pattern.lower()) for name in names for pattern in domains)


def filter_records(records: t.Iterable[Record], modes: t.Sequence[str] = (), token_names: t.Sequence[str] = (),
                   domains: t.Sequence[str] = ()) -> list[Record]:
    """The history records every given filter matches (an empty filter matches all), in their order."""
    return [record for record in records if record_matches(record, modes, token_names, domains)]
