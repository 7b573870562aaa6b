# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runs pinggy_sessions_info with the connection settings a task leaves unset taken from pinggy_api_* variables.

So one set of variables (play vars, group_vars, a vault file) configures the module as it does the lookup;
task arguments and module_defaults still come first, and the module's PINGGY_* fallback last.
"""

from __future__ import annotations

import typing as t

from ansible.plugins.action import ActionBase
from ansible.utils.vars import merge_hash

from ansible_collections.pinggy.tunnels.plugins.plugin_utils._base import with_connection_variables


class ActionModule(ActionBase):
    """The module, plus pinggy_api_* variables as connection defaults."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp: t.Any = None, task_vars: t.Optional[dict[str, t.Any]] = None) -> dict[str, t.Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        module_args = with_connection_variables(self._task.args, task_vars, self._templar)
        wrap_async = self._task.async_val and not self._connection.has_native_async
        result = merge_hash(result, self._execute_module(module_args=module_args, task_vars=task_vars, wrap_async=wrap_async))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)  # pylint: disable=protected-access
        return result
