"""Running the gate action (pinggy_assert_tunnels) in-process, as ansible-core would, against the emulator."""

from __future__ import annotations

import socket
import typing as t
from unittest.mock import MagicMock

from ansible.parsing.dataloader import DataLoader
from ansible.playbook.task import Task
from ansible.template import Templar

from ansible_collections.pinggy.tunnels.plugins.action.pinggy_assert_tunnels import ActionModule
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, EmulatorControl


def run_gate(args: dict[str, t.Any], task_vars: t.Optional[dict[str, t.Any]] = None, check_mode: bool = False) -> dict[str, t.Any]:
    task = MagicMock(Task)
    task.args, task.async_val, task.check_mode, task.diff = args, 0, check_mode, False
    connection = MagicMock()
    connection.has_native_async = False
    variables = task_vars or {}
    action = ActionModule(task, connection, MagicMock(check_mode=check_mode), loader=DataLoader(),
                          templar=Templar(loader=DataLoader(), variables=variables), shared_loader_obj=None)
    return action.run(task_vars=variables)


def connection(emulator: EmulatorControl, **args: t.Any) -> dict[str, t.Any]:
    return {"api_url": emulator.api_url, "api_key": API_KEY, "retries": 0, **args}


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
