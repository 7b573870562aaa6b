"""The emulator's SSH front: ``ssh -p PORT -R0:localhost:N tcp@127.0.0.1`` opens a live tunnel, as ``a.pinggy.io`` does.

Every remote forward gets a real listener on 127.0.0.1, whose connections reach the client's local port through
the SSH connection, and an active session in the shared ``EmulatorState``. Closing the listener (the client
disconnects, cancels the forward or stops answering keepalives) moves the session to history.
asyncssh is optional for the emulator: only this module imports it.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import threading
from dataclasses import dataclass
from typing import Awaitable, Optional

try:
    import asyncssh
except ImportError:
    raise ImportError("the SSH front needs asyncssh: pip install asyncssh") from None

from .data import PORT_MODES, WORDS, Record
from .server import ApiError, EmulatorState

LOOPBACK = "127.0.0.1"
TUNNEL_DOMAIN = "a.pinggy.test"  # a reserved TLD: emulated tunnel names can never reach a real host
SSH_MODES = ("http", "tcp", "tls", "tlstcp")  # udp needs the Pinggy app: OpenSSH forwards TCP only
TOKEN = re.compile(r"[A-Za-z0-9._-]+")
USAGE = "log in as tcp@, http@, tls@ or tlstcp@, optionally with a token: TOKEN+tcp@ (udp needs the Pinggy app)"
# Ctrl+C and Ctrl+D typed on the client's terminal end the tunnel, as on Pinggy (the pty sends them as bytes).
HANG_UP = ("\x03", "\x04")
HANG_UP_GRACE_SECONDS = 1.0


@dataclass(frozen=True)
class TunnelUser:
    """What the SSH user name asks for: ``tcp``, ``tok1+tcp`` (or ``tcp+tok1``)."""

    mode: str
    token: Optional[str]

    @classmethod
    def parse(cls, username: str) -> TunnelUser:
        # No default mode: OpenSSH sends the local login name when none is given, and a Pinggy token
        # cannot be told apart from it, so a bare name is refused instead of becoming an http tunnel's token.
        parts = username.split("+")
        modes = [part for part in parts if part in SSH_MODES]
        tokens = [part for part in parts if part not in SSH_MODES]
        if len(modes) != 1 or len(tokens) > 1 or not all(TOKEN.fullmatch(token) for token in tokens):
            raise asyncssh.IllegalUserName(f"unknown user {username!r}: {USAGE}")
        return cls(modes[0], tokens[0] if tokens else None)


def tunnel_addresses(session: Record) -> list[str]:
    """The lines a client's shell shows for a tunnel: Pinggy-style URLs, then the loopback address that works."""
    mode, subdomain, port = session["mode"], session["subdomain"], session["port"]
    if mode == "http":
        urls = [f"http://{subdomain}", f"https://{subdomain}"]
    else:
        urls = [f"{mode}://{subdomain}:{port}" if mode in PORT_MODES else f"{mode}://{subdomain}"]
    return urls + [f"{LOOPBACK}:{port}"]


class _Tunnel(asyncssh.SSHListener):
    """One remote forward: asyncssh closes it on disconnect or cancel-tcpip-forward, which ends its session."""

    def __init__(self, listener: asyncssh.SSHListener, state: EmulatorState, session: Record, client_port: int) -> None:
        super().__init__()
        self._listener = listener
        self._state = state
        self.session = session
        self._client_port = client_port
        self._open = True

    def get_port(self) -> int:
        return self._listener.get_port()

    def close(self) -> None:
        # asyncssh may close it twice: it is registered under the client's and the loopback address.
        if not self._open:
            return
        self._open = False
        self._listener.close()
        try:
            self._state.end_session(self.session["id"], client_port=self._client_port)
        except ApiError:
            pass  # the control API already ended or reset it

    async def wait_closed(self) -> None:
        await self._listener.wait_closed()


class _Client(asyncssh.SSHServer):
    """One SSH connection: its user, its tunnels and the shells that print their addresses."""

    def __init__(self, front: SSHFront) -> None:
        self._front = front
        self._conn: Optional[asyncssh.SSHServerConnection] = None
        self._user: Optional[TunnelUser] = None
        self._tunnels: list[_Tunnel] = []
        self._shells: list[asyncssh.SSHServerProcess] = []
        self._lost = False

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._front.connections.add(conn)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._lost = True
        if self._conn is not None:
            self._front.connections.discard(self._conn)
        for tunnel in self._tunnels:
            tunnel.close()

    def begin_auth(self, username: str) -> bool:
        # An IllegalUserName raised here reaches the client as a disconnect with the message.
        self._user = TunnelUser.parse(username)
        return False  # no authentication, like Pinggy's free tier

    def server_requested(self, listen_host: str, listen_port: int) -> Awaitable[asyncssh.SSHListener]:
        return self._open_tunnel(listen_host, listen_port)

    async def _open_tunnel(self, listen_host: str, listen_port: int) -> asyncssh.SSHListener:
        assert self._conn is not None and self._user is not None
        # Always a free loopback port, whatever port the client asked for (Pinggy picks its ports too);
        # connections are forwarded under the host and port the client requested, which is how it matches them.
        listener = await self._conn.forward_local_port(LOOPBACK, 0, listen_host, listen_port)
        if self._lost:  # the client left while the listener opened: asyncssh's cleanup has already run
            listener.close()
            raise OSError("the client disconnected")  # asyncssh answers a failure (to nobody)
        token = self._user.token
        session = self._front.state.add_sessions({
            "subdomain": f"{random.choice(WORDS)}-{secrets.token_hex(3)}.{TUNNEL_DOMAIN}",
            "mode": self._user.mode,
            "port": listener.get_port(),
            # The emulator has no dashboard mapping token values to names: the token is both.
            "token": token,
            "tokenName": token,
        })[0]
        tunnel = _Tunnel(listener, self._front.state, session, self._conn.get_extra_info("peername")[1])
        self._tunnels.append(tunnel)
        for shell in self._shells:
            _print_addresses(shell, session)
        return tunnel

    async def run_shell(self, process: asyncssh.SSHServerProcess) -> None:
        """Show the tunnels' addresses, now and as forwards arrive; keep the session until the client leaves."""
        self._shells.append(process)
        for tunnel in self._tunnels:
            _print_addresses(process, tunnel.session)
        try:
            while data := await process.stdin.read(1024):
                if process.term_type and any(key in data for key in HANG_UP):
                    await _hang_up(process)
                    return
            await process.wait_closed()  # end of input: the tunnel stays until the client disconnects
        except (asyncssh.Error, OSError):
            pass  # the connection went away while reading
        finally:
            self._shells.remove(process)


async def _hang_up(process: asyncssh.SSHServerProcess) -> None:
    process.exit(0)  # OpenSSH leaves by itself after the exit status, with exit code 0
    conn = process.get_extra_info("connection")
    try:
        await asyncio.wait_for(conn.wait_closed(), HANG_UP_GRACE_SECONDS)
    except asyncio.TimeoutError:
        conn.close()  # a client that stays anyway still loses its tunnels


def _print_addresses(process: asyncssh.SSHServerProcess, session: Record) -> None:
    newline = "\r\n" if process.term_type else "\n"  # a pty without line editing needs the carriage return
    process.stdout.write("".join(f"{line}{newline}" for line in tunnel_addresses(session)))


async def _run_shell(process: asyncssh.SSHServerProcess) -> None:
    await process.get_extra_info("connection").get_owner().run_shell(process)


class SSHFront:
    """An SSH server on 127.0.0.1 with its own event loop thread; ``start()`` returns the port it listens on."""

    def __init__(self, state: EmulatorState, *, port: int = 0, keepalive_interval: float = 1.0, keepalive_count_max: int = 3) -> None:
        self.state = state
        # Touched only on the loop thread; stop() closes them so their sessions end.
        self.connections: set[asyncssh.SSHServerConnection] = set()
        self._requested_port = port
        self._keepalive = (keepalive_interval, keepalive_count_max)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._acceptor: Optional[asyncssh.SSHAcceptor] = None

    def start(self) -> int:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="pinggy-ssh-front", daemon=True)
        self._thread.start()
        try:
            self._acceptor = asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result()
        except BaseException:
            self._stop_loop()
            raise
        return self.port

    @property
    def port(self) -> int:
        if self._acceptor is None:
            raise RuntimeError("the SSH front is not started")
        return self._acceptor.get_port()

    async def _listen(self) -> asyncssh.SSHAcceptor:
        interval, count_max = self._keepalive
        return await asyncssh.listen(
            LOOPBACK, self._requested_port, server_factory=lambda: _Client(self),
            server_host_keys=[asyncssh.generate_private_key("ssh-ed25519")],  # ephemeral: clients skip host key checks
            process_factory=_run_shell, line_editor=False, agent_forwarding=False, x11_forwarding=False,
            keepalive_interval=interval, keepalive_count_max=count_max)

    def stop(self) -> None:
        if self._loop is None:
            return
        if self._acceptor is not None:
            asyncio.run_coroutine_threadsafe(self._close(), self._loop).result()
            self._acceptor = None
        self._stop_loop()

    async def _close(self) -> None:
        assert self._acceptor is not None
        self._acceptor.close()
        connections = list(self.connections)
        for conn in connections:
            conn.close()
        await asyncio.gather(*(conn.wait_closed() for conn in connections))
        # Only now: from Python 3.12 on, wait_closed() also waits for every accepted connection to end.
        await self._acceptor.wait_closed()

    def _stop_loop(self) -> None:
        assert self._loop is not None and self._thread is not None
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()
        self._loop = self._thread = None
