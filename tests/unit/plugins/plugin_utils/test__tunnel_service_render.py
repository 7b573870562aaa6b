"""What the tunnel_service role writes: the plan (no secret), the ssh client configs as OpenSSH reads them, rendered in O(n)."""

from __future__ import annotations

import shutil
import subprocess
import typing as t
from pathlib import Path

import pytest

from ansible_collections.pinggy.tunnels.plugins.plugin_utils import _tunnel_service_render as render
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_checks import TunnelServiceError
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_render import plan, ssh_config, ssh_configs
from ansible_collections.pinggy.tunnels.tests.unit.plugins.tunnel_service_data import PASSWORD, SETTINGS, TOKEN, TRUST_ON_FIRST_USE
from ansible_collections.pinggy.tunnels.tests.unit.plugins.tunnel_service_data import tunnel as _tunnel


def test_plan_names_units_and_files_and_holds_no_secret() -> None:
    entries = plan(
        [_tunnel(token=TOKEN, token_name="web", options=["x:https", f"b:alice:{PASSWORD}", "k:bearerkey"]),
         {"name": "db", "mode": "tcp", "local_port": "5432", "local_host": "10.0.0.5"},
         {"name": "old", "state": "absent"}],
        {**SETTINGS, "config_dir": "/srv/conf", "state_dir": "/srv/state", "unit_dir": "/srv/units", "unit_prefix": "pt-"},
    )
    assert entries[0] == {
        "name": "web", "state": "present", "mode": "http", "local_host": "localhost", "local_port": 8080, "has_token": True,
        "options": ["x:https", "b:alice:***", "k:***"], "domains": [], "server": "a.pinggy.io", "debugger_port": None,
        "proxy": None,
        "unit": "pt@web.service", "unit_file": "/srv/units/pt@.service",
        "legacy_unit": "pt-web.service", "legacy_unit_file": "/srv/units/pt-web.service",
        "config_file": "/srv/conf/web.conf", "known_hosts_file": "/srv/state/web.known_hosts",
        "expectation": {"mode": "http", "token_name": "web"},
    }
    assert (entries[1]["mode"], entries[1]["local_port"], entries[1]["local_host"], entries[1]["expectation"]) == ("tcp", 5432, "10.0.0.5", {"mode": "tcp"})
    assert (entries[2]["state"], entries[2]["local_port"], entries[2]["unit"]) == ("absent", None, "pt@old.service")
    for secret in (TOKEN, PASSWORD, "bearerkey"):
        assert secret not in str(entries)


def test_ssh_config_carries_token_options_and_connection_settings() -> None:
    tunnels = [_tunnel(token=TOKEN, force=True, options=["x:https", f"b:alice:{PASSWORD}", "a:X-Rate:50%", "w:203.0.113.0/24,2001:db8::/32"]),
               {"name": "db", "mode": "tlstcp", "local_port": 5432, "local_host": "::1"}]
    settings = {**SETTINGS, "server": "127.0.0.1", "port": "2222", "keepalive_interval": 1, "keepalive_count": 3, "state_dir": "/srv/state"}
    web = ssh_config("web", tunnels, settings).splitlines()
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
    db = ssh_config("db", tunnels, settings).splitlines()
    # No token: the mode keyword alone, so ssh never sends the local login name; no options: no RemoteCommand.
    assert "  User tlstcp" in db and "  RemoteForward 0 [::1]:5432" in db
    assert not [line for line in db if "RemoteCommand" in line]


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")
def test_openssh_reads_the_config_as_written(tmp_path: Path) -> None:
    config = tmp_path / "web.conf"
    config.write_text(ssh_config("web", [_tunnel(token=TOKEN, options=["x:https", "a:X-Rate:50%"])],
                                 {"strict_host_key_checking": "accept-new", "state_dir": str(tmp_path)}), encoding="utf-8")
    config.chmod(0o600)
    resolved = subprocess.run(["ssh", "-G", "-F", str(config), "pinggy-tunnel"], check=True, capture_output=True, text=True).stdout.splitlines()
    for line in (f"user {TOKEN}+http", "hostname a.pinggy.io", "port 443", "remotecommand x:https a:X-Rate:50%",
                 "remoteforward 0 [localhost]:8080", "stricthostkeychecking accept-new", "exitonforwardfailure yes",
                 f"userknownhostsfile {tmp_path}/web.known_hosts", "serveraliveinterval 30", "serveralivecountmax 3"):
        assert line in resolved


@pytest.mark.parametrize("option", [
    "a:X-Env:prod", "u:Host:example.com", "r:X-Powered-By", "b:alice:s3cret:with:colons", "k:bearer-key",
    "w:203.0.113.7", "w:203.0.113.0/24,2001:db8::/32,10.0.0.1", "x:https", "x:HTTPSOnly", "x:noreverseproxy",
    "x:xff", "x:xff:X-Real-IP", "x:fullurl", "x:origurl", "x:passpreflight", "x:localServerTls", "x:localServerTls:app.internal",
])
def test_every_documented_option_form_is_accepted_and_written_as_given(option: str) -> None:
    assert plan([_tunnel(options=[option])], SETTINGS)[0]["name"] == "web"
    config = ssh_config("web", [_tunnel(options=[option])], SETTINGS)
    assert f"  RemoteCommand {option}\n" in config


def test_an_empty_token_is_no_token() -> None:
    entries = plan([_tunnel(token="")], SETTINGS)
    assert entries[0]["has_token"] is False
    assert "  User http\n" in ssh_config("web", [_tunnel(token="")], SETTINGS)


def test_the_ssh_config_validates_every_tunnel_not_only_the_one_asked_for() -> None:
    with pytest.raises(TunnelServiceError, match="tunnel 'db': mode must be one of"):
        ssh_config("web", [_tunnel(), {"name": "db", "local_port": 1, "mode": "ftp"}], SETTINGS)


def test_settings_left_unset_take_the_defaults_and_strings_from_the_command_line_are_numbers() -> None:
    config = ssh_config(
        "web", [_tunnel()], {**SETTINGS, **TRUST_ON_FIRST_USE, "server": None, "port": "2222", "keepalive_count": "5", "connect_timeout": "7"})
    for line in ("  HostName a.pinggy.io", "  Port 2222", "  ServerAliveCountMax 5", "  ConnectTimeout 7",
                 "  ServerAliveInterval 30", "  UserKnownHostsFile /var/lib/pinggy-tunnels/web.known_hosts",
                 "  IdentityFile /var/lib/pinggy-tunnels/id_ed25519"):
        assert line in config.splitlines()
    entry = plan([_tunnel()], {**SETTINGS, "unit_prefix": None})[0]
    assert (entry["unit"], entry["unit_file"], entry["legacy_unit"], entry["config_file"]) == (
        "pinggy-tunnel@web.service", "/etc/systemd/system/pinggy-tunnel@.service", "pinggy-tunnel-web.service",
        "/etc/pinggy-tunnels/web.conf")


@pytest.mark.parametrize(("prefix", "template"), [("pinggy-tunnel-", "pinggy-tunnel@"), ("tun", "tun@"), ("a._-", "a@"),
                                                  ("x-y_", "x-y@")])
def test_the_template_unit_is_the_prefix_without_its_trailing_separators(prefix: str, template: str) -> None:
    entry = plan([_tunnel(name="db-1")], {**SETTINGS, "unit_prefix": prefix})[0]
    assert (entry["unit"], entry["unit_file"], entry["legacy_unit"]) == (
        f"{template}db-1.service", f"/etc/systemd/system/{template}.service", f"{prefix}db-1.service")


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
    settings = {**SETTINGS, **TRUST_ON_FIRST_USE, "server": server, "state_dir": "/srv/state"}
    baseline = _resolved(tmp_path, ssh_config("web", [_tunnel(options=["x:https"])], SETTINGS))
    tunnel = _tunnel(token=TOKEN, local_host=local_host, options=["x:https", "a:X-Rate:50%d", "a:X-Home:${HOME}$HOME"])
    resolved = _resolved(tmp_path, ssh_config("web", [tunnel], settings))
    assert set(resolved) == set(baseline) and "proxycommand" not in resolved and "localcommand" not in resolved
    assert resolved["hostname"] == [hostname] and resolved["remoteforward"] == [forward] and resolved["user"] == [f"{TOKEN}+http"]
    assert resolved["remotecommand"] == ["x:https a:X-Rate:50%d a:X-Home:${HOME}$HOME"]
    assert resolved["userknownhostsfile"] == ["/srv/state/web.known_hosts"] and "/srv/state/id_ed25519" in resolved["identityfile"]


def test_no_tunnel_of_that_name_is_one_line() -> None:
    with pytest.raises(TunnelServiceError, match="^tunnel_service: no tunnel named 'db'$"):
        ssh_config("db", [_tunnel()], SETTINGS)


def test_every_present_config_is_rendered_from_one_check_of_the_tunnels(monkeypatch: pytest.MonkeyPatch) -> None:
    tunnels = [{"name": f"t{index}", "local_port": 1000 + index, "token": f"tok{index}"} for index in range(50)]
    tunnels.append({"name": "old", "state": "absent"})
    calls: list[int] = []
    checked = render.validated_tunnels
    monkeypatch.setattr(render, "validated_tunnels", lambda given: calls.append(1) or checked(given))
    configs = ssh_configs(tunnels, SETTINGS)
    assert len(calls) == 1 and list(configs) == [f"t{index}" for index in range(50)]  # absent tunnels have no config
    monkeypatch.setattr(render, "validated_tunnels", checked)
    assert all(configs[name] == ssh_config(name, tunnels, SETTINGS) for name in ("t0", "t49"))
    assert "  User tok7+http" in configs["t7"].splitlines() and "tok8" not in configs["t7"]


def test_domains_are_extra_forwards_and_a_tunnel_server_overrides_the_role_server() -> None:
    tunnels = [_tunnel(token=TOKEN, domains=["app.example.com", "api.example.org"], server="us.a.pinggy.io"),
               {"name": "db", "mode": "tcp", "local_port": 5432, "local_host": "::1"}]
    web = ssh_config("web", tunnels, {**SETTINGS, "server": "a.pinggy.io"}).splitlines()
    assert web[2:9] == [
        "Host pinggy-tunnel",
        "  HostName us.a.pinggy.io",
        "  Port 443",
        f"  User {TOKEN}+http",
        "  RemoteForward 0 localhost:8080",
        "  RemoteForward app.example.com:0 localhost:8080",
        "  RemoteForward api.example.org:0 localhost:8080",
    ]
    assert "  HostName a.pinggy.io" in ssh_config("db", tunnels, SETTINGS).splitlines()
    entries = plan(tunnels, SETTINGS)
    assert [(entry["server"], entry["domains"]) for entry in entries] == [
        ("us.a.pinggy.io", ["app.example.com", "api.example.org"]), ("a.pinggy.io", [])]


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")
def test_openssh_reads_each_domain_as_a_forward_and_the_tunnel_server_as_the_host(tmp_path: Path) -> None:
    baseline = _resolved(tmp_path, ssh_config("web", [_tunnel()], SETTINGS))
    tunnel = _tunnel(token=TOKEN, mode="tls", local_host="fe80::1%eth0", domains=["app.example.com", "api.example.org"],
                     server="fe80::2%enp0s3")
    resolved = _resolved(tmp_path, ssh_config("web", [tunnel], {**SETTINGS, **TRUST_ON_FIRST_USE}))
    assert set(resolved) == set(baseline) and resolved["hostname"] == ["fe80::2%enp0s3"]
    assert resolved["remoteforward"] == ["0 [fe80::1%eth0]:8080", "[app.example.com]:0 [fe80::1%eth0]:8080",
                                         "[api.example.org]:0 [fe80::1%eth0]:8080"]


def test_stale_tunnels_are_the_deployed_configs_the_list_no_longer_names() -> None:
    found = ["/srv/conf/web.conf", "/srv/conf/old-web.conf", "/srv/conf/gone.conf", "/srv/conf/db.conf"]
    tunnels = [_tunnel(name="web"), {"name": "db", "state": "absent"}, {"name": "new", "local_port": 9000}]
    settings = {**SETTINGS, "config_dir": "/srv/conf", "state_dir": "/srv/state", "unit_dir": "/srv/units", "unit_prefix": "pt-"}
    assert render.stale(found, tunnels, settings) == [
        {"name": "gone", "state": "absent", "unit": "pt@gone.service", "unit_file": "/srv/units/pt@.service",
         "legacy_unit": "pt-gone.service", "legacy_unit_file": "/srv/units/pt-gone.service",
         "config_file": "/srv/conf/gone.conf", "known_hosts_file": "/srv/state/gone.known_hosts"},
        {"name": "old-web", "state": "absent", "unit": "pt@old-web.service", "unit_file": "/srv/units/pt@.service",
         "legacy_unit": "pt-old-web.service", "legacy_unit_file": "/srv/units/pt-old-web.service",
         "config_file": "/srv/conf/old-web.conf", "known_hosts_file": "/srv/state/old-web.known_hosts"},
    ]


@pytest.mark.parametrize("path", ["/srv/conf/Web.conf", "/srv/conf/.conf", "/srv/conf/-x.conf", "/srv/conf/web.conf.bak",
                                  "/srv/conf/web", "/srv/conf/a b.conf", "/srv/conf/web.conf~", "/srv/conf/" + "a" * 64 + ".conf"])
def test_files_the_role_never_names_so_are_never_stale(path: str) -> None:
    assert render.stale([path], [], SETTINGS) == []


@pytest.mark.parametrize("found", ["/srv/conf/web.conf", [42], None])
def test_stale_takes_a_list_of_paths_only(found: t.Any) -> None:
    with pytest.raises(TunnelServiceError, match="^tunnel_service: the deployed config files must be a list of paths$"):
        render.stale(found, [], SETTINGS)


def test_stale_checks_the_tunnels_and_settings_first() -> None:
    with pytest.raises(TunnelServiceError, match="^tunnel_service: tunnel 'web' is listed twice$"):
        render.stale([], [_tunnel(), _tunnel()], SETTINGS)


def test_a_debugger_port_is_a_loopback_local_forward_to_the_web_debugger_and_in_the_plan() -> None:
    tunnels = [_tunnel(debugger_port="4301"), {"name": "db", "mode": "tcp", "local_port": 5432, "debugger_port": 4302}]
    assert [entry["debugger_port"] for entry in plan(tunnels, SETTINGS)] == [4301, 4302]
    assert "  LocalForward 127.0.0.1:4301 localhost:4300" in ssh_config("web", tunnels, SETTINGS).splitlines()
    assert "  LocalForward 127.0.0.1:4302 localhost:4300" in ssh_config("db", tunnels, SETTINGS).splitlines()
    assert "LocalForward" not in ssh_config("web", [_tunnel()], SETTINGS)


@pytest.mark.skipif(shutil.which("ssh") is None, reason="needs the OpenSSH client")
def test_openssh_reads_the_debugger_forward_as_bound_to_loopback(tmp_path: Path) -> None:
    baseline = _resolved(tmp_path, ssh_config("web", [_tunnel()], SETTINGS))
    resolved = _resolved(tmp_path, ssh_config("web", [_tunnel(debugger_port=4301)], SETTINGS))
    assert "localforward" not in baseline
    assert resolved["localforward"] == ["[127.0.0.1]:4301 [localhost]:4300"]  # ssh -G brackets every host
    assert {key: value for key, value in resolved.items() if key != "localforward"} == baseline
