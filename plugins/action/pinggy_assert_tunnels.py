# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""pinggy_assert_tunnels: the deployment gate in one controller-side task (documentation: modules/pinggy_assert_tunnels.py).

It reads the active tunnels in-process (no AnsiballZ round trip per poll) and leaves the checks, matching, waiting,
probing and wording to the gate engine (plugin_utils/_gate.py, _probes.py), which the tunnel_expectations filter
and the tunnel_events source share; this file parses the options and shapes the task's result.
"""

from __future__ import annotations

import time
import typing as t

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import (
    PinggyError,
    client_from_options,
    connection_argument_spec,
)
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import normalize_active, redact_tokens
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._base import with_connection_variables
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._gate import (
    EXPECTATION_OPTIONS,
    MESSAGE_PREFIX,
    expectation_problems,
    verdict,
    wait_for,
)
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._probes import ProbeSettings, run_probes
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._unsafe import make_unsafe

display = Display()


def argument_spec() -> dict[str, dict[str, t.Any]]:
    """The options, documented in modules/pinggy_assert_tunnels.py."""
    spec = connection_argument_spec()
    spec.update(
        expected={"type": "list", "elements": "dict", "required": True, "options": EXPECTATION_OPTIONS},
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
    worded as the role words them, '<MESSAGE_PREFIX><variable> must be ...; ...', and reported alone, before the
    other checks, as the role did when it checked its variables in a task of its own.
    """
    names = names or {}
    problems = [(option, f"{names.get(option, option)} {rule}, got {params[option]}")
                for option, broken, rule in RANGE_CHECKS if broken(params[option])]
    renamed = [problem for option, problem in problems if option in names]
    if renamed:
        return [MESSAGE_PREFIX + "; ".join(renamed)]
    return [problem for _option, problem in problems] + expectation_problems(params["expected"])


def variable_names_problems(names: t.Any) -> list[str]:
    """_variable_names must map options of this action to names (strings)."""
    if names is None:
        return []
    known = {option for option, _broken, _rule in RANGE_CHECKS}
    wrong = sorted(str(option) for option, name in names.items() if option not in known or not isinstance(name, str) or not name)
    if wrong:
        return [f"_variable_names may only map {', '.join(sorted(known))} to names, got {', '.join(wrong)}"]
    return []


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
        except PinggyError as exc:
            result.update(failed=True, msg=str(exc))
            return result
        return {**result, **_gate(client, params)}

    def _options(self, task_vars: dict[str, t.Any]) -> t.Union[dict[str, t.Any], str]:
        """The validated options, or the one line naming every problem."""
        args = with_connection_variables(self._task.args, task_vars, self._templar)
        validation = ArgumentSpecValidator(argument_spec()).validate(args)
        if validation.error_messages:
            return "; ".join(validation.error_messages)
        params = validation.validated_parameters
        problems = variable_names_problems(params["_variable_names"]) or range_problems(params, params["_variable_names"])
        return "; ".join(problems) if problems else params


def _gate(client: t.Any, params: dict[str, t.Any]) -> dict[str, t.Any]:
    """Wait, probe once every expectation is met, and judge."""
    started = time.monotonic()

    def read_sessions() -> list[dict[str, t.Any]]:
        return redact_tokens(normalize_active(record) for record in client.active_sessions())

    report, attempts, error = wait_for(read_sessions, params["expected"], params["wait_timeout"], params["delay"], (PinggyError,))
    if error is not None:
        # An API error ends the wait at once: the gate never passes without a successful answer.
        return {"failed": True, "msg": str(error), "attempts": attempts, "elapsed": round(time.monotonic() - started, 3)}
    settings = ProbeSettings(params["probe_timeout"], params["probe_status"], params["probe_path"],
                             params["probe_address"], params["probe_validate_certs"])
    probes = run_probes(report["probes"], settings) if params["probe"] and report["met"] else []
    answer = {"matched": report["tunnels"], "attempts": attempts, "elapsed": round(time.monotonic() - started, 3), "probes": probes}
    message = verdict(report, probes)
    if message:
        answer.update(failed=True, msg=message)
    return make_unsafe(answer)
