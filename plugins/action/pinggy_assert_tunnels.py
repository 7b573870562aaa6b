# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pinggy_assert_tunnels: the deployment gate in one controller-side task (documentation: modules/pinggy_assert_tunnels.py).

It reads the active tunnels in-process (no AnsiballZ round trip per poll), matches them with the
tunnel_expectations filter's function (one implementation), probes the matched ones concurrently, and
fails with the same one-line message as the assert_tunnels role.
"""

from __future__ import annotations

import socket
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor

from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.pinggy.tunnels.plugins.filter.tunnel_expectations import tunnel_expectations
from ansible_collections.pinggy.tunnels.plugins.module_utils._api import (
    PinggyError,
    client_from_options,
    connection_argument_spec,
)
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import MODES, normalize_active, redact_tokens
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._base import with_connection_variables
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._unsafe import make_unsafe

display = Display()

# The role's failure message starts so; the role's tests and users' log searches rely on it.
MESSAGE_PREFIX = "pinggy.tunnels.assert_tunnels: "
PROBE_WORKERS = 16
TCP_RETRY_SECONDS = 0.2
PROBE_ORDER = {"tcp": 0, "http": 1, "invalid": 2}


def argument_spec() -> dict[str, dict[str, t.Any]]:
    """The options, documented in modules/pinggy_assert_tunnels.py."""
    spec = connection_argument_spec()
    spec.update(
        expected={"type": "list", "elements": "dict", "required": True, "options": {
            "subdomain": {"type": "str"},
            "custom_domain": {"type": "str"},
            "mode": {"type": "str", "choices": list(MODES)},
            "token_name": {"type": "str"},
            "port": {"type": "int"},
            "min_count": {"type": "int", "default": 1},
        }},
        wait_timeout={"type": "int", "default": 0},
        delay={"type": "int", "default": 5},
        probe={"type": "bool", "default": False},
        probe_timeout={"type": "int", "default": 10},
        probe_status={"type": "list", "elements": "int", "default": [200]},
        probe_path={"type": "str", "default": "/"},
        probe_address={"type": "str"},
        probe_validate_certs={"type": "bool", "default": True},
        # Internal (the assert_tunnels role passes it): its variables that hold these options; see range_problems.
        _variable_names={"type": "dict"},
    )
    return spec


# What the types cannot say: (option, what is wrong with its value), in the order of the messages.
RANGE_CHECKS: tuple[tuple[str, t.Callable[[t.Any], bool], str], ...] = (
    ("wait_timeout", lambda value: value < 0, "must be an integer >= 0 (seconds)"),
    ("delay", lambda value: value < 1, "must be an integer >= 1 (seconds)"),
    ("probe_timeout", lambda value: value < 1, "must be an integer >= 1 (seconds)"),
    ("probe_status", lambda value: not value or any(not 100 <= status <= 599 for status in value),
     "must hold HTTP status codes (100-599)"),
    ("probe_path", lambda value: not value.startswith("/"), "must start with /"),
)


def range_problems(params: t.Mapping[str, t.Any], names: t.Optional[t.Mapping[str, str]] = None) -> list[str]:
    """What the types cannot say, one line each, naming each option by its own name or by names[option].

    A role that wraps the action passes its variables' names (names): the problems with those options are then
    worded as the role words them, 'pinggy.tunnels.assert_tunnels: <variable> must be ...; ...', and reported
    alone, before the other checks, as the role did when it checked its variables in a task of its own.
    """
    names = names or {}
    problems = [(option, f"{names.get(option, option)} {rule}, got {params[option]}")
                for option, broken, rule in RANGE_CHECKS if broken(params[option])]
    renamed = [problem for option, problem in problems if option in names]
    if renamed:
        return [MESSAGE_PREFIX + "; ".join(renamed)]
    problems_text = [problem for _option, problem in problems]
    if not params["expected"]:
        problems_text.append("expected must be a non-empty list of expectations")
    for index, expectation in enumerate(params["expected"] or []):
        for key in ("port", "min_count"):
            value = expectation.get(key)
            if value is not None and value < 1:
                problems_text.append(f"expected[{index}].{key} must be an integer >= 1, got {value}")
    return problems_text


def variable_names_problems(names: t.Any) -> list[str]:
    """_variable_names must map options of this action to names (strings)."""
    if names is None:
        return []
    known = {option for option, _broken, _rule in RANGE_CHECKS}
    wrong = sorted(str(option) for option, name in names.items() if option not in known or not isinstance(name, str) or not name)
    if wrong:
        return [f"_variable_names may only map {', '.join(sorted(known))} to names, got {', '.join(wrong)}"]
    return []


def probe_tcp(host: str, port: int, timeout: float) -> tuple[bool, str]:
    """Connect until one connection succeeds or timeout passes (as ansible.builtin.wait_for does)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False, f"Timeout when waiting for {host}:{port}"
        try:
            with socket.create_connection((host, port), timeout=remaining):
                return True, "connected"
        except OSError:
            time.sleep(min(TCP_RETRY_SECONDS, max(0.0, deadline - time.monotonic())))


def probe_http(url: str, headers: dict[str, str], statuses: list[int], timeout: float, validate_certs: bool) -> tuple[bool, str]:
    """One GET; passes when the status is accepted (ansible.builtin.uri's wording when not).

    Redirects are not followed: a 3xx is the tunnel's own answer, judged as any status, so a tunnel cannot send the
    probe (and its Host header) to another host or scheme.
    """
    # Imported only when probing: most gates do not, and this is a noticeable part of the task's start-up.
    from urllib.error import HTTPError  # pylint: disable=import-outside-toplevel
    from ansible.module_utils.urls import open_url  # pylint: disable=import-outside-toplevel

    try:
        response = open_url(url, method="GET", headers=headers, timeout=timeout, validate_certs=validate_certs,
                            follow_redirects="none", http_agent="pinggy.tunnels")
        status, reason = response.getcode(), "OK"
        response.close()
    except HTTPError as exc:
        status, reason = exc.code, f"HTTP Error {exc.code}: {exc.reason}"
    except Exception as exc:  # pylint: disable=broad-exception-caught  # any failure to get an answer fails the probe
        return False, f"Status code was -1 and not {statuses}: Request failed: {exc}"
    if status in statuses:
        return True, f"Status code was {status}"
    return False, f"Status code was {status} and not {statuses}: {reason}"


def run_probe(probe: t.Mapping[str, t.Any], params: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """One probe of the tunnel_expectations report: never contacts an 'invalid' one."""
    result = {"label": probe["label"], "kind": probe["kind"], "ok": False}
    address = params["probe_address"] or None
    if probe["kind"] == "invalid":
        result["msg"] = probe["reason"]
    elif probe["kind"] == "tcp":
        result["ok"], result["msg"] = probe_tcp(address or probe["host"], probe["port"], params["probe_timeout"])
    else:
        if address:
            url = f"http://{address}{':' + str(probe['port']) if probe['port'] else ''}{params['probe_path']}"
            headers = {"Host": probe["host"]}
        else:
            url, headers = probe["url"] + params["probe_path"], {}
        result["ok"], result["msg"] = probe_http(url, headers, params["probe_status"], params["probe_timeout"],
                                                 params["probe_validate_certs"])
    return result


class ActionModule(ActionBase):
    """Wait for the expected tunnels, probe them, and fail with one line unless all is well."""

    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False

    def run(self, tmp: t.Any = None, task_vars: t.Optional[dict[str, t.Any]] = None) -> dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        result["changed"] = False
        params = self._options(task_vars)
        if isinstance(params, str):
            result.update(failed=True, msg=params)
            return result
        try:
            client = client_from_options(params, display.warning)
            return {**result, **self._gate(client, params)}
        except PinggyError as exc:
            result.update(failed=True, msg=str(exc))
            return result

    def _options(self, task_vars: dict[str, t.Any]) -> t.Union[dict[str, t.Any], str]:
        """The validated options, or the one line naming every problem."""
        args = with_connection_variables(self._task.args, task_vars, self._templar)
        validation = ArgumentSpecValidator(argument_spec()).validate(args)
        if validation.error_messages:
            return "; ".join(validation.error_messages)
        params = validation.validated_parameters
        problems = variable_names_problems(params["_variable_names"]) or range_problems(params, params["_variable_names"])
        return "; ".join(problems) if problems else params

    def _gate(self, client: t.Any, params: dict[str, t.Any]) -> dict[str, t.Any]:
        started = time.monotonic()
        report, attempts, error = _wait_for_expectations(client, params, started)
        if error is not None:
            # An API error ends the wait at once: the gate never passes without a successful answer.
            return {"failed": True, "msg": error, "attempts": attempts, "elapsed": round(time.monotonic() - started, 3)}
        probes = _run_probes(report, params)
        problems = ([report["message"]] if not report["met"] else [])
        # In the role's order: failed TCP probes, failed HTTP probes, then the tunnels that could not be probed.
        failed = sorted((probe for probe in probes if not probe["ok"]), key=lambda probe: PROBE_ORDER[probe["kind"]])
        problems += [f"probe failed for {probe['label']}: {probe['msg']}" for probe in failed]
        answer = {
            "matched": report["tunnels"],
            "attempts": attempts,
            "elapsed": round(time.monotonic() - started, 3),
            "probes": probes,
        }
        if problems:
            answer.update(failed=True, msg=MESSAGE_PREFIX + "; ".join(problems))
        return make_unsafe(answer)


def _wait_for_expectations(client: t.Any, params: t.Mapping[str, t.Any],
                           started: float) -> tuple[dict[str, t.Any], int, t.Optional[str]]:
    """Poll until every expectation is met or wait_timeout passes: (last report, attempts, API error or None)."""
    deadline = started + params["wait_timeout"]
    attempts = 0
    while True:
        attempts += 1
        try:
            sessions = redact_tokens(normalize_active(record) for record in client.active_sessions())
            report = tunnel_expectations(sessions, params["expected"])
        except (PinggyError, AnsibleError) as exc:
            return {}, attempts, str(exc)
        remaining = deadline - time.monotonic()
        if report["met"] or remaining <= 0:
            return report, attempts, None
        time.sleep(min(params["delay"], remaining))


def _run_probes(report: t.Mapping[str, t.Any], params: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """Probe the matched tunnels concurrently, only once every expectation is met."""
    if not (params["probe"] and report["met"] and report["probes"]):
        return []
    with ThreadPoolExecutor(max_workers=min(PROBE_WORKERS, len(report["probes"]))) as pool:
        return list(pool.map(lambda probe: run_probe(probe, params), report["probes"]))
