"""Functional tests of the Pinggy API emulator, over real HTTP on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator, Optional

import pytest
import requests

from ansible_collections.pinggy.tunnels.plugins.module_utils import _sessions
from ansible_collections.pinggy.tunnels.tests.emulator import Emulator
from ansible_collections.pinggy.tunnels.tests.emulator import data as emulator_data
from ansible_collections.pinggy.tunnels.tests.emulator.server import HUGE_BLOCK

COLLECTION_ROOT = Path(__file__).parents[3]
SEED_FIXTURE = COLLECTION_ROOT / "tests" / "emulator" / "fixtures" / "seed.json"
API_KEY = "unit-test-key-5d41402a"
TODAY = "2025-02-07"
MODES = {"http", "tcp", "tls", "tlstcp", "udp"}

# The two example responses of the published contract (pinggy-api/pinggy-pro-api.txt), verbatim.
CONTRACT_ACTIVE = """[
{
"id": "9345b393-d916-4a2e-816a-3347468a03c0",
"userId": 4490909,
"tokenId": 392084,
"token": null,
"tokenName": null,
"virtualToken": "sJsufpgMMl-10003",
"virtualTokenName": null,
"subdomain": "mytest.v.awesomeapp.a.pinggy.link",
"customdomain": null,
"mode": "tcp",
"modeUdp": "",
"port": 10003,
"creationTimestamp": "2024-08-23T04:04:36.083+00:00",
"lastUpdateTimestamp": "2024-08-23T04:04:37.780+00:00"
}
]"""
CONTRACT_HISTORY_PAGE = """{
"totalElements": 1,
"totalPages": 1,
"size": 10,
"content": [
{
"start_time": "2025-02-06T16:16:44.571+00:00",
"end_time": "2025-02-07T06:15:26.294+00:00",
"user_email": "youremail@example.com",
"token_value": "AAXXYY99F",
"virtual_token_value": null,
"domains": [
"test.example.com",
"test.a.pinggy.link"
],
"mode": "http",
"mode_udp": "",
"client_ip": "[5.7.152.215]:48696",
"port": null
}
],
"number": 0,
"sort": {
"empty": true,
"sorted": false,
"unsorted": true
},
"pageable": {
"pageNumber": 0,
"pageSize": 10,
"sort": {
"empty": true,
"sorted": false,
"unsorted": true
},
"offset": 0,
"paged": true,
"unpaged": false
},
"numberOfElements": 1,
"first": true,
"last": true,
"empty": false
}"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(api_key=API_KEY, fixture=SEED_FIXTURE, today=TODAY) as running:
        yield running


@pytest.fixture(autouse=True)
def fresh_state(emulator: Emulator) -> None:
    """Every test starts from the seed data, default config and no faults or counts."""
    control(emulator, "PUT", "config", {"page_size_cap": 2000, "default_page_size": 20, "today": TODAY})
    control(emulator, "POST", "reset")


@pytest.fixture
def api(emulator: Emulator) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {API_KEY}"
        yield session


def control(emulator: Emulator, method: str, resource: str, body: Any = None) -> Any:
    response = requests.request(method, f"{emulator.base_url}/_emulator/{resource}", json=body, timeout=10)
    response.raise_for_status()
    return response.json()


def history(api: requests.Session, emulator: Emulator, start: str, end: str, **params: Any) -> requests.Response:
    return api.get(f"{emulator.url}/session/history/{start}/{end}", params=params, timeout=10)


def history_record(start_time: str) -> dict[str, Any]:
    return {"start_time": start_time, "end_time": None, "domains": ["history.a.pinggy.link"]}


def ordered(text: str) -> Any:
    """JSON with every object as a list of (key, value) pairs, so comparing also compares key order."""
    return json.loads(text, object_pairs_hook=list)


# -- contract shapes --------------------------------------------------------------------------------
def test_seed_fixture_reproduces_the_contract_examples(api: requests.Session, emulator: Emulator) -> None:
    active = api.get(f"{emulator.url}/session/active", timeout=10)
    page = history(api, emulator, "2025-02-06", "2025-02-06", page=0, size=10)

    assert active.status_code == page.status_code == 200
    assert active.json() == json.loads(CONTRACT_ACTIVE)
    assert ordered(active.text) == ordered(CONTRACT_ACTIVE)
    assert page.json() == json.loads(CONTRACT_HISTORY_PAGE)
    assert ordered(page.text) == ordered(CONTRACT_HISTORY_PAGE)


@pytest.mark.parametrize("authorization", [None, "Bearer wrong-key-0000", API_KEY, f"Bearer {API_KEY}x", f"bearer {API_KEY}"])
def test_requests_without_the_exact_bearer_key_get_401(emulator: Emulator, authorization: Optional[str]) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = requests.get(f"{emulator.url}/session/active", headers=headers, timeout=10)

    assert response.status_code == 401
    body = response.json()
    assert list(body) == ["timestamp", "status", "error", "message", "path"]
    assert (body["status"], body["error"], body["path"]) == (401, "Unauthorized", "/backend/api/v1/session/active")
    assert API_KEY not in response.text and "wrong-key" not in response.text


@pytest.mark.parametrize("start, end, params", [
    ("2025-2-06", "2025-02-06", {}),
    ("2025-02-30", "2025-03-01", {}),
    ("2025-02-06", "yesterday", {}),
    ("2025-02-06", "2025-02-05", {}),
    ("2024-12-08", "2025-02-01", {}),
    ("2025-02-06", "2025-02-06", {"page": -1}),
    ("2025-02-06", "2025-02-06", {"page": "x"}),
    ("2025-02-06", "2025-02-06", {"size": 0}),
    ("2025-02-06", "2025-02-06", {"size": "ten"}),
])
def test_invalid_history_requests_get_400(api: requests.Session, emulator: Emulator, start: str, end: str, params: dict[str, Any]) -> None:
    response = history(api, emulator, start, end, **params)

    assert response.status_code == 400
    assert (response.json()["status"], response.json()["error"]) == (400, "Bad Request")


def test_history_window_is_60_days_inclusive(api: requests.Session, emulator: Emulator) -> None:
    assert history(api, emulator, "2024-12-09", TODAY).status_code == 200


# -- paging -----------------------------------------------------------------------------------------
def test_history_pages_like_spring(api: requests.Session, emulator: Emulator) -> None:
    records = [history_record(f"2025-02-01T10:{minute:02d}:00.000+00:00") for minute in range(45)]
    control(emulator, "POST", "reset", {"active": [], "history": list(reversed(records))})

    pages = [history(api, emulator, "2025-02-01", "2025-02-01", page=number, size=20).json() for number in range(4)]

    assert [page["totalPages"] for page in pages] == [3] * 4
    assert [page["numberOfElements"] for page in pages] == [20, 20, 5, 0]
    assert [(page["first"], page["last"], page["empty"]) for page in pages] == [
        (True, False, False), (False, False, False), (False, True, False), (False, True, True)]
    assert [page["pageable"]["offset"] for page in pages] == [0, 20, 40, 60]
    assert [record["start_time"] for page in pages for record in page["content"]] == [record["start_time"] for record in records]
    assert history(api, emulator, "2025-02-01", "2025-02-01").json()["size"] == 20


def test_page_size_above_the_cap_is_clamped(api: requests.Session, emulator: Emulator) -> None:
    control(emulator, "POST", "history", [history_record(f"2025-02-03T08:{minute:02d}:00.000+00:00") for minute in range(30)])
    control(emulator, "PUT", "config", {"page_size_cap": 20})

    page = history(api, emulator, "2025-02-03", "2025-02-03", size=100).json()

    assert (page["size"], page["pageable"]["pageSize"], page["numberOfElements"], page["totalPages"]) == (20, 20, 20, 2)


def test_history_range_uses_the_utc_start_date(api: requests.Session, emulator: Emulator) -> None:
    control(emulator, "POST", "history", [history_record("2025-02-03T23:59:59.999+00:00"),
                                          history_record("2025-02-04T01:00:00.000+02:00")])  # 2025-02-03 in UTC

    assert history(api, emulator, "2025-02-03", "2025-02-03").json()["totalElements"] == 2
    assert history(api, emulator, "2025-02-04", "2025-02-04").json()["totalElements"] == 0


# -- data -------------------------------------------------------------------------------------------
def test_generated_data_is_deterministic_and_covers_every_mode(api: requests.Session, emulator: Emulator) -> None:
    def generated(seed: int) -> tuple[list[dict[str, Any]], dict[str, Any]]:
        control(emulator, "POST", "reset", {"generate": 40, "seed": seed})
        return api.get(f"{emulator.url}/session/active", timeout=10).json(), history(api, emulator, "2024-12-09", TODAY, size=2000).json()

    active, page = generated(7)

    assert (active, page) == generated(7)
    assert active != generated(8)[0]
    generated_active = active[1:]  # after the seed fixture's record
    assert len(generated_active) == 40 and page["totalElements"] == 1 + 80
    assert {record["mode"] for record in generated_active} == MODES
    assert {record["modeUdp"] for record in generated_active if record["mode"] == "udp"} == {"udp"}
    assert all((record["port"] is None) == (record["mode"] in ("http", "tls")) for record in generated_active)
    assert len({record["subdomain"] for record in generated_active}) == 40
    assert all(list(record) == list(json.loads(CONTRACT_ACTIVE)[0]) for record in generated_active)
    assert {record["mode"] for record in page["content"]} == MODES


@pytest.mark.parametrize("seed", [1, 16])
def test_generated_data_never_starts_or_ends_after_it_is_served(seed: int) -> None:
    # The earliest moment of a day the emulator can serve that day's data is its midnight; nothing may lie after it.
    today = emulator_data.utc_today()
    served_at = emulator_data.now_on(today).replace(hour=0, minute=0, second=0, microsecond=0)
    history = emulator_data.generate_history(2000, seed, today)
    moments = [record[key] for record in history for key in ("start_time", "end_time") if record[key]]
    active = emulator_data.generate_active(500, seed, today)
    moments += [record[key] for record in active for key in ("creationTimestamp", "lastUpdateTimestamp")]
    assert max(emulator_data.parse_timestamp(moment) for moment in moments) <= served_at
    # Still spread over the API's window: the oldest start is within 60 days, the newest within the last day.
    starts = sorted(emulator_data.parse_timestamp(record["start_time"]) for record in history)
    assert served_at - starts[0] <= timedelta(days=emulator_data.HISTORY_WINDOW_DAYS) and served_at - starts[-1] < timedelta(days=1)


def test_removed_session_moves_to_history(api: requests.Session, emulator: Emulator) -> None:
    added = control(emulator, "POST", "sessions", {"subdomain": "probe.a.pinggy.link", "mode": "tcp", "port": 12345, "token": "TOK"})[0]
    assert added["id"] in {record["id"] for record in api.get(f"{emulator.url}/session/active", timeout=10).json()}
    assert list(added) == list(json.loads(CONTRACT_ACTIVE)[0]) and added["modeUdp"] == ""

    ended = control(emulator, "DELETE", f"sessions/{added['id']}")

    assert ended["end_time"] is not None and ended["start_time"] == added["creationTimestamp"]
    assert (ended["domains"], ended["mode"], ended["port"], ended["token_value"]) == (["probe.a.pinggy.link"], "tcp", 12345, "TOK")
    assert added["id"] not in {record["id"] for record in api.get(f"{emulator.url}/session/active", timeout=10).json()}
    assert ended in history(api, emulator, TODAY, TODAY).json()["content"]
    assert requests.delete(f"{emulator.base_url}/_emulator/sessions/{added['id']}", timeout=10).status_code == 404


def test_removing_all_sessions_ends_each_one(api: requests.Session, emulator: Emulator) -> None:
    control(emulator, "POST", "sessions", [{"customdomain": "app.example.com"}, {"mode": "udp", "modeUdp": "udp"}])

    ended = control(emulator, "DELETE", "sessions")

    assert len(ended) == 3 and api.get(f"{emulator.url}/session/active", timeout=10).json() == []
    assert ended[1]["domains"][0] == "app.example.com"
    assert control(emulator, "GET", "state")["history"] == 4


# -- counters and errors ----------------------------------------------------------------------------
def test_every_api_request_is_counted(api: requests.Session, emulator: Emulator) -> None:
    api.get(f"{emulator.url}/session/active", timeout=10)
    requests.get(f"{emulator.url}/session/active", timeout=10)  # 401, still counted
    history(api, emulator, "bad", "2025-02-06")  # 400, still counted
    assert api.get(f"{emulator.url}/session/unknown", timeout=10).status_code == 404
    assert api.post(f"{emulator.url}/session/active", timeout=10).status_code == 405

    assert control(emulator, "GET", "requests") == {"active": 3, "history": 1, "total": 5}
    assert control(emulator, "DELETE", "requests") == {"active": 0, "history": 0, "total": 0}


# -- faults -----------------------------------------------------------------------------------------
def test_status_fault_applies_count_times_with_retry_after(api: requests.Session, emulator: Emulator) -> None:
    control(emulator, "POST", "faults", {"kind": "status", "status": 429, "count": 2, "retry_after": 2, "endpoint": "active"})

    responses = [requests.get(f"{emulator.url}/session/active", timeout=10) for _attempt in range(2)]  # faults come before auth
    assert [(response.status_code, response.headers["Retry-After"], response.json()["status"]) for response in responses] == [(429, "2", 429)] * 2
    assert history(api, emulator, TODAY, TODAY).status_code == 200
    assert api.get(f"{emulator.url}/session/active", timeout=10).status_code == 200
    assert control(emulator, "GET", "requests") == {"active": 3, "history": 1, "total": 4}


def test_fault_with_count_zero_lasts_until_cleared(api: requests.Session, emulator: Emulator) -> None:
    control(emulator, "POST", "faults", {"kind": "status", "status": 503, "count": 0, "body": "upstream unavailable"})

    assert [api.get(f"{emulator.url}/session/active", timeout=10).text for _attempt in range(3)] == ["upstream unavailable"] * 3
    assert control(emulator, "DELETE", "faults") == []
    assert api.get(f"{emulator.url}/session/active", timeout=10).status_code == 200


def test_page_specific_fault_hits_only_that_page(api: requests.Session, emulator: Emulator) -> None:
    control(emulator, "POST", "faults", {"kind": "status", "status": 500, "endpoint": "history", "page": 1})

    assert history(api, emulator, TODAY, TODAY, page=0).status_code == 200
    assert history(api, emulator, TODAY, TODAY, page=1).status_code == 500
    assert history(api, emulator, TODAY, TODAY, page=1).status_code == 200


def test_latency_fault_delays_then_serves(api: requests.Session, emulator: Emulator) -> None:
    control(emulator, "POST", "faults", {"kind": "latency", "delay": 0.3})

    started = time.monotonic()
    response = api.get(f"{emulator.url}/session/active", timeout=10)

    assert time.monotonic() - started >= 0.3 and response.status_code == 200
    assert control(emulator, "GET", "state")["faults"] == []


def test_huge_fault_streams_a_json_list_of_empty_objects_without_a_length(api: requests.Session, emulator: Emulator) -> None:
    control(emulator, "POST", "faults", {"kind": "huge", "size": 300_000, "endpoint": "history"})
    response = history(api, emulator, TODAY, TODAY)
    assert response.status_code == 200 and "Content-Length" not in response.headers
    assert response.headers["Transfer-Encoding"] == "chunked"
    body = response.json()
    assert set(map(json.dumps, body)) == {"{}"} and 300_000 <= len(response.content) <= 300_000 + len(HUGE_BLOCK)
    assert api.get(f"{emulator.url}/session/active", timeout=10).json()[0]["id"]  # one request only, then normal answers


def test_malformed_fault_returns_unparseable_json(api: requests.Session, emulator: Emulator) -> None:
    control(emulator, "POST", "faults", {"kind": "malformed"})

    response = api.get(f"{emulator.url}/session/active", timeout=10)

    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    with pytest.raises(ValueError):
        response.json()


def test_drop_fault_closes_the_connection(api: requests.Session, emulator: Emulator) -> None:
    control(emulator, "POST", "faults", {"kind": "drop", "endpoint": "history"})

    with pytest.raises(requests.ConnectionError):
        history(api, emulator, TODAY, TODAY)
    assert history(api, emulator, TODAY, TODAY).status_code == 200


def test_invalid_control_requests_get_400(emulator: Emulator) -> None:
    for resource, body in [("faults", {"kind": "explode"}), ("faults", {"kind": "status", "count": -1}), ("history", [{"start_time": "soon"}])]:
        assert requests.post(f"{emulator.base_url}/_emulator/{resource}", json=body, timeout=10).status_code == 400
    assert requests.put(f"{emulator.base_url}/_emulator/config", json={"today": "2025-13-01"}, timeout=10).status_code == 400


# -- the command line -------------------------------------------------------------------------------
def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready"
    command = [sys.executable, "-m", "tests.emulator", "--port", "0", "--api-key", API_KEY, "--generate", "5", "--ready-file", str(ready_file)]
    with subprocess.Popen(command, cwd=COLLECTION_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        deadline = time.monotonic() + 15
        while not ready_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        url = ready_file.read_text(encoding="utf-8").strip()
        active = requests.get(f"{url}/session/active", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)

    assert len(active.json()) == 5
    assert process.returncode == 0
    assert stdout == f"Pinggy API emulator: {url}\n"
    assert API_KEY not in stdout + stderr


def test_cli_stops_when_the_watched_process_is_gone(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as watched:
        command = [sys.executable, "-m", "tests.emulator", "--port", "0", "--api-key", API_KEY, "--ready-file", str(ready_file),
                   "--watch-pid", str(watched.pid)]
        with subprocess.Popen(command, cwd=COLLECTION_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
            deadline = time.monotonic() + 15
            while not ready_file.exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            assert ready_file.exists()
            time.sleep(1)
            assert process.poll() is None  # serving while the watched process lives
            watched.kill()  # not reaped yet: a zombie counts as gone
            stdout, stderr = process.communicate(timeout=10)

    assert process.returncode == 0, stderr
    assert API_KEY not in stdout + stderr


# -- hostile data -----------------------------------------------------------------------------------
def test_hostile_data_is_served_as_it_is_and_can_be_ended(api: requests.Session, emulator: Emulator, tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "emulator" / "fixtures" / "hostile.json").read_text(encoding="utf-8")
    data = json.loads(text.replace("__MARKER__", str(tmp_path / "marker")).replace("__TODAY__", TODAY))
    control(emulator, "POST", "reset", {"active": data["active"], "history": data["history"]})
    served = api.get(f"{emulator.url}/session/active", timeout=10).json()
    # Every record is served, even those with a null, duplicate, numeric or dict id, each with its fields unchanged.
    assert len(served) == len(data["active"]) == control(emulator, "GET", "state")["active"]
    for sent, got in zip(data["active"], served):
        assert {key: got[key] for key in sent} == sent
    page = history(api, emulator, TODAY, TODAY).json()
    assert page["totalElements"] == len(data["history"])
    assert [record["token_value"] for record in page["content"]] == [record.get("token_value") for record in data["history"]]
    ended = control(emulator, "DELETE", "sessions")
    assert len(ended) == len(data["active"]) and control(emulator, "GET", "state")["active"] == 0


def test_emulator_modes_agree_with_the_client() -> None:
    """The emulator models the server, so it keeps its own copy of the modes; this keeps the two in step."""
    assert emulator_data.MODES == _sessions.MODES and emulator_data.PORT_MODES == _sessions.PORT_MODES
