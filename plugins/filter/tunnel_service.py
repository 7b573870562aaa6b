# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the tunnel_service role: validate the tunnels, plan their files, render each ssh client config.

Documentation: tunnel_service_plan.yml and tunnel_service_ssh_config.yml beside this file.

The forms accepted are Pinggy's documented ones (pinggy.io/docs/usages, /docs/advanced/advanced_options,
/docs/http_tunnels/*): the user name ``[TOKEN+]MODE[+force]`` and remote options ``a:Name:Value``,
``u:Name:Value``, ``r:Name``, ``b:user:password``, ``k:key``, ``w:CIDR[,CIDR...]`` and ``x:...``.
No message ever quotes a token, a basic-auth password or a key.
"""

from __future__ import annotations

import ipaddress
import posixpath
import re
import typing as t

from ansible.errors import AnsibleFilterError

from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import MODES

# OpenSSH forwards TCP only: a UDP tunnel needs the Pinggy app.
SSH_MODES = tuple(mode for mode in MODES if mode != "udp")
# Keywords Pinggy reads in the user name; a token equal to one of them would be taken as the keyword.
USER_KEYWORDS = SSH_MODES + ("udp", "qr", "aqr", "auth", "force")
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,62}")
TOKEN = re.compile(r"[A-Za-z0-9._-]{1,128}")
# One option is one word of the remote command: printable ASCII without whitespace, quotes, backslash or '#'
# (ssh_config would split, unquote or end the line there).
WORD = r"[!$%&()*+,./0-9:;<=>?@A-Z\[\]^_a-z{|}~-]+"
HEADER = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
HEADER_NOHASH = r"[!$%&*+.^_|~0-9A-Za-z-]+"  # an HTTP token, minus the characters ssh_config treats specially
# An IPv6 scope id as an interface name (IFNAMSIZ - 1 characters): ipaddress takes any, newlines and '%' included.
SCOPE_ID = re.compile(r"[A-Za-z0-9_.-]{1,15}")
SCOPE_RULE = " (an IPv6 scope id only as an interface name: letters, digits, '_', '.' or '-')"
# A path that reaches ssh_config and unit lines: '%' and '$' would be expanded by ssh (tokens, ${VAR}) or systemd
# (specifiers, $VAR in Exec lines), whitespace and quotes would split the line; so only these characters.
PATH = re.compile(r"/[A-Za-z0-9._+@/-]*")
# A user or group name in User=/Group= (systemd's portable form; no '%' specifier, no '$').
ACCOUNT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}")
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
X_FLAGS = ("https", "httpsonly", "noreverseproxy", "xff", "fullurl", "origurl", "passpreflight", "localservertls")
OPTION_FORMS = (
    "a:Header:Value, u:Header:Value, r:Header, b:user:password, k:key, w:IP-or-CIDR[,...], "
    "x:https, x:noreverseproxy, x:xff[:Header], x:fullurl, x:passpreflight, x:localServerTls[:SNI]"
)
HTTP_ONLY = ("a", "u", "r", "b", "k", "x")
TUNNEL_KEYS = ("name", "mode", "local_port", "local_host", "token", "token_name", "options", "force", "state")
HOST_ALIAS = "pinggy-tunnel"
DEFAULT_SETTINGS: dict[str, t.Any] = {
    "server": "a.pinggy.io",
    "port": 443,
    "keepalive_interval": 30,
    "keepalive_count": 3,
    "strict_host_key_checking": "yes",
    "known_hosts": [],
    "config_dir": "/etc/pinggy-tunnels",
    "state_dir": "/var/lib/pinggy-tunnels",
    "unit_dir": "/etc/systemd/system",
    "unit_prefix": "pinggy-tunnel-",
    "connect_timeout": 30,
    "user": "pinggy-tunnel",
    "group": None,
    "ssh_command": "/usr/bin/ssh",
}


def _fail(message: str) -> AnsibleFilterError:
    return AnsibleFilterError(f"tunnel_service: {message}")


def shown_option(option: str) -> str:
    """An option as it may be printed: the password of ``b:`` and the key of ``k:`` replaced by ``***``."""
    if option.startswith("b:"):
        user = option[2:].split(":", 1)[0]
        return f"b:{user}:***"
    if option.startswith("k:"):
        return "k:***"
    return option


def _header_value_problem(kind: str, value: str) -> t.Optional[str]:
    header, sep, header_value = value.partition(":")
    if not sep or not re.fullmatch(HEADER_NOHASH, header) or not header_value:
        return f"must be {kind}:Header:Value (a header name, then a value)"
    return None


def _header_problem(_kind: str, value: str) -> t.Optional[str]:
    if not re.fullmatch(HEADER_NOHASH, value):
        return "must be r:Header (a header name)"
    return None


def _basic_auth_problem(_kind: str, value: str) -> t.Optional[str]:
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        return "must be b:user:password (a user name without ':', then a password)"
    return None


def _key_problem(_kind: str, value: str) -> t.Optional[str]:
    if not value:
        return "must be k:key (the key visitors send as 'Authorization: Bearer key')"
    return None


def _allow_list_problem(_kind: str, value: str) -> t.Optional[str]:
    for address in value.split(","):
        try:
            ipaddress.ip_network(address, strict=False)
        except ValueError:
            return "must be w:IP-or-CIDR[,IP-or-CIDR...] (e.g. w:203.0.113.0/24,2001:db8::/32)"
    return None


def _x_problem(_kind: str, value: str) -> t.Optional[str]:
    flag, _sep, argument = value.partition(":")
    flag = flag.lower()
    if flag not in X_FLAGS:
        return f"is not a Pinggy x: option; known: x:{', x:'.join(X_FLAGS)}"
    if argument and flag == "xff" and not re.fullmatch(HEADER_NOHASH, argument):
        return "must be x:xff or x:xff:Header (a header name)"
    if argument and flag == "localservertls" and not HOSTNAME.fullmatch(argument):
        return "must be x:localServerTls or x:localServerTls:SNI (a host name)"
    if argument and flag not in ("xff", "localservertls"):
        return f"x:{flag} takes no value"
    return None


# The value check of each option kind (the part after ``kind:``); the kinds are the documented ones.
VALUE_PROBLEMS: dict[str, t.Callable[[str, str], t.Optional[str]]] = {
    "a": _header_value_problem,
    "u": _header_value_problem,
    "r": _header_problem,
    "b": _basic_auth_problem,
    "k": _key_problem,
    "w": _allow_list_problem,
    "x": _x_problem,
}


def _option_problem(option: str, mode: str) -> t.Optional[str]:
    """Why ``option`` is not a documented Pinggy option for a ``mode`` tunnel, or None."""
    kind, sep, value = option.partition(":")
    if not sep or kind not in VALUE_PROBLEMS:
        return f"is not a Pinggy option; the documented forms are {OPTION_FORMS}"
    if not re.fullmatch(WORD, option):
        return "has whitespace, quotes, a backslash, '#' or non-ASCII characters, which an ssh config cannot carry"
    if kind in HTTP_ONLY and mode != "http":
        return f"applies to http tunnels only (this one is {mode}); {mode} tunnels take w: only"
    return VALUE_PROBLEMS[kind](kind, value)


def _as_integer(value: t.Any) -> t.Any:
    """A string of digits as its integer (-e on the command line gives strings); anything else unchanged."""
    # ASCII only: "²" is a digit to str.isdigit() that int() refuses, and "٣" would quietly become 3.
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() else value


def _is_integer_in(value: t.Any, low: int, high: int) -> bool:
    return not isinstance(value, bool) and isinstance(value, int) and low <= value <= high


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
    mode = tunnel.get("mode") or "http"
    if mode == "udp":
        raise _fail(f"{label}: mode udp needs the Pinggy app (the pinggy CLI), not ssh: OpenSSH forwards TCP only")
    if mode not in SSH_MODES:
        raise _fail(f"{label}: mode must be one of {', '.join(SSH_MODES)}, got {mode!r}")
    return mode


def _state(label: str, tunnel: t.Mapping[str, t.Any]) -> str:
    state = tunnel.get("state") or "present"
    if state not in ("present", "absent"):
        raise _fail(f"{label}: state must be present or absent, got {state!r}")
    return state


def _local_port(label: str, tunnel: t.Mapping[str, t.Any], state: str) -> t.Any:
    """The port to forward to; an absent tunnel needs none (None), but one it is given must still be valid."""
    local_port = tunnel.get("local_port")
    if state == "present" or local_port is not None:
        local_port = _as_integer(local_port)
        if not _is_integer_in(local_port, 1, 65535):
            raise _fail(f"{label}: local_port must be an integer from 1 to 65535, got {local_port!r}")
    return local_port


def _local_host(label: str, tunnel: t.Mapping[str, t.Any]) -> str:
    local_host = tunnel.get("local_host") or "localhost"
    if not isinstance(local_host, str) or not _is_host(local_host):
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
    force = tunnel.get("force", False)
    if not isinstance(force, bool):
        raise _fail(f"{label}: force must be a boolean, got {force!r}")
    if force and not token:
        raise _fail(f"{label}: force replaces an active tunnel of the same token, so it needs a token")
    return force


def _options(label: str, tunnel: t.Mapping[str, t.Any], mode: str) -> list[str]:
    options = tunnel.get("options") or []
    if not isinstance(options, list):
        raise _fail(f"{label}: options must be a list of Pinggy options such as x:https or w:203.0.113.0/24")
    for option in options:
        if not isinstance(option, str):
            raise _fail(f"{label}: every option must be a string, got a {type(option).__name__}")
        problem = _option_problem(option, mode)
        if problem:
            raise _fail(f"{label}: option {shown_option(option)!r} {problem}")
    return list(options)


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
    return {
        "name": name, "mode": mode, "state": state, "local_host": local_host, "local_port": local_port,
        "token": token, "token_name": token_name, "force": force, "options": options,
    }


def _is_host(value: str) -> bool:
    """A host name, or an IP address whose IPv6 scope id, if any, is an interface name."""
    _address, percent, scope = value.partition("%")
    if percent and not SCOPE_ID.fullmatch(scope):
        return False
    try:
        ipaddress.ip_address(value)
        return True
    except ValueError:
        return bool(HOSTNAME.fullmatch(value))


# The numeric settings and their ranges.
NUMBER_SETTINGS = (("port", 1, 65535), ("keepalive_interval", 1, 3600), ("keepalive_count", 1, 100), ("connect_timeout", 1, 3600))


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
    for key in ("config_dir", "state_dir", "unit_dir", "ssh_command"):
        if not isinstance(merged[key], str) or not PATH.fullmatch(merged[key]):
            raise _fail(
                f"tunnel_service_{key} must be an absolute path without whitespace, of letters, digits and '/', '.', '_', "
                f"'+', '@' or '-' ('%' and '$' would be expanded by ssh or systemd), got {merged[key]!r}"
            )
    if not isinstance(merged["unit_prefix"], str) or not re.fullmatch(r"[A-Za-z0-9_.-]*", merged["unit_prefix"]):
        raise _fail(f"tunnel_service_unit_prefix must be letters, digits, '_', '.' or '-', got {merged['unit_prefix']!r}")


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


def _settings(settings: t.Optional[t.Mapping[str, t.Any]]) -> dict[str, t.Any]:
    merged = dict(DEFAULT_SETTINGS)
    merged.update({key: value for key, value in (settings or {}).items() if value is not None})
    unknown = sorted(str(key) for key in merged if key not in DEFAULT_SETTINGS)
    if unknown:
        raise _fail(f"unknown setting(s) {', '.join(unknown)}; known: {', '.join(DEFAULT_SETTINGS)}")
    if not isinstance(merged["server"], str) or not _is_host(merged["server"]):
        raise _fail(f"tunnel_service_server must be a host name or an IP address{SCOPE_RULE}, got {merged['server']!r}")
    _check_numbers(merged)
    if merged["strict_host_key_checking"] not in ("yes", "accept-new"):
        raise _fail(f"tunnel_service_strict_host_key_checking must be yes or accept-new, got {merged['strict_host_key_checking']!r}")
    merged["known_hosts"] = _known_hosts(merged)
    _check_paths(merged)
    _check_accounts(merged)
    return merged


def _validated(tunnels: t.Any) -> list[dict[str, t.Any]]:
    if not isinstance(tunnels, list):
        raise _fail("tunnel_service_tunnels must be a list of tunnels")
    seen: set[str] = set()
    return [_validated_tunnel(index, tunnel, seen) for index, tunnel in enumerate(tunnels)]


def _user(tunnel: t.Mapping[str, t.Any]) -> str:
    """The ssh user name Pinggy reads: the token and keywords joined with '+' (a mode keyword always, so the
    local login name is never sent as a token)."""
    return "+".join(part for part in (tunnel["token"], tunnel["mode"], "force" if tunnel["force"] else None) if part)


def _known_hosts_file(merged: t.Mapping[str, t.Any], name: str) -> str:
    """Where the tunnel's pinned server keys are kept (the plan writes it, the ssh config reads it)."""
    return posixpath.join(merged["state_dir"], f"{name}.known_hosts")


def tunnel_service_plan(tunnels: t.Any, settings: t.Optional[t.Mapping[str, t.Any]] = None) -> list[dict[str, t.Any]]:
    """Validate the tunnels and return what the role writes for each: no token, password or key in it."""
    merged = _settings(settings)
    plan = []
    for tunnel in _validated(tunnels):
        name = tunnel["name"]
        unit = f"{merged['unit_prefix']}{name}.service"
        expectation: dict[str, t.Any] = {"mode": tunnel["mode"]}
        if tunnel["token_name"]:
            expectation["token_name"] = tunnel["token_name"]
        plan.append({
            "name": name,
            "state": tunnel["state"],
            "mode": tunnel["mode"],
            "local_host": tunnel["local_host"],
            "local_port": tunnel["local_port"],
            "has_token": tunnel["token"] is not None,
            "options": [shown_option(option) for option in tunnel["options"]],
            "unit": unit,
            "unit_file": posixpath.join(merged["unit_dir"], unit),
            "config_file": posixpath.join(merged["config_dir"], f"{name}.conf"),
            "known_hosts_file": _known_hosts_file(merged, name),
            "expectation": expectation,
        })
    return plan


def _forward_target(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _named(name: str, tunnels: t.Any) -> dict[str, t.Any]:
    """The validated tunnel called ``name``; every tunnel is validated, as the plan does."""
    matching = [tunnel for tunnel in _validated(tunnels) if tunnel["name"] == name]
    if not matching:
        raise _fail(f"no tunnel named {name!r}")
    return matching[0]


def _tunnel_lines(name: str, tunnel: t.Mapping[str, t.Any], merged: t.Mapping[str, t.Any]) -> list[str]:
    """The lines that say which tunnel to open: the server, the token and keywords (User), the forward, the options."""
    # RemoteCommand expands %-tokens: a literal % is written %%.
    remote_command = " ".join(option.replace("%", "%%") for option in tunnel["options"])
    lines = [
        f"# Managed by Ansible (pinggy.tunnels.tunnel_service): Pinggy tunnel {name}.",
        "# It holds the tunnel's token and options: keep it readable only by the user that runs ssh.",
        f"Host {HOST_ALIAS}",
        f"  HostName {merged['server'].replace('%', '%%')}",  # HostName expands %-tokens; a scope id's % is %%
        f"  Port {merged['port']}",
        f"  User {_user(tunnel)}",
        f"  RemoteForward 0 {_forward_target(tunnel['local_host'], tunnel['local_port'])}",
    ]
    if remote_command:  # without options ssh asks for a session, where Pinggy prints the tunnel's URLs
        lines.append(f"  RemoteCommand {remote_command}")
    return lines


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


def tunnel_service_ssh_config(name: str, tunnels: t.Any, settings: t.Optional[t.Mapping[str, t.Any]] = None) -> str:
    """The ssh client config of tunnel ``name``: it holds the token (User) and the options (RemoteCommand)."""
    merged = _settings(settings)
    tunnel = _named(name, tunnels)
    return "\n".join(_tunnel_lines(name, tunnel, merged) + _session_lines(name, merged))


class FilterModule:
    """pinggy.tunnels filters of the tunnel_service role."""

    def filters(self) -> dict[str, t.Callable[..., t.Any]]:
        return {"tunnel_service_plan": tunnel_service_plan, "tunnel_service_ssh_config": tunnel_service_ssh_config}
