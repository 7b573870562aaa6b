"""Shared fixtures: a real Pinggy API emulator on loopback, reset (data, faults and configuration) before each test."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.pinggy.tunnels.tests.emulator import Emulator
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, EmulatorControl


@pytest.fixture(scope="session")
def emulator_server() -> t.Iterator[Emulator]:
    with Emulator(api_key=API_KEY) as server:
        yield server


@pytest.fixture(scope="session")
def emulator_control(emulator_server: Emulator) -> EmulatorControl:
    # Created once, so it records the configuration the emulator started with.
    return EmulatorControl(emulator_server)


@pytest.fixture
def emulator(emulator_control: EmulatorControl) -> EmulatorControl:
    emulator_control.reset()
    return emulator_control
