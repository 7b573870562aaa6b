"""The gate action: the probe outcomes and option problems the first test file leaves out, through its public options."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from ansible_collections.pinggy.tunnels.tests.unit.plugins.action.test_pinggy_assert_tunnels import closed_port, connection, run_gate
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, EmulatorControl

LABEL = "https://web.a.pinggy.link"


def test_an_http_probe_answered_200_passes(emulator: EmulatorControl) -> None:
    # The emulator is the tunnel's local service here: its control API answers GET /_emulator/state with 200.
    port = urlsplit(emulator.api_url).port
    emulator.reset(active=[{"id": "h1", "subdomain": "web.a.pinggy.link", "mode": "http", "port": port}])
    result = run_gate(connection(emulator, expected=[{"mode": "http"}], probe=True, probe_timeout=5,
                                 probe_address="127.0.0.1", probe_path="/_emulator/state"))
    assert not result.get("failed"), result
    assert result["probes"] == [{"label": LABEL, "kind": "http", "ok": True, "msg": "Status code was 200"}]


def test_an_http_probe_that_gets_no_answer_fails_with_uri_wording(emulator: EmulatorControl) -> None:
    closed = closed_port()
    emulator.reset(active=[{"id": "h1", "subdomain": "web.a.pinggy.link", "mode": "http", "port": closed}])
    result = run_gate(connection(emulator, expected=[{"mode": "http"}], probe=True, probe_timeout=2, probe_address="127.0.0.1"))
    assert result["failed"]
    assert result["msg"].startswith(f"pinggy.tunnels.assert_tunnels: probe failed for {LABEL}: "
                                    "Status code was -1 and not [200]: Request failed: ")
    assert "\n" not in result["msg"] and result["probes"][0]["ok"] is False


def test_probe_timeout_and_an_empty_expected_list_are_refused_before_any_request(emulator: EmulatorControl) -> None:
    result = run_gate(connection(emulator, expected=[], probe_timeout=0))
    assert result["failed"]
    assert result["msg"] == ("probe_timeout must be an integer >= 1 (seconds), got 0; "
                             "expected must be a non-empty list of expectations")
    assert emulator.requests() == 0


def test_a_bad_connection_option_fails_in_one_line_without_the_secret(emulator: EmulatorControl) -> None:
    result = run_gate(connection(emulator, api_url="http://user:hunter2-secret@127.0.0.1:1/api", expected=[{"mode": "tcp"}]))
    assert result["failed"] and result["changed"] is False
    assert result["msg"].startswith("api_url: ") and "\n" not in result["msg"]
    assert "hunter2-secret" not in json.dumps(result, default=str) and API_KEY not in json.dumps(result, default=str)
    assert emulator.requests() == 0


def test_a_key_with_control_characters_is_refused_without_showing_it(emulator: EmulatorControl) -> None:
    result = run_gate(connection(emulator, api_key="abc\x1bdef-secret-key", expected=[{"mode": "tcp"}]))
    assert result["failed"] and result["msg"].startswith("api_key: ")
    assert "secret-key" not in json.dumps(result, default=str)
    assert emulator.requests() == 0
