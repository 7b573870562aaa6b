"""Benchmark: history paging with max_workers 4 vs 1, over 50 pages with 100 ms injected latency per request.

Prints the sequential and concurrent times, measured side by side in this run, and their ratio (target >= 3x),
after checking both returned the same records. Run from a collection tree (tests/utils/run.sh bench).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timezone

import requests

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import PinggyClient
from ansible_collections.pinggy.tunnels.tests.benchmarks.report import Report
from ansible_collections.pinggy.tunnels.tests.emulator import Emulator

PAGES = 50
PAGE_SIZE = 20
LATENCY_SECONDS = 0.1
API_KEY = "bench-key"


def timed_history(client: PinggyClient, max_workers: int) -> tuple[float, list]:
    today = datetime.now(timezone.utc).date()
    started = time.perf_counter()
    records = client.history(today, today, page_size=PAGE_SIZE, max_workers=max_workers)
    return time.perf_counter() - started, records


def main() -> int:
    with Emulator(api_key=API_KEY) as emulator:
        control = f"{emulator.base_url}/_emulator"
        history = [{"token_value": f"T{index:05d}"} for index in range(PAGES * PAGE_SIZE)]
        requests.post(f"{control}/reset", json={"active": [], "history": history}, timeout=30).raise_for_status()
        requests.post(f"{control}/faults", json={"kind": "latency", "delay": LATENCY_SECONDS, "count": 0},
                      timeout=10).raise_for_status()
        client = PinggyClient(api_key=API_KEY, api_url=emulator.url)
        sequential, sequential_records = timed_history(client, max_workers=1)
        concurrent, concurrent_records = timed_history(client, max_workers=4)
    if sequential_records != concurrent_records or len(concurrent_records) != PAGES * PAGE_SIZE:
        print("history benchmark: the two runs returned different records", file=sys.stderr)
        return 1
    report = Report(f"pinggy_history paging: {PAGES} pages of {PAGE_SIZE}, {LATENCY_SECONDS * 1000:.0f} ms latency per request")
    report.figure("sequential (max_workers 1)", sequential)
    report.figure("concurrent (max_workers 4)", concurrent)
    report.ratio("sequential / concurrent", sequential / concurrent, at_least=3)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
