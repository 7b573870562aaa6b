"""pinggy_debugger_urls, run in-process: strict options, systemd asked in argv form, and the URLs trusted only from the
unit's own listener (a real server in this process: its pid passes, another pid is named as not the ssh)."""

from __future__ import annotations

import os
import typing as t

import pytest

from ansible.module_utils import basic

from ansible_collections.pinggy.tunnels.plugins.modules import pinggy_debugger_urls
from ansible_collections.pinggy.tunnels.tests.unit.plugins import module_runner
from ansible_collections.pinggy.tunnels.tests.unit.plugins.module_runner import ModuleExit, capture_exit
from ansible_collections.pinggy.tunnels.tests.unit.plugins.debugger_server import URLS, URLS_BODY, another_process, http, serving

UNIT = "pinggy-tunnel@web.service"
Commands = t.List[t.List[str]]


@pytest.fixture(autouse=True)
def module_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    capture_exit(monkeypatch)


def systemd(monkeypatch: pytest.MonkeyPatch, answer: tuple[int, str, str]) -> Commands:
    """systemctl answering ``answer`` to every command; the commands run are recorded."""
    commands: Commands = []

    def run_command(_module: basic.AnsibleModule, args: list[str], **_kwargs: t.Any) -> tuple[int, str, str]:
        commands.append(args)
        return answer
    monkeypatch.setattr(basic.AnsibleModule, "run_command", run_command)
    monkeypatch.setattr(basic.AnsibleModule, "get_bin_path", lambda _module, name, **_kwargs: f"/usr/bin/{name}")
    return commands


def run_module(args: dict[str, t.Any]) -> ModuleExit:
    return module_runner.run_module(pinggy_debugger_urls.main, args)


def test_the_urls_of_the_units_own_listener_are_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    commands = systemd(monkeypatch, (0, f"{os.getpid()}\n", ""))
    with serving(http("200 OK", URLS_BODY)) as server:
        outcome = run_module({"unit": UNIT, "port": server.port, "_ansible_check_mode": True})
    assert not outcome.failed
    assert outcome.result == {"changed": False, "urls": URLS, "pid": os.getpid()}
    assert commands[0] == ["/usr/bin/systemctl", "show", "-p", "MainPID", "--value", UNIT]


def test_an_impostor_holding_the_port_is_named_and_its_urls_are_not_returned(monkeypatch: pytest.MonkeyPatch) -> None:
    with another_process() as other_pid, serving(http("200 OK", URLS_BODY)) as server:
        systemd(monkeypatch, (0, f"{other_pid}\n", ""))
        outcome = run_module({"unit": UNIT, "port": server.port, "timeout": 1, "delay": 1})
    problem = f"port {server.port} on 127.0.0.1 is held by another process (pid {os.getpid()}), not {UNIT}'s ssh (pid {other_pid})"
    assert outcome.failed
    assert outcome.result == {"msg": f"{UNIT}: no public URL from 127.0.0.1:{server.port}/urls within 1 s ({problem})",
                              "urls": [], "problem": problem}


@pytest.mark.parametrize(("answer", "problem"), [
    ((0, "0\n", ""), f"{UNIT} is not running"),
    ((1, "", "Failed to connect to bus: No such file or directory\nmore\n"),
     f"systemctl show {UNIT} failed: Failed to connect to bus: No such file or directory"),
    ((0, "[not set]\n", ""), f"systemctl show {UNIT} failed: rc 0"),
])
def test_no_main_process_is_one_line(monkeypatch: pytest.MonkeyPatch, answer: tuple[int, str, str], problem: str) -> None:
    systemd(monkeypatch, answer)
    outcome = run_module({"unit": UNIT, "port": 4301, "timeout": 1, "delay": 1})
    assert outcome.failed and outcome.result["problem"].startswith(problem) and "\n" not in outcome.result["msg"]


def test_a_404_with_urls_is_not_an_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    systemd(monkeypatch, (0, f"{os.getpid()}\n", ""))
    with serving(http("404 Not Found", URLS_BODY)) as server:
        outcome = run_module({"unit": UNIT, "port": server.port, "timeout": 1, "delay": 1})
    assert outcome.failed and outcome.result["problem"] == "HTTP 404" and outcome.result["urls"] == []


@pytest.mark.parametrize(("args", "message"), [
    ({"unit": UNIT, "port": 4301, "tiemout": 5}, "Unsupported parameters"),
    ({"port": 4301}, "missing required arguments: unit"),
    ({"unit": UNIT, "port": "a lot"}, "port"),
    ({"unit": "-H host.service", "port": 4301}, "unit must be a systemd service name"),
    ({"unit": "--value", "port": 4301}, "unit must be a systemd service name"),
    ({"unit": "pinggy-tunnel@web", "port": 4301}, "unit must be a systemd service name"),
    ({"unit": "web service.service", "port": 4301}, "unit must be a systemd service name"),
    ({"unit": UNIT, "port": 0}, "port must be an integer from 1 to 65535, got 0"),
    ({"unit": UNIT, "port": True}, "port must be an integer from 1 to 65535, got True"),
    ({"unit": UNIT, "port": 4301, "timeout": 3601}, "timeout must be an integer from 1 to 3600, got 3601"),
    ({"unit": UNIT, "port": 4301, "delay": 0}, "delay must be an integer from 1 to 60, got 0"),
])
def test_options_are_strict(monkeypatch: pytest.MonkeyPatch, args: dict[str, t.Any], message: str) -> None:
    commands = systemd(monkeypatch, (0, "1\n", ""))
    outcome = run_module(args)
    assert outcome.failed and message in outcome.result["msg"] and "\n" not in outcome.result["msg"]
    assert commands == []
