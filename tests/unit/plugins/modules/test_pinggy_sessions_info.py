"""pinggy_sessions_info: argument handling and results, run in-process against the emulator."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from ansible_collections.pinggy.tunnels.plugins.module_utils import _api
from ansible_collections.pinggy.tunnels.plugins.modules import pinggy_sessions_info
from ansible_collections.pinggy.tunnels.tests.unit.plugins import module_runner
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, SEED_SESSION, EmulatorControl, hostile_data
from ansible_collections.pinggy.tunnels.tests.unit.plugins.module_runner import ModuleExit, capture_exit


@pytest.fixture(autouse=True)
def module_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    capture_exit(monkeypatch)


def run_module(args: dict[str, t.Any]) -> ModuleExit:
    return module_runner.run_module(pinggy_sessions_info.main, args)


SESSIONS = [
    SEED_SESSION,
    {**SEED_SESSION, "id": "web", "subdomain": "abc.a.free.pinggy.link", "customdomain": "web.example.com",
     "mode": "http", "port": None, "tokenName": "prod"},
    {**SEED_SESSION, "id": "dns", "subdomain": "dns.a.pinggy.link", "mode": "udp", "modeUdp": "udp", "port": 5353},
]


def connection(emulator: EmulatorControl) -> dict[str, t.Any]:
    return {"api_key": API_KEY, "api_url": emulator.api_url}


def test_lists_every_session_normalized(emulator: EmulatorControl) -> None:
    emulator.reset(SESSIONS)
    outcome = run_module(connection(emulator))
    assert not outcome.failed
    assert outcome.result["changed"] is False
    assert outcome.result["count"] == 3
    assert [s["url"] for s in outcome.result["sessions"]] == [
        "tcp://mytest.v.awesomeapp.a.pinggy.link:10003", "https://web.example.com", "udp://dns.a.pinggy.link:5353"]
    assert "result" not in outcome.result


def test_filters_and_query(emulator: EmulatorControl) -> None:
    emulator.reset(SESSIONS)
    outcome = run_module({**connection(emulator), "mode": ["http", "udp"], "subdomain": ["*.EXAMPLE.com"],
                          "query": "[].token_name"})
    assert outcome.result["count"] == 1
    assert outcome.result["result"] == ["prod"]


def test_environment_variables_supply_the_connection(emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PINGGY_API_KEY", API_KEY)
    monkeypatch.setenv("PINGGY_API_URL", emulator.api_url)
    monkeypatch.setenv("PINGGY_RETRIES", "0")
    outcome = run_module({})
    assert not outcome.failed and outcome.result["count"] == 1


def test_missing_api_key_names_the_option() -> None:
    outcome = run_module({"api_url": "http://127.0.0.1:9/backend/api/v1"})
    assert outcome.failed and "api_key" in outcome.result["msg"]


def test_unknown_mode_names_the_option_and_the_choices() -> None:
    outcome = run_module({"api_key": API_KEY, "mode": ["bogus"]})
    assert outcome.failed
    assert "mode" in outcome.result["msg"] and "tlstcp" in outcome.result["msg"]


def test_invalid_query_fails_before_any_request(emulator: EmulatorControl) -> None:
    outcome = run_module({**connection(emulator), "query": "[?"})
    assert outcome.failed and outcome.result["msg"].startswith("query: ")
    assert emulator.requests() == 0


def test_query_failing_on_the_sessions_is_one_line_naming_query(emulator: EmulatorControl) -> None:
    emulator.reset(SESSIONS)
    outcome = run_module({**connection(emulator), "query": "sum([].subdomain)"})
    assert outcome.failed and outcome.result["msg"].startswith("query: JMESPath expression 'sum([].subdomain)' failed")


def test_wrong_key_fails_with_401_and_no_key(emulator: EmulatorControl) -> None:
    outcome = run_module({**connection(emulator), "api_key": "not-the-key-42"})
    assert outcome.failed and "HTTP 401" in outcome.result["msg"]
    assert "not-the-key-42" not in json.dumps(outcome.result)


def test_bad_retries_names_the_option(emulator: EmulatorControl) -> None:
    outcome = run_module({**connection(emulator), "retries": -2})
    assert outcome.failed and outcome.result["msg"].startswith("retries: ")
    assert emulator.requests() == 0


def test_hostile_sessions_are_all_returned_with_tokens_redacted(emulator: EmulatorControl, tmp_path: Path) -> None:
    data = hostile_data(tmp_path / "marker")
    emulator.reset(data["active"])
    outcome = run_module(connection(emulator))
    assert not outcome.failed and outcome.result["count"] == len(data["active"])
    sessions = {record["id"]: record for record in outcome.result["sessions"] if isinstance(record["id"], str)}
    assert (sessions["ok-1"]["token"], sessions["ok-1"]["virtual_token"]) == ("****0010", "****0010")
    assert (sessions["ok-1"]["token_name"], sessions["ok-1"]["virtual_token_name"]) == ("prod", "vt-prod")
    assert sessions["tpl-port"]["url"] is None and sessions["port-string"]["url"] is None
    assert "SECRETTOKEN10010" not in json.dumps(outcome.result) and "TPLPORTTOKEN01" not in json.dumps(outcome.result)
    revealed = run_module({**connection(emulator), "reveal_tokens": True, "subdomain": ["ok-1.*"]})
    assert revealed.result["sessions"][0]["token"] == "SECRETTOKEN10010"
    assert not (tmp_path / "marker").exists()


def _nested(levels: int) -> t.Any:
    value: t.Any = "{{ lookup('pipe', 'id') }}"
    for level in range(levels):
        value = {"deeperKey": value} if level % 2 else [value]
    return value


def test_a_record_with_a_field_nested_500_deep_is_returned_with_the_rest(emulator: EmulatorControl) -> None:
    emulator.reset([{**SEED_SESSION, "oddField": _nested(500)}, *SESSIONS[1:]])
    outcome = run_module(connection(emulator))
    assert not outcome.failed and outcome.result["count"] == 3
    assert "(nested deeper than" in json.dumps(outcome.result["sessions"][0]["odd_field"])
    assert outcome.result["sessions"][1:] == run_module({**connection(emulator), "subdomain": ["abc.*", "dns.*"]}).result["sessions"]


def test_a_huge_answer_fails_with_one_line(emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_api, "MAX_BODY_BYTES", 2**20)
    emulator.fault(kind="huge", size=4 * 2**20, count=0)
    outcome = run_module(connection(emulator))
    assert outcome.failed and outcome.result["msg"] == (
        f"Pinggy API answered GET /backend/api/v1/session/active at {emulator.api_url.split('/')[2]} with a body over 1 MiB, "
        "the most this client reads; refused")
