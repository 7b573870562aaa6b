# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tunnel_expectations filter: which expected tunnels an account's active sessions satisfy.

Documentation: tunnel_expectations.yml beside this file. The checks, matching and wording are the gate engine's
(plugin_utils/_gate.py), shared with the pinggy_assert_tunnels action and the tunnel_events source.
"""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.pinggy.tunnels.plugins.plugin_utils._gate import evaluate, expectation_problems
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._unsafe import make_unsafe


def tunnel_expectations(sessions: t.Any, expected: t.Any) -> dict[str, t.Any]:
    """A report of which expectations the sessions meet (see tunnel_expectations.yml for the shape)."""
    if not isinstance(sessions, list) or not all(isinstance(record, t.Mapping) for record in sessions):
        raise AnsibleFilterError("tunnel_expectations: the input must be the list of sessions returned by pinggy.tunnels.pinggy_sessions_info")
    problems = expectation_problems(expected)
    if problems:
        raise AnsibleFilterError(f"tunnel_expectations: {problems[0]}")
    # The report quotes API strings (domains, ids): they stay data, never templates, on every core.
    return make_unsafe(evaluate(sessions, expected))


class FilterModule:
    """pinggy.tunnels filters."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"tunnel_expectations": tunnel_expectations}
