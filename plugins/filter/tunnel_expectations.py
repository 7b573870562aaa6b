# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tunnel_expectations filter: which expected tunnels an account's active sessions satisfy.

Documentation: tunnel_expectations.yml beside this file.
"""

from __future__ import annotations

import json
import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import (
    MODES,
    effective_mode,
    filter_sessions,
    tunnel_url,
    valid_port,
)
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._hostnames import host_problem
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._unsafe import make_unsafe

EXPECTATION_KEYS = ("subdomain", "custom_domain", "mode", "token_name", "port", "min_count")
# The failure message lists the tunnels seen so a near miss is obvious, but not 10,000 of them.
SEEN_LIMIT = 10


def _option_error(index: int, key: str, expected: str, value: t.Any) -> AnsibleFilterError:
    return AnsibleFilterError(f"tunnel_expectations: expected[{index}].{key} must be {expected}, got {value!r}")


def _validated(index: int, expectation: t.Any) -> dict[str, t.Any]:
    """One expectation checked key by key, so a typo is named instead of silently matching everything."""
    if not isinstance(expectation, t.Mapping):
        raise AnsibleFilterError(f"tunnel_expectations: expected[{index}] must be a dictionary, got {expectation!r}")
    unknown = sorted(str(key) for key in expectation if key not in EXPECTATION_KEYS)
    if unknown:
        raise AnsibleFilterError(
            f"tunnel_expectations: expected[{index}] has unknown key(s) {', '.join(unknown)}; known: {', '.join(EXPECTATION_KEYS)}"
        )
    checked: dict[str, t.Any] = {key: value for key, value in expectation.items() if value is not None}
    for key in ("subdomain", "custom_domain", "token_name"):
        if key in checked and not isinstance(checked[key], str):
            raise _option_error(index, key, "a string", checked[key])
    if "mode" in checked and checked["mode"] not in MODES:
        raise _option_error(index, "mode", f"one of {', '.join(MODES)}", checked["mode"])
    for key, minimum in (("port", 1), ("min_count", 1)):
        if key in checked and (isinstance(checked[key], bool) or not isinstance(checked[key], int) or checked[key] < minimum):
            raise _option_error(index, key, f"an integer >= {minimum}", checked[key])
    checked.setdefault("min_count", 1)
    return checked


def _matches(expectation: t.Mapping[str, t.Any], sessions: list[t.Mapping[str, t.Any]]) -> list[t.Mapping[str, t.Any]]:
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


def describe(expectation: t.Mapping[str, t.Any]) -> str:
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


def _label(record: t.Mapping[str, t.Any]) -> str:
    return str(record.get("url") or f"{effective_mode(record) or '?'} {record.get('host') or record.get('id') or '?'}")


def _seen(sessions: list[t.Mapping[str, t.Any]]) -> str:
    labels = [_label(record) for record in sessions[:SEEN_LIMIT]]
    more = f" and {len(sessions) - SEEN_LIMIT} more" if len(sessions) > SEEN_LIMIT else ""
    return f"tunnels seen ({len(sessions)}): {', '.join(labels) or 'none'}{more}"


def _probe(record: t.Mapping[str, t.Any]) -> t.Optional[dict[str, t.Any]]:
    """How the role probes a tunnel: TCP connect for tcp/tlstcp, HTTP GET for http; None for the rest.

    The target is built here from the tunnel's host, which must be a DNS host name (not an IP address nor localhost:
    _hostnames.host_problem), and its port, which must be an integer from 1 to 65535 - never a URL taken from the
    API's text. Otherwise the probe is kind 'invalid', with the reason, and the role reports it as a failed probe
    without connecting anywhere.
    """
    mode = effective_mode(record)
    kind = {"tcp": "tcp", "tlstcp": "tcp", "http": "http"}.get(mode or "")
    if not kind:
        return None
    host, port = record.get("host"), valid_port(record.get("port"))
    probe = {"kind": kind, "label": _label(record), "host": host, "port": port, "url": None}
    problem = host_problem(host)
    if problem:
        probe.update(kind="invalid", reason=f"the tunnel's host {problem}, not probed")
    elif kind == "tcp" and port is None:
        probe.update(kind="invalid", reason="the tunnel's port is not an integer from 1 to 65535, not probed")
    else:
        probe["url"] = tunnel_url(mode, host, port)
    return probe


def _check_input(sessions: t.Any, expected: t.Any) -> None:
    if not isinstance(sessions, list) or not all(isinstance(record, t.Mapping) for record in sessions):
        raise AnsibleFilterError("tunnel_expectations: the input must be the list of sessions returned by pinggy.tunnels.pinggy_sessions_info")
    if not isinstance(expected, list) or not expected:
        raise AnsibleFilterError(f"tunnel_expectations: expected must be a non-empty list of expectations, got {expected!r}")


def _result(index: int, raw: t.Any, sessions: list[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """Expectation ``index`` checked, with the tunnels it matched."""
    expectation = _validated(index, raw)
    matched = _matches(expectation, sessions)
    return {
        "expectation": expectation,
        "description": describe(expectation),
        "found": len(matched),
        "met": len(matched) >= expectation["min_count"],
        "tunnels": matched,
    }


def _distinct_tunnels(results: list[dict[str, t.Any]]) -> list[t.Mapping[str, t.Any]]:
    """Every matched tunnel once, in the order first matched."""
    # Keyed by its whole content, as an API id may be missing, shared or not even hashable.
    matched_ids: dict[str, t.Mapping[str, t.Any]] = {}
    for result in results:
        for record in result["tunnels"]:
            matched_ids.setdefault(json.dumps(record, sort_keys=True, default=repr), record)
    return list(matched_ids.values())


def tunnel_expectations(sessions: t.Any, expected: t.Any) -> dict[str, t.Any]:
    """A report of which expectations the sessions meet (see tunnel_expectations.yml for the shape)."""
    _check_input(sessions, expected)
    results = [_result(index, raw, sessions) for index, raw in enumerate(expected)]
    unmet = [f"expected {result['description']}: found {result['found']}" for result in results if not result["met"]]
    tunnels = _distinct_tunnels(results)
    message = ""
    if unmet:
        message = f"{len(unmet)} of {len(results)} tunnel expectation(s) unmet: {'; '.join(unmet)}; {_seen(sessions)}"
    # The report quotes API strings (domains, ids): they stay data, never templates, on every core.
    return make_unsafe({
        "met": not unmet,
        "expectations": results,
        "unmet": unmet,
        "tunnels": tunnels,
        "probes": [probe for probe in map(_probe, tunnels) if probe],
        "message": message,
    })


class FilterModule:
    """pinggy.tunnels filters."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"tunnel_expectations": tunnel_expectations}
