"""The emulator's SSH front: ``ssh -p PORT -R0:localhost:N tcp@127.0.0.1`` opens a live tunnel, as ``a.pinggy.io`` does.

Every remote forward gets a real listener on 127.0.0.1, whose connections reach the client's local port through
the SSH connection, and an active session in the shared ``EmulatorState``. Closing the listener (the client
disconnects, cancels the forward or stops answering keepalives) moves the session to history.
The user name and the remote command follow Pinggy's documented conventions (pinggy.io/docs/usages): keywords and a
token joined with ``+``, options such as ``b:user:pass`` or ``w:203.0.113.0/24`` in the command. Options are recorded
on the session and, where the emulator can, enforced (``w:`` allow-list; ``b:``, ``k:`` and headers on http tunnels).
A client's ``-L<port>:localhost:4300`` reaches Pinggy's web debugger API for its own tunnels (``GET /urls``, the URLs the
active-sessions API reports for them; ``GET /ipwhitelist``); every other ``-L`` destination is refused.
asyncssh is optional for the emulator: only this module imports it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import json
import pwd
import random
import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any, Awaitable, Optional

try:
    import asyncssh
except ImportError:
    raise ImportError("the SSH front needs asyncssh: pip install asyncssh") from None

from .data import PORT_MODES, WORDS, Record
from .server import ApiError, EmulatorState

LOOPBACK = "127.0.0.1"
TUNNEL_DOMAIN = "a.pinggy.test"  # a reserved TLD: emulated tunnel names can never reach a real host
SSH_MODES = ("http", "tcp", "tls", "tlstcp")  # udp needs the Pinggy app: OpenSSH forwards TCP only
FLAG_KEYWORDS = ("qr", "aqr", "auth", "force")
TOKEN = re.compile(r"[A-Za-z0-9._-]+")
USAGE = ("log in as tcp@, http@, tls@ or tlstcp@, or TOKEN@ (an http tunnel); keywords (tcp, tls, tlstcp, http, qr, aqr, "
         "auth, force) and one token join with +, in any order: TOKEN+tcp+force@ (udp needs the Pinggy app)")
OPTION_FORMS = ("a:Header:Value, u:Header:Value, r:Header, b:user:password, k:key, w:IP-or-CIDR[,...], x:https, "
                "x:httpsonly, x:noreverseproxy, x:xff[:Header], x:fullurl, x:origurl, x:passpreflight, x:localServerTls[:SNI]")
X_FLAGS = ("https", "httpsonly", "noreverseproxy", "xff", "fullurl", "origurl", "passpreflight", "localservertls")
HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
# Ctrl+C and Ctrl+D typed on the client's terminal end the tunnel, as on Pinggy (the pty sends them as bytes).
HANG_UP = ("\x03", "\x04")
HANG_UP_GRACE_SECONDS = 1.0
HTTP_HEAD_LIMIT = 65536
HTTP_HEAD_SECONDS = 10.0
# Pinggy's web debugger, on the server's side of the connection: ssh -L4300:localhost:4300 reaches it.
DEBUGGER_PORT = 4300
DEBUGGER_HOSTS = ("localhost", "127.0.0.1", "::1")
UNAUTHORIZED = (b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"pinggy\"\r\nContent-Type: text/plain\r\n"
                b"Content-Length: 13\r\nConnection: close\r\n\r\nUnauthorized\n")


def _is_local_account(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@dataclass(frozen=True)
class TunnelUser:
    """What the SSH user name asks for: ``tcp``, ``tok1+tcp`` (or ``TCP+tok1``), ``tok1`` (http), ``tok1+qr+force``."""

    mode: str
    token: Optional[str]
    keywords: tuple[str, ...] = ()

    @classmethod
    def parse(cls, username: str) -> TunnelUser:
        parts = username.split("+")
        lowered = [part.lower() for part in parts]
        if "udp" in lowered:
            raise asyncssh.IllegalUserName(f"unknown user {username!r}: udp tunnels need the Pinggy app, not ssh: {USAGE}")
        modes = [part for part in lowered if part in SSH_MODES]
        keywords = tuple(sorted({part for part in lowered if part in FLAG_KEYWORDS}))
        tokens = [part for part, low in zip(parts, lowered) if low not in SSH_MODES and low not in FLAG_KEYWORDS]
        if len(modes) > 1 or len(tokens) > 1 or not all(TOKEN.fullmatch(token) for token in tokens):
            raise asyncssh.IllegalUserName(f"unknown user {username!r}: {USAGE}")
        # OpenSSH sends the local login name when no user is given, and it cannot be told apart from a token: a bare
        # name that is an account of this host (the front only listens on loopback) is refused, not made a token.
        if len(parts) == 1 and tokens and _is_local_account(tokens[0]):
            raise asyncssh.IllegalUserName(
                f"unknown user {username!r}: that is a local login name (what ssh sends when no user is given), "
                f"not a token: {USAGE}")
        if not modes and not tokens and not keywords:
            raise asyncssh.IllegalUserName(f"unknown user {username!r}: {USAGE}")
        return cls(modes[0] if modes else "http", tokens[0] if tokens else None, keywords)


class OptionError(ValueError):
    """A remote command word that is not one of Pinggy's options; the message never quotes a password or key."""


def shown_option(word: str) -> str:
    """An option as it may be shown: ``b:user:***``, ``k:***``."""
    if word.startswith("b:"):
        return f"b:{word[2:].split(':', 1)[0]}:***"
    if word.startswith("k:"):
        return "k:***"
    return word


@dataclass
class TunnelOptions:
    """The remote command's options (pinggy.io/docs/usages: ``command[:option1[:option2...]]``, space separated)."""

    words: list[str] = field(default_factory=list)
    basic_auth: dict[str, str] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    allow: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    headers: list[tuple[str, str, Optional[str]]] = field(default_factory=list)  # (a|u|r, name, value)
    flags: list[str] = field(default_factory=list)  # x: options, lower-cased, with their argument

    @classmethod
    def parse(cls, command: Optional[str]) -> TunnelOptions:
        options = cls()
        for word in (command or "").split():
            options._add(word)
        return options

    def _add(self, word: str) -> None:
        kind, sep, value = word.partition(":")
        if not sep or kind not in ("a", "u", "r", "b", "k", "w", "x"):
            raise OptionError(f"unknown option {shown_option(word)!r}: Pinggy options are {OPTION_FORMS}")
        if kind in ("a", "u"):
            name, sep, header_value = value.partition(":")
            if not sep or not HEADER_NAME.fullmatch(name) or not header_value:
                raise OptionError(f"invalid option {word!r}: expected {kind}:Header:Value")
            self.headers.append((kind, name, header_value))
        elif kind == "r":
            if not HEADER_NAME.fullmatch(value):
                raise OptionError(f"invalid option {word!r}: expected r:Header")
            self.headers.append(("r", value, None))
        elif kind == "b":
            user, sep, password = value.partition(":")
            if not sep or not user or not password:
                raise OptionError(f"invalid option {shown_option(word)!r}: expected b:user:password")
            self.basic_auth[user] = password
        elif kind == "k":
            if not value:
                raise OptionError("invalid option 'k:': expected k:key")
            self.keys.append(value)
        elif kind == "w":
            try:
                self.allow += [ipaddress.ip_network(address, strict=False) for address in value.split(",")]
            except ValueError:
                raise OptionError(f"invalid option {word!r}: expected w:IP-or-CIDR[,IP-or-CIDR...]") from None
        else:
            flag = value.split(":", 1)[0].lower()
            if flag not in X_FLAGS:
                raise OptionError(f"unknown option {word!r}: Pinggy options are {OPTION_FORMS}")
            self.flags.append(value.lower() if flag != "localservertls" else value)
        self.words.append(word)

    def shown(self) -> list[str]:
        return [shown_option(word) for word in self.words]

    def allows(self, address: str) -> bool:
        if not self.allow:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip.version == network.version and ip in network for network in self.allow)

    @property
    def inspects_http(self) -> bool:
        return bool(self.basic_auth or self.keys or self.headers)


def tunnel_urls(session: Record) -> list[str]:
    """A tunnel's Pinggy-style public URLs, from its session as the active-sessions API serves it (whatever the control
    API put there: hostile values pass through, as the real API's would): what the shell shows and ``/urls`` answers."""
    mode, subdomain, port = session.get("mode"), session.get("subdomain"), session.get("port")
    if mode == "http":
        return [f"http://{subdomain}", f"https://{subdomain}"]
    return [f"{mode}://{subdomain}:{port}" if mode in PORT_MODES else f"{mode}://{subdomain}"]


def tunnel_addresses(session: Record) -> list[str]:
    """The lines a client's shell shows for a tunnel: Pinggy-style URLs, then the loopback address that works."""
    return tunnel_urls(session) + [f"{LOOPBACK}:{session['port']}"]


class _Tunnel(asyncssh.SSHListener):
    """One remote forward and its loopback listener; asyncssh closes it on disconnect or cancel-tcpip-forward,
    which ends its session. Each accepted connection is relayed over a forwarded-tcpip channel, after the
    tunnel's options allow it (``w:`` for every mode; ``b:``, ``k:`` and header options on http tunnels)."""

    def __init__(self, client: _Client, listen_host: str, listen_port: int) -> None:
        super().__init__()
        self._client = client
        self._listen_host = listen_host
        self._listen_port = listen_port
        self._server: Optional[asyncio.AbstractServer] = None
        self._relays: set[asyncio.Task[None]] = set()
        self.session: Record = {}
        self._open = True

    async def listen(self) -> None:
        # Always a free loopback port, whatever port the client asked for (Pinggy picks its ports too);
        # connections are forwarded under the host and port the client requested, which is how it matches them.
        self._server = await asyncio.start_server(self._accept, LOOPBACK, 0)

    def get_port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    def close(self) -> None:
        # asyncssh may close it twice: it is registered under the client's and the loopback address.
        if not self._open:
            return
        self._open = False
        if self._server is not None:
            self._server.close()
        for relay in self._relays:
            relay.cancel()
        if self.session:
            self._client.end_session(self.session)

    async def wait_closed(self) -> None:
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        try:
            await self._relay(reader, writer)
        except (asyncio.CancelledError, asyncio.TimeoutError, asyncssh.Error, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._relays.discard(task)
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer_host, peer_port = writer.get_extra_info("peername")[:2]
        options = self._client.options
        if not options.allows(peer_host):
            return  # Pinggy drops visitors outside the allow-list without an answer
        head = b""
        if self._client.mode == "http" and options.inspects_http:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HTTP_HEAD_SECONDS)
            if len(head) > HTTP_HEAD_LIMIT:
                return
            head = _checked_head(head, options)
            if head is None:
                writer.write(UNAUTHORIZED)
                await writer.drain()
                return
        # The client knows a forward it asked on port 0 by the port allocated to it.
        connected_port = self._listen_port or self.get_port()
        channel_reader, channel_writer = await self._client.open_channel(self._listen_host, connected_port, peer_host, peer_port)
        try:
            if head:
                channel_writer.write(head)
            await asyncio.gather(_pump(reader, channel_writer), _pump(channel_reader, writer))
        finally:
            channel_writer.close()


async def _pump(reader: asyncio.StreamReader | asyncssh.SSHReader, writer: asyncio.StreamWriter | asyncssh.SSHWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
    except (asyncssh.Error, OSError):
        pass


def _checked_head(head: bytes, options: TunnelOptions) -> Optional[bytes]:
    """The request head as the client receives it, or None if basic or key authentication refuses it.

    Header options apply, basic-auth credentials are never passed on (as on Pinggy), and ``Connection: close``
    makes each connection carry one request, so every request is checked."""
    request_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
    headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines if ":" in line]
    authorization = next((value for name, value in headers if name.lower() == "authorization"), "")
    if options.basic_auth or options.keys:
        scheme, _sep, credentials = authorization.partition(" ")
        allowed = False
        if scheme.lower() == "basic" and options.basic_auth:
            try:
                user, _sep, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                user, password = "", ""
            allowed = user in options.basic_auth and secrets.compare_digest(options.basic_auth[user], password)
        elif scheme.lower() == "bearer" and options.keys:
            allowed = any(secrets.compare_digest(key, credentials.strip()) for key in options.keys)
        if not allowed:
            return None
        if scheme.lower() == "basic":
            headers = [(name, value) for name, value in headers if name.lower() != "authorization"]
    for action, name, value in options.headers:
        if action in ("r", "u"):
            headers = [(old, old_value) for old, old_value in headers if old.lower() != name.lower()]
        if action in ("a", "u"):
            headers.append((name, value or ""))
    headers = [(name, value) for name, value in headers if name.lower() != "connection"] + [("Connection", "close")]
    return "\r\n".join([request_line] + [f"{name}: {value}" for name, value in headers] + ["", ""]).encode("latin-1")


async def _read_head(reader: asyncssh.SSHReader) -> Optional[bytes]:
    """An HTTP request head, or None past HTTP_HEAD_LIMIT or at the end of input (the caller bounds the time)."""
    head = b""
    while b"\r\n\r\n" not in head:
        if len(head) > HTTP_HEAD_LIMIT:
            return None
        chunk = await reader.read(4096)
        if not chunk:
            return None
        head += chunk
    return head


def _http_answer(status: str, payload: Any) -> bytes:
    body = json.dumps(payload).encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n").encode() + body


class _Debugger:
    """Pinggy's web debugger API for one SSH connection, reached by the client's ``-L<port>:localhost:4300``
    (pinggy.io/docs/api/web_debugger_api): ``GET /urls`` answers ``{"urls": [...]}``, the URLs of this connection's
    tunnels as the active-sessions API reports them now; ``GET /ipwhitelist`` the ``w:`` allow-list; anything else 404."""

    def __init__(self, client: _Client) -> None:
        self._client = client

    async def serve(self, reader: asyncssh.SSHReader, writer: asyncssh.SSHWriter) -> None:
        try:
            head = await asyncio.wait_for(_read_head(reader), HTTP_HEAD_SECONDS)
            if head is not None:
                writer.write(self._answer(head.split(b"\r\n", 1)[0].decode("latin-1")))
                await writer.drain()
        except (asyncio.TimeoutError, asyncssh.Error, OSError):
            pass
        finally:
            writer.close()

    def _answer(self, request_line: str) -> bytes:
        method, _sep, rest = request_line.partition(" ")
        path = rest.partition(" ")[0].partition("?")[0]
        if method == "GET" and path == "/urls":
            return _http_answer("200 OK", {"urls": self._client.public_urls()})
        if method == "GET" and path == "/ipwhitelist":
            return _http_answer("200 OK", [str(network) for network in self._client.options.allow])
        return _http_answer("404 Not Found", {"error": "not found"})


class _Client(asyncssh.SSHServer):
    """One SSH connection: its user, its options, its tunnels and the sessions that print their addresses."""

    def __init__(self, front: SSHFront) -> None:
        self._front = front
        self._conn: Optional[asyncssh.SSHServerConnection] = None
        self._user: Optional[TunnelUser] = None
        self.options = TunnelOptions()
        self._tunnels: list[_Tunnel] = []
        self._shells: list[asyncssh.SSHServerProcess] = []
        self._lost = False
        self._client_port = 0

    @property
    def mode(self) -> str:
        assert self._user is not None
        return self._user.mode

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        self._conn = conn
        self._client_port = conn.get_extra_info("peername")[1]
        self._front.connections.add(conn)

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self._lost = True
        if self._conn is not None:
            self._front.connections.discard(self._conn)
        for tunnel in self._tunnels:
            tunnel.close()

    @property
    def token(self) -> Optional[str]:
        return self._user.token if self._user is not None and not self._lost else None

    def begin_auth(self, username: str) -> bool:
        # An IllegalUserName (or PermissionDenied) raised here reaches the client as a disconnect with the message.
        self._user = TunnelUser.parse(username)
        token = self._user.token
        holders = [conn for conn in self._front.connections if conn is not self._conn and token and conn.get_owner().token == token]
        if holders and "force" not in self._user.keywords:
            raise asyncssh.PermissionDenied(f"Login is not allowed: A tunnel with the same token ({token}) is already active. "
                                            "Log in with the force keyword (TOKEN+force@) to replace it")
        for conn in holders:  # force: the new connection replaces the old ones, whose tunnels end
            conn.close()
        return False  # no authentication, like Pinggy's free tier

    def server_requested(self, listen_host: str, listen_port: int) -> Awaitable[asyncssh.SSHListener]:
        return self._open_tunnel(listen_host, listen_port)

    def connection_requested(self, dest_host: str, dest_port: int, orig_host: str, orig_port: int) -> Any:
        """``-L<port>:localhost:4300`` reaches this connection's web debugger; any other destination is refused."""
        if dest_port == DEBUGGER_PORT and dest_host.lower() in DEBUGGER_HOSTS:
            return _Debugger(self).serve
        return False

    def public_urls(self) -> list[str]:
        """The public URLs of this connection's open tunnels, from their sessions as the API serves them now."""
        sessions = [self._front.state.active_session(tunnel.session["id"]) for tunnel in self._tunnels if tunnel.session]
        return [url for session in sessions if session is not None for url in tunnel_urls(session)]

    async def open_channel(self, host: str, port: int, orig_host: str, orig_port: int) -> tuple[asyncssh.SSHReader, asyncssh.SSHWriter]:
        assert self._conn is not None
        return await self._conn.open_connection(host, port, orig_host, orig_port)

    def end_session(self, session: Record) -> None:
        try:
            self._front.state.end_session(session["id"], client_port=self._client_port)
        except ApiError:
            pass  # the control API already ended or reset it

    def _recorded(self) -> Record:
        """What the session records of the user name and the options (emulator-only fields; secrets as ***)."""
        assert self._user is not None
        return {"remoteOptions": self.options.shown(), "userKeywords": list(self._user.keywords)}

    async def _open_tunnel(self, listen_host: str, listen_port: int) -> asyncssh.SSHListener:
        assert self._conn is not None and self._user is not None
        tunnel = _Tunnel(self, listen_host, listen_port)
        await tunnel.listen()
        if self._lost:  # the client left while the listener opened: asyncssh's cleanup has already run
            tunnel.close()
            raise OSError("the client disconnected")  # asyncssh answers a failure (to nobody)
        token = self._user.token
        tunnel.session = self._front.state.add_sessions({
            "subdomain": f"{random.choice(WORDS)}-{secrets.token_hex(3)}.{TUNNEL_DOMAIN}",
            "mode": self._user.mode,
            "port": tunnel.get_port(),
            # The emulator has no dashboard mapping token values to names: the token is both.
            "token": token,
            "tokenName": token,
            **self._recorded(),
        })[0]
        self._tunnels.append(tunnel)
        for shell in self._shells:
            _print_addresses(shell, tunnel.session)
        return tunnel

    def _apply_options(self, command: str) -> None:
        """Options arrive with the session's command, after the forwards: record them on the open tunnels' sessions."""
        self.options = TunnelOptions.parse(command)
        for tunnel in self._tunnels:
            if tunnel.session:
                tunnel.session = self._front.state.add_sessions({**tunnel.session, **self._recorded()})[0]

    async def run_shell(self, process: asyncssh.SSHServerProcess) -> None:
        """Take the command's options; show the tunnels' addresses, now and as forwards arrive; keep the session
        until the client leaves. Unknown options end the connection with a message, as on Pinggy."""
        if process.command:
            try:
                self._apply_options(process.command)
            except OptionError as error:
                process.stderr.write(f"{error}\n")
                await _hang_up(process, 1)
                return
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
            if process in self._shells:
                self._shells.remove(process)


async def _hang_up(process: asyncssh.SSHServerProcess, status: int = 0) -> None:
    process.exit(status)  # OpenSSH leaves by itself after the exit status, with that exit code
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
