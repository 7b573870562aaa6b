"""Helpers for unit tests that talk to the Pinggy API emulator: the test key, the contract's example records,
the control API, and generated or hostile data. Fixtures using them are in conftest.py."""

from __future__ import annotations

import json
import typing as t
from datetime import date, datetime, timezone
from pathlib import Path

from ansible_collections.pinggy.tunnels.tests.emulator import Emulator
from ansible_collections.pinggy.tunnels.tests.emulator.control import ControlClient

API_KEY = "unit-key-7f3c9a1e5b"

FIXTURES = Path(__file__).resolve().parents[2] / "emulator" / "fixtures"
_SEED = json.loads((FIXTURES / "seed.json").read_text(encoding="utf-8"))
# The contract's example session (pinggy-api), camelCase as the API sends it, and its example history record.
SEED_SESSION: dict[str, t.Any] = _SEED["active"][0]
SEED_HISTORY: dict[str, t.Any] = _SEED["history"][0]
# What a test may change through PUT /_emulator/config, and the emulator's values at start (reset restores them).
_CONFIG_KEYS = ("page_size_cap", "default_page_size")


class EmulatorControl(ControlClient):
    """The emulator's /_emulator/ control API (tests/emulator/control.py), for arranging data and faults in a test."""

    def __init__(self, emulator: Emulator) -> None:
        super().__init__(f"{emulator.base_url}/_emulator", timeout=10)
        self.api_url = emulator.url
        config = self.named("state")["config"]
        self.initial_config = {key: config[key] for key in _CONFIG_KEYS}
        self.initial_config["today"] = config["today"] if config["today_frozen"] else None

    def reset(self, active: t.Optional[list[dict[str, t.Any]]] = None, history: t.Optional[list[dict[str, t.Any]]] = None) -> None:
        """Exactly these sessions (default: the contract's example) and history; no faults; the starting configuration."""
        self.named("reset", {"active": active if active is not None else [SEED_SESSION], "history": history or []})
        self.named("config", self.initial_config)

    def fault(self, **fault: t.Any) -> None:
        self.named("fault", fault)

    def requests(self, endpoint: str = "active") -> int:
        return self.named("counters")[endpoint]


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


HOSTILE_FIXTURE = FIXTURES / "hostile.json"


def hostile_data(marker: Path) -> dict[str, t.Any]:
    """The hostile fixture (tests/emulator/fixtures/hostile.json) with its payloads aimed at marker, dated today."""
    text = HOSTILE_FIXTURE.read_text(encoding="utf-8")
    text = text.replace("__MARKER__", str(marker)).replace("__TODAY__", utc_today().isoformat())
    data = json.loads(text)
    return {"active": data["active"], "history": data["history"]}
