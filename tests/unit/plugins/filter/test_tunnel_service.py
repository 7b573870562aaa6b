"""The tunnel_service filters: validation (names, modes, tokens, Pinggy options, settings), the plan and the ssh config."""

from __future__ import annotations

import re
import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinggy.tunnels.plugins.filter.tunnel_service import (
    FilterModule,
    shown_option,
    tunnel_service_plan,
    tunnel_service_ssh_config,
)

KEY = "[127.0.0.1]:2222 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEqqrjJ+0Ok8yFPSgA9iS4LsQeyZ64Ywkk8fwBvY1Qaa"
SETTINGS = {"known_hosts": [KEY]}
TOKEN = "T0kenValue42"
PASSWORD = "pa55:word"


def _tunnel(**extra: t.Any) -> dict[str, t.Any]:
    return {"name": "web", "local_port": 8080, **extra}


def _error(tunnels: t.Any, settings: t.Optional[dict[str, t.Any]] = None) -> str:
    with pytest.raises(AnsibleFilterError) as caught:
        tunnel_service_plan(tunnels, SETTINGS if settings is None else settings)
    return str(caught.value)


def test_filters_are_registered_under_their_names() -> None:
    assert FilterModule().filters() == {"tunnel_service_plan": tunnel_service_plan, "tunnel_service_ssh_config": tunnel_service_ssh_config}


def test_plan_names_units_and_files_and_holds_no_secret() -> None:
    plan = tunnel_service_plan(
        [_tunnel(token=TOKEN, token_name="web", options=["x:https", f"b:alice:{PASSWORD}", "k:bearerkey"]),
         {"name": "db", "mode": "tcp", "local_port": "5432", "local_host": "10.0.0.5"},
         {"name": "old", "state": "absent"}],
        {**SETTINGS, "config_dir": "/srv/conf", "state_dir": "/srv/state", "unit_dir": "/srv/units", "unit_prefix": "pt-"},
    )
    assert plan[0] == {
        "name": "web", "state": "present", "mode": "http", "local_host": "localhost", "local_port": 8080, "has_token": True,
        "options": ["x:https", "b:alice:***", "k:***"], "unit": "pt-web.service", "unit_file": "/srv/units/pt-web.service",
        "config_file": "/srv/conf/web.conf", "known_hosts_file": "/srv/state/web.known_hosts",
        "expectation": {"mode": "http", "token_name": "web"},
    }
    assert (plan[1]["mode"], plan[1]["local_port"], plan[1]["local_host"], plan[1]["expectation"]) == ("tcp", 5432, "10.0.0.5", {"mode": "tcp"})
    assert (plan[2]["state"], plan[2]["local_port"], plan[2]["unit"]) == ("absent", None, "pt-old.service")
    for secret in (TOKEN, PASSWORD, "bearerkey"):
        assert secret not in str(plan)


def test_ssh_config_carries_token_options_and_connection_settings() -> None:
    tunnels = [_tunnel(token=TOKEN, force=True, options=["x:https", f"b:alice:{PASSWORD}", "a:X-Rate:50%", "w:203.0.113.0/24,2001:db8::/32"]),
               {"name": "db", "mode": "tlstcp", "local_port": 5432, "local_host": "::1"}]
    settings = {**SETTINGS, "server": "127.0.0.1", "port": "2222", "keepalive_interval": 1, "keepalive_count": 3, "state_dir": "/srv/state"}
    web = tunnel_service_ssh_config("web", tunnels, settings).splitlines()
    assert web[2:8] == [
        "Host pinggy-tunnel",
        "  HostName 127.0.0.1",
        "  Port 2222",
        f"  User {TOKEN}+http+force",
        "  RemoteForward 0 localhost:8080",
        f"  RemoteCommand x:https b:alice:{PASSWORD} a:X-Rate:50%% w:203.0.113.0/24,2001:db8::/32",  # %% is a literal %
    ]
    for line in ("  ServerAliveInterval 1", "  ServerAliveCountMax 3", "  ExitOnForwardFailure yes", "  StrictHostKeyChecking yes",
                 "  UserKnownHostsFile /srv/state/web.known_hosts", "  GlobalKnownHostsFile none", "  BatchMode yes", "  RequestTTY no"):
        assert line in web
    db = tunnel_service_ssh_config("db", tunnels, settings).splitlines()
    # No token: the mode keyword alone, so ssh never sends the local login name; no options: no RemoteCommand.
    assert "  User tlstcp" in db and "  RemoteForward 0 [::1]:5432" in db
    assert not [line for line in db if "RemoteCommand" in line]


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")
def test_openssh_reads_the_config_as_written(tmp_path: Path) -> None:
    config = tmp_path / "web.conf"
    config.write_text(tunnel_service_ssh_config("web", [_tunnel(token=TOKEN, options=["x:https", "a:X-Rate:50%"])],
                                                {"strict_host_key_checking": "accept-new", "state_dir": str(tmp_path)}), encoding="utf-8")
    config.chmod(0o600)
    resolved = subprocess.run(["ssh", "-G", "-F", str(config), "pinggy-tunnel"], check=True, capture_output=True, text=True).stdout.splitlines()
    for line in (f"user {TOKEN}+http", "hostname a.pinggy.io", "port 443", "remotecommand x:https a:X-Rate:50%",
                 "remoteforward 0 [localhost]:8080", "stricthostkeychecking accept-new", "exitonforwardfailure yes",
                 f"userknownhostsfile {tmp_path}/web.known_hosts", "serveraliveinterval 30", "serveralivecountmax 3"):
        assert line in resolved


@pytest.mark.parametrize(("tunnel", "message"), [
    ({"name": "Web", "local_port": 1}, r"tunnel_service_tunnels\[0\]\.name must be 1-63 characters, lower-case letters, digits"),
    ({"name": "web.service", "local_port": 1}, r"\.name must be"),
    ({"name": "-web", "local_port": 1}, r"\.name must be"),
    ({"name": "w" * 64, "local_port": 1}, r"\.name must be"),
    (_tunnel(mode="udp"), r"^tunnel_service: tunnel 'web': mode udp needs the Pinggy app \(the pinggy CLI\), not ssh"),
    (_tunnel(mode="ftp"), r"tunnel 'web': mode must be one of http, tcp, tls, tlstcp, got 'ftp'"),
    ({"name": "web"}, r"tunnel 'web': local_port must be an integer from 1 to 65535, got None"),
    (_tunnel(local_port=70000), r"local_port must be an integer from 1 to 65535, got 70000"),
    (_tunnel(local_host="bad host"), r"local_host must be a host name or an IP address"),
    (_tunnel(state="stopped"), r"state must be present or absent"),
    (_tunnel(colour="red"), r"tunnel 'web' has unknown key\(s\) colour; known: name, mode"),
    (_tunnel(token="TCP"), r"token is a Pinggy keyword"),
    (_tunnel(force=True), r"force replaces an active tunnel of the same token, so it needs a token"),
    (_tunnel(options="x:https"), r"options must be a list of Pinggy options"),
    (_tunnel(options=["zz:1"]), r"^tunnel_service: tunnel 'web': option 'zz:1' is not a Pinggy option; the documented forms are a:Header:Value"),
    (_tunnel(options=["verbose"]), r"option 'verbose' is not a Pinggy option"),
    (_tunnel(options=["x:turbo"]), r"option 'x:turbo' is not a Pinggy x: option; known: x:https"),
    (_tunnel(options=["x:https:now"]), r"option 'x:https:now' x:https takes no value"),
    (_tunnel(options=["a:X-Env"]), r"option 'a:X-Env' must be a:Header:Value"),
    (_tunnel(options=["r:Bad/Header"]), r"must be r:Header"),
    (_tunnel(options=["b:alice"]), r"option 'b:alice:\*\*\*' must be b:user:password"),
    (_tunnel(options=["w:10.0.0.0/8,10.0.0.300"]), r"option 'w:10.0.0.0/8,10.0.0.300' must be w:IP-or-CIDR"),
    (_tunnel(options=["a:X-Note:two words"]), r"has whitespace, quotes, a backslash, '#' or non-ASCII"),
    (_tunnel(options=["a:X-Tag:#1"]), r"has whitespace, quotes, a backslash, '#'"),
    (_tunnel(mode="tcp", options=["x:https"]), r"option 'x:https' applies to http tunnels only \(this one is tcp\); tcp tunnels take w: only"),
    (_tunnel(mode="tls", options=["k:key"]), r"option 'k:\*\*\*' applies to http tunnels only"),
])
def test_bad_tunnels_fail_with_one_line_naming_tunnel_and_option(tunnel: dict[str, t.Any], message: str) -> None:
    assert _error([tunnel]).count("\n") == 0
    assert re.search(message, _error([tunnel]))


def test_errors_never_quote_tokens_passwords_or_keys() -> None:
    for tunnel in (_tunnel(token=f"{TOKEN}/bad"), _tunnel(options=[f"b:alice:{PASSWORD}", "k:sekrit", "bogus"]),
                   _tunnel(mode="tcp", options=["k:sekrit"]), _tunnel(mode="tcp", options=[f"b:alice:{PASSWORD}"])):
        message = _error([tunnel])
        for secret in (TOKEN, PASSWORD, "sekrit"):
            assert secret not in message, message


def test_duplicate_names_and_bad_settings_are_refused() -> None:
    assert "tunnel 'web' is listed twice" in _error([_tunnel(), _tunnel()])
    assert "tunnel_service_tunnels must be a list" in _error({"name": "web"})
    assert "tunnel_service_known_hosts is empty: pin the Pinggy server's host key" in _error([_tunnel()], {})
    assert "strict_host_key_checking must be yes or accept-new" in _error([_tunnel()], {**SETTINGS, "strict_host_key_checking": "no"})
    assert "tunnel_service_port must be an integer from 1 to 65535" in _error([_tunnel()], {**SETTINGS, "port": 0})
    assert "tunnel_service_config_dir must be an absolute path" in _error([_tunnel()], {**SETTINGS, "config_dir": "etc"})
    assert "unknown setting(s) colour" in _error([_tunnel()], {**SETTINGS, "colour": "red"})
    assert tunnel_service_plan([_tunnel()], {"strict_host_key_checking": "accept-new"})[0]["name"] == "web"
    with pytest.raises(AnsibleFilterError, match="no tunnel named 'db'"):
        tunnel_service_ssh_config("db", [_tunnel()], SETTINGS)


def test_shown_option_hides_passwords_and_keys() -> None:
    assert [shown_option(option) for option in ("b:alice:pw:x", "k:key", "w:10.0.0.0/8", "x:https")] == [
        "b:alice:***", "k:***", "w:10.0.0.0/8", "x:https"]


@pytest.mark.parametrize(("tunnel", "message"), [
    (_tunnel(options=["k:"]), r"option 'k:\*\*\*' must be k:key"),
    (_tunnel(options=["u:X-Env"]), r"option 'u:X-Env' must be u:Header:Value"),
    (_tunnel(options=["x:xff:Bad Header"]), r"has whitespace"),
    (_tunnel(options=["x:xff:Bad/Header"]), r"must be x:xff or x:xff:Header"),
    (_tunnel(options=["x:localServerTls:bad_sni!"]), r"must be x:localServerTls or x:localServerTls:SNI"),
    (_tunnel(options=[7]), r"every option must be a string, got a int"),
    (_tunnel(token_name=["prod"]), r"token_name must be a string"),
    (_tunnel(force="yes"), r"force must be a boolean, got 'yes'"),
    ("web", r"tunnel_service_tunnels\[0\] must be a dictionary"),
])
def test_hostile_tunnel_values_fail_with_one_line(tunnel: t.Any, message: str) -> None:
    error = _error([tunnel])
    assert error.count("\n") == 0 and re.search(message, error), error


@pytest.mark.parametrize(("settings", "message"), [
    ({"server": "bad host"}, "tunnel_service_server must be a host name or an IP address"),
    ({"keepalive_count": True}, "tunnel_service_keepalive_count must be an integer from 1 to 100, got True"),
    ({"known_hosts": "a.pinggy.io ssh-ed25519 AAAA\n", "port": "443"}, None),
    ({"known_hosts": [""]}, "tunnel_service_known_hosts must be a list of known_hosts lines"),
    ({"unit_prefix": "pinggy tunnel"}, "tunnel_service_unit_prefix must be letters, digits"),
])
def test_hostile_settings_fail_with_one_line(settings: dict[str, t.Any], message: t.Optional[str]) -> None:
    if message is None:  # strings from -e and a known_hosts block are accepted
        assert tunnel_service_plan([_tunnel()], {**SETTINGS, **settings})[0]["name"] == "web"
        return
    assert message in _error([_tunnel()], {**SETTINGS, **settings})


# Issue 22: every value that reaches an ssh config line or a unit line is checked for that line's grammar.
INJECTION = "\n  ProxyCommand touch pwned\n  #"
CONTROLS = ["\n", "\r", "\0", "\t", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\u2028"]


@pytest.mark.parametrize("local_host", [
    f"::1%x]:22{INJECTION}", "::1%x]:22\r  ProxyCommand touch pwned", "::1%x]:22\0ExecStartPre=/bin/sh", "::1%eth0 x",
    "fe80::1%", "fe80::1%eth0:1/2", "fe80::1%" + "e" * 16, "fe80::1%%d", "fe80::1%${HOME}", "127.0.0.1%eth0", "localhost%eth0",
] + [f"fe80::1%eth{control}0" for control in CONTROLS] + [f"localhost{control}" for control in CONTROLS])
def test_local_hosts_that_would_break_a_config_or_unit_line_are_refused(local_host: str) -> None:
    message = _error([_tunnel(local_host=local_host)])
    assert message.startswith("tunnel_service: tunnel 'web': local_host must be a host name or an IP address (an IPv6 scope id "
                              "only as an interface name: letters, digits, '_', '.' or '-'), got ")
    assert "\n" not in message and "\r" not in message and "\0" not in message


@pytest.mark.parametrize("server", [f"::1%h{INJECTION}", "::1%h\r  ProxyCommand touch pwned", "::1%h\0", "fe80::1%%h",
                                    "a.pinggy.io\n", "a.pinggy.io%h"] + [f"fe80::1%lo{control}" for control in CONTROLS])
def test_servers_that_would_break_a_config_line_are_refused(server: str) -> None:
    assert _error([_tunnel()], {**SETTINGS, "server": server}).startswith(
        "tunnel_service: tunnel_service_server must be a host name or an IP address (an IPv6 scope id only as an interface name")


@pytest.mark.parametrize("key", ["config_dir", "state_dir", "unit_dir", "ssh_command"])
@pytest.mark.parametrize("path", ["/var/lib/%d", "/var/lib/${HOME}", "/var/lib/$HOME", "/var/lib/%%", "/var/lib/a b", "/var/lib/'a'",
                                  "/var/lib/a\\b", "/var/lib/#a", "~/pinggy", "/var/lib/caf\u00e9"] + [f"/var/lib/a{c}b" for c in CONTROLS])
def test_paths_ssh_or_systemd_would_expand_or_split_are_refused(key: str, path: str) -> None:
    message = _error([_tunnel()], {**SETTINGS, key: path})
    assert message.startswith(f"tunnel_service: tunnel_service_{key} must be an absolute path without whitespace, of letters, "
                              "digits and '/', '.', '_', '+', '@' or '-' ('%' and '$' would be expanded by ssh or systemd), got ")
    assert "\n" not in message


@pytest.mark.parametrize("key", ["user", "group"])
@pytest.mark.parametrize("account", ["root\nExecStartPre=/bin/sh", "pinggy\r", "pinggy\0", "%u", "pinggy$", "a b", "-x", ".x", "", "a" * 33, 7])
def test_users_and_groups_that_would_break_a_unit_line_are_refused(key: str, account: t.Any) -> None:
    message = _error([_tunnel()], {**SETTINGS, key: account})
    assert message.startswith(f"tunnel_service: tunnel_service_{key} must be 1-32 letters, digits, '_', '.' or '-', "
                              "not starting with '.' or '-', got ")
    assert "\n" not in message


@pytest.mark.parametrize("control", CONTROLS[1:-1])  # U+2028 ends no known_hosts line
def test_known_hosts_lines_with_a_control_character_are_refused(control: str) -> None:
    assert "tunnel_service_known_hosts must be a list of known_hosts lines" in _error([_tunnel()], {"known_hosts": [KEY + control]})


def test_accounts_and_plain_paths_are_accepted_and_the_group_defaults_to_the_user() -> None:
    settings = {**SETTINGS, "user": "svc_pinggy-1.a", "ssh_command": "/opt/ssh+9@x/bin/ssh", "state_dir": "/srv/state_2.d"}
    assert tunnel_service_plan([_tunnel()], settings)[0]["known_hosts_file"] == "/srv/state_2.d/web.known_hosts"
    assert tunnel_service_plan([_tunnel()], {**settings, "group": None, "user": "x"})[0]["name"] == "web"


def _resolved(tmp_path: Path, config: str) -> dict[str, list[str]]:
    """What OpenSSH makes of a config (ssh -G parses it and connects nowhere): each keyword's values."""
    path = tmp_path / "tunnel.conf"
    path.write_text(config, encoding="utf-8")
    path.chmod(0o600)
    output = subprocess.run(["ssh", "-G", "-F", str(path), "pinggy-tunnel"], check=True, capture_output=True, text=True).stdout
    resolved: dict[str, list[str]] = {}
    for line in output.splitlines():
        keyword, _sep, value = line.partition(" ")
        resolved.setdefault(keyword, []).append(value)
    return resolved


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")
@pytest.mark.parametrize(("local_host", "server", "forward", "hostname"), [
    ("fe80::1%eth0", "fe80::2%enp0s3", "0 [fe80::1%eth0]:8080", "fe80::2%enp0s3"),
    ("fe80::1%lo.1_x-y", "a.pinggy.io", "0 [fe80::1%lo.1_x-y]:8080", "a.pinggy.io"),
    ("::1", "::1", "0 [::1]:8080", "::1"),
])
def test_openssh_reads_exactly_the_intended_values_of_scoped_addresses(
        tmp_path: Path, local_host: str, server: str, forward: str, hostname: str) -> None:
    settings = {**SETTINGS, "server": server, "state_dir": "/srv/state"}
    baseline = _resolved(tmp_path, tunnel_service_ssh_config("web", [_tunnel(options=["x:https"])], SETTINGS))
    tunnel = _tunnel(token=TOKEN, local_host=local_host, options=["x:https", "a:X-Rate:50%d", "a:X-Home:${HOME}$HOME"])
    resolved = _resolved(tmp_path, tunnel_service_ssh_config("web", [tunnel], settings))
    assert set(resolved) == set(baseline) and "proxycommand" not in resolved and "localcommand" not in resolved
    assert resolved["hostname"] == [hostname] and resolved["remoteforward"] == [forward] and resolved["user"] == [f"{TOKEN}+http"]
    assert resolved["remotecommand"] == ["x:https a:X-Rate:50%d a:X-Home:${HOME}$HOME"]
    assert resolved["userknownhostsfile"] == ["/srv/state/web.known_hosts"] and "/srv/state/id_ed25519" in resolved["identityfile"]
