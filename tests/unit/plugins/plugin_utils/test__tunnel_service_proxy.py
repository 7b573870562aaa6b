"""The tunnel_service role's HTTP CONNECT proxy: every accepted form, every refusal, the ProxyCommand as OpenSSH reads it."""

from __future__ import annotations

import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest

from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_checks import (
    TunnelServiceError,
    checked_settings,
    validated_tunnels,
)
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_proxy import NO_PROXY, ProxyError, proxy_address, proxy_command
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_render import plan, ssh_config
from ansible_collections.pinggy.tunnels.tests.unit.plugins.tunnel_service_data import PASSWORD, SETTINGS
from ansible_collections.pinggy.tunnels.tests.unit.plugins.tunnel_service_data import tunnel as _tunnel

PROXY_LINE = "  ProxyCommand /usr/bin/nc -X connect -x '{}' %h %p"


@pytest.mark.parametrize(("given", "address"), [
    ("proxy.example.com:3128", "proxy.example.com:3128"),
    ("Proxy.Corp:8080", "Proxy.Corp:8080"),
    ("proxy:1", "proxy:1"),
    ("localhost:65535", "localhost:65535"),
    ("proxy:03128", "proxy:3128"),
    ("10.0.0.1:3128", "10.0.0.1:3128"),
    ("[2001:db8::1]:3128", "[2001:db8::1]:3128"),
    ("[::ffff:10.0.0.1]:80", "[::ffff:10.0.0.1]:80"),
    ("http://proxy.example.com:3128", "proxy.example.com:3128"),
    ("HTTP://proxy.example.com:3128/", "proxy.example.com:3128"),
    ("http://[2001:db8::1]:3128/", "[2001:db8::1]:3128"),
])
def test_every_accepted_form_is_written_as_host_and_port(given: str, address: str) -> None:
    assert proxy_address(given) == address
    assert PROXY_LINE.format(address) in ssh_config("web", [_tunnel(proxy=given)], SETTINGS).splitlines()


@pytest.mark.parametrize("given", [
    "proxy", "proxy:", ":3128", "proxy:0", "proxy:65536", "proxy:123456", "proxy:31x8", "http://proxy", "http://proxy:3128/path",
    "http://proxy:3128?x=1", "http:/proxy:3128", "proxy:3128/", "proxy :3128", " proxy:3128", "proxy:3128 ", "proxy:3128\n",
    "proxy:3128\n  ProxyCommand sh", "proxy\t:3128", "proxy;id:3128", "$(id):3128", "`id`:3128", "${HOME}:3128", "pro'xy:3128",
    'pro"xy:3128', "pro\\xy:3128", "proxy|sh:3128", "pro%hxy:3128", "proxy:3128 %h", "proxy:%p", "-oProxy:3128",
    "proxy.:3128", "prox_y:3128", "pröxy:3128", "2001:db8::1:3128", "[2001:db8::1]", "[2001:db8::1]:", "[2001:db8::zz]:80",
    "[fe80::1%eth0]:3128", "[10.0.0.1]:3128", "127.1:3128", "300.1.1.1:80", "10.0.0.1.5:80", "",
])
def test_anything_but_host_and_port_is_refused_quoting_the_value(given: str) -> None:
    with pytest.raises(ProxyError, match="^must be host:port or http://host:port - a DNS name, an IPv4 address or a bracketed IPv6"):
        proxy_address(given)


@pytest.mark.parametrize("given", ["https://proxy:3128", "socks5://proxy:1080", "SOCKS://proxy:1080", "ftp://proxy:21"])
def test_other_schemes_are_refused_as_not_an_http_connect_proxy(given: str) -> None:
    with pytest.raises(ProxyError, match=r"is not an HTTP proxy: only an HTTP CONNECT proxy is supported .*not https:// or socks"):
        proxy_address(given)


@pytest.mark.parametrize("given", [f"alice:{PASSWORD}@proxy:3128", f"http://alice:{PASSWORD}@proxy:3128", f"{PASSWORD}@proxy:3128",
                                   f"https://alice:{PASSWORD}@proxy:3128"])
def test_credentials_are_refused_without_quoting_them(given: str) -> None:
    with pytest.raises(ProxyError) as caught:
        proxy_address(given)
    assert "must not hold credentials (user:password@, value not shown)" in str(caught.value)
    assert PASSWORD not in str(caught.value) and "alice" not in str(caught.value)
    with pytest.raises(TunnelServiceError) as caught_tunnel:
        validated_tunnels([_tunnel(proxy=given)])
    assert str(caught_tunnel.value).startswith("tunnel_service: tunnel 'web': proxy must not hold credentials")
    with pytest.raises(TunnelServiceError) as caught_setting:
        checked_settings({**SETTINGS, "proxy": given})
    assert str(caught_setting.value).startswith("tunnel_service: tunnel_service_proxy must not hold credentials")
    assert PASSWORD not in str(caught_tunnel.value) + str(caught_setting.value)


@pytest.mark.parametrize("given", [3128, ["proxy:3128"], {"host": "proxy"}, True])
def test_a_proxy_that_is_not_a_string_is_refused_by_type(given: t.Any) -> None:
    with pytest.raises(TunnelServiceError, match=f"^tunnel_service: tunnel 'web': proxy must be host:port .*, got a {type(given).__name__}$"):
        validated_tunnels([_tunnel(proxy=given)])


def test_errors_name_the_tunnel_or_the_setting_in_one_line() -> None:
    with pytest.raises(TunnelServiceError, match=r"^tunnel_service: tunnel 'web': proxy must be host:port .*, got 'proxy;id:3128'$"):
        validated_tunnels([_tunnel(proxy="proxy;id:3128")])
    with pytest.raises(TunnelServiceError, match=r"^tunnel_service: tunnel_service_proxy must be host:port .*, got 'proxy:3128\\n'$"):
        checked_settings({**SETTINGS, "proxy": "proxy:3128\n"})
    with pytest.raises(TunnelServiceError, match=r"^tunnel_service: tunnel_service_proxy 'https://proxy:3128' is not an HTTP proxy"):
        checked_settings({**SETTINGS, "proxy": "https://proxy:3128"})


@pytest.mark.parametrize("command", ["/usr/bin/nc -h", "nc", "/usr/bin/n%hc", "/usr/bin/${NC}", "/usr/bin/nc;id"])
def test_a_proxy_client_that_is_not_a_plain_absolute_path_is_refused(command: str) -> None:
    with pytest.raises(TunnelServiceError, match="^tunnel_service: tunnel_service_proxy_client_command must be an absolute path"):
        checked_settings({**SETTINGS, "proxy_client_command": command})


def test_no_proxy_by_default_and_the_role_proxy_applies_to_every_tunnel_but_those_that_say_otherwise() -> None:
    tunnels = [_tunnel(), {"name": "own", "local_port": 1, "proxy": "[2001:db8::1]:8080"}, {"name": "direct", "local_port": 2, "proxy": NO_PROXY},
               {"name": "empty", "local_port": 3, "proxy": ""}, {"name": "null", "local_port": 4, "proxy": None}]
    assert [entry["proxy"] for entry in plan(tunnels, SETTINGS)] == [None, "[2001:db8::1]:8080", None, None, None]
    assert "ProxyCommand" not in ssh_config("web", tunnels, SETTINGS)
    settings = {**SETTINGS, "proxy": "http://proxy.example.com:3128/", "proxy_client_command": "/opt/netcat/bin/nc"}
    assert [entry["proxy"] for entry in plan(tunnels, settings)] == [
        "proxy.example.com:3128", "[2001:db8::1]:8080", None, "proxy.example.com:3128", "proxy.example.com:3128"]
    assert "  ProxyCommand /opt/netcat/bin/nc -X connect -x 'proxy.example.com:3128' %h %p" in ssh_config("web", tunnels, settings).splitlines()
    assert "ProxyCommand" not in ssh_config("direct", tunnels, settings)
    assert [validated_tunnels(tunnels)[index]["proxy"] for index in (2, 3)] == [NO_PROXY, None]


@pytest.mark.parametrize("off", ["", NO_PROXY, None])
def test_the_role_proxy_is_off_when_empty_or_none(off: t.Any) -> None:
    assert checked_settings({**SETTINGS, "proxy": off})["proxy"] is None


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")
@pytest.mark.parametrize(("proxy", "address"), [("proxy.example.com:3128", "proxy.example.com:3128"),
                                                ("http://[2001:db8::1]:03128/", "[2001:db8::1]:3128")])
def test_openssh_reads_the_proxy_command_and_nothing_else_changes(tmp_path: Path, proxy: str, address: str) -> None:
    def resolved(settings: dict[str, t.Any]) -> list[str]:
        path = tmp_path / "tunnel.conf"
        path.write_text(ssh_config("web", [_tunnel(server="us.a.pinggy.io")], settings), encoding="utf-8")
        path.chmod(0o600)
        return subprocess.run(["ssh", "-G", "-F", str(path), "pinggy-tunnel"], check=True, capture_output=True, text=True).stdout.splitlines()

    direct, proxied = resolved(SETTINGS), resolved({**SETTINGS, "proxy": proxy})
    assert [line for line in proxied if line not in direct] == [f"proxycommand /usr/bin/nc -X connect -x '{address}' %h %p"]
    assert [line for line in direct if line not in proxied] == []


def test_the_shell_passes_a_bracketed_address_as_written_even_where_a_file_matches_it(tmp_path: Path) -> None:
    """ssh hands the ProxyCommand to a shell, which would expand [2001:db8::3]:8080 to a file named 3:8080."""
    (tmp_path / "3:8080").touch()
    command = proxy_command("printf '%s\\n'", "[2001:db8::3]:8080").replace("%h %p", "a.pinggy.io 443")
    words = subprocess.run(["/bin/sh", "-c", f"exec {command}"], cwd=tmp_path, check=True, capture_output=True, text=True).stdout.split()
    assert words == ["-X", "connect", "-x", "[2001:db8::3]:8080", "a.pinggy.io", "443"]
