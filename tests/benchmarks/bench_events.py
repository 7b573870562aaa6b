"""Benchmark: the tunnel_events event source (issue 24).

Prints
- the detection latency, from a session ending in the emulator to its tunnel_down event on the queue, over several
  rounds with interval 1 s (target: at most interval + 1 s);
- the CPU time of one poll of 10,000 tunnels, without the HTTP request: the first poll (normalizing every record, the
  snapshot), a quiet poll (nothing changed) and a poll where one tunnel went down (expectations checked again) (target
  for the polls after the first: at most 50 ms).
The heal loop (a drop to the gate passing again) needs root, systemd and ansible-rulebook: tests/e2e/heal_tunnels.sh
measures it ("healed in N s") and `make bench` runs it after the benchmarks and prints that line. Run from a
collection tree (tests/utils/run.sh bench does that).
"""

from __future__ import annotations

import asyncio
import secrets
import statistics
import sys
import time
import typing as t
from datetime import date

from ansible_collections.pinggy.tunnels.extensions.eda.plugins.event_source import tunnel_events
from ansible_collections.pinggy.tunnels.tests.benchmarks.report import Report
from ansible_collections.pinggy.tunnels.tests.emulator import Emulator
from ansible_collections.pinggy.tunnels.tests.emulator.control import ControlClient
from ansible_collections.pinggy.tunnels.tests.emulator.data import generate_active

INTERVAL = 1.0
ROUNDS = 6
TUNNELS = 10000
CPU_ROUNDS = 5
POLL_CPU_TARGET = 0.050


def _end_session(control: ControlClient, session_id: str) -> float:
    """End a session through the control API; the moment it is gone from the API."""
    control.remove_session(session_id)
    return time.perf_counter()


async def _latencies(emulator: Emulator, key: str) -> list[float]:
    control = ControlClient(f"{emulator.base_url}/_emulator")
    queue: asyncio.Queue = asyncio.Queue()
    task = asyncio.ensure_future(tunnel_events.main(queue, {"api_url": emulator.url, "api_key": key, "interval": INTERVAL}))
    snapshot = await asyncio.wait_for(queue.get(), 30)
    ids = [tunnel["id"] for tunnel in snapshot["tunnels"]][:ROUNDS]
    latencies = []
    for session_id in ids:
        # Rounds start at different points of the poll cycle.
        await asyncio.sleep(INTERVAL * (len(latencies) % 3) / 3)
        ended = await asyncio.to_thread(_end_session, control, session_id)
        event = await asyncio.wait_for(queue.get(), 30)
        assert event["type"] == "tunnel_down" and event["tunnel"]["id"] == session_id, event
        latencies.append(time.perf_counter() - ended)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return latencies


def _cpu(action: t.Callable[[], t.Any]) -> float:
    started = time.process_time()
    action()
    return time.process_time() - started


def _poll_cpu(raw: list[dict[str, t.Any]]) -> tuple[float, float, float]:
    """Best of CPU_ROUNDS: the first poll, a quiet poll, a poll with one tunnel gone (fresh dicts, as from JSON)."""
    first, quiet, change = [], [], []
    for _round in range(CPU_ROUNDS):
        watch = tunnel_events.TunnelWatch([{"mode": "tcp"}, {"mode": "http", "min_count": 10}])
        first.append(_cpu(lambda: watch.observe([dict(record) for record in raw])))
        copy = [dict(record) for record in raw]
        quiet.append(_cpu(lambda: watch.observe(copy)))
        copy = [dict(record) for record in raw[1:]]
        change.append(_cpu(lambda: watch.observe(copy)))
    return min(first), min(quiet), min(change)


def main() -> int:
    report = Report("tunnel_events event source")
    key = secrets.token_urlsafe(24)
    with Emulator(api_key=key, generate=ROUNDS + 2) as emulator:
        latencies = asyncio.run(_latencies(emulator, key))
    report.figure("detection latency, median", statistics.median(latencies), note=f"interval {INTERVAL:g} s, {len(latencies)} drops")
    report.check("detection latency, worst", max(latencies) <= INTERVAL + 1,
                 f"{max(latencies):.2f} s (target <= interval + 1 s = {INTERVAL + 1:g} s)")
    first, quiet, change = _poll_cpu(generate_active(TUNNELS, 1, date.today()))
    report.figure(f"CPU, first poll of {TUNNELS}", first * 1000, "ms", "normalizes every record; the snapshot")
    report.check(f"CPU, a quiet poll of {TUNNELS}", quiet <= POLL_CPU_TARGET, f"{quiet * 1000:.1f} ms (target <= 50 ms)")
    report.check(f"CPU, a poll of {TUNNELS}, one down", change <= POLL_CPU_TARGET, f"{change * 1000:.1f} ms (target <= 50 ms)")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
