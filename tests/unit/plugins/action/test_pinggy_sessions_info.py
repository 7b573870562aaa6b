"""The module's action: pinggy_api_* variables fill only the connection options a task leaves unset."""

from __future__ import annotations

import typing as t
from unittest.mock import MagicMock

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.task import Task
from ansible.template import Templar

from ansible_collections.pinggy.tunnels.plugins.action.pinggy_sessions_info import ActionModule

try:
    from ansible.template import trust_as_template
except ImportError:  # before ansible-core 2.19 every string is a template

    def trust_as_template(value: str) -> str:
        return value


def run_action(task_args: dict[str, t.Any], task_vars: dict[str, t.Any]) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """(module arguments the action sent, result), with the module execution itself stubbed."""
    task = MagicMock(Task)
    task.args, task.async_val, task.check_mode, task.diff = task_args, 0, False, False
    connection = MagicMock()
    connection.has_native_async = False
    action = ActionModule(task, connection, MagicMock(check_mode=False), loader=DataLoader(),
                          templar=Templar(loader=DataLoader(), variables=task_vars), shared_loader_obj=None)
    action._execute_module = MagicMock(return_value={"changed": False, "count": 0})  # type: ignore[method-assign]
    action._remove_tmp_path = MagicMock()  # type: ignore[method-assign]
    result = action.run(task_vars=task_vars)
    return action._execute_module.call_args.kwargs["module_args"], result


def test_variables_fill_unset_connection_options() -> None:
    variables = {"pinggy_api_key": "from-variable", "pinggy_api_url": "http://127.0.0.1:1/backend/api/v1",
                 "pinggy_api_validate_certs": False, "pinggy_api_timeout": 5, "pinggy_api_retries": 0}
    module_args, result = run_action({"mode": ["tcp"]}, variables)
    assert module_args == {"mode": ["tcp"], "api_key": "from-variable", "api_url": "http://127.0.0.1:1/backend/api/v1",
                           "validate_certs": False, "timeout": 5, "retries": 0}
    assert result["count"] == 0


@pytest.mark.parametrize("task_args", [{"api_key": "from-task"}, {"api_key": "from-task", "api_url": None}])
def test_task_arguments_win_and_absent_variables_add_nothing(task_args: dict[str, t.Any]) -> None:
    module_args, _result = run_action(task_args, {"pinggy_api_key": "from-variable"})
    assert module_args == {"api_key": "from-task", **({"api_url": None} if "api_url" in task_args else {})}


def test_variables_that_are_templates_are_resolved() -> None:
    # As a play's vars give it: on 2.19+ only a trusted string (from a playbook or vars file) is a template.
    module_args, _result = run_action({}, {"pinggy_api_key": trust_as_template("{{ vault_key }}"), "vault_key": "resolved-key"})
    assert module_args == {"api_key": "resolved-key"}
