# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the tunnel_service role: check the tunnels, plan their files, render their ssh client configs, name the
deployed tunnels no longer listed.

Documentation: tunnel_service_plan.yml, tunnel_service_ssh_config.yml, tunnel_service_ssh_configs.yml and
tunnel_service_stale.yml beside this file. The rules live in plugins/plugin_utils: the option grammar in
``_tunnel_service_options``, the checks of tunnels and settings (and the role's defaults) in ``_tunnel_service_checks``,
the rendering in ``_tunnel_service_render``. No message ever quotes a token, a basic-auth password or a key. (The public
URLs a tunnel's web debugger reports are read and checked on the managed host, by the pinggy_debugger_urls module.)
"""

from __future__ import annotations

import functools
import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.pinggy.tunnels.plugins.plugin_utils import _tunnel_service_render as render
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_checks import TunnelServiceError

F = t.TypeVar("F", bound=t.Callable[..., t.Any])


def _as_filter_error(function: F) -> F:
    """The engine's one-line error, as Ansible's filter error."""
    @functools.wraps(function)
    def wrapper(*args: t.Any, **kwargs: t.Any) -> t.Any:
        try:
            return function(*args, **kwargs)
        except TunnelServiceError as exc:
            raise AnsibleFilterError(str(exc)) from None
    return t.cast(F, wrapper)


tunnel_service_plan = _as_filter_error(render.plan)
tunnel_service_ssh_config = _as_filter_error(render.ssh_config)
tunnel_service_ssh_configs = _as_filter_error(render.ssh_configs)
tunnel_service_stale = _as_filter_error(render.stale)


class FilterModule:
    """pinggy.tunnels filters of the tunnel_service role."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {
            "tunnel_service_plan": tunnel_service_plan,
            "tunnel_service_ssh_config": tunnel_service_ssh_config,
            "tunnel_service_ssh_configs": tunnel_service_ssh_configs,
            "tunnel_service_stale": tunnel_service_stale,
        }
