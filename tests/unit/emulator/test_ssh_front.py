"""The emulator's SSH front, driven by the asyncssh client: ``ssh -R`` tunnels that carry traffic and show up in the API."""

from __future__ import annotations

import asyncio
import base64
import json
import getpass
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator, Optional

import pytest
import requests

from ansible_collections.pinggy.tunnels.tests.emulator import Emulator

asyncssh = pytest.importorskip("asyncssh", minversion="2.14")

from ansible_collections.pinggy.tunnels.tests.emulator.ssh_front import OptionError, TunnelOptions, TunnelUser  # noqa: E402

COLLECTION_ROOT = Path(__file__).parents[3]
API_KEY = "ssh-front-key-0c1d6e"
KEEPALIVE_SECONDS = 0.5  # with 3 unanswered keepalives, a vanished client is dropped after about 2 s
DEADLINE_SECONDS = 10.0


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator(api_key=API_KEY, ssh_port=0, ssh_keepalive_interval=KEEPALIVE_SECONDS, ssh_keepalive_count_max=3) as running:
        yield running


@pytest.fixture(autouse=True)
def no_sessions(emulator: Emulator) -> None:
    requests.post(f"{emulator.base_url}/_emulator/reset", json={"active": [], "history": []}, timeout=10).raise_for_status()


def api_get(emulator: Emulator, path: str) -> Any:
    response = requests.get(f"{emulator.url}{path}", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10)
    response.raise_for_status()
    return response.json()


def active_by_port(emulator: Emulator) -> dict[int, dict[str, Any]]:
    return {session["port"]: session for session in api_get(emulator, "/session/active")}


def history_by_port(emulator: Emulator) -> dict[int, dict[str, Any]]:
    today = datetime.now(timezone.utc).date()
    page = api_get(emulator, f"/session/history/{today - timedelta(days=1)}/{today}?size=2000")
    return {record["port"]: record for record in page["content"]}


def run(coroutine: Awaitable[None]) -> None:
    asyncio.run(asyncio.wait_for(coroutine, 60))


async def eventually(check: Callable[[], Any], what: str) -> Any:
    """Poll ``check`` (in a thread: it may call the API) until it returns something truthy, or fail at the deadline."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        result = await asyncio.to_thread(check)
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"not within {DEADLINE_SECONDS:g} s: {what}")
        await asyncio.sleep(0.05)


async def connect(port: int, username: str) -> asyncssh.SSHClientConnection:
    # No keys, agent or ~/.ssh/config: the front needs no authentication and its host key is ephemeral.
    return await asyncssh.connect("127.0.0.1", port, username=username, known_hosts=None, client_keys=None,
                                  agent_path=None, config=None)


async def open_tunnel(emulator: Emulator, username: str, local_port: int) -> tuple[asyncssh.SSHClientConnection, int]:
    """``ssh -R0:localhost:local_port username@127.0.0.1``: the connection and the port the front listens on."""
    conn = await connect(emulator.ssh_port, username)
    listener = await conn.forward_remote_port("localhost", 0, "127.0.0.1", local_port)
    return conn, listener.get_port()


class EchoServer:
    """The local service behind the tunnels: echoes what it gets and remembers it."""

    def __init__(self) -> None:
        self.received: list[bytes] = []
        self._server: Optional[asyncio.AbstractServer] = None

    async def __aenter__(self) -> EchoServer:
        self._server = await asyncio.start_server(self._echo, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    async def _echo(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()  # until the sender's EOF, which crosses the tunnel too
        self.received.append(data)
        writer.write(data)
        await writer.drain()
        writer.close()


async def round_trip(port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    writer.write_eof()
    echoed = await reader.read()
    writer.close()
    await writer.wait_closed()
    return echoed


async def port_is_closed(port: int) -> None:
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


class Relay:
    """A TCP relay between a client and the SSH front that can go silent, like a client whose network vanished."""

    def __init__(self, target_port: int) -> None:
        self._target_port = target_port
        self._server: Optional[asyncio.AbstractServer] = None
        self._pumps: list[asyncio.Task[None]] = []
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection("127.0.0.1", self._target_port)
        self._writers += [writer, upstream_writer]
        self._pumps += [asyncio.create_task(self._pump(reader, upstream_writer)), asyncio.create_task(self._pump(upstream_reader, writer))]

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()

    def freeze(self) -> None:
        """Stop passing bytes either way; the sockets stay open, so neither end sees a close."""
        for pump in self._pumps:
            pump.cancel()

    async def close(self) -> None:
        assert self._server is not None
        self.freeze()
        for writer in self._writers:
            writer.close()
        self._server.close()
        await self._server.wait_closed()


# -- tunnels ----------------------------------------------------------------------------------------
def test_tcp_tunnel_is_listed_carries_traffic_and_moves_to_history(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            conn, port = await open_tunnel(emulator, "tcp", echo.port)
            client_port = conn.get_extra_info("sockname")[1]
            session = (await asyncio.to_thread(active_by_port, emulator))[port]

            assert (session["mode"], session["modeUdp"], session["token"], session["tokenName"]) == ("tcp", "", None, None)
            assert session["subdomain"].endswith(".a.pinggy.test")
            assert await round_trip(port, b"ping through the tunnel") == b"ping through the tunnel"
            assert echo.received == [b"ping through the tunnel"]

            conn.close()
            await conn.wait_closed()
            ended = await eventually(lambda: history_by_port(emulator).get(port), "the session moves to history")

            assert port not in await asyncio.to_thread(active_by_port, emulator)
            assert ended["end_time"] is not None and ended["start_time"] == session["creationTimestamp"]
            assert (ended["mode"], ended["domains"], ended["client_ip"]) == ("tcp", [session["subdomain"]], f"[127.0.0.1]:{client_port}")
            await port_is_closed(port)

    run(scenario())


def test_token_prefix_names_the_token_and_http_tunnels_report_their_port(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            conn, port = await open_tunnel(emulator, "tok1+http", echo.port)
            async with conn:
                session = (await asyncio.to_thread(active_by_port, emulator))[port]

                assert (session["mode"], session["token"], session["tokenName"], session["port"]) == ("http", "tok1", "tok1", port)
                assert await round_trip(port, b"GET / HTTP/1.0\r\n\r\n") == b"GET / HTTP/1.0\r\n\r\n"
        ended = await eventually(lambda: history_by_port(emulator).get(port), "the session moves to history")
        assert (ended["mode"], ended["token_value"]) == ("http", "tok1")

    run(scenario())


def test_shell_prints_the_addresses_and_ctrl_c_ends_the_tunnel(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            conn, port = await open_tunnel(emulator, "tlstcp", echo.port)
            subdomain = (await asyncio.to_thread(active_by_port, emulator))[port]["subdomain"]
            process = await conn.create_process(term_type="xterm")  # what OpenSSH opens without -N

            lines = [await process.stdout.readline() for _line in range(2)]
            assert lines == [f"tlstcp://{subdomain}:{port}\r\n", f"127.0.0.1:{port}\r\n"]

            process.stdin.write("\x03")
            assert (await process.wait(timeout=DEADLINE_SECONDS)).exit_status == 0
            await eventually(lambda: port in history_by_port(emulator), "Ctrl+C moves the session to history")
            conn.close()

    run(scenario())


def test_cancelled_forward_ends_only_its_session(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            conn = await connect(emulator.ssh_port, "tcp")
            async with conn:
                kept = await conn.forward_remote_port("localhost", 0, "127.0.0.1", echo.port)
                cancelled = await conn.forward_remote_port("localhost", 0, "127.0.0.1", echo.port)
                cancelled.close()  # cancel-tcpip-forward, the connection stays
                await eventually(lambda: cancelled.get_port() in history_by_port(emulator), "the cancelled forward's session ends")

                assert set(await asyncio.to_thread(active_by_port, emulator)) == {kept.get_port()}
                assert await round_trip(kept.get_port(), b"still here") == b"still here"

    run(scenario())


@pytest.mark.parametrize("username", ["root", getpass.getuser(), "udp", "tok1+UDP", "tcp+http", "a+b+tcp", "+tcp", "tok/1+tcp"])
def test_unknown_user_is_rejected_with_the_usage(emulator: Emulator, username: str) -> None:
    async def scenario() -> None:
        with pytest.raises(asyncssh.IllegalUserName, match=r"unknown user .*: .*log in as tcp@, http@, tls@ or tlstcp@, or TOKEN@"):
            await connect(emulator.ssh_port, username)

    run(scenario())
    assert api_get(emulator, "/session/active") == []


@pytest.mark.parametrize(("username", "expected"), [
    ("tok1", ("http", "tok1", ())),  # a bare token is an http tunnel, as on Pinggy
    ("TCP+Tok1", ("tcp", "Tok1", ())),  # keywords in any case; the token keeps its own
    ("force+tok1+qr+TLSTCP", ("tlstcp", "tok1", ("force", "qr"))),
    ("Qr", ("http", None, ("qr",))),
    ("tok1+aqr+auth", ("http", "tok1", ("aqr", "auth"))),
])
def test_user_names_follow_pinggy(username: str, expected: tuple[str, Optional[str], tuple[str, ...]]) -> None:
    user = TunnelUser.parse(username)
    assert (user.mode, user.token, user.keywords) == expected


def test_a_local_login_name_is_refused_and_udp_needs_the_app() -> None:
    with pytest.raises(asyncssh.IllegalUserName, match=r"'root': that is a local login name \(what ssh sends when no user is given\)"):
        TunnelUser.parse("root")
    with pytest.raises(asyncssh.IllegalUserName, match=r"udp tunnels need the Pinggy app, not ssh"):
        TunnelUser.parse("tok1+udp")


def test_options_are_parsed_and_shown_without_secrets() -> None:
    options = TunnelOptions.parse("x:https b:alice:pa:ss k:key1 w:10.0.0.0/8,2001:db8::1 a:X-Env:prod u:Host:example.com r:Cookie "
                                  "x:xff:Source-Address x:localServerTls:example.com")
    assert options.shown() == ["x:https", "b:alice:***", "k:***", "w:10.0.0.0/8,2001:db8::1", "a:X-Env:prod", "u:Host:example.com",
                               "r:Cookie", "x:xff:Source-Address", "x:localServerTls:example.com"]
    assert options.basic_auth == {"alice": "pa:ss"} and options.keys == ["key1"]
    assert options.headers == [("a", "X-Env", "prod"), ("u", "Host", "example.com"), ("r", "Cookie", None)]
    assert options.flags == ["https", "xff:source-address", "localServerTls:example.com"]
    assert options.allows("10.1.2.3") and options.allows("2001:db8::1") and not options.allows("127.0.0.1")
    assert TunnelOptions.parse(None).allows("127.0.0.1") and not TunnelOptions.parse("").inspects_http


@pytest.mark.parametrize(("command", "message"), [
    ("zz:1", r"^unknown option 'zz:1': Pinggy options are a:Header:Value, "),
    ("x:https verbose", r"^unknown option 'verbose': "),
    ("x:turbo", r"^unknown option 'x:turbo': "),
    ("b:alice", r"^invalid option 'b:alice:\*\*\*': expected b:user:password$"),
    ("w:10.0.0.300", r"^invalid option 'w:10.0.0.300': expected w:IP-or-CIDR"),
    ("a:X-Env", r"^invalid option 'a:X-Env': expected a:Header:Value$"),
])
def test_bad_options_are_refused_with_one_line(command: str, message: str) -> None:
    with pytest.raises(OptionError, match=message):
        TunnelOptions.parse(command)


def test_twenty_concurrent_tunnels(emulator: Emulator) -> None:
    count = 20

    async def scenario() -> None:
        async with EchoServer() as echo:
            tunnels = await asyncio.gather(*(open_tunnel(emulator, f"t{index}+tcp", echo.port) for index in range(count)))
            ports = [port for _conn, port in tunnels]
            payloads = [f"tunnel {index}".encode() * 1000 for index in range(count)]

            assert await asyncio.gather(*(round_trip(port, payload) for port, payload in zip(ports, payloads))) == payloads
            active = await asyncio.to_thread(active_by_port, emulator)
            assert len(set(ports)) == count and {active[port]["tokenName"] for port in ports} == {f"t{index}" for index in range(count)}

            for conn, _port in tunnels:
                conn.close()
            await eventually(lambda: set(ports) <= set(history_by_port(emulator)), "all sessions move to history")
            assert await asyncio.to_thread(active_by_port, emulator) == {}

    run(scenario())


def test_a_token_in_use_is_refused_unless_forced(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            first, port = await open_tunnel(emulator, "tok1+tcp", echo.port)
            with pytest.raises(asyncssh.PermissionDenied, match=r"Login is not allowed: A tunnel with the same token \(tok1\) is already active"):
                await connect(emulator.ssh_port, "TCP+tok1")
            assert not first.is_closed()

            second, second_port = await open_tunnel(emulator, "force+tok1+tcp", echo.port)
            async with second:
                await asyncio.wait_for(first.wait_closed(), DEADLINE_SECONDS)  # the forced login replaced it
                await eventually(lambda: port in history_by_port(emulator), "the replaced tunnel ends")
                assert [session["tokenName"] for session in api_get(emulator, "/session/active")] == ["tok1"]
                assert await round_trip(second_port, b"replaced") == b"replaced"

    run(scenario())


# -- options in the remote command -------------------------------------------------------------------------
async def open_with_options(emulator: Emulator, username: str, local_port: int, command: str) -> tuple[asyncssh.SSHClientConnection, int]:
    """``ssh -R0:localhost:local_port username@127.0.0.1 COMMAND``, once the session records the options."""
    conn, port = await open_tunnel(emulator, username, local_port)
    await conn.create_process(command)
    await eventually(lambda: active_by_port(emulator).get(port, {}).get("remoteOptions"), "the options are recorded")
    return conn, port


def test_options_and_keywords_are_recorded_on_the_session(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            conn, port = await open_with_options(emulator, "tok1+http+force", echo.port, "x:https b:alice:s3cret w:127.0.0.1/32")
            async with conn:
                session = (await asyncio.to_thread(active_by_port, emulator))[port]
                assert session["remoteOptions"] == ["x:https", "b:alice:***", "w:127.0.0.1/32"]
                assert (session["mode"], session["tokenName"], session["userKeywords"]) == ("http", "tok1", ["force"])
                assert "s3cret" not in str(session)

    run(scenario())


@pytest.mark.parametrize(("command", "authorization"), [
    ("b:alice:s3cret a:X-Env:prod", "Basic " + base64.b64encode(b"alice:s3cret").decode()),
    ("k:key1 k:key2 a:X-Env:prod", "Bearer key2"),
])
def test_http_authentication_is_enforced_and_headers_rewritten(emulator: Emulator, command: str, authorization: str) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            conn, port = await open_with_options(emulator, "http", echo.port, command)
            async with conn:
                refused = await round_trip(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                wrong = await round_trip(port, b"GET / HTTP/1.1\r\nAuthorization: Basic YWxpY2U6bm8=\r\n\r\n")
                assert refused.startswith(b"HTTP/1.1 401 Unauthorized\r\n") and wrong.startswith(b"HTTP/1.1 401 ")
                assert echo.received == []

                passed = await round_trip(port, f"GET / HTTP/1.1\r\nHost: x\r\nAuthorization: {authorization}\r\n"
                                                f"Connection: keep-alive\r\n\r\nbody".encode())
                head, _sep, body = passed.decode().partition("\r\n\r\n")
                assert head.split("\r\n")[0] == "GET / HTTP/1.1" and body == "body"
                assert "X-Env: prod" in head and "Connection: close" in head and "keep-alive" not in head
                # Basic-auth credentials never reach the client; a bearer key does.
                assert ("Authorization" in head) is authorization.startswith("Bearer")

    run(scenario())


@pytest.mark.parametrize(("allowed", "passes"), [("w:10.0.0.0/8,2001:db8::/32", False), ("w:192.0.2.1,127.0.0.0/8", True)])
def test_allow_list_is_enforced(emulator: Emulator, allowed: str, passes: bool) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            conn, port = await open_with_options(emulator, "tcp", echo.port, allowed)
            async with conn:
                try:
                    answer = await round_trip(port, b"from loopback")
                except OSError:  # closed without an answer, before reading what was sent
                    answer = b""
                assert (answer == b"from loopback", echo.received == [b"from loopback"]) == (passes, passes)

    run(scenario())


def test_unknown_option_ends_the_tunnel_with_a_message(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            conn, port = await open_tunnel(emulator, "tok1+tcp", echo.port)
            process = await conn.create_process("x:https zz:1")
            completed = await process.wait(timeout=DEADLINE_SECONDS)
            assert completed.exit_status == 1
            assert completed.stderr.startswith("unknown option 'zz:1': Pinggy options are a:Header:Value, ")
            await eventually(lambda: port in history_by_port(emulator), "the refused tunnel ends")
            conn.close()

    run(scenario())


# -- clients that go away without saying so -------------------------------------------------------------
def test_aborted_client_is_cleaned_up(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            conn, port = await open_tunnel(emulator, "tcp", echo.port)
            conn.abort()  # the transport closes without an SSH disconnect
            await eventually(lambda: port in history_by_port(emulator), "the aborted client's session ends")
            await port_is_closed(port)

    run(scenario())


def test_silent_client_is_dropped_by_keepalive(emulator: Emulator) -> None:
    async def scenario() -> None:
        relay = Relay(emulator.ssh_port)
        relay_port = await relay.start()
        async with EchoServer() as echo:
            conn = await connect(relay_port, "tcp")
            port = (await conn.forward_remote_port("localhost", 0, "127.0.0.1", echo.port)).get_port()
            assert port in await asyncio.to_thread(active_by_port, emulator)

            relay.freeze()  # the client is gone but no socket closes: only keepalives can tell
            await eventually(lambda: port in history_by_port(emulator), "the keepalive drops the silent client")
            await port_is_closed(port)
            conn.abort()
        await relay.close()

    run(scenario())


# -- the Emulator and the command line -------------------------------------------------------------------
def test_stop_ends_live_tunnels_and_state_reports_the_ssh_port() -> None:
    async def open_and_stop(emulator: Emulator) -> None:
        async with EchoServer() as echo:
            conn, port = await open_tunnel(emulator, "tcp", echo.port)
            await asyncio.to_thread(emulator.stop)
            await conn.wait_closed()
            await port_is_closed(port)

    emulator = Emulator(api_key=API_KEY, ssh_port=0).start()
    assert requests.get(f"{emulator.base_url}/_emulator/state", timeout=10).json()["ssh_port"] == emulator.ssh_port > 0
    run(open_and_stop(emulator))
    assert (emulator.state.snapshot()["active"], emulator.state.snapshot()["history"]) == (0, 1)

    with Emulator(api_key=API_KEY) as without_ssh:
        assert without_ssh.ssh_port is None
        assert requests.get(f"{without_ssh.base_url}/_emulator/state", timeout=10).json()["ssh_port"] is None


def test_missing_asyncssh_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncssh", None)  # import asyncssh now fails
    monkeypatch.delitem(sys.modules, "ansible_collections.pinggy.tunnels.tests.emulator.ssh_front", raising=False)

    with pytest.raises(ImportError, match=r"^the SSH front needs asyncssh: pip install asyncssh$"):
        Emulator(api_key=API_KEY, ssh_port=0)
    assert Emulator(api_key=API_KEY).ssh_port is None  # without the SSH front asyncssh is not needed


def test_cli_with_the_ssh_front(tmp_path: Path) -> None:
    ready_file = tmp_path / "ready"
    command = [sys.executable, "-m", "tests.emulator", "--port", "0", "--api-key", API_KEY, "--ssh-port", "0", "--ready-file", str(ready_file)]

    async def tunnel_listed(url: str, ssh_port: int) -> None:
        async with EchoServer() as echo:
            conn = await connect(ssh_port, "tcp")
            async with conn:
                port = (await conn.forward_remote_port("localhost", 0, "127.0.0.1", echo.port)).get_port()
                active = requests.get(f"{url}/session/active", headers={"Authorization": f"Bearer {API_KEY}"}, timeout=10).json()
                assert [session["port"] for session in active] == [port]

    with subprocess.Popen(command, cwd=COLLECTION_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        deadline = time.monotonic() + 15
        while not ready_file.exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        url, ssh_line = ready_file.read_text(encoding="utf-8").splitlines()
        ssh_port = int(ssh_line.rpartition(":")[2])
        run(tunnel_listed(url, ssh_port))
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=15)

    assert ssh_line == f"ssh 127.0.0.1:{ssh_port}"
    assert process.returncode == 0, stderr
    assert stdout == f"Pinggy API emulator: {url}\nPinggy SSH front: 127.0.0.1:{ssh_port}\n"


# -- the web debugger API (-L<port>:localhost:4300) ----------------------------------------------------------------
async def debugger_get(conn: asyncssh.SSHClientConnection, request: bytes, host: str = "localhost") -> tuple[int, Any]:
    """One request through a direct-tcpip channel to the front's web debugger: the status and the JSON body."""
    reader, writer = await conn.open_connection(host, 4300)
    writer.write(request)
    answer = await reader.read()  # the debugger answers one request, then closes
    writer.close()
    head, _sep, body = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), json.loads(body)


def get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost:4300\r\n\r\n".encode()


def test_the_web_debugger_answers_urls_as_the_api_reports_them_for_that_connection_only(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            web, web_port = await open_tunnel(emulator, "tok1+http", echo.port)
            db, db_port = await open_tunnel(emulator, "tcp", echo.port)
            async with web, db:
                sessions = await asyncio.to_thread(active_by_port, emulator)
                web_host, db_host = sessions[web_port]["subdomain"], sessions[db_port]["subdomain"]
                assert await debugger_get(web, get("/urls")) == (200, {"urls": [f"http://{web_host}", f"https://{web_host}"]})
                assert await debugger_get(db, get("/urls?x=1"), host="127.0.0.1") == (200, {"urls": [f"tcp://{db_host}:{db_port}"]})

    run(scenario())


def test_the_web_debugger_serves_the_sessions_as_the_api_does_now_hostile_values_included(emulator: Emulator) -> None:
    hostile = "{{ lookup('pipe', 'id') }}"

    async def scenario() -> None:
        async with EchoServer() as echo:
            conn, port = await open_tunnel(emulator, "tcp", echo.port)
            async with conn:
                session = (await asyncio.to_thread(active_by_port, emulator))[port]
                requests.post(f"{emulator.base_url}/_emulator/sessions", json=[{**session, "subdomain": hostile}], timeout=10).raise_for_status()
                assert await debugger_get(conn, get("/urls")) == (200, {"urls": [f"tcp://{hostile}:{port}"]})
                requests.delete(f"{emulator.base_url}/_emulator/sessions", timeout=10).raise_for_status()
                assert await debugger_get(conn, get("/urls")) == (200, {"urls": []})

    run(scenario())


def test_the_web_debugger_lists_the_allow_list_and_knows_nothing_else(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            conn, port = await open_tunnel(emulator, "tcp", echo.port)
            async with conn:
                async with conn.create_process("w:203.0.113.0/24,2001:db8::1") as _process:
                    await eventually(lambda: active_by_port(emulator)[port]["remoteOptions"], "the options are recorded")
                    assert await debugger_get(conn, get("/ipwhitelist")) == (200, ["203.0.113.0/24", "2001:db8::1/128"])
                assert await debugger_get(conn, get("/requests")) == (404, {"error": "not found"})
                assert await debugger_get(conn, b"POST /urls HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == (404, {"error": "not found"})

    run(scenario())


def test_the_front_refuses_other_destinations_and_unbounded_request_heads(emulator: Emulator) -> None:
    async def scenario() -> None:
        async with EchoServer() as echo:
            conn, _port = await open_tunnel(emulator, "tcp", echo.port)
            async with conn:
                for host, port in (("localhost", 22), ("example.com", 4300), ("localhost", echo.port)):
                    with pytest.raises(asyncssh.ChannelOpenError):
                        await conn.open_connection(host, port)
                reader, writer = await conn.open_connection("localhost", 4300)
                writer.write(b"GET /urls HTTP/1.1\r\nX-Pad: " + b"x" * 70000)
                assert await reader.read() == b""  # past the head limit: closed without an answer
                writer.close()

    run(scenario())
