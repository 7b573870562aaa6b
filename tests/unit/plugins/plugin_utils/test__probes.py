"""The gate's probes aimed by API data: tunnels on IP literals or localhost are not contacted; redirects are not followed."""

from __future__ import annotations

import socket
import ssl
import threading
import typing as t
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ansible_collections.pinggy.tunnels.plugins.plugin_utils._probes import probe_http
from ansible_collections.pinggy.tunnels.tests.unit.plugins.gate_runner import connection, run_gate
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import EmulatorControl
from ansible_collections.pinggy.tunnels.tests.unit.plugins.module_utils.test__dns_names import IP_LITERALS, LOCALHOSTS

# The API's custom domains that must never be looked up nor contacted by a probe.
HOSTILE_HOSTS = [value for value in IP_LITERALS + LOCALHOSTS if "\n" not in value]
# Names of one label the resolver would complete with its search domains ('metadata' on a cloud VM).
SINGLE_LABELS = ["metadata", "web"]


# The one name this test machine "resolves", to loopback: every other lookup is recorded and refused (no real DNS).
TUNNEL_NAME = "web.a.pinggy.link"


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every host name resolved while the test runs: 127.0.0.1 and TUNNEL_NAME resolve to loopback, the rest fail."""
    resolve = socket.getaddrinfo
    seen: list[str] = []

    def loopback_only(host: t.Any, *args: t.Any, **kwargs: t.Any) -> t.Any:
        seen.append(host)
        if host not in ("127.0.0.1", TUNNEL_NAME):
            raise socket.gaierror(socket.EAI_NONAME, "refused by the test: no real lookups")
        return resolve("127.0.0.1", *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", loopback_only)
    return seen


@pytest.mark.parametrize("mode", ["tcp", "http"])
def test_tunnels_on_ip_literals_or_localhost_are_reported_and_never_looked_up(
        emulator: EmulatorControl, lookups: list[str], mode: str) -> None:
    active = [{"id": f"t{index}", "subdomain": f"s{index}.a.pinggy.link", "customdomain": host, "mode": mode, "port": 15432}
              for index, host in enumerate(HOSTILE_HOSTS + SINGLE_LABELS)]
    emulator.reset(active=active)
    result = run_gate(connection(emulator, expected=[{"min_count": len(active)}], probe=True, probe_timeout=1))
    assert result["failed"]
    assert [probe["kind"] for probe in result["probes"]] == ["invalid"] * len(active)
    assert set(lookups) == {"127.0.0.1"}  # the emulator's API only
    for probe, host in zip(result["probes"], HOSTILE_HOSTS + SINGLE_LABELS):
        reason = {True: "is localhost", False: "is an IP address"}[host in LOCALHOSTS]
        if host in SINGLE_LABELS:
            reason = "is a single label (completed by the resolver's search domains)"
        assert probe["msg"] == f"the tunnel's host {reason}, not probed"
        assert f"probe failed for {probe['label']}: the tunnel's host {reason}, not probed" in result["msg"]


def test_a_tunnel_with_a_dns_name_is_probed_at_its_name(emulator: EmulatorControl, lookups: list[str]) -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        emulator.reset(active=[{"id": "n1", "subdomain": TUNNEL_NAME, "mode": "tcp", "port": port}])
        result = run_gate(connection(emulator, expected=[{"mode": "tcp"}], probe=True, probe_timeout=2))
    assert not result.get("failed"), result
    assert result["probes"] == [{"label": f"tcp://{TUNNEL_NAME}:{port}", "kind": "tcp", "ok": True, "msg": "connected"}]
    assert TUNNEL_NAME in lookups


def test_without_probe_address_the_http_probe_goes_to_the_tunnel_url(emulator: EmulatorControl, lookups: list[str]) -> None:
    # The probe goes to https://web.a.pinggy.link/health (loopback here, port 443), where no tunnel answers.
    emulator.reset(active=[{"id": "h1", "subdomain": TUNNEL_NAME, "mode": "http", "port": None}])
    result = run_gate(connection(emulator, expected=[{"mode": "http"}], probe=True, probe_timeout=2, probe_path="/health"))
    assert result["failed"]
    assert result["probes"][0]["label"] == f"https://{TUNNEL_NAME}" and result["probes"][0]["ok"] is False
    assert result["msg"].startswith(f"pinggy.tunnels.assert_tunnels: probe failed for https://{TUNNEL_NAME}: Status code was ")
    assert TUNNEL_NAME in lookups


class _Redirect(BaseHTTPRequestHandler):
    """Answers every GET with 302 to the server's ``location``; records the requests it gets."""

    def do_GET(self) -> None:  # pylint: disable=invalid-name
        self.server.requests.append((self.path, self.headers.get("Host")))  # type: ignore[attr-defined]
        location = self.server.location  # type: ignore[attr-defined]
        self.send_response(302 if location else 200)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: t.Any) -> None:  # pylint: disable=arguments-differ
        pass


def _serve(location: str, tls_context: t.Optional[ssl.SSLContext] = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    server.requests, server.location = [], location  # type: ignore[attr-defined]
    if tls_context:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def recorder() -> t.Iterator[ThreadingHTTPServer]:
    """The other loopback host a redirect points to: it answers 200 and records any request."""
    server = _serve("")
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def redirector(recorder: ThreadingHTTPServer) -> t.Iterator[ThreadingHTTPServer]:
    server = _serve(f"http://127.0.0.1:{recorder.server_address[1]}/landed")
    yield server
    server.shutdown()
    server.server_close()


def test_a_redirect_is_the_tunnels_answer_and_is_not_followed(emulator: EmulatorControl, redirector: ThreadingHTTPServer,
                                                              recorder: ThreadingHTTPServer) -> None:
    port = redirector.server_address[1]
    emulator.reset(active=[{"id": "r1", "subdomain": "web.a.pinggy.link", "mode": "http", "port": port}])
    args = connection(emulator, expected=[{"mode": "http"}], probe=True, probe_timeout=2, probe_address="127.0.0.1")
    result = run_gate(args)
    assert result["failed"]
    assert result["msg"] == ("pinggy.tunnels.assert_tunnels: probe failed for https://web.a.pinggy.link: "
                             "Status code was 302 and not [200]: HTTP Error 302: Found")
    assert not run_gate({**args, "probe_status": [302]}).get("failed")
    assert redirector.requests == [("/", "web.a.pinggy.link")] * 2
    assert recorder.requests == []


def test_an_https_redirect_to_http_is_not_followed(tmp_path: Path, recorder: ThreadingHTTPServer) -> None:
    tls = pytest.importorskip("ansible_collections.pinggy.tunnels.tests.emulator.tls", reason="needs the cryptography package")
    files = tls.generate_tls(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(files.cert), str(files.key))
    server = _serve(f"http://127.0.0.1:{recorder.server_address[1]}/landed", context)
    try:
        url = f"https://127.0.0.1:{server.server_address[1]}/"
        assert probe_http(url, {}, [200], 5, False) == (False, "Status code was 302 and not [200]: HTTP Error 302: Found")
        assert probe_http(url, {}, [302], 5, False) == (True, "Status code was 302")
    finally:
        server.shutdown()
        server.server_close()
    assert len(server.requests) == 2  # type: ignore[attr-defined]
    assert recorder.requests == []
