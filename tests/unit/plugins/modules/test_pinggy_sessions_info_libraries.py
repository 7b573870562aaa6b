"""pinggy_sessions_info without the Python libraries it needs: one clear failure, before any request."""

from __future__ import annotations

import pytest

from ansible_collections.pinggy.tunnels.plugins.modules import pinggy_sessions_info
from ansible_collections.pinggy.tunnels.tests.unit.plugins import module_runner
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, EmulatorControl


@pytest.fixture(autouse=True)
def module_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    module_runner.capture_exit(monkeypatch)


def test_without_requests_the_module_fails_naming_the_library(emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pinggy_sessions_info, "HAS_REQUESTS", False)
    outcome = module_runner.run_module(pinggy_sessions_info.main, {"api_key": API_KEY, "api_url": emulator.api_url})
    assert outcome.failed and "requests" in outcome.result["msg"] and API_KEY not in outcome.result["msg"]
    assert emulator.requests() == 0


def test_without_jmespath_only_a_query_fails(emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pinggy_sessions_info, "HAS_JMESPATH", False)
    args = {"api_key": API_KEY, "api_url": emulator.api_url}
    outcome = module_runner.run_module(pinggy_sessions_info.main, {**args, "query": "[].id"})
    assert outcome.failed and "jmespath" in outcome.result["msg"]
    assert emulator.requests() == 0
    outcome = module_runner.run_module(pinggy_sessions_info.main, args)
    assert not outcome.failed and outcome.result["count"] == 1
