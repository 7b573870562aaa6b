"""Benchmark: the deployment gate as a pipeline runs it, and how soon it sees a tunnel appear.

Prints, measured side by side in this run (RUNS rounds, each running every playbook once; a ratio is the median of
the rounds' ratios, see report.paired_ratio):
- ``ansible-playbook pinggy.tunnels.gate`` vs a one-task localhost playbook (ansible.builtin.debug), target <= 1.3x;
- one pinggy_assert_tunnels task vs one pinggy_sessions_info task (the action against an AnsiballZ module);
- the wall time from a tunnel appearing (added through the emulator's control API at a known instant, while the
  gate waits) to the gate passing, target <= delay + 0.5 s.
Run from a collection tree (tests/utils/run.sh bench does that).
"""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import tempfile
import threading
import time

import requests

from ansible_collections.pinggy.tunnels.tests.benchmarks.report import Report, Timing, paired_ratio, timed_run
from ansible_collections.pinggy.tunnels.tests.emulator import Emulator

COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS_PATH = COLLECTION_ROOT.parents[2]
# This machine's speed varies by up to half from one second to the next (a CPU-bound loop: 245-480 ms): ratios are
# medians of paired rounds, and twenty rounds keep them within about 0.02 from one run of the benchmark to the next.
RUNS = 20
DELAY = 1
APPEAR_AFTER_SECONDS = 4.0
ANSIBLE_PLAYBOOK = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
API_KEY = "bench-key"
SESSION = {"id": "b1", "subdomain": "db-1.a.pinggy.link", "mode": "tcp", "port": 15432}
LATE_SESSION = {"id": "b2", "subdomain": "late.a.pinggy.link", "mode": "tcp", "port": 25432}

PLAYS = {
    "trivial": """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.debug:
        msg: one task
""",
    "action": """
- hosts: localhost
  gather_facts: false
  tasks:
    - pinggy.tunnels.pinggy_assert_tunnels:
        expected:
          - {subdomain: "db-1.*", mode: tcp}
""",
    "sessions_info": """
- hosts: localhost
  gather_facts: false
  tasks:
    - pinggy.tunnels.pinggy_sessions_info:
""",
    "wait": """
- hosts: localhost
  gather_facts: false
  tasks:
    - pinggy.tunnels.pinggy_assert_tunnels:
        expected:
          - {subdomain: "late.*"}
        wait_timeout: 60
        delay: DELAY
    - ansible.builtin.debug:
        msg: "PASSED_AT {{ now(utc=true).timestamp() }}"
""",
}


def appear_to_pass(play: pathlib.Path, env: dict[str, str], control: str) -> float:
    """Seconds from the late tunnel's creation to the gate task passing (read from the next task's timestamp)."""
    requests.post(f"{control}/reset", json={"active": [SESSION], "history": []}, timeout=10).raise_for_status()
    added: list[float] = []

    def add() -> None:
        time.sleep(APPEAR_AFTER_SECONDS)
        requests.post(f"{control}/sessions", json=LATE_SESSION, timeout=10).raise_for_status()
        added.append(time.time())

    thread = threading.Thread(target=add)
    thread.start()
    output = subprocess.run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", str(play)], env=env, check=True,
                            capture_output=True, text=True).stdout
    thread.join()
    passed = float(re.search(r"PASSED_AT ([0-9.]+)", output).group(1))  # type: ignore[union-attr]
    return passed - added[0]


def main() -> int:
    with Emulator(api_key=API_KEY) as emulator, tempfile.TemporaryDirectory() as workdir:
        control = f"{emulator.base_url}/_emulator"
        requests.post(f"{control}/reset", json={"active": [SESSION], "history": []}, timeout=10).raise_for_status()
        env = dict(os.environ, PINGGY_API_URL=emulator.url, PINGGY_API_KEY=API_KEY,
                   ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_PATH), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_LOCALHOST_WARNING="false")
        plays = {}
        for name, text in PLAYS.items():
            plays[name] = pathlib.Path(workdir, f"{name}.yml")
            plays[name].write_text(text.replace("DELAY", str(DELAY)), encoding="utf-8")
        expected = pathlib.Path(workdir, "expected.yml")
        expected.write_text('assert_tunnels_expected:\n  - {subdomain: "db-1.*", mode: tcp}\n', encoding="utf-8")
        argv = {"trivial": [str(plays["trivial"])], "gate": ["pinggy.tunnels.gate", "-e", f"@{expected}"],
                "action": [str(plays["action"])], "sessions_info": [str(plays["sessions_info"])]}
        times: dict[str, list[Timing]] = {name: [] for name in argv}
        for _run in range(RUNS):
            for name, arguments in argv.items():
                times[name].append(timed_run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", *arguments], env))
        latency = appear_to_pass(plays["wait"], env, control)
    wall = {name: [timing.wall for timing in values] for name, values in times.items()}
    cpu = {name: [timing.cpu for timing in values] for name, values in times.items()}
    report = Report(f"deployment gate: {RUNS} rounds, each playbook once a round; ratios are medians of the rounds")
    report.figure("one-task localhost playbook (debug)", min(wall["trivial"]), note="best")
    report.figure("ansible-playbook pinggy.tunnels.gate", min(wall["gate"]), note="best")
    report.figure("one pinggy_assert_tunnels task", min(wall["action"]), note="best")
    report.figure("one pinggy_sessions_info task", min(wall["sessions_info"]), note="best")
    report.ratio("gate playbook / one-task playbook", paired_ratio(wall["gate"], wall["trivial"]), at_most=1.3)
    report.ratio("assert_tunnels task / one-task playbook", paired_ratio(wall["action"], wall["trivial"]), at_most=1.3)
    report.ratio("assert_tunnels / sessions_info task", paired_ratio(wall["action"], wall["sessions_info"]), at_most=1.0)
    report.ratio("the same as bests: gate / one-task", min(wall["gate"]) / min(wall["trivial"]))
    report.ratio("CPU: gate playbook / one-task playbook", paired_ratio(cpu["gate"], cpu["trivial"]))
    report.ratio("CPU: assert_tunnels task / one-task", paired_ratio(cpu["action"], cpu["trivial"]))
    report.check("tunnel appears -> gate passes", latency <= DELAY + 0.5, f"{latency:.2f} s (target <= {DELAY + 0.5:g} s, delay {DELAY} s)")
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
