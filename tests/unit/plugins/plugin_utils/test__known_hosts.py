"""Which known_hosts lines OpenSSH takes for a server, and the tunnel_service check that every server in use has one."""

from __future__ import annotations

import subprocess
import typing as t
from pathlib import Path

import pytest

from ansible_collections.pinggy.tunnels.plugins.plugin_utils._known_hosts import has_key_for, known_host_name
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_checks import TunnelServiceError
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_render import plan, ssh_configs
from ansible_collections.pinggy.tunnels.tests.unit.plugins.tunnel_service_data import tunnel as _tunnel

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEqqrjJ+0Ok8yFPSgA9iS4LsQeyZ64Ywkk8fwBvY1Qaa"
# |1|salt|HMAC-SHA1(salt, "[us.a.pinggy.io]:443"), as `ssh-keygen -H` writes it.
HASHED_US = "|1|AAECAwQFBgcICQoLDA0ODxAREhM=|fORDi29DhspvFgpq2E2ESGZyhmA="


@pytest.mark.parametrize(("line", "server", "port", "expected"), [
    (f"[a.pinggy.io]:443 {KEY}", "a.pinggy.io", 443, True),
    (f"[A.Pinggy.IO]:443 {KEY}", "a.PINGGY.io", 443, True),
    (f"a.pinggy.io {KEY}", "a.pinggy.io", 443, False),  # port 22's line
    (f"a.pinggy.io {KEY}", "a.pinggy.io", 22, True),
    (f"[a.pinggy.io]:2222 {KEY}", "a.pinggy.io", 443, False),
    (f"x.example,[*.a.pinggy.io]:443 {KEY}", "eu.a.pinggy.io", 443, True),
    (f"[?.a.pinggy.io]:443 {KEY}", "us.a.pinggy.io", 443, False),
    (f"[*.a.pinggy.io]:443,![us.a.pinggy.io]:443 {KEY}", "us.a.pinggy.io", 443, False),
    (f"@cert-authority [*.a.pinggy.io]:443 {KEY}", "ap.a.pinggy.io", 443, False),  # vouches for certificates only
    (f"@revoked [a.pinggy.io]:443 {KEY}", "a.pinggy.io", 443, False),
    (f"{HASHED_US} {KEY}", "us.a.pinggy.io", 443, True),
    (f"{HASHED_US} {KEY}", "eu.a.pinggy.io", 443, False),
    (f"|1|not base64|x {KEY}", "a.pinggy.io", 443, False),
    ("[a.pinggy.io]:443", "a.pinggy.io", 443, False),  # no key
    (f"[fe80::2%lo]:443 {KEY}", "fe80::2%lo", 443, True),
    (f"[a.pinggy.io]:44 {KEY}", "a.pinggy.io", 443, False),
])
def test_a_line_is_for_a_server_as_openssh_reads_it(line: str, server: str, port: int, expected: bool) -> None:
    assert has_key_for([line], server, port) is expected


def test_a_revoked_key_counts_nowhere() -> None:
    other = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherKeyOtherKeyOtherKeyOtherKeyOtherKeyOther"
    revoked = f"@revoked * {KEY}"
    assert not has_key_for([f"[a.pinggy.io]:443 {KEY}", revoked], "a.pinggy.io", 443)
    assert has_key_for([f"[a.pinggy.io]:443 {KEY}", f"[a.pinggy.io]:443 {other}", revoked], "a.pinggy.io", 443)


def test_the_name_looked_up_carries_the_port_unless_it_is_22() -> None:
    assert (known_host_name("A.pinggy.io", 443), known_host_name("a.pinggy.io", 22)) == ("[a.pinggy.io]:443", "a.pinggy.io")


def test_openssh_agrees_on_the_hashed_and_the_wildcard_lines(tmp_path: Path) -> None:
    """ssh-keygen -F (OpenSSH's own lookup) finds the same lines."""
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(f"{HASHED_US} {KEY}\nx.example,[*.a.pinggy.io]:443 {KEY}\n", encoding="utf-8")
    for name, expected in (("[us.a.pinggy.io]:443", 2), ("[eu.a.pinggy.io]:443", 1), ("[us.a.pinggy.io]:22", 0)):
        found = subprocess.run(["ssh-keygen", "-F", name, "-f", str(known_hosts)], capture_output=True, text=True, check=False)
        assert found.stdout.count(KEY.split()[1]) == expected
        server, port = name[1:].split("]:")
        assert has_key_for(known_hosts.read_text(encoding="utf-8").splitlines(), server, int(port)) is (expected > 0)


@pytest.mark.parametrize("render", [plan, ssh_configs])
def test_a_present_tunnel_whose_server_has_no_key_is_refused_naming_it(render: t.Callable[..., t.Any]) -> None:
    tunnels = [_tunnel(), _tunnel(name="us", server="us.a.pinggy.io"), {"name": "gone", "state": "absent", "server": "ap.a.pinggy.io"}]
    with pytest.raises(TunnelServiceError) as error:
        render(tunnels, {"known_hosts": [f"[a.pinggy.io]:443 {KEY}"]})
    assert str(error.value) == (
        "tunnel_service: tunnel 'us': no line of tunnel_service_known_hosts is for its server [us.a.pinggy.io]:443: add one "
        "(ssh-keyscan -p 443 us.a.pinggy.io) or set tunnel_service_strict_host_key_checking: accept-new")
    assert len(render(tunnels, {"known_hosts": [f"[a.pinggy.io]:443 {KEY}", f"{HASHED_US} {KEY}"]})) >= 2
    assert len(render(tunnels, {"known_hosts": [], "strict_host_key_checking": "accept-new"})) >= 2
