"""Shared fixtures: a real Pinggy API emulator on loopback, reset before each test that uses it."""

from __future__ import annotations

import json
import typing as t
from datetime import date, datetime, timezone
from pathlib import Path

import pytest
import requests

from ansible_collections.pinggy.tunnels.tests.emulator import Emulator

API_KEY = "unit-key-7f3c9a1e5b"

# The contract's example session (pinggy-api), camelCase as the API sends it.
SEED_SESSION: dict[str, t.Any] = {
    "id": "9345b393-d916-4a2e-816a-3347468a03c0",
    "userId": 4490909,
    "tokenId": 392084,
    "token": None,
    "tokenName": None,
    "virtualToken": "sJsufpgMMl-10003",
    "virtualTokenName": None,
    "subdomain": "mytest.v.awesomeapp.a.pinggy.link",
    "customdomain": None,
    "mode": "tcp",
    "modeUdp": "",
    "port": 10003,
    "creationTimestamp": "2024-08-23T04:04:36.083+00:00",
    "lastUpdateTimestamp": "2024-08-23T04:04:37.780+00:00",
}


class EmulatorControl:
    """The emulator's /_emulator/ control API, for arranging data and faults in a test."""

    def __init__(self, emulator: Emulator) -> None:
        self.api_url = emulator.url
        self.control_url = f"{emulator.base_url}/_emulator"

    def call(self, method: str, resource: str, body: t.Any = None) -> t.Any:
        response = requests.request(method, f"{self.control_url}/{resource}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self, active: t.Optional[list[dict[str, t.Any]]] = None, history: t.Optional[list[dict[str, t.Any]]] = None) -> None:
        self.call("POST", "reset", {"active": active if active is not None else [SEED_SESSION], "history": history or []})

    def fault(self, **fault: t.Any) -> None:
        self.call("POST", "faults", fault)

    def requests(self, endpoint: str = "active") -> int:
        return self.call("GET", "requests")[endpoint]


def history_records(count: int, day: date, mode: str = "tcp") -> list[dict[str, t.Any]]:
    """count history records started on day, each told apart by its token_value."""
    return [
        {"start_time": f"{day.isoformat()}T{index // 3600 % 24:02d}:{index // 60 % 60:02d}:{index % 60:02d}.000+00:00",
         "end_time": f"{day.isoformat()}T23:59:59.999+00:00", "token_value": f"T{index:05d}", "mode": mode,
         "domains": [f"h{index}.a.pinggy.link"], "client_ip": f"[10.0.0.1]:{1000 + index}"}
        for index in range(count)
    ]


def utc_today() -> date:
    return datetime.now(timezone.utc).date()


@pytest.fixture(scope="session")
def emulator_server() -> t.Iterator[Emulator]:
    with Emulator(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def emulator(emulator_server: Emulator) -> EmulatorControl:
    control = EmulatorControl(emulator_server)
    control.reset()
    return control


HOSTILE_FIXTURE = Path(__file__).resolve().parents[2] / "emulator" / "fixtures" / "hostile.json"


def hostile_data(marker: Path) -> dict[str, t.Any]:
    """The hostile fixture (tests/emulator/fixtures/hostile.json) with its payloads aimed at marker, dated today."""
    text = HOSTILE_FIXTURE.read_text(encoding="utf-8")
    text = text.replace("__MARKER__", str(marker)).replace("__TODAY__", utc_today().isoformat())
    data = json.loads(text)
    return {"active": data["active"], "history": data["history"]}
