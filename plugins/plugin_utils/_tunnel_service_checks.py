# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The tunnel_service role's checks of its tunnels and settings (private: not a public API).

Each check fails with one line naming the tunnel (or the setting) and what was expected, never quoting a token,
a password or a key. Every value that reaches an ssh config line or a unit line is checked for that line's grammar
here; the rendering (``_tunnel_service_render``) escapes what ssh or systemd would expand. The settings' defaults
are the role's own, read from ``roles/tunnel_service/defaults/main.yml``: they are stated there only.
"""

from __future__ import annotations

import ipaddress
import pathlib
import re
import typing as t

import yaml

from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import MODES
from ansible_collections.pinggy.tunnels.plugins.module_utils._dns_names import host_problem
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._known_hosts import has_key_for, known_host_name
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_options import HOSTNAME, option_problem, shown_option
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_proxy import NO_PROXY, ProxyError, proxy_address

# OpenSSH forwards TCP only: a UDP tunnel needs the Pinggy app.
SSH_MODES = tuple(mode for mode in MODES if mode != "udp")
# Keywords Pinggy reads in the user name; a token equal to one of them would be taken as the keyword.
USER_KEYWORDS = SSH_MODES + ("udp", "qr", "aqr", "auth", "force")
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
TOKEN = re.compile(r"[A-Za-z0-9._-]{1,128}")
# An IPv6 scope id as an interface name (IFNAMSIZ - 1 characters): ipaddress takes any, newlines and '%' included.
SCOPE_ID = re.compile(r"[A-Za-z0-9_.-]{1,15}")
SCOPE_RULE = " (an IPv6 scope id only as an interface name: letters, digits, '_', '.' or '-')"
# A path that reaches ssh_config and unit lines: '%' and '$' would be expanded by ssh (tokens, ${VAR}) or systemd
# (specifiers, $VAR in Exec lines), whitespace and quotes would split the line; so only these characters.
PATH = re.compile(r"/[A-Za-z0-9._+@/-]*")
# A user or group name in User=/Group= (systemd's portable form; no '%' specifier, no '$').
ACCOUNT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# The prefix names the template unit (``<prefix>@.service``, its trailing '-', '_' or '.' dropped): a letter or digit.
UNIT_PREFIX = re.compile(r"[A-Za-z0-9_.-]*[A-Za-z0-9][A-Za-z0-9_.-]*")
# A tunnel's defaults (documented in the role's argument_specs, which a test holds to these).
TUNNEL_DEFAULTS: dict[str, t.Any] = {"mode": "http", "local_host": "localhost", "force": False, "options": [], "domains": [],
                                     "state": "present"}
TUNNEL_KEYS = ("name", "mode", "local_port", "local_host", "token", "token_name", "options", "force", "domains", "server", "debugger_port",
               "proxy", "state")
# Pinggy serves custom domains on http and tls tunnels only.
DOMAIN_MODES = ("http", "tls")
# The settings, each the role variable tunnel_service_<name>; the order is the one messages list them in.
SETTINGS = ("server", "port", "keepalive_interval", "keepalive_count", "strict_host_key_checking", "known_hosts", "config_dir",
            "state_dir", "unit_dir", "unit_prefix", "connect_timeout", "user", "group", "ssh_command", "urls_timeout", "urls_delay",
            "proxy", "proxy_client_command")
ROLE_DEFAULTS = pathlib.Path(__file__).resolve().parents[2] / "roles" / "tunnel_service" / "defaults" / "main.yml"
# The numeric settings and their ranges.
NUMBER_SETTINGS = (("port", 1, 65535), ("keepalive_interval", 1, 3600), ("keepalive_count", 1, 100), ("connect_timeout", 1, 3600),
                   ("urls_timeout", 1, 3600), ("urls_delay", 1, 60))


class TunnelServiceError(ValueError):
    """A tunnel or a setting the role cannot write; the message is one line starting ``tunnel_service:``."""


def _fail(message: str) -> TunnelServiceError:
    return TunnelServiceError(f"tunnel_service: {message}")


def _role_defaults() -> dict[str, t.Any]:
    """The role's defaults of the settings. One is derived in the role from another variable (the group, from the
    user): its template is not a value, so it is None here and derived in ``_check_accounts``."""
    variables = yaml.safe_load(ROLE_DEFAULTS.read_text(encoding="utf-8"))
    defaults = {name: variables[f"tunnel_service_{name}"] for name in SETTINGS}
    return {name: None if isinstance(value, str) and "{{" in value else value for name, value in defaults.items()}


DEFAULTS = _role_defaults()


def _as_integer(value: t.Any) -> t.Any:
    """A string of digits as its integer (-e on the command line gives strings); anything else unchanged."""
    # ASCII only: "²" is a digit to str.isdigit() that int() refuses, and "٣" would quietly become 3.
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value


def _is_integer_in(value: t.Any, low: int, high: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high


def is_host(value: str) -> bool:
    """A host name, or an IP address whose IPv6 scope id, if any, is an interface name."""
    _address, percent, scope = value.partition("%")
    if percent and not SCOPE_ID.fullmatch(scope):
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(HOSTNAME.fullmatch(value))


def _tunnel_name(index: int, tunnel: t.Any, seen: set[str]) -> str:
    """The tunnel's name, checked and recorded in ``seen`` (each name once)."""
    if not isinstance(tunnel, t.Mapping):
        raise _fail(f"tunnel_service_tunnels[{index}] must be a dictionary")
    name = tunnel.get("name")
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise _fail(
            f"tunnel_service_tunnels[{index}].name must be 1-63 characters, lower-case letters, digits, '_' or '-', "
            f"starting with a letter or digit (it names a systemd unit and files), got {name!r}"
        )
    if name in seen:
        raise _fail(f"tunnel {name!r} is listed twice")
    seen.add(name)
    return name


def _mode(label: str, tunnel: t.Mapping[str, t.Any]) -> str:
    mode = tunnel.get("mode") or TUNNEL_DEFAULTS["mode"]
    if mode == "udp":
        raise _fail(f"{label}: mode udp needs the Pinggy app (the pinggy CLI), not ssh: OpenSSH forwards TCP only")
    if mode not in SSH_MODES:
        raise _fail(f"{label}: mode must be one of {', '.join(SSH_MODES)}, got {mode!r}")
    return mode


def _state(label: str, tunnel: t.Mapping[str, t.Any]) -> str:
    state = tunnel.get("state") or TUNNEL_DEFAULTS["state"]
    if state not in ("present", "absent"):
        raise _fail(f"{label}: state must be present or absent, got {state!r}")
    return state


def _port(label: str, key: str, value: t.Any, what: str = "") -> int:
    """A tunnel's port ``key``: an integer from 1 to 65535 (a string of ASCII digits taken as one); ``what`` says more."""
    port = _as_integer(value)
    if not _is_integer_in(port, 1, 65535):
        raise _fail(f"{label}: {key} must be an integer from 1 to 65535{what}, got {port!r}")
    return t.cast(int, port)


def _local_port(label: str, tunnel: t.Mapping[str, t.Any], state: str) -> t.Optional[int]:
    """The port to forward to; an absent tunnel needs none (None), but one it is given must still be valid."""
    local_port = tunnel.get("local_port")
    return _port(label, "local_port", local_port) if state == "present" or local_port is not None else None


def _local_host(label: str, tunnel: t.Mapping[str, t.Any]) -> str:
    local_host = tunnel.get("local_host") or TUNNEL_DEFAULTS["local_host"]
    if not isinstance(local_host, str) or not is_host(local_host):
        raise _fail(f"{label}: local_host must be a host name or an IP address{SCOPE_RULE}, got {local_host!r}")
    return local_host


def _token(label: str, tunnel: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """The token, or None for none (an empty one included); never quoted in a message."""
    token = tunnel.get("token")
    if token is None or token == "":
        return None
    if not isinstance(token, str) or not TOKEN.fullmatch(token):
        raise _fail(f"{label}: token must be 1-128 letters, digits, '.', '_' or '-' (value not shown)")
    if token.lower() in USER_KEYWORDS:
        raise _fail(f"{label}: token is a Pinggy keyword ({', '.join(USER_KEYWORDS)}), which Pinggy would not take as a token")
    return token


def _token_name(label: str, tunnel: t.Mapping[str, t.Any]) -> t.Optional[str]:
    token_name = tunnel.get("token_name")
    if token_name is not None and not isinstance(token_name, str):
        raise _fail(f"{label}: token_name must be a string")
    return token_name


def _force(label: str, tunnel: t.Mapping[str, t.Any], token: t.Optional[str]) -> bool:
    force = tunnel.get("force", TUNNEL_DEFAULTS["force"])
    if not isinstance(force, bool):
        raise _fail(f"{label}: force must be a boolean, got {force!r}")
    if force and not token:
        raise _fail(f"{label}: force replaces an active tunnel of the same token, so it needs a token")
    return force


def _options(label: str, tunnel: t.Mapping[str, t.Any], mode: str) -> list[str]:
    options = tunnel.get("options") or TUNNEL_DEFAULTS["options"]
    if not isinstance(options, list):
        raise _fail(f"{label}: options must be a list of Pinggy options such as x:https or w:203.0.113.0/24")
    for option in options:
        if not isinstance(option, str):
            raise _fail(f"{label}: every option must be a string, got a {type(option).__name__}")
        problem = option_problem(option, mode)
        if problem:
            raise _fail(f"{label}: option {shown_option(option)!r} {problem}")
    return list(options)


def _domains(label: str, tunnel: t.Mapping[str, t.Any], mode: str, token: t.Optional[str]) -> list[str]:
    """The tunnel's custom domains (each an extra RemoteForward): DNS host names of two labels or more, each once."""
    domains = tunnel.get("domains") or TUNNEL_DEFAULTS["domains"]
    if not isinstance(domains, list):
        raise _fail(f"{label}: domains must be a list of custom domains such as app.example.com")
    if domains and mode not in DOMAIN_MODES:
        raise _fail(f"{label}: domains apply to http and tls tunnels only, as Pinggy's custom domains do (this one is {mode})")
    if domains and not token:
        raise _fail(f"{label}: domains are Pinggy Pro custom domains, so they need the token they are configured for")
    seen: set[str] = set()
    for domain in domains:
        problem = host_problem(domain, single_label=False)
        if problem:
            raise _fail(f"{label}: domain {domain!r} {problem}; expected a DNS host name such as app.example.com")
        if domain.lower() in seen:
            raise _fail(f"{label}: domain {domain!r} is listed twice")
        seen.add(domain.lower())
    return list(domains)


def _server_problem(setting: str, server: t.Any) -> t.Optional[TunnelServiceError]:
    """The error for a server (the role's or a tunnel's) that is not a host name or an IP address, or None."""
    if isinstance(server, str) and is_host(server):
        return None
    return _fail(f"{setting} must be a host name or an IP address{SCOPE_RULE}, got {server!r}")


def _server(label: str, tunnel: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """The tunnel's own server (a regional one), or None for tunnel_service_server."""
    server = tunnel.get("server")
    if server is None or server == "":
        return None
    problem = _server_problem(f"{label}: server", server)
    if problem:
        raise problem
    return t.cast(str, server)


def _debugger_port(label: str, tunnel: t.Mapping[str, t.Any]) -> t.Optional[int]:
    """The loopback port forwarded to the tunnel's Pinggy web debugger, or None for none."""
    port = tunnel.get("debugger_port")
    return None if port is None else _port(label, "debugger_port", port, " (a free port on the host's 127.0.0.1)")


def _checked_proxy(setting: str, proxy: t.Any) -> str:
    """The proxy as host:port; the error names the setting (or the tunnel) and never quotes credentials."""
    try:
        return proxy_address(proxy)
    except ProxyError as problem:
        raise _fail(f"{setting} {problem}") from None


def _proxy(label: str, tunnel: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """The tunnel's own proxy (``host:port``), NO_PROXY (none, whatever the role's), or None for tunnel_service_proxy.
    An empty one is None, as for server and token: a templated default of '' must not turn the role's proxy off."""
    proxy = tunnel.get("proxy")
    if proxy is None or proxy == "":
        return None
    return NO_PROXY if proxy == NO_PROXY else _checked_proxy(f"{label}: proxy", proxy)


def _validated_tunnel(index: int, tunnel: t.Any, seen: set[str]) -> dict[str, t.Any]:
    # Checked in this order so that a tunnel with several problems is always reported by the same one.
    name = _tunnel_name(index, tunnel, seen)
    label = f"tunnel {name!r}"
    unknown = sorted(str(key) for key in tunnel if key not in TUNNEL_KEYS)
    if unknown:
        raise _fail(f"{label} has unknown key(s) {', '.join(unknown)}; known: {', '.join(TUNNEL_KEYS)}")
    mode = _mode(label, tunnel)
    state = _state(label, tunnel)
    local_port = _local_port(label, tunnel, state)
    local_host = _local_host(label, tunnel)
    token = _token(label, tunnel)
    token_name = _token_name(label, tunnel)
    force = _force(label, tunnel, token)
    options = _options(label, tunnel, mode)
    domains = _domains(label, tunnel, mode, token)
    server = _server(label, tunnel)
    debugger_port = _debugger_port(label, tunnel)
    proxy = _proxy(label, tunnel)
    return {
        "name": name, "mode": mode, "state": state, "local_host": local_host, "local_port": local_port,
        "token": token, "token_name": token_name, "force": force, "options": options, "domains": domains, "server": server,
        "debugger_port": debugger_port, "proxy": proxy,
    }


def _on_this_host(host: str) -> bool:
    """Whether a service at ``host`` listens where a bind of 127.0.0.1 would clash: localhost, or a loopback or
    wildcard address (an IPv4-mapped one included)."""
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return False
    address = getattr(address, "ipv4_mapped", None) or address
    return address.is_loopback or address.is_unspecified


def _check_debugger_ports(tunnels: list[dict[str, t.Any]]) -> None:
    """ssh binds each present tunnel's debugger_port on 127.0.0.1 (and exits when it cannot: ExitOnForwardFailure), so
    no two present tunnels may share one, nor take the port of a service a tunnel forwards to on this host's loopback.
    Absent tunnels are not started: their debugger_port is checked for its form only."""
    present = [tunnel for tunnel in tunnels if tunnel["state"] == "present"]
    holders: dict[int, str] = {}
    for tunnel in present:
        port = tunnel["debugger_port"]
        if port is not None and port in holders:
            raise _fail(f"tunnels {holders[port]!r} and {tunnel['name']!r} both have debugger_port {port}: each tunnel needs a port of its own")
        if port is not None:
            holders[port] = tunnel["name"]
    for tunnel in present:
        if tunnel["local_port"] in holders and _on_this_host(tunnel["local_host"]):
            raise _fail(f"tunnel {holders[tunnel['local_port']]!r}: debugger_port {tunnel['local_port']} is the port tunnel "
                        f"{tunnel['name']!r} forwards to on {tunnel['local_host']}: ssh could not listen on it")


def _check_numbers(merged: dict[str, t.Any]) -> None:
    """Check the numeric settings, converting strings of digits in ``merged``."""
    for key, low, high in NUMBER_SETTINGS:
        value = merged[key] = _as_integer(merged[key])
        if not _is_integer_in(value, low, high):
            raise _fail(f"tunnel_service_{key} must be an integer from {low} to {high}, got {value!r}")


def _known_hosts(merged: t.Mapping[str, t.Any]) -> list[str]:
    """The known_hosts lines (a multi-line string is split), which ``strict_host_key_checking: yes`` needs."""
    known_hosts = merged["known_hosts"]
    if isinstance(known_hosts, str):
        known_hosts = [line for line in known_hosts.splitlines() if line.strip()]
    if not isinstance(known_hosts, list) or not all(isinstance(line, str) and line.strip() and not CONTROL.search(line) for line in known_hosts):
        raise _fail("tunnel_service_known_hosts must be a list of known_hosts lines")
    if merged["strict_host_key_checking"] == "yes" and not known_hosts:
        raise _fail(
            "tunnel_service_known_hosts is empty: pin the Pinggy server's host key (a known_hosts line, e.g. from "
            "ssh-keyscan -p 443 a.pinggy.io) or set tunnel_service_strict_host_key_checking: accept-new to trust it on first use"
        )
    return known_hosts


def _check_paths(merged: t.Mapping[str, t.Any]) -> None:
    """The paths and the unit prefix go into ssh config lines, unit lines and file names: refused unless plain."""
    for key in ("config_dir", "state_dir", "unit_dir", "ssh_command", "proxy_client_command"):
        if not isinstance(merged[key], str) or not PATH.fullmatch(merged[key]):
            raise _fail(
                f"tunnel_service_{key} must be an absolute path without whitespace, of letters, digits and '/', '.', '_', "
                f"'+', '@' or '-' ('%' and '$' would be expanded by ssh or systemd), got {merged[key]!r}"
            )
    if not isinstance(merged["unit_prefix"], str) or not UNIT_PREFIX.fullmatch(merged["unit_prefix"]):
        raise _fail(
            f"tunnel_service_unit_prefix must be letters, digits, '_', '.' or '-', with a letter or digit (it names the "
            f"template unit <prefix>@.service), got {merged['unit_prefix']!r}"
        )


def _check_accounts(merged: dict[str, t.Any]) -> None:
    """The user and group go into the units' User= and Group= lines; the group defaults to the user."""
    if merged["group"] is None:
        merged["group"] = merged["user"]
    for key in ("user", "group"):
        if not isinstance(merged[key], str) or not ACCOUNT.fullmatch(merged[key]):
            raise _fail(
                f"tunnel_service_{key} must be 1-32 letters, digits, '_', '.' or '-', not starting with '.' or '-', "
                f"got {merged[key]!r}"
            )


def _proxy_setting(proxy: t.Any) -> t.Optional[str]:
    """The role's proxy as ``host:port``, or None for none ('' or none)."""
    return None if proxy in ("", NO_PROXY) else _checked_proxy("tunnel_service_proxy", proxy)


def checked_settings(settings: t.Optional[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    """The settings, checked, with the role's defaults for those missing (or None)."""
    merged = dict(DEFAULTS)
    merged.update({key: value for key, value in (settings or {}).items() if value is not None})
    unknown = sorted(str(key) for key in merged if key not in DEFAULTS)
    if unknown:
        raise _fail(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(SETTINGS)}")
    problem = _server_problem("tunnel_service_server", merged["server"])
    if problem:
        raise problem
    _check_numbers(merged)
    if merged["strict_host_key_checking"] not in ("yes", "accept-new"):
        raise _fail(f"tunnel_service_strict_host_key_checking must be yes or accept-new, got {merged['strict_host_key_checking']!r}")
    merged["known_hosts"] = _known_hosts(merged)
    _check_paths(merged)
    _check_accounts(merged)
    merged["proxy"] = _proxy_setting(merged["proxy"])
    return merged


def validated_tunnels(tunnels: t.Any) -> list[dict[str, t.Any]]:
    """Every tunnel, checked, with its defaults (TUNNEL_DEFAULTS; no token, no token_name)."""
    if not isinstance(tunnels, list):
        raise _fail("tunnel_service_tunnels must be a list of tunnels")
    seen: set[str] = set()
    validated = [_validated_tunnel(index, tunnel, seen) for index, tunnel in enumerate(tunnels)]
    _check_debugger_ports(validated)
    return validated


def check_host_keys(tunnels: t.Sequence[t.Mapping[str, t.Any]], merged: t.Mapping[str, t.Any]) -> None:
    """With ``strict_host_key_checking: yes``, every server a present tunnel connects to has a known_hosts line: without
    one ssh would fail ``Host key verification failed`` and be restarted forever."""
    if merged["strict_host_key_checking"] != "yes":
        return
    for tunnel in tunnels:
        server = tunnel["server"] or merged["server"]
        if tunnel["state"] == "present" and not has_key_for(merged["known_hosts"], server, merged["port"]):
            raise _fail(
                f"tunnel {tunnel['name']!r}: no line of tunnel_service_known_hosts is for its server "
                f"{known_host_name(server, merged['port'])}: add one (ssh-keyscan -p {merged['port']} {server}) or set "
                "tunnel_service_strict_host_key_checking: accept-new"
            )
