"""Benchmark: history paging with max_workers 4 vs 1, over 50 pages with 100 ms injected latency per request;
and 5,000 records over 60 days with the lookup's old default page size (100) vs its new one (2000).

Prints the sequential and concurrent times, measured side by side in this run, and their ratio (target >= 3x),
after checking both returned the same records; then, for the page sizes, the requests each made (counted by the
emulator) and their wall times. Run from a collection tree (tests/utils/run.sh bench).
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone

import requests

import yaml

from ansible_collections.pinggy.tunnels.plugins.lookup.pinggy_history import DOCUMENTATION as HISTORY_DOCUMENTATION
from ansible_collections.pinggy.tunnels.plugins.module_utils._api import PinggyClient
from ansible_collections.pinggy.tunnels.tests.benchmarks.report import Report
from ansible_collections.pinggy.tunnels.tests.emulator import Emulator

PAGES = 50
PAGE_SIZE = 20
LATENCY_SECONDS = 0.1
API_KEY = "bench-key"
BUSY_RECORDS = 5000
BUSY_DAYS = 60
OLD_DEFAULT_PAGE_SIZE = 100
# The lookup's documented default, which is what get_option gives a lookup call without page_size.
NEW_DEFAULT_PAGE_SIZE = yaml.safe_load(HISTORY_DOCUMENTATION)["options"]["page_size"]["default"]


def timed_history(client: PinggyClient, max_workers: int) -> tuple[float, list]:
    today = datetime.now(timezone.utc).date()
    started = time.perf_counter()
    records = client.history(today, today, page_size=PAGE_SIZE, max_workers=max_workers)
    return time.perf_counter() - started, records


def busy_history(control: str, client: PinggyClient, page_size: int) -> tuple[float, int, int]:
    """(seconds, history requests, records) for 60 days of a busy account at this page size."""
    end = datetime.now(timezone.utc).date()
    before = requests.get(f"{control}/requests", timeout=10).json()["history"]
    started = time.perf_counter()
    records = client.history(end - timedelta(days=BUSY_DAYS - 1), end, page_size=page_size, max_workers=4)
    elapsed = time.perf_counter() - started
    return elapsed, requests.get(f"{control}/requests", timeout=10).json()["history"] - before, len(records)


def page_size_report() -> Report:
    """5,000 records over 60 days: the old default page size against the new one, same latency, same run."""
    today = datetime.now(timezone.utc).date()
    history = [{"token_value": f"T{index:05d}",
                "start_time": f"{(today - timedelta(days=index % BUSY_DAYS)).isoformat()}T{index // 60 % 24:02d}:{index % 60:02d}:00.000+00:00"}
               for index in range(BUSY_RECORDS)]
    with Emulator(api_key=API_KEY) as emulator:
        control = f"{emulator.base_url}/_emulator"
        requests.post(f"{control}/reset", json={"active": [], "history": history}, timeout=30).raise_for_status()
        requests.post(f"{control}/faults", json={"kind": "latency", "delay": LATENCY_SECONDS, "count": 0},
                      timeout=10).raise_for_status()
        client = PinggyClient(api_key=API_KEY, api_url=emulator.url)
        old_time, old_requests, old_records = busy_history(control, client, OLD_DEFAULT_PAGE_SIZE)
        new_time, new_requests, new_records = busy_history(control, client, NEW_DEFAULT_PAGE_SIZE)
    report = Report(f"pinggy_history default page size: {BUSY_RECORDS} records over {BUSY_DAYS} days, "
                    f"{LATENCY_SECONDS * 1000:.0f} ms latency per request, max_workers 4")
    report.check("records (old, new)", old_records == new_records == BUSY_RECORDS, f"{old_records}, {new_records}")
    report.figure(f"requests, page_size {OLD_DEFAULT_PAGE_SIZE} (old default)", old_requests, unit="")
    report.figure(f"requests, page_size {NEW_DEFAULT_PAGE_SIZE} (new default)", new_requests, unit="")
    report.figure(f"wall time, page_size {OLD_DEFAULT_PAGE_SIZE}", old_time)
    report.figure(f"wall time, page_size {NEW_DEFAULT_PAGE_SIZE}", new_time)
    report.ratio("old / new wall time", old_time / new_time, at_least=2)
    return report


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
    return max(report.finish(), page_size_report().finish())


if __name__ == "__main__":
    sys.exit(main())
