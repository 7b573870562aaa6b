# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read a tunnel's public URLs from its own ssh's web debugger forward, on the managed host (private).

A port of 127.0.0.1 proves nothing by itself: another tunnel deployed earlier, or any local user, may hold it, and then
the tunnel's own ssh cannot listen there (``ExitOnForwardFailure``) while the port answers with somebody else's URLs.
So an answer is trusted only when the listener on ``127.0.0.1:<port>`` is a socket of the unit's main process (its
ssh), before and after the read: ``/proc/net/tcp{,6}`` give the listening sockets' inodes, ``/proc/<pid>/fd`` the
sockets a process holds (``socket:[inode]``). The GET itself is bounded: a deadline over connect, head and body (every
``recv``), status 200 only, at most ANSWER_LIMIT bytes, no proxy, no redirect. Stdlib only.
"""

from __future__ import annotations

import http.client
import io
import os
import re
import socket
import struct
import time
import typing as t

from ansible_collections.pinggy.tunnels.plugins.module_utils._debugger_urls import ANSWER_LIMIT, debugger_urls

LOOPBACK = "127.0.0.1"
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp's st column
_SOCKET_LINK = re.compile(r"socket:\[([0-9]+)\]")

# (pid, None) or (None, why there is no main process).
MainPid = t.Tuple[t.Optional[int], t.Optional[str]]


class Reading(t.NamedTuple):
    """What a try gave: the URLs and the ssh they came from, or why none came."""

    urls: t.List[str]
    problem: t.Optional[str]
    pid: t.Optional[int] = None


def _table_address(family: int, address: str) -> str:
    """An address as /proc/net/tcp{,6} prints it: each 32-bit word of the packed address in host byte order, in hex."""
    packed = socket.inet_pton(family, address)
    return "".join(f"{word:08X}" for word in struct.unpack(f"={len(packed) // 4}I", packed))


# The listeners a connection to 127.0.0.1 may reach: one bound there, or a wildcard one (the IPv6 wildcard takes IPv4
# connections unless it is v6-only). Every one of them on the port must be the tunnel's ssh's.
_REACHING = {
    "tcp": (_table_address(socket.AF_INET, LOOPBACK), _table_address(socket.AF_INET, "0.0.0.0")),
    "tcp6": (_table_address(socket.AF_INET6, "::"), _table_address(socket.AF_INET6, "::ffff:" + LOOPBACK)),
}


def listening_inodes(port: int, proc_root: str = "/proc") -> frozenset[int]:
    """The inodes of the sockets listening where a connection to 127.0.0.1:port would go."""
    inodes: set[int] = set()
    for table, addresses in _REACHING.items():
        wanted = {f"{address}:{port:04X}" for address in addresses}
        try:
            with open(os.path.join(proc_root, "net", table), encoding="ascii") as lines:
                rows = [line.split() for line in lines]
        except FileNotFoundError:  # a kernel without IPv6
            continue
        inodes.update(int(row[9]) for row in rows[1:] if len(row) > 9 and row[1] in wanted and row[3] == LISTEN)
    return frozenset(inodes)


def socket_inodes(pid: int, proc_root: str = "/proc") -> frozenset[int]:
    """The inodes of the sockets process ``pid`` holds. Raises OSError: PermissionError when not allowed to look
    (another user's process, not root), FileNotFoundError when the process is gone."""
    fd_dir = os.path.join(proc_root, str(pid), "fd")
    inodes: set[int] = set()
    for fd in os.listdir(fd_dir):
        try:
            match = _SOCKET_LINK.fullmatch(os.readlink(os.path.join(fd_dir, fd)))
        except FileNotFoundError:  # closed since the listing
            continue
        if match:
            inodes.add(int(match.group(1)))
    return frozenset(inodes)


def holder_pids(inodes: frozenset[int], proc_root: str = "/proc") -> list[int]:
    """The processes holding any of these sockets, as far as this process may see (for the message only)."""
    holders = []
    for entry in sorted((name for name in os.listdir(proc_root) if name.isdigit()), key=int):
        try:
            if socket_inodes(int(entry), proc_root) & inodes:
                holders.append(int(entry))
        except OSError:  # gone, or not ours to look at
            continue
    return holders


def listener_proof(unit: str, port: int, pid: int, proc_root: str = "/proc") -> tuple[frozenset[int], t.Optional[str]]:
    """(the listening sockets, None) when every listener on 127.0.0.1:port is a socket of ``pid``; else why not."""
    listeners = listening_inodes(port, proc_root)
    if not listeners:
        return listeners, f"nothing listens on {LOOPBACK}:{port}"
    try:
        own = socket_inodes(pid, proc_root)
    except PermissionError:
        return listeners, f"cannot read the sockets of {unit}'s ssh (pid {pid}); run as root"
    except OSError:
        return listeners, f"{unit}'s ssh (pid {pid}) is gone"
    if listeners <= own:
        return listeners, None
    return listeners, f"{held_by_another(port, listeners - own, pid, proc_root)}, not {unit}'s ssh (pid {pid})"


def held_by_another(port: int, inodes: frozenset[int], pid: t.Optional[int], proc_root: str = "/proc") -> str:
    """'port P on 127.0.0.1 is held by another process (pid N)', naming the holders of these sockets but ``pid``
    where this process may see them."""
    others = [holder for holder in holder_pids(inodes, proc_root) if holder != pid]
    held_by = f"another process (pid {', '.join(map(str, others))})" if others else "another process"
    return f"port {port} on {LOOPBACK} is held by {held_by}"


class _DeadlineSocket(io.RawIOBase):
    """A connected socket read through http.client with one deadline for the whole answer: every ``recv`` waits at
    most until the deadline, so a server sending a byte at a time cannot stretch the read past it."""

    def __init__(self, sock: socket.socket, deadline: float, clock: t.Callable[[], float]) -> None:
        super().__init__()
        self._sock, self._deadline, self._clock = sock, deadline, clock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: t.Any) -> int:
        remaining = self._deadline - self._clock()
        if remaining <= 0:
            raise socket.timeout("deadline")
        self._sock.settimeout(remaining)
        return self._sock.recv_into(buffer)

    def makefile(self, _mode: str) -> io.BufferedReader:
        """What http.client.HTTPResponse reads the answer from."""
        return io.BufferedReader(self)


def get_urls_answer(port: int, deadline: float, clock: t.Callable[[], float] = time.monotonic) -> tuple[bytes, t.Optional[str]]:
    """(the body of GET http://127.0.0.1:port/urls, None), or (b"", why not): status 200 only, at most ANSWER_LIMIT
    bytes, within the deadline; nothing from the environment (no proxy), no redirect followed."""
    remaining = deadline - clock()
    if remaining <= 0:
        return b"", "no answer"
    request = f"GET /urls HTTP/1.1\r\nHost: {LOOPBACK}:{port}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
    try:
        with socket.create_connection((LOOPBACK, port), timeout=remaining) as sock:
            sock.sendall(request.encode("ascii"))
            response = http.client.HTTPResponse(t.cast(socket.socket, _DeadlineSocket(sock, deadline, clock)))
            response.begin()
            return _body(response)
    except (OSError, http.client.HTTPException):  # refused, reset, timed out, not HTTP, a chunk cut short
        return b"", "no answer"


def _body(response: http.client.HTTPResponse) -> tuple[bytes, t.Optional[str]]:
    """The body of a 200 answer, whole and at most ANSWER_LIMIT bytes; else why not."""
    if response.status != 200:
        return b"", f"HTTP {response.status}"
    body = response.read(ANSWER_LIMIT + 1)
    if len(body) > ANSWER_LIMIT:
        return b"", f"answer over {ANSWER_LIMIT // 1024} KiB"
    if response.length:  # shorter than its Content-Length: the connection closed mid-answer
        return b"", "no answer"
    return body, None


def read_once(unit: str, port: int, deadline: float, main_pid: t.Callable[[], MainPid], proc_root: str = "/proc",
              clock: t.Callable[[], float] = time.monotonic) -> Reading:
    """One try: the unit's ssh holds the listener, it answers, it still holds the same listener; then the URLs."""
    pid, problem = main_pid()
    if pid is None:
        # Between two restarts of an ssh that cannot listen (ExitOnForwardFailure), the cause is whoever holds the port.
        listeners = listening_inodes(port, proc_root)
        return Reading([], f"{problem}; {held_by_another(port, listeners, None, proc_root)}" if listeners else problem)
    before, problem = listener_proof(unit, port, pid, proc_root)
    if problem is not None:
        return Reading([], problem, pid)
    body, problem = get_urls_answer(port, deadline, clock)
    if problem is not None:
        return Reading([], problem, pid)
    after, problem = listener_proof(unit, port, pid, proc_root)
    if problem is not None or after != before:
        # The answer may have come from whoever holds the port now: not trusted.
        return Reading([], problem or f"the listener on {LOOPBACK}:{port} changed during the read", pid)
    urls = debugger_urls(body)
    return Reading(urls, None if urls else "no public URL in the answer", pid)


def read_urls(unit: str, port: int, timeout: float, delay: float, main_pid: t.Callable[[], MainPid],
              proc_root: str = "/proc", clock: t.Callable[[], float] = time.monotonic,
              sleep: t.Callable[[float], None] = time.sleep) -> Reading:
    """The tunnel's URLs, or why the last try failed once ``timeout`` seconds have passed; a try every
    ``delay`` seconds meanwhile (ssh may still be connecting). ``timeout`` is a deadline: no read outlives it."""
    deadline = clock() + timeout
    while True:
        reading = read_once(unit, port, deadline, main_pid, proc_root, clock)
        # The last try starts at least one delay before the deadline, so it has time to answer.
        if reading.urls or clock() + delay >= deadline:
            return reading
        sleep(delay)
