"""Benchmark: `ansible-inventory --list` with the pinggy plugin against 10,000 emulated tunnels.

Measured side by side in this run, and printed as ratios:
- vs a floor plugin reading the same records from a local JSON file (tests/benchmarks/floor_inventory): cold, and
  with a warm cache (which must make 0 API requests, read from the emulator's counter);
- vs the same hosts and vars as a static YAML inventory (informational);
- 50,000 tunnels vs 10,000 (linear scaling means about 5).
Run from a collection tree (tests/utils/run.sh bench).
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

import requests

from ansible_collections.pinggy.tunnels.tests.benchmarks.report import Report
from ansible_collections.pinggy.tunnels.tests.emulator import Emulator

COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS_PATH = COLLECTION_ROOT.parents[2]
FLOOR_PLUGINS = pathlib.Path(__file__).resolve().parent / "floor_inventory"
ANSIBLE_INVENTORY = str(pathlib.Path(sys.executable).parent / "ansible-inventory")
API_KEY = "bench-key"
SMALL, LARGE = 10_000, 50_000


def list_inventory(source: pathlib.Path, env: dict[str, str], output: pathlib.Path, *extra: str) -> float:
    started = time.perf_counter()
    subprocess.run([ANSIBLE_INVENTORY, "-i", str(source), "--list", "--output", str(output), *extra],
                   env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def write(path: pathlib.Path, text: str) -> pathlib.Path:
    path.write_text(text, encoding="utf-8")
    return path


def main() -> int:
    with Emulator(api_key=API_KEY, generate=SMALL) as emulator, tempfile.TemporaryDirectory() as tmp:
        work = pathlib.Path(tmp)
        control = f"{emulator.base_url}/_emulator"
        env = dict(os.environ, PINGGY_API_URL=emulator.url, PINGGY_API_KEY=API_KEY,
                   ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_PATH), ANSIBLE_INVENTORY_PLUGINS=str(FLOOR_PLUGINS),
                   ANSIBLE_INVENTORY_ENABLED="pinggy.tunnels.pinggy,pinggy_floor,yaml",
                   ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true")
        sessions = requests.get(f"{emulator.url}/session/active", headers={"Authorization": f"Bearer {API_KEY}"},
                                timeout=60).json()
        write(work / "sessions.json", json.dumps(sessions))
        plugin = write(work / "bench.pinggy.yml", "plugin: pinggy.tunnels.pinggy\n")
        cached = write(work / "cached.pinggy.yml", "plugin: pinggy.tunnels.pinggy\ncache: true\n"
                       f"cache_plugin: ansible.builtin.jsonfile\ncache_connection: {work / 'cache'}\n")
        floor = write(work / "floor.yml", f"plugin: pinggy_floor\nsessions_file: {work / 'sessions.json'}\n")

        floor_time = min(list_inventory(floor, env, work / "floor.json") for run in range(2))
        cold_time = min(list_inventory(plugin, env, work / "cold.json") for run in range(2))
        list_inventory(cached, env, work / "prime.json")
        requests.delete(f"{control}/requests", timeout=10)
        warm_time = min(list_inventory(cached, env, work / "warm.json") for run in range(2))
        warm_requests = requests.get(f"{control}/requests", timeout=10).json()["active"]

        subprocess.run([ANSIBLE_INVENTORY, "-i", str(plugin), "--list", "--yaml", "--output", str(work / "static.yml")],
                       env=env, check=True, stdout=subprocess.DEVNULL)
        static_time = list_inventory(work / "static.yml", env, work / "static.json")

        requests.post(f"{control}/reset", json={"generate": LARGE}, timeout=120).raise_for_status()
        large_time = list_inventory(plugin, env, work / "large.json")

    report = Report(f"pinggy inventory: ansible-inventory --list, {SMALL:,} tunnels (best of 2 where repeated)")
    report.figure("floor plugin (local JSON file)", floor_time)
    report.figure("pinggy plugin, cold", cold_time)
    report.figure("pinggy plugin, warm cache", warm_time)
    report.figure("static YAML, same hosts and vars", static_time)
    report.figure(f"pinggy plugin, {LARGE:,} tunnels", large_time)
    report.ratio("cold / floor", cold_time / floor_time, at_most=1.3)
    report.ratio("warm cache / floor", warm_time / floor_time, at_most=1.1)
    report.check("API requests with a warm cache", warm_requests == 0, f"{warm_requests} (target 0)")
    report.ratio("plugin / static YAML", cold_time / static_time)
    report.ratio(f"{LARGE:,} / {SMALL:,} tunnels", large_time / cold_time, at_most=5.5)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
