# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gate engine (private): expectations checked once, matched, described, waited for and judged.

One implementation for every caller: the pinggy_assert_tunnels action (and so the assert_tunnels role), the
tunnel_expectations filter and the tunnel_events event source. Callers parse their own options, call these
functions and shape the result; what a probe contacts is decided in _probes.py.
"""

from __future__ import annotations

import json
import time
import typing as t

from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import MODES, effective_mode, filter_sessions
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._probes import probe_target

EXPECTATION_KEYS = ("subdomain", "custom_domain", "mode", "token_name", "port", "min_count")
# The same keys as an argument spec (the action's suboptions): types convert, then expectation_problems judges.
EXPECTATION_OPTIONS: dict[str, dict[str, t.Any]] = {
    "subdomain": {"type": "str"},
    "custom_domain": {"type": "str"},
    "mode": {"type": "str", "choices": list(MODES)},
    "token_name": {"type": "str"},
    "port": {"type": "int"},
    "min_count": {"type": "int", "default": 1},
}
# The gate's failure message starts so (the assert_tunnels role's name); users' log searches rely on it.
MESSAGE_PREFIX = "pinggy.tunnels.assert_tunnels: "
# The failure message lists the tunnels seen so a near miss is obvious, but not 10,000 of them.
SEEN_LIMIT = 10

Record = t.Mapping[str, t.Any]


def _key_problem(index: int, key: str, value: t.Any) -> t.Optional[str]:
    """What is wrong with one key of expectation ``index`` (None when nothing is)."""
    if key in ("subdomain", "custom_domain", "token_name") and not isinstance(value, str):
        return f"expected[{index}].{key} must be a string, got {value!r}"
    if key == "mode" and value not in MODES:
        return f"expected[{index}].mode must be one of {', '.join(MODES)}, got {value!r}"
    if key in ("port", "min_count") and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        return f"expected[{index}].{key} must be an integer >= 1, got {value!r}"
    return None


def _expectation_problem(index: int, expectation: t.Any) -> t.Optional[str]:
    """The first problem of one expectation, key by key, so a typo is named instead of silently matching everything."""
    if not isinstance(expectation, t.Mapping):
        return f"expected[{index}] must be a dictionary, got {expectation!r}"
    unknown = sorted(str(key) for key in expectation if key not in EXPECTATION_KEYS)
    if unknown:
        return f"expected[{index}] has unknown key(s) {', '.join(unknown)}; known: {', '.join(EXPECTATION_KEYS)}"
    problems = (_key_problem(index, key, value) for key, value in expectation.items() if value is not None)
    return next((problem for problem in problems if problem), None)


def expectation_problems(expected: t.Any) -> list[str]:
    """Every problem of a list of expectations, one line each (empty when all are well formed)."""
    if not isinstance(expected, list) or not expected:
        return [f"expected must be a non-empty list of expectations, got {expected!r}"]
    problems = (_expectation_problem(index, expectation) for index, expectation in enumerate(expected))
    return [problem for problem in problems if problem]


def _normalized(expectation: Record) -> dict[str, t.Any]:
    """A well-formed expectation without unset keys, min_count defaulted."""
    checked = {key: value for key, value in expectation.items() if value is not None}
    checked.setdefault("min_count", 1)
    return checked


def _matches(expectation: Record, sessions: list[Record]) -> list[Record]:
    matched = filter_sessions(
        sessions,
        modes=[expectation["mode"]] if "mode" in expectation else None,
        subdomains=[expectation["subdomain"]] if "subdomain" in expectation else None,
        token_names=[expectation["token_name"]] if "token_name" in expectation else None,
    )
    if "custom_domain" in expectation:
        wanted = expectation["custom_domain"].lower()
        matched = [record for record in matched if str(record.get("customdomain") or "").lower() == wanted]
    if "port" in expectation:
        matched = [record for record in matched if record.get("port") == expectation["port"]]
    return matched


def describe(expectation: Record) -> str:
    """'at least 1 tcp tunnel matching db.* on port 5432 with token prod' (the expectation in words)."""
    words = [f"at least {expectation['min_count']}", expectation.get("mode", "")]
    words.append("tunnel" if expectation["min_count"] == 1 else "tunnels")
    if "subdomain" in expectation:
        words.append(f"matching {expectation['subdomain']}")
    if "custom_domain" in expectation:
        words.append(f"on custom domain {expectation['custom_domain']}")
    if "port" in expectation:
        words.append(f"on port {expectation['port']}")
    if "token_name" in expectation:
        words.append(f"with token {expectation['token_name']}")
    return " ".join(word for word in words if word)


def label(record: Record) -> str:
    """How a tunnel is named in messages: its URL, else its mode and host (or id)."""
    return str(record.get("url") or f"{effective_mode(record) or '?'} {record.get('host') or record.get('id') or '?'}")


def seen(sessions: list[Record]) -> str:
    """'tunnels seen (N): <label>, ... and M more', at most SEEN_LIMIT labels."""
    labels = [label(record) for record in sessions[:SEEN_LIMIT]]
    more = f" and {len(sessions) - SEEN_LIMIT} more" if len(sessions) > SEEN_LIMIT else ""
    return f"tunnels seen ({len(sessions)}): {', '.join(labels) or 'none'}{more}"


def _result(raw: Record, sessions: list[Record]) -> dict[str, t.Any]:
    """One expectation checked, with the tunnels it matched."""
    expectation = _normalized(raw)
    matched = _matches(expectation, sessions)
    return {
        "expectation": expectation,
        "description": describe(expectation),
        "found": len(matched),
        "met": len(matched) >= expectation["min_count"],
        "tunnels": matched,
    }


def _distinct_tunnels(results: list[dict[str, t.Any]]) -> list[Record]:
    """Every matched tunnel once, in the order first matched."""
    # Keyed by its whole content, as an API id may be missing, shared or not even hashable.
    matched_ids: dict[str, Record] = {}
    for result in results:
        for record in result["tunnels"]:
            matched_ids.setdefault(json.dumps(record, sort_keys=True, default=repr), record)
    return list(matched_ids.values())


def check(sessions: list[Record], expected: list[Record]) -> dict[str, t.Any]:
    """Which well-formed expectations (see expectation_problems) the sessions meet, and the gate's message.

    Without the union of the matched tunnels and their probes (evaluate adds them): what the event source needs on
    each poll, where building probe targets for thousands of matched tunnels would be most of its time.
    """
    results = [_result(raw, sessions) for raw in expected]
    unmet = [f"expected {result['description']}: found {result['found']}" for result in results if not result["met"]]
    message = ""
    if unmet:
        message = f"{len(unmet)} of {len(results)} tunnel expectation(s) unmet: {'; '.join(unmet)}; {seen(sessions)}"
    return {"met": not unmet, "expectations": results, "unmet": unmet, "message": message}


def evaluate(sessions: list[Record], expected: list[Record]) -> dict[str, t.Any]:
    """check(), plus the matched tunnels (each once) and their probe targets: the report of tunnel_expectations.yml."""
    report = check(sessions, expected)
    tunnels = _distinct_tunnels(report["expectations"])
    return {
        "met": report["met"],
        "expectations": report["expectations"],
        "unmet": report["unmet"],
        "tunnels": tunnels,
        "probes": [probe for probe in (probe_target(record, label(record)) for record in tunnels) if probe],
        "message": report["message"],
    }


class WaitOutcome(t.NamedTuple):
    report: dict[str, t.Any]
    attempts: int
    error: t.Optional[Exception]


def wait_for(read_sessions: t.Callable[[], list[Record]], expected: list[Record], wait_timeout: float, delay: float,
             errors: tuple[type[Exception], ...]) -> WaitOutcome:
    """Read and evaluate until every expectation is met or wait_timeout passes.

    An error of ``errors`` ends the wait at once (the outcome's error): a gate never passes without an answer.
    """
    deadline = time.monotonic() + wait_timeout
    attempts = 0
    while True:
        attempts += 1
        try:
            report = evaluate(read_sessions(), expected)
        except errors as exc:
            return WaitOutcome({}, attempts, exc)
        remaining = deadline - time.monotonic()
        if report["met"] or remaining <= 0:
            return WaitOutcome(report, attempts, None)
        time.sleep(min(delay, remaining))


def verdict(report: Record, probes: list[Record]) -> t.Optional[str]:
    """The gate's one-line failure message, or None when every expectation is met and every probe passed."""
    problems = [report["message"]] if not report["met"] else []
    # Failed TCP probes, failed HTTP probes, then the tunnels that could not be probed.
    order = {"tcp": 0, "http": 1, "invalid": 2}
    failed = sorted((probe for probe in probes if not probe["ok"]), key=lambda probe: order[probe["kind"]])
    problems += [f"probe failed for {probe['label']}: {probe['msg']}" for probe in failed]
    return MESSAGE_PREFIX + "; ".join(problems) if problems else None
