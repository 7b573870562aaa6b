#!/usr/bin/python
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# Test support only (the setup_pinggy_emulator integration target): not part of the collection's plugins.

from __future__ import annotations

DOCUMENTATION = r"""
module: pinggy_emulator_control
short_description: Start, stop and drive the Pinggy API emulator of the integration tests
description:
  - Starts the emulator (C(python -m tests.emulator)) on loopback from a collection tree and stops it.
  - Calls its control API (C(/_emulator/)) to arrange data, faults and configuration, and to read the request counters.
  - Test support for the integration targets of pinggy.tunnels; see C(tests/emulator/README.md) for the control API.
author: pinggy.tunnels contributors
options:
  action:
    description:
      - V(start) starts an emulator and returns its URLs, its PID and a random API key (use C(no_log)).
      - V(stop) stops the emulator O(pid).
      - V(reset) rebuilds the data (O(active), O(history), O(generate), O(history_count), O(seed)), clears faults and
        counters, then applies O(config) if given.
      - V(add_sessions) adds the active sessions O(active); V(remove_session) ends O(session_id), or every session
        without it; V(add_history) appends the records O(history).
      - V(fault) queues a fault (O(kind), O(status), O(retry_after), O(delay), O(body), O(size), O(endpoint), O(page),
        O(count)); V(clear_faults) drops every fault.
      - V(config) changes the paging and clock settings O(config).
      - V(counters) reads the request counters, V(clear_counters) zeroes them; V(state) reads the state.
    type: str
    required: true
    choices: [start, stop, reset, add_sessions, remove_session, add_history, fault, clear_faults, config, counters,
              clear_counters, state]
  url:
    description: The control API, C(http://127.0.0.1:PORT/_emulator). Required but for O(action=start) and O(action=stop).
    type: str
  active:
    description: Active sessions, camelCase as the API sends them (missing keys get defaults).
    type: list
    elements: dict
  history:
    description: History records, snake_case (missing keys get defaults).
    type: list
    elements: dict
  generate:
    description: With O(action=reset), generate this many active sessions instead of O(active).
    type: int
  history_count:
    description: With O(action=reset), generate this many history records instead of O(history).
    type: int
  seed:
    description: With O(action=reset), the generation seed.
    type: int
  config:
    description: Paging and clock settings (C(page_size_cap), C(default_page_size), C(today)).
    type: dict
  session_id:
    description: With O(action=remove_session), the session to end (default every session).
    type: str
  kind:
    description: The fault's kind.
    type: str
    choices: [status, latency, malformed, drop, huge]
  status:
    description: The HTTP status of a O(kind=status) fault.
    type: int
  retry_after:
    description: The C(Retry-After) header of a O(kind=status) fault, in seconds.
    type: int
  delay:
    description: The delay of a O(kind=latency) fault, in seconds.
    type: float
  body:
    description: The verbatim answer body of a O(kind=status) fault.
    type: str
  size:
    description: The body size in bytes of a O(kind=huge) fault (a JSON list of C({}), streamed; default 200 MB).
    type: int
  endpoint:
    description: The API endpoint the fault applies to.
    type: str
    choices: [active, history, any]
  page:
    description: The history page the fault applies to.
    type: int
  count:
    description: How many matching requests the fault applies to (V(0) until cleared).
    type: int
    default: 1
  collection_root:
    description: With O(action=start), the collection tree holding C(tests/emulator).
    type: path
  watch_pid:
    description:
      - With O(action=start), the emulator also stops once this process is gone.
      - Default the C(ansible-playbook) process running this task, so that no emulator outlives the play.
    type: int
  pid:
    description: With O(action=stop), the emulator's PID (returned by O(action=start)).
    type: int
"""

EXAMPLES = r"""
- name: Start the emulator
  pinggy_emulator_control:
    action: start
    collection_root: "{{ collection_root }}"
  register: emulator
  no_log: true

- name: Load two tunnels
  pinggy_emulator_control:
    action: reset
    url: "{{ emulator.emulator_url }}"
    active:
      - {subdomain: db-1.a.pinggy.link, mode: tcp, port: 15432}
      - {subdomain: web.a.pinggy.link, mode: http}

- name: Answer the next two requests with 503
  pinggy_emulator_control:
    action: fault
    url: "{{ emulator.emulator_url }}"
    kind: status
    status: 503
    count: 2
"""

RETURN = r"""
api_url:
  description: The emulated Pinggy API (O(action=start)).
  returned: success
  type: str
emulator_url:
  description: The control API (O(action=start)).
  returned: success
  type: str
api_key:
  description: The random API key the emulator requires (O(action=start)).
  returned: success
  type: str
pid:
  description: The emulator's PID (O(action=start)).
  returned: success
  type: int
json:
  description: The control API's answer.
  returned: success
  type: raw
"""

import importlib.util
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time

from ansible.module_utils.basic import AnsibleModule

# The control API's calls (by action) are the shared client's, tests/emulator/control.py: see control_client().
CALL_ACTIONS = ["reset", "add_sessions", "add_history", "fault", "clear_faults", "config", "counters", "clear_counters",
                "state"]
READ_ONLY = ("counters", "state")
FAULT_KEYS = ("kind", "status", "retry_after", "delay", "body", "size", "endpoint", "page", "count")


def _process(pid):
    """(parent PID, command line) of a process, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as handle:
            ppid = int(handle.read().rpartition(b")")[2].split()[1])
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return ppid, handle.read().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None


def _is_playbook(cmdline):
    return any(os.path.basename(arg) == b"ansible-playbook" for arg in cmdline)


def playbook_pid():
    """The ansible-playbook process above this module: its task worker is a fork of it, so take the topmost."""
    found = None
    pid = os.getppid()
    while pid > 1:
        process = _process(pid)
        if process is None:
            break
        if _is_playbook(process[1]):
            found = pid
        elif found is not None:
            break
        pid = process[0]
    return found


def control_client(module):
    """tests/emulator/control.py of the collection ansible-test runs (its ANSIBLE_COLLECTIONS_PATH), loaded by path:
    a module under test support gets no module_utils from tests/."""
    paths = os.environ.get("ANSIBLE_COLLECTIONS_PATH") or os.environ.get("ANSIBLE_COLLECTIONS_PATHS") or ""
    for base in paths.split(os.pathsep):
        path = os.path.join(base, "ansible_collections", "pinggy", "tunnels", "tests", "emulator", "control.py")
        if base and os.path.isfile(path):
            spec = importlib.util.spec_from_file_location("pinggy_emulator_control_client", path)
            client = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(client)
            return client
    module.fail_json(msg="ANSIBLE_COLLECTIONS_PATH: no pinggy/tunnels/tests/emulator/control.py under %r" % paths)


def call(module, name, body=None):
    """The control API call named name (tests/emulator/control.py CALLS, or remove_session), its JSON answer."""
    client = control_client(module)
    session = module.params["session_id"]
    try:
        connection = client.ControlClient(module.params["url"])
        if name == "remove_session":
            return connection.remove_session(session)
        return connection.named(name, body)
    except client.ControlError as error:
        module.fail_json(msg=str(error))


def start(module):
    root = module.params["collection_root"]
    if not root or not os.path.isfile(os.path.join(root, "tests", "emulator", "__main__.py")):
        module.fail_json(msg="collection_root: no tests/emulator in %r" % root)
    watch = module.params["watch_pid"] or playbook_pid()
    if watch is None:
        module.fail_json(msg="watch_pid: no ansible-playbook process found above this module; give watch_pid")
    key = secrets.token_urlsafe(24)
    env = dict(os.environ, PINGGY_API_KEY=key, PYTHONDONTWRITEBYTECODE="1")
    workdir = tempfile.mkdtemp(prefix="pinggy-emulator-")
    ready, log = os.path.join(workdir, "url"), os.path.join(workdir, "log")
    try:
        with open(log, "wb") as output:
            process = subprocess.Popen(  # pylint: disable=consider-using-with
                [sys.executable, "-m", "tests.emulator", "--port", "0", "--generate", "20", "--history-count", "40",
                 "--ready-file", ready, "--watch-pid", str(watch)],
                cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 15
        while not os.path.exists(ready) and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not os.path.exists(ready):
            if process.poll() is None:
                process.kill()
            with open(log, encoding="utf-8", errors="replace") as handle:
                module.fail_json(msg="the emulator did not start: %s" % handle.read().replace(key, "********"))
        with open(ready, encoding="utf-8") as handle:
            api_url = handle.readline().strip()
    finally:
        for path in (ready, log):
            if os.path.exists(path):
                os.unlink(path)  # the emulator keeps its open log; nothing is left behind
        os.rmdir(workdir)
    emulator_url = api_url.rsplit("/backend/api/v1", 1)[0] + "/_emulator"
    module.exit_json(changed=True, api_url=api_url, emulator_url=emulator_url, api_key=key, pid=process.pid, watch_pid=watch)


def stop(module):
    pid = module.params["pid"]
    process = _process(pid)
    if process is None or not any(arg == b"tests.emulator" for arg in process[1]):
        module.exit_json(changed=False, msg="no emulator runs as PID %d" % pid)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while _process(pid) is not None and time.monotonic() < deadline:
        time.sleep(0.05)  # once it exits its parent (gone) leaves it to init, which reaps it
    module.exit_json(changed=True)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            action=dict(type="str", required=True, choices=["start", "stop"] + CALL_ACTIONS + ["remove_session"]),
            url=dict(type="str"),
            active=dict(type="list", elements="dict"),
            history=dict(type="list", elements="dict"),
            generate=dict(type="int"),
            history_count=dict(type="int"),
            seed=dict(type="int"),
            config=dict(type="dict"),
            session_id=dict(type="str"),
            kind=dict(type="str", choices=["status", "latency", "malformed", "drop", "huge"]),
            status=dict(type="int"),
            retry_after=dict(type="int"),
            delay=dict(type="float"),
            body=dict(type="str"),
            size=dict(type="int"),
            endpoint=dict(type="str", choices=["active", "history", "any"]),
            page=dict(type="int"),
            count=dict(type="int", default=1),
            collection_root=dict(type="path"),
            watch_pid=dict(type="int"),
            pid=dict(type="int"),
        ),
        required_if=[
            ("action", "stop", ["pid"]),
            ("action", "fault", ["kind"]),
            ("action", "config", ["config"]),
            ("action", "add_sessions", ["active"]),
            ("action", "add_history", ["history"]),
        ],
    )
    params = module.params
    action = params["action"]
    if action == "start":
        start(module)
    if action == "stop":
        stop(module)
    if not params["url"]:
        module.fail_json(msg="url: required for action=%s" % action)
    body = None
    if action == "reset":
        body = dict((key, params[key]) for key in ("active", "history", "generate", "history_count", "seed") if params[key] is not None)
    elif action in ("add_sessions", "add_history"):
        body = params["active" if action == "add_sessions" else "history"]
    elif action == "fault":
        body = dict((key, params[key]) for key in FAULT_KEYS if params[key] is not None)
    elif action == "config":
        body = params["config"]
    answer = call(module, action, body)
    if action == "reset" and params["config"]:
        call(module, "config", params["config"])
        answer = call(module, "state")
    module.exit_json(changed=action not in READ_ONLY, json=answer)


if __name__ == "__main__":
    main()
