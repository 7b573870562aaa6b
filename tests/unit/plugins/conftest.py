"""Shared fixtures: a real Pinggy API emulator on loopback, reset before each test that uses it."""

from __future__ import annotations

import typing as t

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

    def reset(self, active: t.Optional[list[dict[str, t.Any]]] = None) -> None:
        self.call("POST", "reset", {"active": active if active is not None else [SEED_SESSION], "history": []})

    def fault(self, **fault: t.Any) -> None:
        self.call("POST", "faults", fault)

    def requests(self, endpoint: str = "active") -> int:
        return self.call("GET", "requests")[endpoint]


@pytest.fixture(scope="session")
def emulator_server() -> t.Iterator[Emulator]:
    with Emulator(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def emulator(emulator_server: Emulator) -> EmulatorControl:
    control = EmulatorControl(emulator_server)
    control.reset()
    return control
