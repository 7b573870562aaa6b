"""Benchmark: throughput of one emulated tunnel vs a direct loopback connection to the same sink.

The tunnel is opened as a Pinggy user would, with the OpenSSH client (``ssh -N -R0:localhost:SINK tcp@127.0.0.1``)
when it is installed, else with the asyncssh client; its port comes from the API's active sessions. Each way sends
PAYLOAD_MIB to a sink that acknowledges the byte count; prints the best of RUNS rates and their ratio (informational,
no target). Run from a collection tree (tests/utils/run.sh bench).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import socketserver
import subprocess
import sys
import threading
import time
from typing import Iterator

import requests

from ansible_collections.pinggy.tunnels.tests.benchmarks.report import Report
from ansible_collections.pinggy.tunnels.tests.emulator import Emulator

PAYLOAD_MIB = 64
CHUNK = b"\x5a" * (1 << 20)
RUNS = 3
API_KEY = "bench-key"


class _Sink(socketserver.BaseRequestHandler):
    """Reads to EOF, then answers with the number of bytes it got: the sender's clock stops on that answer."""

    def handle(self) -> None:
        received = 0
        while data := self.request.recv(1 << 20):
            received += len(data)
        self.request.sendall(str(received).encode())


def timed_send(port: int) -> float:
    """Seconds to deliver PAYLOAD_MIB to the sink through 127.0.0.1:port, acknowledged."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", port)) as connection:
        for _chunk in range(PAYLOAD_MIB):
            connection.sendall(CHUNK)
        connection.shutdown(socket.SHUT_WR)
        acknowledged = int(connection.recv(64) or 0)
    elapsed = time.perf_counter() - started
    if acknowledged != PAYLOAD_MIB * len(CHUNK):
        raise RuntimeError(f"the sink got {acknowledged} bytes instead of {PAYLOAD_MIB} MiB")
    return elapsed


def best_rate(port: int) -> float:
    """MiB/s, best of RUNS."""
    return PAYLOAD_MIB / min(timed_send(port) for _run in range(RUNS))


@contextlib.contextmanager
def openssh_tunnel(ssh: str, ssh_port: int, sink_port: int) -> Iterator[str]:
    # -F /dev/null: the user's ~/.ssh/config (ciphers, ProxyJump...) must not change what is measured.
    command = [ssh, "-F", "/dev/null", "-p", str(ssh_port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
               "-o", "LogLevel=ERROR", "-o", "BatchMode=yes", "-o", "ExitOnForwardFailure=yes", "-N", "-R", f"0:localhost:{sink_port}", "tcp@127.0.0.1"]
    version = subprocess.run([ssh, "-V"], capture_output=True, text=True, check=False).stderr.split(",")[0]
    with subprocess.Popen(command, stdin=subprocess.DEVNULL) as process:
        try:
            yield f"{version} client"
        finally:
            process.terminate()


@contextlib.contextmanager
def asyncssh_tunnel(ssh_port: int, sink_port: int) -> Iterator[str]:
    import asyncssh  # the emulator's SSH front needs it anyway

    async def connect() -> asyncssh.SSHClientConnection:
        conn = await asyncssh.connect("127.0.0.1", ssh_port, username="tcp", known_hosts=None, client_keys=None, agent_path=None, config=None)
        await conn.forward_remote_port("localhost", 0, "127.0.0.1", sink_port)
        return conn

    async def close(conn: asyncssh.SSHClientConnection) -> None:
        conn.close()
        await conn.wait_closed()

    # The client gets its own event loop thread: the measuring thread blocks on sockets.
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="bench-asyncssh-client", daemon=True)
    thread.start()
    try:
        conn = asyncio.run_coroutine_threadsafe(connect(), loop).result(30)
        try:
            yield f"asyncssh {asyncssh.__version__} client (no ssh binary)"
        finally:
            asyncio.run_coroutine_threadsafe(close(conn), loop).result(30)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()


def tunnel_port(emulator: Emulator) -> int:
    """The port of the one active session, as a client of the API sees it once the tunnel is up."""
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        active = requests.get(f"{emulator.url}/session/active", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10).json()
        if active:
            return active[0]["port"]
        time.sleep(0.05)
    raise RuntimeError("the tunnel did not appear in the API within 15 s")


def main() -> int:
    ssh = shutil.which("ssh")
    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Sink) as sink, Emulator(api_key=API_KEY, ssh_port=0) as emulator:
        threading.Thread(target=sink.serve_forever, name="bench-sink", daemon=True).start()
        sink_port = sink.server_address[1]
        direct = best_rate(sink_port)
        opener = openssh_tunnel(ssh, emulator.ssh_port, sink_port) if ssh else asyncssh_tunnel(emulator.ssh_port, sink_port)
        with opener as client:
            tunnelled = best_rate(tunnel_port(emulator))
        sink.shutdown()
    report = Report(f"emulated tunnel throughput: {PAYLOAD_MIB} MiB to a loopback sink, best of {RUNS}, {client}")
    report.figure("direct loopback", direct, "MiB/s")
    report.figure("through the tunnel", tunnelled, "MiB/s")
    report.ratio("tunnel / direct", tunnelled / direct)
    return report.finish()


if __name__ == "__main__":
    sys.exit(main())
