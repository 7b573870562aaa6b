"""Reading a tunnel's URLs on the managed host: only from a listener its own ssh holds, with a bounded GET.

The listener proof is tested against a fake /proc (the root is injectable) and against the real one, with a real
listening socket in this process: it passes for os.getpid() and fails for another process.
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import typing as t
from pathlib import Path

import pytest

from ansible_collections.pinggy.tunnels.plugins.module_utils import _debugger_reader as reader
from ansible_collections.pinggy.tunnels.plugins.module_utils._debugger_reader import (
    get_urls_answer,
    listener_proof,
    listening_inodes,
    read_once,
    read_urls,
    socket_inodes,
)
from ansible_collections.pinggy.tunnels.tests.unit.plugins.debugger_server import URLS, URLS_BODY, another_process, http, serving

UNIT = "pinggy-tunnel@web.service"
HEADER = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"


def _hex4(address: str) -> str:
    return "%08X" % struct.unpack("=I", socket.inet_aton(address))[0]


def _hex6(address: str) -> str:
    return "".join("%08X" % word for word in struct.unpack("=4I", socket.inet_pton(socket.AF_INET6, address)))


def _row(local: str, port: int, state: str, inode: int) -> str:
    return f"   0: {local}:{port:04X} 00000000:0000 {state} 00000000:00000000 00:00000000 00000000   0        0 {inode} 1 0\n"


def fake_proc(root: Path, tcp: t.Sequence[str] = (), tcp6: t.Optional[t.Sequence[str]] = (),
              fds: t.Optional[dict[int, list[str]]] = None) -> str:
    """A /proc with these net/tcp and net/tcp6 rows (tcp6 None: no such file) and per pid these fd link targets."""
    (root / "net").mkdir(parents=True)
    (root / "net" / "tcp").write_text(HEADER + "".join(tcp), encoding="ascii")
    if tcp6 is not None:
        (root / "net" / "tcp6").write_text(HEADER + "".join(tcp6), encoding="ascii")
    for pid, targets in (fds or {}).items():
        (root / str(pid) / "fd").mkdir(parents=True)
        for number, target in enumerate(targets):
            (root / str(pid) / "fd" / str(number)).symlink_to(target)
    return str(root)


# --- listening sockets and who holds them, from a fake /proc ---

def test_the_listeners_a_connection_to_loopback_reaches_are_found(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, tcp=[
        _row(_hex4("127.0.0.1"), 4301, "0A", 11), _row(_hex4("0.0.0.0"), 4301, "0A", 12),
        _row(_hex4("127.0.0.2"), 4301, "0A", 13), _row(_hex4("127.0.0.1"), 4302, "0A", 14),
        _row(_hex4("127.0.0.1"), 4301, "01", 15), "garbage\n",
    ], tcp6=[_row(_hex6("::"), 4301, "0A", 16), _row(_hex6("::ffff:127.0.0.1"), 4301, "0A", 17), _row(_hex6("::1"), 4301, "0A", 18)])
    assert listening_inodes(4301, proc) == {11, 12, 16, 17}
    assert listening_inodes(4303, proc) == frozenset()


def test_a_kernel_without_ipv6_has_no_tcp6_table(tmp_path: Path) -> None:
    assert listening_inodes(4301, fake_proc(tmp_path, tcp=[_row(_hex4("127.0.0.1"), 4301, "0A", 11)], tcp6=None)) == {11}


def test_a_process_holds_the_sockets_its_fds_link_to(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, fds={42: ["socket:[11]", "/dev/null", "pipe:[12]", "socket:[13]", "socket:[x]"]})
    assert socket_inodes(42, proc) == {11, 13}
    with pytest.raises(FileNotFoundError):
        socket_inodes(43, proc)


def test_the_proof_holds_when_the_units_ssh_holds_every_listener(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, tcp=[_row(_hex4("127.0.0.1"), 4301, "0A", 11)], fds={42: ["socket:[11]", "socket:[99]"]})
    assert listener_proof(UNIT, 4301, 42, proc) == ({11}, None)


@pytest.mark.parametrize(("fds", "problem"), [
    ({42: ["socket:[99]"], 777: ["socket:[11]"]},
     "port 4301 on 127.0.0.1 is held by another process (pid 777), not pinggy-tunnel@web.service's ssh (pid 42)"),
    ({42: ["socket:[99]"]},
     "port 4301 on 127.0.0.1 is held by another process, not pinggy-tunnel@web.service's ssh (pid 42)"),
    ({777: ["socket:[11]"]}, "pinggy-tunnel@web.service's ssh (pid 42) is gone"),
])
def test_a_listener_that_is_not_the_units_ssh_is_named(tmp_path: Path, fds: dict[int, list[str]], problem: str) -> None:
    proc = fake_proc(tmp_path, tcp=[_row(_hex4("127.0.0.1"), 4301, "0A", 11)], fds=fds)
    assert listener_proof(UNIT, 4301, 42, proc)[1] == problem


def test_a_wildcard_listener_of_another_process_beside_the_ssh_fails_the_proof(tmp_path: Path) -> None:
    proc = fake_proc(tmp_path, tcp=[_row(_hex4("127.0.0.1"), 4301, "0A", 11)], tcp6=[_row(_hex6("::"), 4301, "0A", 12)],
                     fds={42: ["socket:[11]"], 777: ["socket:[12]"]})
    assert "held by another process (pid 777)" in t.cast(str, listener_proof(UNIT, 4301, 42, proc)[1])


def test_nothing_listening_and_no_right_to_look_are_said(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    proc = fake_proc(tmp_path, tcp=[_row(_hex4("127.0.0.1"), 4301, "0A", 11)], fds={42: ["socket:[11]"]})
    assert listener_proof(UNIT, 4302, 42, proc)[1] == "nothing listens on 127.0.0.1:4302"

    def refused(path: str) -> list[str]:
        raise PermissionError(13, "Permission denied", path)
    monkeypatch.setattr(reader.os, "listdir", refused)
    assert listener_proof(UNIT, 4301, 42, proc)[1] == "cannot read the sockets of pinggy-tunnel@web.service's ssh (pid 42); run as root"


# --- the real /proc: a listening socket of this process ---

@pytest.fixture
def listener() -> t.Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


@pytest.fixture
def other_pid() -> t.Iterator[int]:
    with another_process() as pid:
        yield pid


def test_the_real_proc_proves_this_process_holds_its_listener(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    inodes, problem = listener_proof(UNIT, port, os.getpid())
    assert problem is None and inodes == {os.fstat(listener.fileno()).st_ino}


def test_the_real_proc_refuses_another_process_as_the_listeners_holder(listener: socket.socket, other_pid: int) -> None:
    port = listener.getsockname()[1]
    assert listener_proof(UNIT, port, other_pid)[1] == (
        f"port {port} on 127.0.0.1 is held by another process (pid {os.getpid()}), not {UNIT}'s ssh (pid {other_pid})")


# --- the GET, against real servers on loopback ---

def chunked(body: bytes) -> bytes:
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 4096]), body[i:i + 4096]) for i in range(0, len(body), 4096))
    return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" + chunks + b"0\r\n\r\n"


def far() -> float:
    return reader.time.monotonic() + 30


def test_the_request_is_a_plain_get_of_urls_with_its_host() -> None:
    requests: list[bytes] = []
    listening = socket.create_server(("127.0.0.1", 0))
    port = listening.getsockname()[1]

    def serve() -> None:
        connection, _address = listening.accept()
        with connection:
            requests.append(connection.recv(4096))
            connection.sendall(http("200 OK", URLS_BODY))
    thread = threading.Thread(target=serve)
    thread.start()
    assert get_urls_answer(port, far()) == (URLS_BODY, None)
    thread.join()
    listening.close()
    assert requests[0].startswith(b"GET /urls HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port)


@pytest.mark.parametrize(("answer", "problem"), [
    (http("404 Not Found", URLS_BODY), "HTTP 404"),
    (http("302 Found", b"", "Location: http://127.0.0.1:1/urls\r\n"), "HTTP 302"),
    (http("200 OK", b"x" * (reader.ANSWER_LIMIT + 1)), "answer over 64 KiB"),
    (chunked(b'{"urls": [], "pad": "' + b"x" * 100000 + b'"}'), "answer over 64 KiB"),
    (b"SSH-2.0-OpenSSH_9.6\r\n", "no answer"),
    (b"", "no answer"),
    (b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nshort", "no answer"),
])
def test_anything_but_a_complete_200_under_64_kib_is_no_answer(answer: bytes, problem: str) -> None:
    with serving(answer) as server:
        assert get_urls_answer(server.port, far()) == (b"", problem)


def test_a_chunked_answer_is_read() -> None:
    with serving(chunked(URLS_BODY)) as server:
        assert get_urls_answer(server.port, far()) == (URLS_BODY, None)


def test_a_server_dripping_bytes_cannot_outlive_the_deadline() -> None:
    stop = threading.Event()

    def drip(connection: socket.socket) -> None:
        connection.sendall(b"HTTP/1.1 200 OK\r\n")
        while not stop.wait(0.05):
            connection.sendall(b"X-Drip: 1\r\n")
    with serving(drip) as server:
        assert get_urls_answer(server.port, reader.time.monotonic() + 0.5) == (b"", "no answer")
        stop.set()


def test_a_closed_port_or_a_passed_deadline_is_no_answer(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    listener.close()
    assert get_urls_answer(port, far()) == (b"", "no answer")
    assert get_urls_answer(port, reader.time.monotonic() - 1) == (b"", "no answer")


# --- one try and the wait ---

def this_process() -> reader.MainPid:
    return os.getpid(), None


def test_a_try_trusts_the_answer_of_the_units_own_listener() -> None:
    with serving(http("200 OK", URLS_BODY)) as server:
        assert read_once(UNIT, server.port, far(), this_process) == reader.Reading(URLS, None, os.getpid())


def test_a_try_refuses_an_impostors_urls(other_pid: int) -> None:
    with serving(http("200 OK", URLS_BODY)) as server:
        reading = read_once(UNIT, server.port, far(), lambda: (other_pid, None))
    assert reading.urls == [] and reading.problem == (
        f"port {server.port} on 127.0.0.1 is held by another process (pid {os.getpid()}), not {UNIT}'s ssh (pid {other_pid})")


@pytest.mark.parametrize(("answer", "problem"), [
    (http("200 OK", b'{"urls": ["{{ lookup(\'pipe\', \'id\') }}"]}'), "no public URL in the answer"),
    (http("200 OK", b'{"urls":' + b"[" * 60000 + b"}"), "no public URL in the answer"),
    (http("200 OK", b'{"urls": ["https://a.example.com"]}\xff'), "no public URL in the answer"),
    (http("404 Not Found", URLS_BODY), "HTTP 404"),
])
def test_a_try_gives_no_url_for_a_hostile_answer(answer: bytes, problem: str) -> None:
    with serving(answer) as server:
        assert read_once(UNIT, server.port, far(), this_process) == reader.Reading([], problem, os.getpid())


def test_an_answer_is_dropped_when_the_listener_changed_during_the_read(monkeypatch: pytest.MonkeyPatch) -> None:
    proofs = iter([(frozenset({11}), None), (frozenset({12}), None)])
    monkeypatch.setattr(reader, "listener_proof", lambda *_args: next(proofs))
    with serving(http("200 OK", URLS_BODY)) as server:
        reading = read_once(UNIT, server.port, far(), this_process)
    assert reading.problem == f"the listener on 127.0.0.1:{server.port} changed during the read" and reading.urls == []


def test_a_try_without_a_main_process_says_why_and_who_holds_the_port(listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    assert read_once(UNIT, port, far(), lambda: (None, f"{UNIT} is not running")) == reader.Reading(
        [], f"{UNIT} is not running; port {port} on 127.0.0.1 is held by another process (pid {os.getpid()})")
    listener.close()
    assert read_once(UNIT, port, far(), lambda: (None, f"{UNIT} is not running")) == reader.Reading([], f"{UNIT} is not running")


class Clock:
    """A clock that moves only when the wait sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_the_wait_tries_every_delay_until_the_urls_come(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter([reader.Reading([], "no answer"), reader.Reading([], "no answer", 42), reader.Reading(URLS, None, 42)])
    monkeypatch.setattr(reader, "read_once", lambda *_args: next(readings))
    clock = Clock()
    assert read_urls(UNIT, 4301, 60, 2, this_process, clock=clock, sleep=clock.sleep) == reader.Reading(URLS, None, 42)
    assert clock.sleeps == [2, 2]


def test_the_wait_ends_at_its_deadline_with_the_last_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    tries: list[float] = []
    clock = Clock()

    def read(_unit: str, _port: int, deadline: float, *_args: t.Any) -> reader.Reading:
        tries.append(deadline)
        return reader.Reading([], f"HTTP {400 + len(tries)}", 42)
    monkeypatch.setattr(reader, "read_once", read)
    assert read_urls(UNIT, 4301, 10, 3, this_process, clock=clock, sleep=clock.sleep) == reader.Reading([], "HTTP 404", 42)
    # The last try starts at 1009: one delay before the deadline at the latest; all share the deadline.
    assert tries == [1010.0] * 4 and clock.sleeps == [3, 3, 3]


def test_the_deadline_is_checked_before_every_read_of_the_answer() -> None:
    times = iter([0.0] + [100.0] * 10)  # the deadline (10) has passed by the time the answer is read
    with serving(http("200 OK", URLS_BODY)) as server:
        assert get_urls_answer(server.port, 10.0, lambda: next(times)) == (b"", "no answer")
