"""The gate action against the real emulator: waiting, the deadline, API failures, probes and their outcomes, check mode, options."""

from __future__ import annotations

import json
import threading
import time
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, EmulatorControl
from ansible_collections.pinggy.tunnels.tests.unit.plugins.gate_runner import closed_port, connection, run_gate

DB = {"id": "d1", "subdomain": "db-1.a.pinggy.link", "mode": "tcp", "port": 15432}
WEB = {"id": "w1", "subdomain": "web-1.a.pinggy.link", "mode": "http", "port": None}


def add_later(emulator: EmulatorControl, seconds: float, active: list[dict[str, t.Any]]) -> threading.Timer:
    timer = threading.Timer(seconds, emulator.reset, kwargs={"active": active})
    timer.start()
    return timer


def test_passes_at_once(emulator: EmulatorControl) -> None:
    emulator.reset(active=[DB, WEB])
    result = run_gate(connection(emulator, expected=[{"subdomain": "db-*", "mode": "tcp", "port": 15432}]))
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert result["attempts"] == 1
    assert [record["id"] for record in result["matched"]] == ["d1"]
    assert result["probes"] == []
    assert emulator.requests() == 1


def test_waits_for_a_tunnel_added_mid_wait(emulator: EmulatorControl) -> None:
    emulator.reset(active=[WEB])
    timer = add_later(emulator, 1.2, [WEB, DB])
    started = time.monotonic()
    result = run_gate(connection(emulator, expected=[{"subdomain": "db-*"}], wait_timeout=20, delay=1))
    timer.join()
    assert not result.get("failed"), result
    assert result["attempts"] > 1
    assert [record["id"] for record in result["matched"]] == ["d1"]
    # Seen at the first poll after it appeared: at most one delay (plus slack for a loaded machine).
    assert time.monotonic() - started < 1.2 + 1 + 1.5


def test_deadline_fails_with_the_role_message(emulator: EmulatorControl) -> None:
    emulator.reset(active=[WEB])
    started = time.monotonic()
    result = run_gate(connection(emulator, expected=[{"subdomain": "never.*"}], wait_timeout=2, delay=1))
    assert result["failed"]
    assert result["msg"] == ("pinggy.tunnels.assert_tunnels: 1 of 1 tunnel expectation(s) unmet: expected at least 1 tunnel "
                             "matching never.*: found 0; tunnels seen (1): https://web-1.a.pinggy.link")
    assert result["attempts"] >= 2
    assert 2 <= time.monotonic() - started < 4.5
    assert result["matched"] == []


@pytest.mark.parametrize("fault, expected", [({"kind": "status", "status": 503, "count": 0}, "HTTP 503"),
                                             ({"kind": "status", "status": 401, "count": 0}, "HTTP 401")])
def test_api_failure_mid_wait_fails_at_once_without_the_key(emulator: EmulatorControl, fault: dict[str, t.Any], expected: str) -> None:
    emulator.reset(active=[WEB])
    timer = threading.Timer(1.2, emulator.fault, kwargs=fault)
    timer.start()
    started = time.monotonic()
    result = run_gate(connection(emulator, expected=[{"subdomain": "never.*"}], wait_timeout=30, delay=1))
    timer.join()
    emulator.call("DELETE", "faults")
    assert result["failed"]
    assert expected in result["msg"]
    assert result["attempts"] >= 2
    assert time.monotonic() - started < 10
    assert API_KEY not in json.dumps(result, default=str)


def test_wrong_key_fails_at_once(emulator: EmulatorControl) -> None:
    result = run_gate(connection(emulator, api_key="wrong-key-value-123", expected=[{"min_count": 1}], wait_timeout=10, delay=1))
    assert result["failed"]
    assert "HTTP 401" in result["msg"]
    assert "wrong-key-value-123" not in json.dumps(result, default=str)
    assert emulator.requests() == 1


def test_connection_from_variables_and_module_defaults_first(emulator: EmulatorControl) -> None:
    emulator.reset(active=[DB])
    variables = {"pinggy_api_url": emulator.api_url, "pinggy_api_key": API_KEY, "pinggy_api_retries": 0}
    assert not run_gate({"expected": [{"mode": "tcp"}]}, variables).get("failed")
    # A task argument (or module_defaults, merged into the task arguments) wins over the variable.
    result = run_gate({"expected": [{"mode": "tcp"}], "api_key": "wrong-key-value-123"}, variables)
    assert "HTTP 401" in result["msg"]


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802
        # Recorded before answering, so the test sees it once the probe has its answer.
        self.server.hosts.append(self.headers.get("Host"))  # type: ignore[attr-defined]
        status = int(self.path.strip("/") or "200")
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: t.Any) -> None:  # noqa: A002  # pylint: disable=redefined-builtin
        pass


@pytest.fixture
def http_server() -> t.Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.hosts = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_probes_tcp_open_and_closed_concurrently(emulator: EmulatorControl, http_server: ThreadingHTTPServer) -> None:
    closed = closed_port()
    open_port = http_server.server_address[1]
    emulator.reset(active=[{"id": "p1", "subdomain": "open.a.pinggy.link", "mode": "tcp", "port": open_port},
                           {"id": "p2", "subdomain": "closed.a.pinggy.link", "mode": "tlstcp", "port": closed},
                           {"id": "p3", "subdomain": "closed2.a.pinggy.link", "mode": "tcp", "port": closed}])
    started = time.monotonic()
    result = run_gate(connection(emulator, expected=[{"min_count": 3}], probe=True, probe_timeout=2, probe_address="127.0.0.1"))
    # Two 2-second timeouts run side by side.
    assert time.monotonic() - started < 3.5
    assert result["failed"]
    assert result["msg"] == (f"pinggy.tunnels.assert_tunnels: probe failed for tls://closed.a.pinggy.link:{closed}: "
                             f"Timeout when waiting for 127.0.0.1:{closed}; probe failed for tcp://closed2.a.pinggy.link:{closed}: "
                             f"Timeout when waiting for 127.0.0.1:{closed}")
    assert [(probe["kind"], probe["ok"]) for probe in result["probes"]] == [("tcp", True), ("tcp", False), ("tcp", False)]


def test_probes_http_status_accepted_or_not(emulator: EmulatorControl, http_server: ThreadingHTTPServer) -> None:
    port = http_server.server_address[1]
    emulator.reset(active=[{"id": "h1", "subdomain": "web.a.pinggy.link", "mode": "http", "port": port}])
    args = connection(emulator, expected=[{"mode": "http"}], probe=True, probe_timeout=2, probe_address="127.0.0.1", probe_path="/500")
    result = run_gate(args)
    assert result["failed"]
    assert result["msg"].startswith("pinggy.tunnels.assert_tunnels: probe failed for https://web.a.pinggy.link: Status code was 500 and not [200]")
    assert "unmet" not in result["msg"]
    assert http_server.hosts == ["web.a.pinggy.link"]  # type: ignore[attr-defined]
    result = run_gate({**args, "probe_status": ["200", "500"]})
    assert not result.get("failed"), result
    assert result["probes"] == [{"label": "https://web.a.pinggy.link", "kind": "http", "ok": True, "msg": "Status code was 500"}]


def test_invalid_probe_targets_are_reported_not_contacted(emulator: EmulatorControl) -> None:
    emulator.reset(active=[{"id": "b1", "subdomain": "bad_host!.a.pinggy.link", "mode": "tcp", "port": 5432},
                           {"id": "b2", "subdomain": "noport.a.pinggy.link", "mode": "tcp", "port": None}])
    started = time.monotonic()
    result = run_gate(connection(emulator, expected=[{"mode": "tcp", "min_count": 2}], probe=True, probe_timeout=5))
    assert time.monotonic() - started < 2
    assert result["failed"]
    assert [probe["kind"] for probe in result["probes"]] == ["invalid", "invalid"]
    assert "the tunnel's host is not a valid DNS name, not probed" in result["msg"]
    assert "the tunnel's port is not an integer from 1 to 65535, not probed" in result["msg"]


def test_failed_probes_in_the_role_order(emulator: EmulatorControl, http_server: ThreadingHTTPServer) -> None:
    port = http_server.server_address[1]
    emulator.reset(active=[{"id": "i1", "subdomain": "noport.a.pinggy.link", "mode": "tcp", "port": None},
                           {"id": "h1", "subdomain": "web.a.pinggy.link", "mode": "http", "port": port},
                           {"id": "t1", "subdomain": "closed.a.pinggy.link", "mode": "tcp", "port": closed_port()}])
    result = run_gate(connection(emulator, expected=[{"min_count": 3}], probe=True, probe_timeout=1,
                                 probe_address="127.0.0.1", probe_path="/500"))
    labels = [part.split(":")[0] for part in result["msg"].split("probe failed for ")[1:]]
    assert labels == ["tcp", "https", "tcp noport.a.pinggy.link"]


def test_check_mode_reads_and_probes(emulator: EmulatorControl) -> None:
    closed = closed_port()
    emulator.reset(active=[{"id": "p2", "subdomain": "closed.a.pinggy.link", "mode": "tcp", "port": closed}])
    result = run_gate(connection(emulator, expected=[{"subdomain": "closed.*"}], probe=True, probe_timeout=1,
                                 probe_address="127.0.0.1"), check_mode=True)
    assert result["failed"]
    assert f"probe failed for tcp://closed.a.pinggy.link:{closed}" in result["msg"]
    assert emulator.requests() == 1


def test_bad_options_one_line_each(emulator: EmulatorControl) -> None:
    result = run_gate(connection(emulator, expected=[{"subdomian": "db-*"}, {"mode": "ftp"}, {"min_count": 0}],
                                 wait_timeout="soon", delay=0))
    assert result["failed"]
    assert "\n" not in result["msg"]
    assert "subdomian" in result["msg"]
    assert "ftp" in result["msg"]
    assert "wait_timeout" in result["msg"]
    assert emulator.requests() == 0
    result = run_gate(connection(emulator, expected=[{"min_count": 0}], wait_timeout=-1, delay=0, probe_status=[99], probe_path="x"))
    assert result["msg"] == ("wait_timeout must be an integer >= 0 (seconds), got -1; delay must be an integer >= 1 (seconds), got 0; "
                             "probe_status must hold HTTP status codes (100-599), got [99]; probe_path must start with /, got x; "
                             "expected[0].min_count must be an integer >= 1, got 0")


def test_unknown_option_and_missing_expected(emulator: EmulatorControl) -> None:
    result = run_gate(connection(emulator, expected=[{"mode": "tcp"}], timeuot=3))
    assert result["failed"]
    assert "timeuot" in result["msg"]
    result = run_gate(connection(emulator))
    assert "expected" in result["msg"]
    assert API_KEY not in json.dumps(result, default=str)


def test_strings_convert_as_extra_vars_give_them(emulator: EmulatorControl) -> None:
    emulator.reset(active=[DB])
    result = run_gate(connection(emulator, expected=[{"port": "15432", "min_count": "1"}], wait_timeout="0", delay="1", probe="no"))
    assert not result.get("failed"), result


# The names the assert_tunnels role passes (roles/assert_tunnels/tasks/main.yml).
ROLE_NAMES = {
    "wait_timeout": "assert_tunnels_timeout",
    "delay": "assert_tunnels_delay",
    "probe_timeout": "assert_tunnels_probe_timeout",
    "probe_status": "assert_tunnels_probe_status",
    "probe_path": "assert_tunnels_probe_path",
}


def test_role_names_word_the_problems_as_the_role(emulator: EmulatorControl) -> None:
    result = run_gate(connection(emulator, expected=[{"subdomain": "db-1.*"}], wait_timeout=-1, delay=0, probe_timeout=0,
                                 probe_status=[200, 99], probe_path="health", _variable_names=ROLE_NAMES))
    assert result["failed"]
    assert result["msg"] == (
        "pinggy.tunnels.assert_tunnels: assert_tunnels_timeout must be an integer >= 0 (seconds), got -1; "
        "assert_tunnels_delay must be an integer >= 1 (seconds), got 0; "
        "assert_tunnels_probe_timeout must be an integer >= 1 (seconds), got 0; "
        "assert_tunnels_probe_status must hold HTTP status codes (100-599), got [200, 99]; "
        "assert_tunnels_probe_path must start with /, got health")
    assert emulator.requests() == 0


@pytest.mark.parametrize("values, expected", [
    ({"probe_status": []}, "pinggy.tunnels.assert_tunnels: assert_tunnels_probe_status must hold HTTP status codes (100-599), got []"),
    ({"probe_status": [600]}, "pinggy.tunnels.assert_tunnels: assert_tunnels_probe_status must hold HTTP status codes (100-599), got [600]"),
    ({"wait_timeout": "-1"}, "pinggy.tunnels.assert_tunnels: assert_tunnels_timeout must be an integer >= 0 (seconds), got -1"),
    ({"delay": "0", "probe_status": ["200", "99"]},
     "pinggy.tunnels.assert_tunnels: assert_tunnels_delay must be an integer >= 1 (seconds), got 0; "
     "assert_tunnels_probe_status must hold HTTP status codes (100-599), got [200, 99]"),
])
def test_role_names_with_bad_values_and_extra_var_strings(emulator: EmulatorControl, values: dict[str, t.Any], expected: str) -> None:
    result = run_gate(connection(emulator, expected=[{"subdomain": "db-1.*"}], _variable_names=ROLE_NAMES, **values))
    assert result["failed"]
    assert result["msg"] == expected
    assert emulator.requests() == 0


def test_role_names_report_the_role_checks_first_then_the_others(emulator: EmulatorControl) -> None:
    # As when the role checked its variables in a task of its own: those problems alone, then the action's own.
    result = run_gate(connection(emulator, expected=[{"min_count": 0}], delay=0, _variable_names=ROLE_NAMES))
    assert result["msg"] == "pinggy.tunnels.assert_tunnels: assert_tunnels_delay must be an integer >= 1 (seconds), got 0"
    result = run_gate(connection(emulator, expected=[{"min_count": 0}], _variable_names=ROLE_NAMES))
    assert result["msg"] == "expected[0].min_count must be an integer >= 1, got 0"
    result = run_gate(connection(emulator, expected=[], _variable_names=ROLE_NAMES))
    assert result["msg"] == "expected must be a non-empty list of expectations, got []"
    # Options the role does not name keep the action's names.
    result = run_gate(connection(emulator, expected=[{"subdomain": "db-1.*"}], delay=0, probe_path="x",
                                 _variable_names={"probe_path": "assert_tunnels_probe_path"}))
    assert result["msg"] == "pinggy.tunnels.assert_tunnels: assert_tunnels_probe_path must start with /, got x"
    assert emulator.requests() == 0


def test_role_names_extra_var_strings_pass(emulator: EmulatorControl) -> None:
    # -e name=value gives strings; the role passes them as they are, and "200,204" is a list of two codes.
    emulator.reset(active=[DB])
    result = run_gate(connection(emulator, expected=[{"subdomain": "db-1.*"}], wait_timeout="0", delay="5", probe="false",
                                 probe_timeout="3", probe_status="200,204", probe_path="/", probe_validate_certs="yes",
                                 _variable_names=ROLE_NAMES))
    assert not result.get("failed"), result
    assert [record["id"] for record in result["matched"]] == ["d1"]


@pytest.mark.parametrize("names", [{"timeout": "assert_tunnels_timeout"}, {"delay": ""}, {"delay": 3}, "delay"])
def test_bad_variable_names_one_line(emulator: EmulatorControl, names: t.Any) -> None:
    result = run_gate(connection(emulator, expected=[{"subdomain": "db-1.*"}], _variable_names=names))
    assert result["failed"]
    assert "_variable_names" in result["msg"]
    assert "\n" not in result["msg"]
    assert emulator.requests() == 0


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
                             "expected must be a non-empty list of expectations, got []")
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
