# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection-option plumbing for controller-side plugins (private: not a public API)."""

from __future__ import annotations

import typing as t

from ansible.errors import AnsibleError
from ansible.utils.display import Display

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import (
    CONNECTION_OPTIONS,
    PinggyClient,
    PinggyError,
    client_from_options,
)

display = Display()


def client_from_plugin(plugin: t.Any) -> PinggyClient:
    """The API client configured from a plugin's connection options (set_options must have run)."""
    options = {name: plugin.get_option(name) for name in CONNECTION_OPTIONS}
    try:
        return client_from_options(options, display.warning)
    except PinggyError as exc:
        raise AnsibleError(str(exc)) from None
