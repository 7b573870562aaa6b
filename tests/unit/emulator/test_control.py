"""The control API client (tests/emulator/control.py) that unit tests, integration targets and end-to-end scripts share."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import typing as t
from pathlib import Path

import pytest

from ansible_collections.pinggy.tunnels.tests.emulator import Emulator
from ansible_collections.pinggy.tunnels.tests.emulator import control

CONTROL_SCRIPT = Path(control.__file__)


@pytest.fixture(scope="module")
def client() -> t.Iterator[control.ControlClient]:
    with Emulator(api_key="control-test-key") as server:
        yield control.ControlClient(f"{server.base_url}/_emulator/")


def test_named_calls_change_and_read_the_emulator(client: control.ControlClient) -> None:
    client.named("reset", {"active": [{"id": "c1", "mode": "tcp", "port": 1}], "history": []})
    assert [session["id"] for session in client.named("add_sessions", [{"id": "c2", "mode": "http"}])] == ["c2"]
    assert client.named("state")["active"] == 2
    client.remove_session("c1")
    assert client.named("state")["active"] == 1
    client.remove_session()
    assert client.named("state")["active"] == 0


def test_every_named_call_is_a_resource_the_emulator_serves(client: control.ControlClient) -> None:
    bodies = {"reset": {"active": []}, "add_sessions": [], "add_history": [], "fault": {"kind": "drop"},
              "config": {"default_page_size": 10}}
    for name in control.CALLS:
        client.named(name, bodies.get(name))
    client.named("clear_faults")


def test_http_error_names_the_call(client: control.ControlClient) -> None:
    with pytest.raises(control.ControlError, match=r"^emulator control API POST faults failed: HTTP Error 400"):
        client.named("fault", {"kind": "no-such-kind"})


def test_refused_connection_is_a_control_error() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
    with pytest.raises(control.ControlError, match=r"^emulator control API GET state failed: "):
        control.ControlClient(f"http://127.0.0.1:{port}/_emulator", timeout=2).named("state")


def test_command_line_prints_the_answer_and_fails_with_one_line(client: control.ControlClient) -> None:
    body = json.dumps({"active": [{"id": "cli", "mode": "tcp", "port": 2}] * 3, "history": []})
    done = subprocess.run([sys.executable, str(CONTROL_SCRIPT), "--url", client.control_url, "POST", "reset", body],
                          capture_output=True, text=True, check=True)
    assert isinstance(json.loads(done.stdout), dict)
    assert client.named("state")["active"] == 3
    failed = subprocess.run([sys.executable, str(CONTROL_SCRIPT), "--url", client.control_url, "DELETE", "nothing-here"],
                            capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert failed.stderr.startswith("emulator control API DELETE nothing-here failed: HTTP Error 404")


def test_command_line_needs_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINGGY_EMULATOR_URL", raising=False)
    with pytest.raises(SystemExit):
        control.main(["GET", "state"])
