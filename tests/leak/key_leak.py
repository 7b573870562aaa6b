"""Key-leak matrix (issue 12): every plugin and the gate, at -vvvv, on success and on every failure path.

Run from a collection tree with ``ansible_collections`` on ``PYTHONPATH`` and ``ANSIBLE_COLLECTIONS_PATH``
(``tests/utils/run.sh leak [CORE]`` does both):

    python tests/leak/key_leak.py [--case NAME ...] [--key plain|lf|crlf ...] [--workers 2] [--keep DIR]

Each row is a case (the emulator over HTTP or HTTPS, or a hostile server from ``servers.py``) with a key
variant (the distinctive key as is, with a trailing LF, or with a trailing CRLF: the emulator's key is always
the stripped one). Each row runs three processes with a fresh temp dir each:

* ``ansible-playbook`` with three plays, ``module`` (pinggy_sessions_info), ``lookup`` (pinggy_history) and
  ``gate`` (``import_playbook: pinggy.tunnels.gate``, i.e. the assert_tunnels role); a failing module or lookup
  is rescued, so every play runs, and leaks are attributed by the play the text appears in;
* ``ansible-inventory --list`` with the ``pinggy.tunnels.pinggy`` inventory (``inventory``);
* the same with the jsonfile cache on, run again warm when the first run succeeded (``inv+cache``).

stdout, stderr, ``ANSIBLE_LOG_PATH``, the cache files and every file left in the temp dirs (``TMPDIR``,
``HOME``, ``ANSIBLE_LOCAL_TEMP``, ``ANSIBLE_REMOTE_TEMP``) are searched for any 8-character run of the key,
of its escaped forms (repr, JSON, unicode_escape) and, where the case has one, of the api_url password.
Each run's outcome is checked too (success, or a failure whose one-line message matches the case), so a run
that is "clean" because nothing ran is caught. The matrix prints ``clean``, ``LEAK``, ``UNEXP`` or ``LEAK+UNEXP``
per cell, then the evidence (never the key: runs of it are shown as ``<key[i:j]>``), then ``N of M runs clean``.
The exit code is 1 when any cell is not clean.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import secrets
import shutil
import string
import subprocess
import sys
import tempfile
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ansible_collections.pinggy.tunnels.tests.emulator import Emulator
from ansible_collections.pinggy.tunnels.tests.emulator.tls import generate_tls
from ansible_collections.pinggy.tunnels.tests.leak.servers import ACTIVE_SESSION, DRIP_BYTES, DRIP_INTERVAL, HostileServer, refused_port

PLUGINS = ("module", "lookup", "gate", "inventory", "inv+cache")
RUN_MIN = 8  # the shortest run of the key that counts as a leak
PROCESS_TIMEOUT = 180
EXPECTED_URL = f"tcp://{ACTIVE_SESSION['subdomain']}:{ACTIVE_SESSION['port']}"
KEY_VARIANTS = {"plain": "", "lf": "\n", "crlf": "\r\n"}
# Environment the runs must not inherit: it would change where requests go or what they trust.
SCRUBBED_ENV = re.compile(r"^(PINGGY_|ANSIBLE_|REQUESTS_CA_BUNDLE$|CURL_CA_BUNDLE$|SSL_CERT_|(HTTPS?|ALL|NO)_PROXY$)", re.IGNORECASE)
DEFAULT_TIMEOUT = "10"
HANG_TIMEOUT = "2"
ALL_KEYS = tuple(KEY_VARIANTS)


@dataclass(frozen=True)
class Case:
    """One way the API can answer, and the outcome every plugin must show."""

    name: str
    server: str  # emulator, emulator_tls, wrong_key_emulator, refused, or hostile:<behaviour>
    expect: str  # ok, fail or any
    why: str
    pattern: str = ""  # regex the failure message must match (case-insensitive)
    env: tuple[tuple[str, str], ...] = ()  # PINGGY_* settings and others; {ca}/{other_ca} are replaced
    keys: tuple[str, ...] = ("plain",)
    bad_key: str = ""  # a key variant that must be refused: inserted in the middle of the key
    userinfo: bool = False  # api_url carries user:password@
    no_request: bool = False  # a setting to refuse before any request: the (hostile) server must see none


CASES = (
    Case("ok", "emulator", "ok", "the emulator answers; keys with a trailing LF/CRLF must work (stripped)", keys=ALL_KEYS),
    Case("wrong_key", "wrong_key_emulator", "fail", "the emulator has another key: 401", r"HTTP 401", keys=("plain", "crlf")),
    Case("401_echo", "hostile:unauthorized_echo", "fail", "401 echoing the Authorization header in body and reason phrase", r"HTTP 401", keys=ALL_KEYS),
    Case("500_echo_json", "hostile:error_echo_json", "fail", "500, JSON message echoing the header", r"HTTP 500", keys=ALL_KEYS),
    Case("500_echo_html", "hostile:error_echo_text", "fail", "500, HTML body echoing the header", r"HTTP 500", keys=ALL_KEYS),
    Case("503_echo_retried", "hostile:unavailable_echo", "fail", "503 (retried once) echoing in body and reason phrase",
         r"HTTP 503", env=(("PINGGY_RETRIES", "1"),), keys=ALL_KEYS),
    Case("reason_echo", "hostile:reason_echo", "fail", "500, empty body, the echo in the reason phrase", r"HTTP 500", keys=ALL_KEYS),
    Case("long_echo", "hostile:long_echo", "fail", "1200-char JSON message, the key across offset 200 (truncation)", r"HTTP 500", keys=ALL_KEYS),
    Case("flood_echo", "hostile:flood_echo", "fail", "the echo repeated over 1200 chars of a non-JSON body (a key across offset 200)",
         r"HTTP 500", keys=ALL_KEYS),
    Case("malformed_echo", "hostile:malformed_echo", "fail", "200, broken JSON echoing the header, the key across offset 80", r"JSON", keys=ALL_KEYS),
    Case("refused", "refused", "fail", "nothing listens on the port", r"refused|cannot reach|connect"),
    Case("timeout", "hostile:hang", "fail", f"the server never answers; timeout {HANG_TIMEOUT}s", r"time[sd]? ?out",
         env=(("PINGGY_TIMEOUT", HANG_TIMEOUT),)),
    Case("drip", "hostile:drip", "fail",
         f"a valid answer dripped 1 byte/{DRIP_INTERVAL:g}s ({DRIP_BYTES * DRIP_INTERVAL:g}s); timeout {HANG_TIMEOUT}s is a deadline",
         r"time[sd]? ?out", env=(("PINGGY_TIMEOUT", HANG_TIMEOUT),)),
    Case("redirect_host", "hostile:redirect_host", "any", "302 to another host name: the target must never see the key", keys=("plain", "crlf")),
    Case("redirect_port", "hostile:redirect_port", "any", "302 to another port: the target must never see the key"),
    Case("tls_untrusted", "emulator_tls", "fail", "HTTPS, test CA not trusted, validate_certs true", r"TLS|SSL|certificate", keys=("plain", "crlf")),
    Case("tls_ca_bundle", "emulator_tls", "ok", "HTTPS, validate_certs true, REQUESTS_CA_BUNDLE = the test CA (corporate CA)",
         env=(("REQUESTS_CA_BUNDLE", "{ca}"),)),
    Case("tls_insecure", "emulator_tls", "ok", "HTTPS, validate_certs false", env=(("PINGGY_VALIDATE_CERTS", "false"),)),
    Case("tls_insecure_env", "emulator_tls", "ok",
         "HTTPS, validate_certs false, REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE = another CA: false must win",
         env=(("PINGGY_VALIDATE_CERTS", "false"), ("REQUESTS_CA_BUNDLE", "{other_ca}"), ("CURL_CA_BUNDLE", "{other_ca}"))),
    Case("userinfo_url", "hostile:unauthorized_echo", "fail",
         "api_url http://user:password@host/... (a 401 echoing server): refused before any request, the password never shown",
         r"api_url", userinfo=True, no_request=True),
    Case("key_ctrl", "hostile:unauthorized_echo", "fail",
         "a key with a control character (\\x01) inside (a 401 echoing server): refused before any request naming api_key",
         r"api_key", bad_key="\x01", no_request=True),
    Case("key_nonascii", "hostile:unauthorized_echo", "fail",
         "a key with a non-ASCII character (\\u00e9) inside (a 401 echoing server): refused before any request naming api_key",
         r"api_key", bad_key="\u00e9", no_request=True),
)


# -- secrets and their traces ---------------------------------------------------------------------
def distinctive_key() -> str:
    alphabet = string.ascii_letters + string.digits
    return "LK" + "".join(secrets.choice(alphabet) for _index in range(38))


def secret_forms(secret: str) -> list[str]:
    """The secret and the ways a program may print it escaped."""
    forms = {secret, repr(secret)[1:-1], json.dumps(secret)[1:-1], secret.encode("unicode_escape").decode("ascii"),
             json.dumps(secret, ensure_ascii=False)[1:-1]}
    return sorted(forms)


@dataclass
class Needles:
    """Every RUN_MIN-byte run of the secrets' forms (UTF-8), mapped to (label, form, offset) for the report."""

    runs: dict[bytes, tuple[str, bytes, int]] = field(default_factory=dict)

    def add(self, label: str, secret: str) -> None:
        for form in secret_forms(secret):
            encoded = form.encode("utf-8")
            for offset in range(len(encoded) - RUN_MIN + 1):
                self.runs.setdefault(encoded[offset:offset + RUN_MIN], (label, encoded, offset))

    def find(self, data: bytes) -> list[tuple[int, int, str]]:
        """Spans (start, end, description) of the longest runs found in ``data``, in order."""
        spans: list[tuple[int, int, str]] = []
        position, last = 0, len(data) - RUN_MIN
        while position <= last:
            found = self.runs.get(data[position:position + RUN_MIN])
            if found is None:
                position += 1
                continue
            label, encoded, offset = found
            end_in_form = offset + RUN_MIN
            while end_in_form < len(encoded) and position + end_in_form - offset < len(data) \
                    and data[position + end_in_form - offset] == encoded[end_in_form]:
                end_in_form += 1
            length = end_in_form - offset
            whole = " (whole)" if offset == 0 and end_in_form == len(encoded) else ""
            spans.append((position, position + length, f"<{label}[{offset}:{end_in_form}]{whole}>"))
            position += length
        return spans


def describe_leaks(data: bytes, needles: Needles, where: str, limit: int = 3) -> list[str]:
    """One line per leak in ``data``: where, the longest run, and masked context."""
    lines = []
    spans = needles.find(data)
    for start, end, mask in spans[:limit]:
        line_number = data.count(b"\n", 0, start) + 1
        before = data[max(0, start - 70):start]
        after = data[end:end + 50]
        context = (_printable(_mask(before, needles)) + mask + _printable(_mask(after, needles)))
        lines.append(f"{where} line {line_number}: {mask}: ...{context}...")
    if len(spans) > limit:
        lines.append(f"{where}: {len(spans) - limit} more")
    return lines


def mask_text(text: str, needles: Needles) -> str:
    """``text`` with every run of a secret replaced by its <label[i:j]> description: safe to print."""
    return _mask(text.encode("utf-8", "replace"), needles).decode("utf-8", "replace")


def _mask(data: bytes, needles: Needles) -> bytes:
    result, position = b"", 0
    for start, end, mask in needles.find(data):
        result += data[position:start] + mask.encode()
        position = end
    return result + data[position:]


def _printable(data: bytes) -> str:
    return data.decode("utf-8", "replace").encode("unicode_escape").decode("ascii")


# -- running ansible ------------------------------------------------------------------------------
PLAYBOOK = """\
- name: module
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Run the module
      block:
        - name: Read the active tunnels
          pinggy.tunnels.pinggy_sessions_info:
          register: leaktest_answer
        - name: Report
          ansible.builtin.debug:
            msg: "LEAKTEST module=ok count={{ leaktest_answer.count }}"
      rescue:
        - name: Report the failure
          ansible.builtin.debug:
            msg: "LEAKTEST module=failed msg={{ ansible_failed_result.msg | default('') | to_json }}"

- name: lookup
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Run the lookup
      block:
        - name: Read one day of history
          ansible.builtin.set_fact:
            leaktest_records: "{{ query('pinggy.tunnels.pinggy_history', days=1) }}"
        - name: Report
          ansible.builtin.debug:
            msg: "LEAKTEST lookup=ok records={{ leaktest_records | length }}"
      rescue:
        - name: Report the failure
          ansible.builtin.debug:
            msg: "LEAKTEST lookup=failed msg={{ ansible_failed_result.msg | default('') | to_json }}"

- name: gate
  ansible.builtin.import_playbook: pinggy.tunnels.gate
"""
GATE_VARS = "assert_tunnels_expected:\n  - {subdomain: 'leak-*', mode: tcp}\n"
INVENTORY_SOURCE = "plugin: pinggy.tunnels.pinggy\n"
CACHED_SOURCE = "plugin: pinggy.tunnels.pinggy\ncache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {cache}\ncache_timeout: 600\n"
# A play banner, on its own in stdout and after "<date> p=<pid> u=<user> n=ansible | " in the log file.
PLAY_BANNER = re.compile(rb"^(?:[^\n]*\| )?PLAY \[(module|lookup|Pinggy deployment gate)\]", re.MULTILINE)
MARKER = re.compile(r'"msg": "(LEAKTEST (module|lookup)=(ok|failed)[^\n]*)"\s*$', re.MULTILINE)


@dataclass
class Process:
    """One finished ansible process: its files, exit code and time."""

    name: str
    directory: Path
    returncode: int
    seconds: float
    output: str  # stdout and stderr, merged in order


def run_process(name: str, command: list[str], directory: Path, env: dict[str, str], cwd: Path) -> Process:
    """Run one ansible command with its own TMPDIR, HOME, temp dirs and log file under ``directory``."""
    for sub in ("tmp", "home", "local_temp", "remote_temp"):
        (directory / sub).mkdir(parents=True, exist_ok=True)
    env = dict(env, TMPDIR=str(directory / "tmp"), HOME=str(directory / "home"), ANSIBLE_LOG_PATH=str(directory / "ansible.log"),
               ANSIBLE_LOCAL_TEMP=str(directory / "local_temp"), ANSIBLE_REMOTE_TEMP=str(directory / "remote_temp"))
    started = time.monotonic()
    try:
        completed = subprocess.run(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   timeout=PROCESS_TIMEOUT, check=False)
        returncode, output = completed.returncode, completed.stdout
    except subprocess.TimeoutExpired as expired:
        returncode, output = -9, (expired.stdout or b"") + f"\nKILLED after {PROCESS_TIMEOUT}s\n".encode()
    (directory / "output.txt").write_bytes(output)
    return Process(name, directory, returncode, time.monotonic() - started, output.decode("utf-8", "replace"))


def play_sections(data: bytes) -> list[tuple[str, bytes]]:
    """Split a playbook's output (or log) at its play banners: [(plugin, text)], text before the first play under ''."""
    names = {b"module": "module", b"lookup": "lookup", b"Pinggy deployment gate": "gate"}
    sections, last, current = [], 0, ""
    for match in PLAY_BANNER.finditer(data):
        sections.append((current, data[last:match.start()]))
        current, last = names[match.group(1)], match.start()
    sections.append((current, data[last:]))
    return sections


@dataclass
class Cell:
    """The verdict of one plugin in one row."""

    leaks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def verdict(self) -> str:
        if self.leaks and self.problems:
            return "LEAK+UNEXP"
        return "LEAK" if self.leaks else "UNEXP" if self.problems else "clean"


@dataclass
class Row:
    case: Case
    key_variant: str
    cells: dict[str, Cell] = field(default_factory=lambda: {plugin: Cell() for plugin in PLUGINS})
    seconds: float = 0.0

    @property
    def label(self) -> str:
        return self.case.name if self.case.bad_key or self.case.userinfo else f"{self.case.name}/{self.key_variant}"


class Matrix:
    """The servers, the secrets, and the rows of the key-leak matrix."""

    def __init__(self, collection: Path, work: Path, bin_dir: Path) -> None:
        self.collection = collection
        self.work = work
        self.bin_dir = bin_dir
        self.core_key = distinctive_key()
        self.password = "PW" + distinctive_key()[2:30]
        tls_files = generate_tls(work / "tls")
        self.ca = str(tls_files.ca_cert)
        self.other_ca = str(generate_tls(work / "other_tls", common_name="Another CA").ca_cert)
        self.emulator = Emulator(api_key=self.core_key).start()
        self.emulator_tls = Emulator(api_key=self.core_key, tls_cert=tls_files.cert, tls_key=tls_files.key).start()
        self.wrong_key_emulator = Emulator(api_key=distinctive_key()).start()
        for emulator in (self.emulator, self.emulator_tls, self.wrong_key_emulator):
            emulator.state.add_sessions([dict(ACTIVE_SESSION)])
        self.other = HostileServer().start()
        self.hostile = HostileServer(other_port=self.other.server_address[1]).start()
        self.refused = refused_port()

    def stop(self) -> None:
        for server in (self.emulator, self.emulator_tls, self.wrong_key_emulator, self.hostile, self.other):
            server.stop()

    def api_url(self, case: Case, tag: str) -> str:
        if case.server == "refused":
            return f"http://127.0.0.1:{self.refused}/backend/api/v1"
        if case.server.startswith("hostile:"):
            url = self.hostile.url(case.server.split(":", 1)[1], tag)
        else:
            url = getattr(self, case.server).url
        if case.userinfo:
            url = url.replace("://", f"://leakuser:{self.password}@", 1)
        return url

    def key(self, case: Case, variant: str) -> str:
        if case.bad_key:
            return self.core_key[:20] + case.bad_key + self.core_key[20:]
        return self.core_key + KEY_VARIANTS[variant]

    def base_env(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not SCRUBBED_ENV.match(name)}
        env.update({
            "PATH": f"{self.bin_dir}{os.pathsep}{env.get('PATH', '')}",
            "ANSIBLE_COLLECTIONS_PATH": os.environ["ANSIBLE_COLLECTIONS_PATH"],
            "ANSIBLE_NOCOLOR": "1", "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_LOCALHOST_WARNING": "false",
            "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false", "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "true",
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable, "ANSIBLE_RETRY_FILES_ENABLED": "false",
            "NO_PROXY": "*", "no_proxy": "*",
            "PINGGY_TIMEOUT": DEFAULT_TIMEOUT, "PINGGY_RETRIES": "0",
        })
        return env

    def run_row(self, index: int, case: Case, variant: str) -> Row:
        row = Row(case, variant)
        started = time.monotonic()
        # Neutral names: a case name in a path or URL could match the failure pattern of its own case.
        tag = f"row{index:02d}"
        directory = self.work / "runs" / tag
        directory.mkdir(parents=True)
        (directory / "row.txt").write_text(f"{row.label}\n", encoding="utf-8")
        env = self.base_env()
        env.update({name: value.format(ca=self.ca, other_ca=self.other_ca) for name, value in case.env})
        env["PINGGY_API_URL"] = self.api_url(case, tag)
        env["PINGGY_API_KEY"] = self.key(case, variant)
        inputs = directory / "inputs"
        inputs.mkdir()
        (inputs / "leaktest.yml").write_text(PLAYBOOK, encoding="utf-8")
        (inputs / "gate_vars.yml").write_text(GATE_VARS, encoding="utf-8")
        (inputs / "leak.pinggy.yml").write_text(INVENTORY_SOURCE, encoding="utf-8")
        cache_dir = directory / "inv+cache" / "cache"
        (inputs / "cached.pinggy.yml").write_text(CACHED_SOURCE.format(cache=cache_dir), encoding="utf-8")

        playbook = run_process("playbook", [str(self.bin_dir / "ansible-playbook"), "-vvvv", "-e",
                                            f"@{inputs / 'gate_vars.yml'}", str(inputs / "leaktest.yml")],
                               directory / "playbook", env, self.collection)
        inventory = run_process("inventory", [str(self.bin_dir / "ansible-inventory"), "-vvvv", "-i", str(inputs / "leak.pinggy.yml"), "--list"],
                                directory / "inventory", env, self.collection)
        cached = [run_process("inv+cache", [str(self.bin_dir / "ansible-inventory"), "-vvvv", "-i", str(inputs / "cached.pinggy.yml"),
                                            "--list"], directory / "inv+cache", env, self.collection)]
        if cached[0].returncode == 0:
            cached.append(run_process("inv+cache", [str(self.bin_dir / "ansible-inventory"), "-vvvv", "-i", str(inputs / "cached.pinggy.yml"),
                                                    "--list"], directory / "inv+cache" / "warm", env, self.collection))
        row.seconds = time.monotonic() - started

        needles = Needles()
        needles.add("key", self.key(case, variant))
        needles.add("key", self.core_key)
        if case.userinfo:
            needles.add("password", self.password)
            # What requests makes of user:password@ in a URL: a Basic Authorization header.
            needles.add("password", base64.b64encode(f"leakuser:{self.password}".encode()).decode("ascii"))
        self._find_leaks(row, directory, needles)
        self._check_outcomes(row, playbook, inventory, cached, needles)
        self._check_redirect_target(row, tag, needles)
        if case.no_request:
            seen = self.hostile.requests_tagged(tag)
            if seen:
                for plugin in PLUGINS:  # the server cannot tell which plugin asked
                    row.cells[plugin].problems.append(
                        f"the server received {len(seen)} request(s) of this row: the setting must be refused before any request")
        return row

    def _find_leaks(self, row: Row, directory: Path, needles: Needles) -> None:
        for path in sorted(directory.rglob("*")):
            relative = path.relative_to(directory)
            if not path.is_file() or len(relative.parts) < 2 or relative.parts[0] == "inputs":
                continue  # the driver's own files (row.txt, inputs/) never hold the key
            data = path.read_bytes()
            top = relative.parts[0]
            if top == "playbook" and path.name in ("output.txt", "ansible.log"):
                for plugin, section in play_sections(data):
                    targets = [plugin] if plugin else ["module", "lookup", "gate"]
                    for target in targets:
                        row.cells[target].leaks += describe_leaks(section, needles, f"{relative} ({plugin or 'before the plays'})")
            else:
                targets = ["module", "lookup", "gate"] if top == "playbook" else [top]
                for target in targets:
                    row.cells[target].leaks += describe_leaks(data, needles, str(relative))

    def _check_outcomes(self, row: Row, playbook: Process, inventory: Process, cached: list[Process], needles: Needles) -> None:
        case = row.case
        expect = "fail" if case.bad_key else case.expect
        pattern = re.compile(case.pattern, re.IGNORECASE) if case.pattern else None
        markers = {match.group(2): json.loads(f'"{match.group(1)}"') for match in MARKER.finditer(playbook.output)}
        for plugin in ("module", "lookup"):
            cell = row.cells[plugin]
            marker = markers.get(plugin)
            if marker is None:
                cell.problems.append(f"no result from the {plugin} play (playbook exit {playbook.returncode}): "
                                     f"{mask_text(_tail(playbook.output), needles)}")
                continue
            succeeded = f"{plugin}=ok" in marker
            message = ""
            if not succeeded:
                try:
                    message = str(json.loads(marker.split(" msg=", 1)[1]))
                except (IndexError, ValueError):
                    message = marker
            _judge(cell, expect, succeeded, mask_text(message, needles), pattern)
        sections = dict(play_sections(playbook.output.encode("utf-8")))
        gate_text = sections.get("gate", b"").decode("utf-8", "replace")
        gate_ok = playbook.returncode == 0 and EXPECTED_URL in gate_text
        _judge(row.cells["gate"], expect, gate_ok, mask_text(_failure_line(gate_text), needles), pattern, exit_code=playbook.returncode)
        for plugin, process in (("inventory", inventory), ("inv+cache", cached[0])):
            succeeded = process.returncode == 0 and f'"{ACTIVE_SESSION["subdomain"]}"' in process.output
            _judge(row.cells[plugin], expect, succeeded, mask_text(_failure_line(process.output), needles), pattern, exit_code=process.returncode)
        if len(cached) > 1:
            warm = cached[1]
            if warm.returncode != 0 or f'"{ACTIVE_SESSION["subdomain"]}"' not in warm.output:
                row.cells["inv+cache"].problems.append(f"the warm cache run failed (exit {warm.returncode}): {mask_text(_tail(warm.output), needles)}")

    def _check_redirect_target(self, row: Row, tag: str, needles: Needles) -> None:
        if not row.case.server.startswith("hostile:redirect"):
            return
        for server in (self.hostile, self.other):
            for request in server.requests_tagged(tag):
                if request.behaviour != "target":
                    continue
                headers = "".join(f"{name}: {value}\n" for name, value in request.headers.items()).encode("utf-8", "replace")
                leaks = describe_leaks(headers, needles, f"redirect target {server.server_address[0]}:{server.server_address[1]} "
                                                         f"received headers for {request.path}")
                for plugin in PLUGINS:  # the target cannot tell which plugin asked
                    row.cells[plugin].leaks += leaks


def _judge(cell: Cell, expect: str, succeeded: bool, message: str, pattern: Optional[re.Pattern[str]], exit_code: Optional[int] = None) -> None:
    code = "" if exit_code is None else f" (exit {exit_code})"
    if expect == "any":
        return
    if expect == "ok" and not succeeded:
        cell.problems.append(f"expected success, got a failure{code}: {_clip(message)}")
    elif expect == "fail" and succeeded:
        cell.problems.append(f"expected a failure, got success{code}")
    elif expect == "fail":
        if "\n" in message.strip():
            cell.problems.append(f"the failure message is not one line: {_clip(message)}")
        if pattern is not None and not pattern.search(message):
            cell.problems.append(f"the failure message does not match /{pattern.pattern}/: {_clip(message)}")


FAILURE_LINES = (
    re.compile(r"Failed to parse .*?with '?(?:auto|pinggy\.tunnels\.pinggy)'? plugin: (.*)$", re.MULTILINE),  # inventory, 2.16 and 2.19
    re.compile(r'^\s*"msg": ("(?!LEAKTEST).*")\s*,?\s*$', re.MULTILINE),  # a failed task's result at -vvvv (JSON)
    re.compile(r"^(fatal: .*|\[ERROR\]: .*|ERROR! .*)$", re.MULTILINE),
)


def _failure_line(output: str) -> str:
    """The error message of a failed run: the inventory's parse warning, else the failed task's msg, else an error line."""
    if "[WARNING]:  * Failed to parse" in output:
        # ansible-core < 2.17 wraps warnings at 80 columns without a terminal: join the continuation lines.
        output = re.sub(r"\n(?=[^\s\[])", " ", output)
    inventory = FAILURE_LINES[0].search(output)
    if inventory:
        return inventory.group(1)
    fatal = output.rfind("fatal: [")
    if fatal >= 0:
        message = FAILURE_LINES[1].search(output, fatal)
        if message:
            try:
                return str(json.loads(message.group(1)))
            except ValueError:
                return message.group(1)
    error = FAILURE_LINES[2].search(output)
    return error.group(1) if error else _tail(output)


def _tail(output: str, lines: int = 2) -> str:
    return " | ".join(line.strip() for line in output.strip().splitlines()[-lines:])


def _clip(text: str, limit: int = 240) -> str:
    flat = text.replace("\r", "\\r").replace("\n", "\\n")
    return flat if len(flat) <= limit else flat[:limit - 3] + "..."


def report(rows: list[Row], seconds: float, workers: int) -> list[str]:
    """The matrix, the cases, the evidence and the count, as lines."""
    lines = []
    width = max(len(row.label) for row in rows) + 2
    lines.append(f"Key-leak matrix: {len(rows)} rows x {len(PLUGINS)} plugins, -vvvv, {workers} workers, {seconds:.0f}s")
    lines.append("".ljust(width) + "".join(plugin.ljust(12) for plugin in PLUGINS) + "row s")
    for row in rows:
        lines.append(row.label.ljust(width) + "".join(row.cells[plugin].verdict.ljust(12) for plugin in PLUGINS) + f"{row.seconds:5.1f}")
    lines.append("")
    lines.append("Cases (expected outcome for every plugin; the gate's and the inventory's exit codes count):")
    for case in {row.case.name: row.case for row in rows}.values():
        lines.append(f"  {case.name}: expect {case.expect}; {case.why}")
    bad = [(row, plugin, row.cells[plugin]) for row in rows for plugin in PLUGINS if row.cells[plugin].verdict != "clean"]
    if bad:
        lines.append("")
        lines.append("Evidence (runs of the key are shown as <key[i:j]>, of the api_url password as <password[i:j]>, byte offsets):")
        for row, plugin, cell in bad:
            lines.append(f"- {row.label} / {plugin}: {cell.verdict}")
            for line in cell.problems + cell.leaks:
                lines.append(textwrap.indent(textwrap.fill(line, 200, subsequent_indent="    "), "    "))
    total = len(rows) * len(PLUGINS)
    leaks = sum(1 for _row, _plugin, cell in bad if cell.leaks)
    lines.append("")
    lines.append(f"{total - len(bad)} of {total} runs clean ({leaks} leaking, {len(bad) - leaks} with an unexpected outcome only)")
    return lines


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--case", action="append", choices=[case.name for case in CASES], help="only these cases (repeatable)")
    parser.add_argument("--key", action="append", choices=list(KEY_VARIANTS), help="only these key variants (repeatable)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path,
                        help="copy the run directories here: raw outputs, logs and caches, leaked keys included (the key is random per run)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    if args.list:
        for case in CASES:
            print(f"{case.name:18} expect {case.expect:4}  keys {','.join(case.keys):14} {case.why}")
        return 0
    if not os.environ.get("ANSIBLE_COLLECTIONS_PATH"):
        parser.error("ANSIBLE_COLLECTIONS_PATH must point at the directory holding ansible_collections/pinggy/tunnels")
    bin_dir = Path(sys.executable).parent
    if not (bin_dir / "ansible-playbook").exists():
        parser.error(f"ansible-playbook is not next to {sys.executable}: run this with the virtualenv's python")
    collection = Path(__file__).resolve().parents[2]
    selected = [(case, variant) for case in CASES if not args.case or case.name in args.case
                for variant in case.keys if not args.key or variant in args.key]
    work = Path(tempfile.mkdtemp(prefix="pinggy-key-leak-"))
    started = time.monotonic()
    matrix = Matrix(collection, work, bin_dir)
    secrets_seen = Needles()
    secrets_seen.add("key", matrix.core_key)
    secrets_seen.add("password", matrix.password)
    try:
        with ThreadPoolExecutor(max_workers=max(1, args.workers)) as pool:
            rows = list(pool.map(lambda item: matrix.run_row(item[0], *item[1]), enumerate(selected, 1)))
    finally:
        matrix.stop()
        if args.keep:
            shutil.copytree(work / "runs", args.keep, dirs_exist_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    lines = report(rows, time.monotonic() - started, args.workers)
    # Every text from the runs is masked already; this is the last line of defence for the report itself.
    print(mask_text("\n".join(lines), secrets_seen))
    return 1 if any(row.cells[plugin].verdict != "clean" for row in rows for plugin in PLUGINS) else 0


if __name__ == "__main__":
    sys.exit(main())
