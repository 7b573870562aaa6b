# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the tunnel_service role writes, rendered from checked tunnels and settings (private: not a public API).

The plan (per tunnel: its unit and files, no secret), the ssh client configs (the token and the options) and the
deployed tunnels no longer listed (``stale``, for ``tunnel_service_exclusive``). The
values were checked for their lines by ``_tunnel_service_checks``; here what ssh would expand is escaped. Each entry
point checks the tunnels once, so rendering every config is O(n).
"""

from __future__ import annotations

import posixpath
import typing as t

from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_checks import (
    NAME,
    TunnelServiceError,
    check_host_keys,
    checked_settings,
    validated_tunnels,
)
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_options import shown_option
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_proxy import NO_PROXY, proxy_command

HOST_ALIAS = "pinggy-tunnel"
# Where Pinggy's web debugger listens, on the server's side of the connection (pinggy.io docs: -L4300:localhost:4300).
DEBUGGER_TARGET = "localhost:4300"


def _user(tunnel: t.Mapping[str, t.Any]) -> str:
    """The ssh user name Pinggy reads: the token and keywords joined with '+' (a mode keyword always, so the
    local login name is never sent as a token)."""
    return "+".join(part for part in (tunnel["token"], tunnel["mode"], "force" if tunnel["force"] else None) if part)


def _known_hosts_file(merged: t.Mapping[str, t.Any], name: str) -> str:
    """Where the tunnel's pinned server keys are kept (the plan writes it, the ssh config reads it)."""
    return posixpath.join(merged["state_dir"], f"{name}.known_hosts")


def _server(tunnel: t.Mapping[str, t.Any], merged: t.Mapping[str, t.Any]) -> str:
    """The server the tunnel connects to: its own (a regional one) or tunnel_service_server."""
    return t.cast(str, tunnel["server"] or merged["server"])


def _proxy(tunnel: t.Mapping[str, t.Any], merged: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """The HTTP CONNECT proxy (host:port) the tunnel goes through: its own, none, or tunnel_service_proxy (or None)."""
    return None if tunnel["proxy"] == NO_PROXY else tunnel["proxy"] or merged["proxy"]


def template_unit(settings: t.Mapping[str, t.Any]) -> dict[str, str]:
    """The one template unit every tunnel runs from: ``<prefix>@.service`` (the prefix's trailing '-', '_' or '.'
    dropped, so ``pinggy-tunnel-`` gives ``pinggy-tunnel@.service``), and its file."""
    unit = f"{settings['unit_prefix'].rstrip('-_.')}@.service"
    return {"unit": unit, "unit_file": posixpath.join(settings["unit_dir"], unit)}


def _files(name: str, merged: t.Mapping[str, t.Any]) -> dict[str, str]:
    """The unit and the files the role writes for tunnel ``name``: its instance of the template unit, the template's
    file, the unit file earlier versions wrote per tunnel (``legacy_unit``, migrated and removed), its config and
    known_hosts files."""
    template = template_unit(merged)
    legacy_unit = f"{merged['unit_prefix']}{name}.service"
    return {
        "unit": template["unit"].replace("@.service", f"@{name}.service"),
        "unit_file": template["unit_file"],
        "legacy_unit": legacy_unit,
        "legacy_unit_file": posixpath.join(merged["unit_dir"], legacy_unit),
        "config_file": posixpath.join(merged["config_dir"], f"{name}.conf"),
        "known_hosts_file": _known_hosts_file(merged, name),
    }


def _plan_entry(tunnel: t.Mapping[str, t.Any], merged: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    name = tunnel["name"]
    expectation: dict[str, t.Any] = {"mode": tunnel["mode"]}
    if tunnel["token_name"]:
        expectation["token_name"] = tunnel["token_name"]
    return {
        "name": name,
        "state": tunnel["state"],
        "mode": tunnel["mode"],
        "local_host": tunnel["local_host"],
        "local_port": tunnel["local_port"],
        "has_token": tunnel["token"] is not None,
        "options": [shown_option(option) for option in tunnel["options"]],
        "domains": tunnel["domains"],
        "server": _server(tunnel, merged),
        "debugger_port": tunnel["debugger_port"],
        "proxy": _proxy(tunnel, merged),
        **_files(name, merged),
        "expectation": expectation,
    }


def _checked(tunnels: t.Any, settings: t.Optional[t.Mapping[str, t.Any]]) -> tuple[dict[str, t.Any], list[dict[str, t.Any]]]:
    """The settings and the tunnels, each checked, and every present tunnel's server with a pinned key."""
    merged = checked_settings(settings)
    checked = validated_tunnels(tunnels)
    check_host_keys(checked, merged)
    return merged, checked


def plan(tunnels: t.Any, settings: t.Optional[t.Mapping[str, t.Any]] = None) -> list[dict[str, t.Any]]:
    """Check the tunnels and return what the role writes for each: no token, password or key in it."""
    merged, checked = _checked(tunnels, settings)
    return [_plan_entry(tunnel, merged) for tunnel in checked]


def _deployed_name(path: t.Any) -> t.Optional[str]:
    """The tunnel name of a config file the role wrote (``<name>.conf``), or None for a file the role never names so."""
    if not isinstance(path, str):
        raise TunnelServiceError("tunnel_service: the deployed config files must be a list of paths")
    name, dot, extension = posixpath.basename(path).rpartition(".")
    return name if dot and extension == "conf" and NAME.fullmatch(name) else None


def stale(config_files: t.Any, tunnels: t.Any, settings: t.Optional[t.Mapping[str, t.Any]] = None) -> list[dict[str, t.Any]]:
    """The tunnels deployed on the host (``config_files``: the role's config files found there) that ``tunnels`` does
    not list, by name, each as an absent tunnel: its name, ``state: absent``, its unit and its files."""
    merged = checked_settings(settings)
    listed = {tunnel["name"] for tunnel in validated_tunnels(tunnels)}
    if not isinstance(config_files, list):
        raise TunnelServiceError("tunnel_service: the deployed config files must be a list of paths")
    deployed = {name for name in map(_deployed_name, config_files) if name is not None}
    return [{"name": name, "state": "absent", **_files(name, merged)} for name in sorted(deployed - listed)]


def _forward_target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _tunnel_lines(tunnel: t.Mapping[str, t.Any], merged: t.Mapping[str, t.Any]) -> list[str]:
    """The lines that say which tunnel to open: the server, the token and keywords (User), the forward, the options."""
    # RemoteCommand expands %-tokens: a literal % is written %%.
    remote_command = " ".join(option.replace("%", "%%") for option in tunnel["options"])
    target = _forward_target(tunnel["local_host"], tunnel["local_port"])
    lines = [
        f"# Managed by Ansible (pinggy.tunnels.tunnel_service): Pinggy tunnel {tunnel['name']}.",
        "# It holds the tunnel's token and options: keep it readable only by the user that runs ssh.",
        f"Host {HOST_ALIAS}",
        f"  HostName {_server(tunnel, merged).replace('%', '%%')}",  # HostName expands %-tokens; a scope id's % is %%
        f"  Port {merged['port']}",
        f"  User {_user(tunnel)}",
        f"  RemoteForward 0 {target}",
    ]
    # A custom domain is one more forward, bound to the domain (Pinggy's -R<domain>:0:<target>).
    lines += [f"  RemoteForward {domain}:0 {target}" for domain in tunnel["domains"]]
    if tunnel["debugger_port"] is not None:  # bound to loopback only: the debugger is for this host's eyes
        lines.append(f"  LocalForward 127.0.0.1:{tunnel['debugger_port']} {DEBUGGER_TARGET}")
    if remote_command:  # without options ssh asks for a session, where Pinggy prints the tunnel's URLs
        lines.append(f"  RemoteCommand {remote_command}")
    return lines


def _proxy_lines(tunnel: t.Mapping[str, t.Any], merged: t.Mapping[str, t.Any]) -> list[str]:
    """Through an HTTP CONNECT proxy, as Pinggy documents it (OpenBSD netcat); checked, so nothing to escape."""
    proxy = _proxy(tunnel, merged)
    return [f"  ProxyCommand {proxy_command(merged['proxy_client_command'], proxy)}"] if proxy else []


def _session_lines(name: str, merged: t.Mapping[str, t.Any]) -> list[str]:
    """The lines that keep the connection alive, pin the server's key and turn off everything a tunnel does not need."""
    return [
        "  RequestTTY no",
        "  ExitOnForwardFailure yes",
        f"  ServerAliveInterval {merged['keepalive_interval']}",
        f"  ServerAliveCountMax {merged['keepalive_count']}",
        f"  ConnectTimeout {merged['connect_timeout']}",
        f"  StrictHostKeyChecking {merged['strict_host_key_checking']}",
        f"  UserKnownHostsFile {_known_hosts_file(merged, name)}",
        "  GlobalKnownHostsFile none",
        "  CheckHostIP no",
        "  UpdateHostKeys no",
        "  BatchMode yes",
        # Pinggy needs no authentication; a key of the tunnel's own spares a password prompt should it ask.
        f"  IdentityFile {posixpath.join(merged['state_dir'], 'id_ed25519')}",
        "  IdentitiesOnly yes",
        "  PasswordAuthentication no",
        "  KbdInteractiveAuthentication no",
        "  ForwardAgent no",
        "  ForwardX11 no",
        "  ControlMaster no",
        "  ControlPath none",
        "  LogLevel ERROR",
        "",
    ]


def _config(tunnel: t.Mapping[str, t.Any], merged: t.Mapping[str, t.Any]) -> str:
    return "\n".join(_tunnel_lines(tunnel, merged) + _proxy_lines(tunnel, merged) + _session_lines(tunnel["name"], merged))


def ssh_config(name: str, tunnels: t.Any, settings: t.Optional[t.Mapping[str, t.Any]] = None) -> str:
    """The ssh client config of tunnel ``name``: it holds the token (User) and the options (RemoteCommand).
    Every tunnel is checked, as the plan does."""
    merged, checked = _checked(tunnels, settings)
    matching = [tunnel for tunnel in checked if tunnel["name"] == name]
    if not matching:
        raise TunnelServiceError(f"tunnel_service: no tunnel named {name!r}")
    return _config(matching[0], merged)


def ssh_configs(tunnels: t.Any, settings: t.Optional[t.Mapping[str, t.Any]] = None) -> dict[str, str]:
    """The ssh client config of every present tunnel, by name: the tunnels checked once, each config rendered once."""
    merged, checked = _checked(tunnels, settings)
    return {tunnel["name"]: _config(tunnel, merged) for tunnel in checked if tunnel["state"] == "present"}
