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
