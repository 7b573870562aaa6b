# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pinggy.tunnels.tunnel_events: an Event-Driven Ansible source of Pinggy tunnel events (ansible-rulebook)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: tunnel_events
short_description: Pinggy tunnels appearing, disappearing and meeting expectations, as events
description:
  - Polls the Pinggy API's active sessions every O(interval) seconds through the collection's own client and puts
    events on the ansible-rulebook queue.
  - One C(snapshot) event per start (every tunnel seen), then C(tunnel_up) and C(tunnel_down) per tunnel that appears
    or disappears. A tunnel is its session id, so a restarted tunnel (new id, same name) gives a C(tunnel_down), then
    a C(tunnel_up).
  - With O(expected), one C(expectations_unmet) event when an expectation stops being met (naming it and what was
    seen) and one C(expectations_met) when all are met again, checked by the same engine as the
    C(pinggy.tunnels.pinggy_assert_tunnels) gate.
  - API failures never end the source. The first failure of an outage gives one C(api_error) event (one line, never
    the key); polls then back off, doubling up to O(max_interval); the first answer after it gives C(api_recovered).
    A rejected key (HTTP 401/403) is also logged at error level.
  - Event values are plain strings, numbers, booleans, lists and dictionaries from the API: nothing in them is a
    template or a command to the rulebook or to the playbooks it starts.
  - The connection options and their E(PINGGY_*) environment variables are those of every plugin of the collection;
    a value given in the source's arguments wins over the environment. Unknown arguments are refused.
author:
  - Pinggy Tunnels Maintainers (@pinggy)
extends_documentation_fragment:
  - pinggy.tunnels.pinggy
  - pinggy.tunnels.pinggy.tokens
options:
  interval:
    description: Seconds between two polls while the API answers; at least 1.
    type: float
    default: 30
  max_interval:
    description:
      - The longest wait between two polls while the API fails (the back-off doubles the wait up to this).
      - At least O(interval); by default 300, or O(interval) when that is longer.
    type: float
  expected:
    description:
      - Expectations in the format of the gate's C(expected) option (C(subdomain), C(custom_domain), C(mode),
        C(token_name), C(port), C(min_count)), checked with the gate's own code; a malformed one stops the source at
        start with one line naming it.
    type: list
    elements: dict
notes:
  - "Event shapes: C(snapshot) {type, tunnels, count, expectations}, C(tunnel_up)/C(tunnel_down) {type, tunnel},
    C(expectations_unmet) {type, unmet, message, tunnels_seen}, C(expectations_met) {type, expectations},
    C(api_error) {type, error, message}, C(api_recovered) {type, failures, outage_seconds}."
  - Needs the collection installed where ansible-rulebook finds it, and the Python libraries C(ansible-core) and
    C(requests) in ansible-rulebook's environment.
"""

EXAMPLES = r"""
- name: Watch the Pinggy tunnels
  hosts: all
  sources:
    - pinggy.tunnels.tunnel_events:
        interval: 30
        expected:
          - subdomain: "db-*"
            mode: tcp
            min_count: 2
  rules:
    - name: A tunnel went down
      condition: event.type == "tunnel_down"
      action:
        debug:
          msg: "{{ event.tunnel.url }} is gone"
    - name: Expectations unmet
      condition: event.type == "expectations_unmet"
      action:
        run_playbook:
          name: pinggy.tunnels.heal
"""

# pylint: disable=wrong-import-position  # the collections root must be on sys.path before the collection's imports
import os
import sys


def _put_collections_root_on_path(source_file: str) -> None:
    """Put the directory holding this collection's ansible_collections/ first on sys.path (once).

    ansible-rulebook runs a source as a plain file, without ansible-core's collection loader, so an installed
    collection's ``ansible_collections.pinggy.tunnels`` imports would not resolve (servicenow.itsm's ``records``
    source does the same). Not resolving symlinks keeps a collection linked into a collections path working.
    """
    parts = os.path.abspath(source_file).split(os.sep)
    # .../<root>/ansible_collections/pinggy/tunnels/extensions/eda/plugins/event_source/tunnel_events.py
    if parts[-8:-5] == ["ansible_collections", "pinggy", "tunnels"]:
        root = os.sep.join(parts[:-8]) or os.sep
        if root not in sys.path:
            sys.path.insert(0, root)


_put_collections_root_on_path(__file__)

import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402
import typing as t  # noqa: E402

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import (  # noqa: E402
    PinggyAuthError,
    PinggyError,
    PinggyOptionError,
    client_from_options,
    connection_argument_spec,
)
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import normalize_active, redact_tokens  # noqa: E402
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._base import strict_value, unknown_options_message  # noqa: E402
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._gate import check, expectation_problems, seen  # noqa: E402

SOURCE_NAME = "pinggy.tunnels.tunnel_events"
# A fixed name: ansible-rulebook runs the file with runpy, where __name__ says nothing.
logger = logging.getLogger(SOURCE_NAME)
DEFAULT_INTERVAL = 30.0
DEFAULT_MAX_INTERVAL = 300.0
# The source's own arguments and their types; the connection options come from the client's argument spec.
SOURCE_OPTIONS = {"interval": "float", "max_interval": "float", "reveal_tokens": "bool", "expected": "list"}
CONNECTION_SPEC = connection_argument_spec()
Record = dict[str, t.Any]


class TunnelEventsError(ValueError):
    """A source argument that cannot work, found at start: one line naming it."""


class Settings(t.NamedTuple):
    connection: dict[str, t.Any]
    interval: float
    max_interval: float
    reveal_tokens: bool
    expected: t.Optional[list[Record]]


def _connection_option(args: t.Mapping[str, t.Any], name: str) -> t.Any:
    """An argument, else its PINGGY_* environment variable, as the client's type (strictly)."""
    spec = CONNECTION_SPEC[name]
    value = args.get(name)
    if value is None:
        value = os.environ.get(spec["fallback"][1][0])
    return strict_value(name, spec["type"], value)


def _seconds(name: str, value: t.Any, floor: float) -> float:
    seconds = strict_value(name, "float", value)
    if not math.isfinite(seconds) or seconds < floor:
        raise PinggyOptionError(f"{name}: expected a number of seconds of at least {floor:g}, got {value!r}")
    return seconds


def _expected(value: t.Any) -> t.Optional[list[Record]]:
    """The expectations, refused at start by the gate's own checks when malformed."""
    if value is None:
        return None
    problems = expectation_problems(value)
    if problems:
        raise PinggyOptionError("; ".join(problems))
    return value


def parse_settings(args: t.Mapping[str, t.Any]) -> Settings:
    """The source's arguments, checked strictly, with the connection options' PINGGY_* fallbacks."""
    message = unknown_options_message(args, [*CONNECTION_SPEC, *SOURCE_OPTIONS])
    if message:
        raise PinggyOptionError(message)
    interval = _seconds("interval", args.get("interval", DEFAULT_INTERVAL), 1)
    max_interval = args.get("max_interval")
    max_interval = _seconds("max_interval", max_interval, interval) if max_interval is not None \
        else max(DEFAULT_MAX_INTERVAL, interval)
    # Unset connection options are left out, so the client's defaults apply (validate_certs true, not "unset").
    connection = {name: _connection_option(args, name) for name in CONNECTION_SPEC}
    return Settings(
        connection={name: value for name, value in connection.items() if value is not None},
        interval=interval,
        max_interval=max_interval,
        reveal_tokens=bool(strict_value("reveal_tokens", "bool", args.get("reveal_tokens", False))),
        expected=_expected(args.get("expected")),
    )


def tunnel_identity(record: t.Mapping[str, t.Any]) -> str:
    """A tunnel is its session id; a record without a usable id is known by its whole content."""
    session_id = record.get("id")
    if isinstance(session_id, str) and session_id:
        return "id:" + session_id
    return "record:" + json.dumps(record, sort_keys=True, default=repr)


def _unmet(report: t.Mapping[str, t.Any]) -> list[Record]:
    return [{"index": index, "description": result["description"], "found": result["found"],
             "min_count": result["expectation"]["min_count"]}
            for index, result in enumerate(report["expectations"]) if not result["met"]]


class TunnelWatch:
    """What changed since the last poll, as events: pure state, no I/O (the loop in main() does the polling).

    Raw records equal to the last poll's are not normalized again, and expectations are re-checked only when some
    tunnel changed: a quiet poll of 10,000 tunnels costs a comparison per tunnel.
    """

    def __init__(self, expected: t.Optional[list[Record]] = None, reveal_tokens: bool = False) -> None:
        self.expected = expected
        self.reveal_tokens = reveal_tokens
        self.tunnels: t.Optional[dict[str, tuple[Record, Record]]] = None  # identity -> (raw, event record)
        self.unmet: set[int] = set()
        self.failures = 0
        self.outage_started = 0.0

    def _records(self, raw_sessions: list[Record]) -> dict[str, tuple[Record, Record]]:
        known = self.tunnels or {}
        current: dict[str, tuple[Record, Record]] = {}
        for raw in raw_sessions:
            identity = tunnel_identity(raw)
            previous = known.get(identity)
            if previous is not None and previous[0] == raw:
                current[identity] = previous
                continue
            current[identity] = (raw, redact_tokens([normalize_active(raw)], self.reveal_tokens)[0])
        return current

    def observe(self, raw_sessions: list[Record]) -> list[Record]:
        """The events of one successful poll (raw records as the API gave them)."""
        events = self._recovered()
        previous, current = self.tunnels, self._records(raw_sessions)
        self.tunnels = current
        records = [record for _raw, record in current.values()]
        if previous is None:
            report = check(records, self.expected) if self.expected else None
            events.append(self._snapshot(records, report))
            return events + self._expectation_events(report, records)
        events += [{"type": "tunnel_down", "tunnel": record} for key, (_raw, record) in previous.items() if key not in current]
        events += [{"type": "tunnel_up", "tunnel": record} for key, (_raw, record) in current.items() if key not in previous]
        changed = bool(events) or any(previous.get(key) is not value for key, value in current.items())
        if self.expected and changed:
            events += self._expectation_events(check(records, self.expected), records)
        return events

    def _snapshot(self, records: list[Record], report: t.Optional[t.Mapping[str, t.Any]]) -> Record:
        expectations = None
        if report is not None:
            expectations = {"met": report["met"], "unmet": _unmet(report), "message": report["message"]}
        return {"type": "snapshot", "tunnels": records, "count": len(records), "expectations": expectations}

    def _expectation_events(self, report: t.Optional[t.Mapping[str, t.Any]], records: list[Record]) -> list[Record]:
        """expectations_unmet when some expectation stops being met, expectations_met when all are met again."""
        if report is None:
            return []
        unmet = _unmet(report)
        now_unmet = {item["index"] for item in unmet}
        newly_unmet, was_unmet = now_unmet - self.unmet, bool(self.unmet)
        self.unmet = now_unmet
        if newly_unmet:
            return [{"type": "expectations_unmet", "unmet": unmet, "message": report["message"], "tunnels_seen": seen(records)}]
        if was_unmet and not now_unmet:
            return [{"type": "expectations_met", "expectations": [result["description"] for result in report["expectations"]]}]
        return []

    def failed(self, error: PinggyError) -> list[Record]:
        """The events of one failed poll: api_error at the first failure of an outage only."""
        self.failures += 1
        if self.failures > 1:
            return []
        self.outage_started = time.monotonic()
        log = logger.error if isinstance(error, PinggyAuthError) else logger.warning
        log("%s", error)  # the logger is named pinggy.tunnels.tunnel_events
        return [{"type": "api_error", "error": type(error).__name__, "message": str(error)}]

    def _recovered(self) -> list[Record]:
        if not self.failures:
            return []
        event = {"type": "api_recovered", "failures": self.failures,
                 "outage_seconds": round(time.monotonic() - self.outage_started, 3)}
        logger.info("the Pinggy API answers again after %d failed poll(s)", self.failures)
        self.failures = 0
        return [event]

    def delay(self, settings: Settings) -> float:
        """Seconds until the next poll: the interval, doubled per consecutive failure up to max_interval."""
        if not self.failures:
            return settings.interval
        return min(settings.interval * 2 ** min(self.failures - 1, 32), settings.max_interval)


def start(args: t.Mapping[str, t.Any]) -> tuple[Settings, t.Any]:
    """The settings and the API client, or one line naming what is wrong (before any request)."""
    try:
        settings = parse_settings(args)
        return settings, client_from_options(settings.connection, logger.warning)
    except PinggyError as exc:
        raise TunnelEventsError(f"{SOURCE_NAME}: {exc}") from None


async def poll(client: t.Any, watch: TunnelWatch) -> list[Record]:
    """One poll, its blocking request off the event loop."""
    try:
        raw_sessions = await asyncio.to_thread(client.active_sessions)
    except PinggyError as exc:
        return watch.failed(exc)
    return watch.observe(raw_sessions)


async def main(queue: asyncio.Queue, args: dict[str, t.Any]) -> None:
    """ansible-rulebook's entry point: poll until cancelled, putting each event on the queue."""
    settings, client = start(args)
    watch = TunnelWatch(settings.expected, settings.reveal_tokens)
    while True:
        for event in await poll(client, watch):
            await queue.put(event)
        await asyncio.sleep(watch.delay(settings))


if __name__ == "__main__":

    class PrintQueue:
        """Prints each event as a JSON line: try the source alone, e.g. PINGGY_API_KEY=... python tunnel_events.py."""

        async def put(self, event: Record) -> None:
            print(json.dumps(event, sort_keys=True), flush=True)

    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(PrintQueue(), {"interval": float(os.environ.get("PINGGY_EVENTS_INTERVAL", DEFAULT_INTERVAL))}))  # type: ignore[arg-type]
