"""Benchmark: pinggy_sessions_info vs ansible.builtin.uri + Jinja filters doing the same job.

Both playbooks list the emulator's active sessions N times and keep the TCP ones. Prints the wall time of
each (best of R runs, measured side by side in this run) and the ratio module / uri. Target: <= 1.1.
Run from a collection tree (tests/utils/run.sh bench does that).
"""

from __future__ import annotations

import os
import pathlib
import sys
import tempfile

from ansible_collections.pinggy.tunnels.tests.benchmarks.report import Report, timed_run
from ansible_collections.pinggy.tunnels.tests.emulator import Emulator

COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTIONS_PATH = COLLECTION_ROOT.parents[2]
SESSIONS = 500
ITERATIONS = 20
RUNS = 3
# The ansible-playbook of the virtualenv running this script.
ANSIBLE_PLAYBOOK = str(pathlib.Path(sys.executable).parent / "ansible-playbook")

MODULE_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - pinggy.tunnels.pinggy_sessions_info:
        mode: [tcp]
      register: tcp
      loop: "{{ range(ITERATIONS) | list }}"
    - ansible.builtin.assert:
        that: tcp.results[0].count > 0
"""

URI_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.uri:
        url: "{{ lookup('ansible.builtin.env', 'PINGGY_API_URL') }}/session/active"
        headers:
          Authorization: "Bearer {{ lookup('ansible.builtin.env', 'PINGGY_API_KEY') }}"
        return_content: true
      register: raw
      loop: "{{ range(ITERATIONS) | list }}"
    - ansible.builtin.set_fact:
        tcp: "{{ raw.results[0].json | selectattr('mode', 'equalto', 'tcp') | list }}"
    - ansible.builtin.assert:
        that: tcp | length > 0
"""


def best_time(playbook: pathlib.Path, env: dict[str, str]) -> float:
    return min(timed_run([ANSIBLE_PLAYBOOK, "-i", "localhost,", "-c", "local", str(playbook)], env).wall for _run in range(RUNS))


def main() -> int:
    api_key = "bench-key"
    with Emulator(api_key=api_key, generate=SESSIONS) as emulator, tempfile.TemporaryDirectory() as workdir:
        env = dict(os.environ, PINGGY_API_URL=emulator.url, PINGGY_API_KEY=api_key,
                   ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS_PATH), ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_LOCALHOST_WARNING="false")
        plays = {}
        for name, text in (("module", MODULE_PLAY), ("uri", URI_PLAY)):
            plays[name] = pathlib.Path(workdir, f"{name}.yml")
            plays[name].write_text(text.replace("ITERATIONS", str(ITERATIONS)), encoding="utf-8")
        module_time = best_time(plays["module"], env)
        uri_time = best_time(plays["uri"], env)
    report = Report(f"pinggy_sessions_info vs uri + filter: {SESSIONS} sessions, {ITERATIONS} calls per playbook, best of {RUNS}")
    report.figure("pinggy_sessions_info", module_time)
    report.figure("uri + filter", uri_time)
    report.ratio("module / uri", module_time / uri_time, at_most=1.1)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
