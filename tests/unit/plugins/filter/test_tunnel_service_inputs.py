"""The tunnel_service filters on the edges of what they accept: every documented option form, and hostile values."""

from __future__ import annotations

import re
import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinggy.tunnels.plugins.filter.tunnel_service import tunnel_service_plan, tunnel_service_ssh_config
from ansible_collections.pinggy.tunnels.tests.unit.plugins.filter.test_tunnel_service import KEY, SETTINGS, _tunnel


def _error(tunnels: t.Any, settings: t.Optional[dict[str, t.Any]] = None) -> str:
    with pytest.raises(AnsibleFilterError) as caught:
        tunnel_service_plan(tunnels, {**SETTINGS, **(settings or {})})
    message = str(caught.value)
    assert message.startswith("tunnel_service: ") and "\n" not in message
    return message


@pytest.mark.parametrize("option", [
    "a:X-Env:prod", "u:Host:example.com", "r:X-Powered-By", "b:alice:s3cret:with:colons", "k:bearer-key",
    "w:203.0.113.7", "w:203.0.113.0/24,2001:db8::/32,10.0.0.1", "x:https", "x:HTTPSOnly", "x:noreverseproxy",
    "x:xff", "x:xff:X-Real-IP", "x:fullurl", "x:origurl", "x:passpreflight", "x:localServerTls", "x:localServerTls:app.internal",
])
def test_every_documented_option_form_is_accepted_and_written_as_given(option: str) -> None:
    assert tunnel_service_plan([_tunnel(options=[option])], SETTINGS)[0]["name"] == "web"
    config = tunnel_service_ssh_config("web", [_tunnel(options=[option])], SETTINGS)
    assert f"  RemoteCommand {option}\n" in config


@pytest.mark.parametrize("option", ["w:203.0.113.0/24", "w:2001:db8::1"])
def test_allow_lists_are_the_one_option_of_tcp_tls_and_tlstcp_tunnels(option: str) -> None:
    for mode in ("tcp", "tls", "tlstcp"):
        assert tunnel_service_plan([_tunnel(mode=mode, options=[option])], SETTINGS)[0]["options"] == [option]


@pytest.mark.parametrize(("tunnel", "message"), [
    # The first problem in the documented order wins, so one tunnel always fails the same way.
    (_tunnel(colour="red", mode="ftp", local_port=0), r"has unknown key\(s\) colour"),
    (_tunnel(mode="ftp", state="stopped"), r"mode must be one of"),
    (_tunnel(state="stopped", local_port=0), r"state must be present or absent"),
    (_tunnel(local_port=0, local_host="bad host"), r"local_port must be an integer"),
    (_tunnel(local_host="bad host", token="bad token"), r"local_host must be a host name"),
    (_tunnel(token="bad token", force="yes"), r"token must be 1-128 letters"),
    (_tunnel(token_name=5, force="yes"), r"token_name must be a string"),
    (_tunnel(force="yes", options=["zz"]), r"force must be a boolean"),
    # Hostile types and values.
    ({"name": 7, "local_port": 1}, r"tunnel_service_tunnels\[0\]\.name must be 1-63 characters.*got 7$"),
    ({"name": None}, r"\.name must be .*got None$"),
    ({"name": "web\n", "local_port": 1}, r"\.name must be .*got 'web\\n'$"),
    ({"name": "wéb", "local_port": 1}, r"\.name must be"),
    (_tunnel(local_port=True), r"local_port must be an integer from 1 to 65535, got True"),
    (_tunnel(local_port=8080.0), r"local_port must be an integer from 1 to 65535, got 8080\.0"),
    (_tunnel(local_port="80 80"), r"got '80 80'"),
    (_tunnel(local_port="-1"), r"got '-1'"),
    (_tunnel(local_port="\u00b2"), r"local_port must be an integer from 1 to 65535, got '\u00b2'"),
    (_tunnel(local_port="\u0663"), r"local_port must be an integer from 1 to 65535, got '\u0663'"),
    (_tunnel(local_port="65536"), r"got 65536"),
    (_tunnel(local_host=["localhost"]), r"local_host must be a host name or an IP address \(an IPv6 scope .*\), got \['localhost'\]$"),
    (_tunnel(local_host="a" * 64 + ".example"), r"local_host must be a host name"),
    (_tunnel(local_host="evil.example\nProxyCommand sh"), r"local_host must be a host name"),
    (_tunnel(mode=["http"]), r"mode must be one of http, tcp, tls, tlstcp, got \['http'\]"),
    (_tunnel(state=True), r"state must be present or absent, got True"),
    (_tunnel(token=12345), r"token must be 1-128 letters, digits, '\.', '_' or '-' \(value not shown\)"),
    (_tunnel(token="t" * 129), r"token must be 1-128"),
    (_tunnel(token="Force"), r"token is a Pinggy keyword"),
    (_tunnel(options={"x": "https"}), r"options must be a list"),
    (_tunnel(options=["x:https", None]), r"every option must be a string, got a NoneType"),
    (_tunnel(options=["x:https\nProxyCommand sh"]), r"has whitespace"),
    (_tunnel(options=["a:X-Env:caf\u00e9"]), r"non-ASCII"),
    (_tunnel(options=["a:X#Env:1"]), r"has whitespace, quotes, a backslash, '#'"),
    (_tunnel(options=["a::value"]), r"must be a:Header:Value"),
    (_tunnel(options=["u:X-Env:"]), r"must be u:Header:Value"),
    (_tunnel(options=["r:"]), r"must be r:Header"),
    (_tunnel(options=["b::pw"]), r"option 'b::\*\*\*' must be b:user:password"),
    (_tunnel(options=["b:alice:"]), r"must be b:user:password"),
    (_tunnel(options=["w:"]), r"must be w:IP-or-CIDR"),
    (_tunnel(options=["w:10.0.0.0/8,"]), r"must be w:IP-or-CIDR"),
    (_tunnel(options=["w:example.com"]), r"must be w:IP-or-CIDR"),
    (_tunnel(options=["x:"]), r"is not a Pinggy x: option"),
    (_tunnel(options=["x:fullurl:yes"]), r"x:fullurl takes no value"),
    (_tunnel(options=["x:HTTPS:1"]), r"x:https takes no value"),
    (_tunnel(options=["x:localServerTls:-bad-"]), r"must be x:localServerTls or x:localServerTls:SNI"),
    (_tunnel(mode="tlstcp", options=["a:X-Env:1"]), r"applies to http tunnels only \(this one is tlstcp\)"),
])
def test_hostile_or_clashing_tunnel_values_fail_with_one_line(tunnel: t.Any, message: str) -> None:
    assert re.search(message, _error([tunnel]))


def test_an_empty_token_is_no_token() -> None:
    plan = tunnel_service_plan([_tunnel(token="")], SETTINGS)
    assert plan[0]["has_token"] is False
    assert "  User http\n" in tunnel_service_ssh_config("web", [_tunnel(token="")], SETTINGS)
    assert "so it needs a token" in _error([_tunnel(token="", force=True)])


def test_an_absent_tunnel_needs_no_port_but_a_port_given_must_be_valid() -> None:
    assert tunnel_service_plan([{"name": "old", "state": "absent", "local_port": "22"}], SETTINGS)[0]["local_port"] == 22
    assert "local_port must be an integer from 1 to 65535, got 0" in _error([{"name": "old", "state": "absent", "local_port": 0}])


def test_tunnels_that_are_not_a_list_or_not_dictionaries_are_refused() -> None:
    for tunnels in ("web", {"web": {}}, None, 3):
        assert "tunnel_service_tunnels must be a list of tunnels" in _error(tunnels)
    assert "tunnel_service_tunnels[1] must be a dictionary" in _error([_tunnel(), ["web"]])
    assert "tunnel 'web' has unknown key(s) 1; known:" in _error([{**_tunnel(), 1: "x"}])


def test_the_ssh_config_validates_every_tunnel_not_only_the_one_asked_for() -> None:
    with pytest.raises(AnsibleFilterError, match="tunnel 'db': mode must be one of"):
        tunnel_service_ssh_config("web", [_tunnel(), {"name": "db", "local_port": 1, "mode": "ftp"}], SETTINGS)


@pytest.mark.parametrize(("settings", "message"), [
    ({"server": 5}, "tunnel_service_server must be a host name or an IP address (an IPv6 scope id only as an interface name: "
                    "letters, digits, '_', '.' or '-'), got 5"),
    ({"server": "a.pinggy.io -oProxyCommand=sh"}, "tunnel_service_server must be a host name"),
    ({"port": "443x"}, "tunnel_service_port must be an integer from 1 to 65535, got '443x'"),
    ({"port": 65536}, "tunnel_service_port must be an integer from 1 to 65535, got 65536"),
    ({"keepalive_interval": 0}, "tunnel_service_keepalive_interval must be an integer from 1 to 3600, got 0"),
    ({"keepalive_count": 101}, "tunnel_service_keepalive_count must be an integer from 1 to 100, got 101"),
    ({"connect_timeout": 2.5}, "tunnel_service_connect_timeout must be an integer from 1 to 3600, got 2.5"),
    ({"strict_host_key_checking": False}, "tunnel_service_strict_host_key_checking must be yes or accept-new, got False"),
    ({"known_hosts": {"a.pinggy.io": "key"}}, "tunnel_service_known_hosts must be a list of known_hosts lines"),
    ({"known_hosts": [KEY + "\nevil ssh-ed25519 AAAA"]}, "tunnel_service_known_hosts must be a list of known_hosts lines"),
    ({"known_hosts": [7]}, "tunnel_service_known_hosts must be a list of known_hosts lines"),
    ({"known_hosts": "\n  \n"}, "tunnel_service_known_hosts is empty"),
    ({"state_dir": "/var/lib/pinggy tunnels"}, "tunnel_service_state_dir must be an absolute path without whitespace"),
    ({"unit_dir": None, "config_dir": ["/etc"]}, "tunnel_service_config_dir must be an absolute path without whitespace, of letters, "
                                                 "digits and '/', '.', '_', '+', '@' or '-' ('%' and '$' would be expanded by ssh or "
                                                 "systemd), got ['/etc']"),
    ({"unit_dir": "relative/units"}, "tunnel_service_unit_dir must be an absolute path"),
    ({"unit_prefix": "../"}, "tunnel_service_unit_prefix must be letters, digits, '_', '.' or '-', got '../'"),
    ({"unit_prefix": 3}, "tunnel_service_unit_prefix must be letters, digits"),
    ({"colour": "red", "port": 0}, "unknown setting(s) colour; known: server, port"),
])
def test_hostile_settings_fail_with_one_line(settings: dict[str, t.Any], message: str) -> None:
    assert message in _error([_tunnel()], settings)


def test_settings_left_unset_take_the_defaults_and_strings_from_the_command_line_are_numbers() -> None:
    config = tunnel_service_ssh_config(
        "web", [_tunnel()], {**SETTINGS, "server": None, "port": "2222", "keepalive_count": "5", "connect_timeout": "7"})
    for line in ("  HostName a.pinggy.io", "  Port 2222", "  ServerAliveCountMax 5", "  ConnectTimeout 7",
                 "  ServerAliveInterval 30", "  UserKnownHostsFile /var/lib/pinggy-tunnels/web.known_hosts",
                 "  IdentityFile /var/lib/pinggy-tunnels/id_ed25519"):
        assert line in config.splitlines()
    plan = tunnel_service_plan([_tunnel()], {**SETTINGS, "unit_prefix": ""})[0]
    assert (plan["unit"], plan["unit_file"], plan["config_file"]) == ("web.service", "/etc/systemd/system/web.service",
                                                                      "/etc/pinggy-tunnels/web.conf")
