"""The tunnel_events event source, as ansible.eda tests its sources: main(queue, args) with a plain asyncio.Queue,
against the real emulator on loopback; the change detection (TunnelWatch) on its own for the large and odd cases."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
import sys
import time
import typing as t
from pathlib import Path

import pytest

from ansible_collections.pinggy.tunnels.extensions.eda.plugins.event_source import tunnel_events
from ansible_collections.pinggy.tunnels.plugins.module_utils._api import KEY_RUN_CHARS, PinggyApiError, PinggyAuthError
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, SEED_SESSION, EmulatorControl, hostile_data

SOURCE = Path(tunnel_events.__file__)
COLLECTION = SOURCE.parents[4]
Record = dict[str, t.Any]


def session(ident: str, subdomain: str, mode: str = "tcp", port: t.Optional[int] = 20000, **extra: t.Any) -> Record:
    return {"id": ident, "subdomain": subdomain, "mode": mode, "port": port, "tokenName": None, **extra}


def types(events: list[Record]) -> list[str]:
    return [event["type"] for event in events]


def args_for(emulator: EmulatorControl, **extra: t.Any) -> Record:
    return {"api_url": emulator.api_url, "api_key": API_KEY, "retries": 0, "timeout": 5, **extra}


async def _drain(queue: asyncio.Queue, count: int, timeout: float) -> list[Record]:
    return [await asyncio.wait_for(queue.get(), timeout) for _count in range(count)]


def run_main(args: Record, count: int, between: t.Optional[t.Callable[[list[Record]], None]] = None,
             then: int = 0, timeout: float = 15) -> list[Record]:
    """main() on a plain asyncio.Queue: the first count events, then (after between()) then more; then cancelled."""

    async def scenario() -> list[Record]:
        queue: asyncio.Queue = asyncio.Queue()
        task = asyncio.ensure_future(tunnel_events.main(queue, args))
        try:
            events = await _drain(queue, count, timeout)
            if between:
                # In a thread, as the emulator's control calls block: the source keeps polling meanwhile.
                await asyncio.to_thread(between, events)
                events += await _drain(queue, then, timeout)
            return events
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    return asyncio.run(scenario())


def assert_no_key(texts: t.Iterable[str], key: str = API_KEY) -> None:
    runs = {key[i:i + KEY_RUN_CHARS] for i in range(len(key) - KEY_RUN_CHARS + 1)}
    for text in texts:
        assert not any(run in text for run in runs), f"a run of the key in {text[:200]!r}"


# --- main(queue, args) against the emulator ---

def test_snapshot_then_down_and_up_through_the_queue(emulator: EmulatorControl) -> None:
    emulator.reset([SEED_SESSION, session("b", "b.a.pinggy.link")])

    def change(_events: list[Record]) -> None:
        emulator.call("DELETE", "sessions/b")
        emulator.call("POST", "sessions", session("c", "c.a.pinggy.link"))

    events = run_main(args_for(emulator, interval=1), 1, change, then=2)
    assert types(events) == ["snapshot", "tunnel_down", "tunnel_up"]
    assert events[0]["count"] == 2 and {tunnel["id"] for tunnel in events[0]["tunnels"]} == {SEED_SESSION["id"], "b"}
    assert events[0]["expectations"] is None
    assert events[1]["tunnel"]["id"] == "b" and events[1]["tunnel"]["url"] == "tcp://b.a.pinggy.link:20000"
    assert events[2]["tunnel"]["id"] == "c"


def test_tokens_redacted_unless_revealed(emulator: EmulatorControl) -> None:
    emulator.reset([session("t", "t.a.pinggy.link", token="secret-token-0003")])
    redacted = run_main(args_for(emulator), 1)[0]["tunnels"][0]
    revealed = run_main(args_for(emulator, reveal_tokens=True), 1)[0]["tunnels"][0]
    assert redacted["token"] == "****0003" and revealed["token"] == "secret-token-0003"


def test_certificates_checked_without_a_warning_by_default(emulator: EmulatorControl, caplog: pytest.LogCaptureFixture,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINGGY_VALIDATE_CERTS", raising=False)
    emulator.reset()
    settings, client = tunnel_events.start(args_for(emulator))
    assert "validate_certs" not in settings.connection and client.validate_certs is True
    assert "validate_certs" not in caplog.text
    settings, client = tunnel_events.start(args_for(emulator, validate_certs="no"))
    assert client.validate_certs is False and "validate_certs is false" in caplog.text


def test_connection_from_pinggy_environment(emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> None:
    emulator.reset()
    for name, value in (("URL", emulator.api_url), ("KEY", API_KEY), ("RETRIES", "0"), ("VALIDATE_CERTS", "yes")):
        monkeypatch.setenv(f"PINGGY_API_{name}" if name in ("URL", "KEY") else f"PINGGY_{name}", value)
    assert types(run_main({}, 1)) == ["snapshot"]


def test_api_error_once_per_outage_then_recovered(emulator: EmulatorControl, caplog: pytest.LogCaptureFixture) -> None:
    emulator.reset()
    emulator.fault(kind="status", status=503, count=0)

    def recover(_events: list[Record]) -> None:
        assert emulator.requests() >= 2  # polled again during the outage, without a second api_error
        emulator.call("DELETE", "faults")

    with caplog.at_level(logging.INFO):
        events = run_main(args_for(emulator, interval=1, max_interval=1), 1, lambda e: (time.sleep(2.5), recover(e)), then=2)
    assert types(events) == ["api_error", "api_recovered", "snapshot"]
    assert events[0]["error"] == "PinggyApiError" and "HTTP 503" in events[0]["message"] and "\n" not in events[0]["message"]
    assert events[1]["failures"] >= 2
    assert [record.levelno for record in caplog.records if "HTTP 503" in record.getMessage()] == [logging.WARNING]


def test_wrong_key_is_an_api_error_logged_at_error_level(emulator: EmulatorControl, caplog: pytest.LogCaptureFixture) -> None:
    emulator.reset()
    wrong_key = "wrong-key-9d8c7b6a5f4e"
    with caplog.at_level(logging.DEBUG):
        events = run_main(args_for(emulator, api_key=wrong_key), 1)
    assert types(events) == ["api_error"] and events[0]["error"] == "PinggyAuthError"
    assert [record.levelno for record in caplog.records if "rejected the API key" in record.getMessage()] == [logging.ERROR]
    assert_no_key([json.dumps(events), caplog.text], wrong_key)


def test_key_in_no_event_and_no_log_line(emulator: EmulatorControl, caplog: pytest.LogCaptureFixture) -> None:
    # The server echoes the key in its error body: the client redacts it before the message is made.
    emulator.reset()
    emulator.fault(kind="status", status=500, body=f"bad key {API_KEY} here", count=1)
    with caplog.at_level(logging.DEBUG):
        events = run_main(args_for(emulator, interval=1, validate_certs=False), 2)
    assert types(events) == ["api_error", "api_recovered"]
    assert "********" in events[0]["message"]
    assert_no_key([json.dumps(events), caplog.text, *(record.getMessage() for record in caplog.records)])


def test_blocking_request_runs_off_the_event_loop(emulator: EmulatorControl) -> None:
    emulator.reset()
    emulator.fault(kind="latency", delay=0.6, count=1)

    async def scenario() -> tuple[int, list[Record]]:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.05)
                ticks += 1

        ticker = asyncio.ensure_future(tick())
        settings, client = tunnel_events.start(args_for(emulator))
        events = await tunnel_events.poll(client, tunnel_events.TunnelWatch(settings.expected))
        ticker.cancel()
        return ticks, events

    ticks, events = asyncio.run(scenario())
    assert types(events) == ["snapshot"] and ticks >= 5


# --- arguments: strict, one line, before any request ---

@pytest.mark.parametrize("args, message", [
    ({"intervall": 5}, "unknown option(s): intervall (did you mean interval?)"),
    ({"interval": 0.5}, "interval: expected a number of seconds of at least 1, got 0.5"),
    ({"interval": True}, "interval: expected a number, got True"),
    ({"interval": 10, "max_interval": 5}, "max_interval: expected a number of seconds of at least 10, got 5"),
    ({"interval": "nan"}, "interval: expected a number of seconds of at least 1, got 'nan'"),
    ({"reveal_tokens": "ture"}, "reveal_tokens: expected a boolean"),
    ({"validate_certs": "maybe"}, "validate_certs: expected a boolean"),
    ({"expected": []}, "expected must be a non-empty list of expectations, got []"),
    ({"expected": [{"mode": "tcp"}, {"mod": "tcp"}]}, "expected[1] has unknown key(s) mod; known: subdomain"),
    ({"expected": [{"port": 0}]}, "expected[0].port must be an integer >= 1, got 0"),
    ({"api_url": "ftp://example.invalid"}, "api_url: expected an http(s) URL"),
    ({"api_key": "bad\x01key"}, "api_key: the key holds a control or non-ASCII character"),
    ({"timeout": 0}, "timeout: expected a number of seconds above 0"),
])
def test_bad_arguments_stop_the_source_at_start_with_one_line(args: Record, message: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINGGY_API_KEY", raising=False)
    with pytest.raises(tunnel_events.TunnelEventsError) as caught:
        asyncio.run(tunnel_events.main(asyncio.Queue(), {"api_key": "k" * 12, "api_url": "http://127.0.0.1:9", **args}))
    text = str(caught.value)
    assert text.startswith("pinggy.tunnels.tunnel_events: ") and message in text and "\n" not in text
    assert "bad\x01key" not in text


def test_missing_key_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PINGGY_API_KEY", raising=False)
    with pytest.raises(tunnel_events.TunnelEventsError, match="api_key: a non-empty Pinggy API key is required"):
        tunnel_events.start({"api_url": "http://127.0.0.1:9"})


def test_max_interval_defaults_to_at_least_the_interval() -> None:
    assert tunnel_events.parse_settings({"api_key": "k"}).max_interval == 300
    assert tunnel_events.parse_settings({"api_key": "k", "interval": 600}).max_interval == 600


# --- the change detection, without I/O ---

def test_no_event_repeats_while_nothing_changes() -> None:
    watch = tunnel_events.TunnelWatch([{"mode": "tcp", "min_count": 2}])
    sessions = [session("a", "a.a.pinggy.link")]
    assert types(watch.observe(sessions)) == ["snapshot", "expectations_unmet"]
    for _poll in range(3):
        assert watch.observe([dict(record) for record in sessions]) == []


def test_restart_is_a_down_then_an_up() -> None:
    watch = tunnel_events.TunnelWatch()
    watch.observe([session("old", "db.a.pinggy.link")])
    events = watch.observe([session("new", "db.a.pinggy.link")])
    assert [(event["type"], event["tunnel"]["id"]) for event in events] == [("tunnel_down", "old"), ("tunnel_up", "new")]


def test_expectations_unmet_then_met_each_once() -> None:
    watch = tunnel_events.TunnelWatch([{"subdomain": "db-*", "mode": "tcp"}, {"mode": "http"}])
    both = [session("d", "db-1.a.pinggy.link"), session("w", "web.a.pinggy.link", "http", None)]
    snapshot = watch.observe(both)
    assert types(snapshot) == ["snapshot"] and snapshot[0]["expectations"]["met"] is True
    down = watch.observe(both[1:])
    assert types(down) == ["tunnel_down", "expectations_unmet"]
    unmet = down[1]
    assert unmet["unmet"] == [{"index": 0, "description": "at least 1 tcp tunnel matching db-*", "found": 0, "min_count": 1}]
    assert "found 0" in unmet["message"] and unmet["tunnels_seen"] == "tunnels seen (1): https://web.a.pinggy.link"
    # Another expectation stops being met: a new event naming both; nothing while the same ones stay unmet.
    assert types(watch.observe([])) == ["tunnel_down", "expectations_unmet"]
    assert watch.observe([]) == []
    assert types(watch.observe(both[1:])) == ["tunnel_up"]
    met = watch.observe(both)
    assert types(met) == ["tunnel_up", "expectations_met"]
    assert met[1]["expectations"] == ["at least 1 tcp tunnel matching db-*", "at least 1 http tunnel"]
    assert watch.observe(both) == []


def test_unmet_at_start_is_reported_after_the_snapshot() -> None:
    events = tunnel_events.TunnelWatch([{"mode": "udp"}]).observe([session("a", "a.a.pinggy.link")])
    assert types(events) == ["snapshot", "expectations_unmet"]
    assert events[0]["expectations"]["met"] is False and events[0]["expectations"]["unmet"][0]["index"] == 0


def test_a_changed_record_is_re_normalized_and_re_checked() -> None:
    watch = tunnel_events.TunnelWatch([{"port": 5432}])
    watch.observe([session("a", "a.a.pinggy.link", port=5432)])
    events = watch.observe([session("a", "a.a.pinggy.link", port=6000)])
    assert types(events) == ["expectations_unmet"]
    assert watch.tunnels is not None and watch.tunnels["id:a"][1]["port"] == 6000


def test_back_off_doubles_and_is_bounded_by_max_interval() -> None:
    settings = tunnel_events.parse_settings({"api_key": "k", "interval": 2, "max_interval": 30})
    watch = tunnel_events.TunnelWatch()
    delays = []
    for _failure in range(200):
        assert len(watch.failed(PinggyApiError("Pinggy API error HTTP 503"))) <= 1
        delays.append(watch.delay(settings))
    assert delays[:5] == [2, 4, 8, 16, 30] and max(delays) == 30
    assert types(watch.observe([])) == ["api_recovered", "snapshot"] and watch.delay(settings) == 2


def test_a_second_outage_gives_a_second_api_error() -> None:
    watch = tunnel_events.TunnelWatch()
    error = PinggyAuthError("Pinggy API rejected the API key (HTTP 401)")
    assert types(watch.failed(error) + watch.failed(error) + watch.observe([]) + watch.failed(error)) == \
        ["api_error", "api_recovered", "snapshot", "api_error"]


def test_ten_thousand_tunnels_per_poll() -> None:
    sessions = [session(f"id-{index}", f"t{index}.a.pinggy.link", port=1 + index % 65535, token=f"tok-{index:08d}")
                for index in range(10000)]
    watch = tunnel_events.TunnelWatch([{"mode": "tcp", "min_count": 10000}])
    snapshot = watch.observe(sessions)
    assert types(snapshot) == ["snapshot"] and snapshot[0]["count"] == 10000
    assert all(tunnel["token"].startswith("****") for tunnel in snapshot[0]["tunnels"])
    assert watch.observe([dict(record) for record in sessions]) == []
    events = watch.observe(sessions[1:] + [session("id-new", "new.a.pinggy.link")])
    assert [(event["type"], event.get("tunnel", {}).get("id")) for event in events] == \
        [("tunnel_down", "id-0"), ("tunnel_up", "id-new")]


def _leaves(value: t.Any) -> t.Iterator[t.Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _leaves(item)
    elif isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_hostile_records_stay_plain_data(emulator: EmulatorControl, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    data = hostile_data(marker)
    emulator.reset(data["active"])
    expected = [{"subdomain": "*", "min_count": 1000}]
    events = run_main(args_for(emulator, expected=expected), 2)
    assert types(events) == ["snapshot", "expectations_unmet"]
    assert events[0]["count"] >= 10
    # Exactly the JSON types (no subclass that a template engine or a rule might treat specially), and templates
    # as the text they are.
    assert all(type(leaf) in (str, int, float, bool, type(None)) for leaf in _leaves(events))
    assert any(isinstance(leaf, str) and "{{" in leaf for leaf in _leaves(events[0]))
    assert json.loads(json.dumps(events)) == events
    assert not marker.exists()


def test_records_without_a_usable_id_are_known_by_content() -> None:
    watch = tunnel_events.TunnelWatch()
    odd = [{"id": None, "subdomain": "x"}, {"id": {"nested": 1}, "subdomain": "y"}, {"subdomain": "z"},
           {"id": "dup", "subdomain": "one"}, {"id": "dup", "subdomain": "one"}]
    assert watch.observe(odd)[0]["count"] == 4
    assert watch.observe(odd) == []


# --- an installed collection imports on its own ---

def test_installed_source_finds_its_collection(tmp_path: Path) -> None:
    installed = tmp_path / "collections" / "ansible_collections" / "pinggy" / "tunnels"
    for part in ("plugins", "extensions"):
        shutil.copytree(COLLECTION / part, installed / part, ignore=shutil.ignore_patterns("__pycache__"))
    program = (
        "import runpy, sys\n"
        "namespace = runpy.run_path(sys.argv[1])\n"
        "print(sys.modules[namespace['client_from_options'].__module__].__file__)\n"
    )
    # A clean interpreter: no collection loader, nothing of the test tree on its path.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join(path for path in sys.path if path and (Path(path) / "ansible").is_dir())
    source = installed / "extensions" / "eda" / "plugins" / "event_source" / "tunnel_events.py"
    result = subprocess.run([sys.executable, "-c", program, str(source)], capture_output=True, text=True, env=env,
                            cwd=tmp_path, timeout=60, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(installed / "plugins" / "module_utils" / "_api.py")


def test_collections_root_is_put_on_the_path_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "path", ["/elsewhere"])
    fake = os.sep + os.path.join("r", "ansible_collections", "pinggy", "tunnels", "extensions", "eda", "plugins",
                                 "event_source", "tunnel_events.py")
    tunnel_events._put_collections_root_on_path(fake)
    tunnel_events._put_collections_root_on_path(fake)
    tunnel_events._put_collections_root_on_path("/src/checkout/extensions/eda/plugins/event_source/tunnel_events.py")
    assert sys.path == [os.sep + "r", "/elsewhere"]
