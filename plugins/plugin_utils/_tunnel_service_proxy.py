# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTP CONNECT proxy of the tunnel_service role: its grammar and its ProxyCommand (private: not a public API).

Pinggy documents ssh behind an HTTP proxy as ``ProxyCommand nc -X connect -x host:port %h %p`` (OpenBSD netcat).
ssh runs a ProxyCommand through the shell after expanding its ``%`` tokens, so the address written there is held
to a grammar in which neither the shell nor ssh finds anything to expand: a DNS name, an IPv4 address or a
bracketed IPv6 address (no scope id), then a port. Nothing else passes, so nothing needs quoting.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

from ansible_collections.pinggy.tunnels.plugins.module_utils._dns_names import is_dns_name

# A tunnel's proxy that turns the role-wide one off (as ssh's own "ProxyCommand none" does).
NO_PROXY = "none"
# http://host:port, as http_proxy variables give it (the scheme and a trailing '/' are dropped).
HTTP_SCHEME = "http://"
ADDRESS = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(?P<port>[0-9]{1,5})")
# A top label of digits is an IPv4 address to a resolver (127.1 too): then it must be a dotted quad.
NUMERIC_TOP_LABEL = re.compile(r"(?:.*\.)?[0-9]+")
FORM = ("host:port or http://host:port - a DNS name, an IPv4 address or a bracketed IPv6 address such as "
        "[2001:db8::1]:3128, and a port from 1 to 65535")


class ProxyError(ValueError):
    """A proxy the role cannot write; the message says why, quoting the value only when it holds no credentials."""


def _is_proxy_host(host: str) -> bool:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    if NUMERIC_TOP_LABEL.fullmatch(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    return is_dns_name(host)


def _without_scheme(value: str) -> str:
    """The address of an http:// URL (a trailing '/' dropped); any other scheme is refused."""
    if value[: len(HTTP_SCHEME)].lower() == HTTP_SCHEME:
        return value[len(HTTP_SCHEME):].removesuffix("/")
    if "://" in value:
        raise ProxyError(f"{value!r} is not an HTTP proxy: only an HTTP CONNECT proxy is supported ({FORM}), "
                         "not https:// or socks")
    return value


def proxy_address(value: t.Any) -> str:
    """The proxy as ``host:port`` (the port without leading zeros), from ``host:port`` or ``http://host:port``."""
    if not isinstance(value, str):
        raise ProxyError(f"must be {FORM}, got a {type(value).__name__}")
    if "@" in value:  # the value is not quoted: it would show a password
        raise ProxyError("must not hold credentials (user:password@, value not shown): nc -X connect cannot send a "
                         "password without a terminal; allow the hosts at the proxy instead")
    address = ADDRESS.fullmatch(_without_scheme(value))
    if not address or not _is_proxy_host(address["host"]) or not 1 <= int(address["port"]) <= 65535:
        raise ProxyError(f"must be {FORM}, got {value!r}")
    return f"{address['host']}:{int(address['port'])}"


def proxy_command(client: str, address: str) -> str:
    """The ProxyCommand line's value: ssh expands %h and %p to the server and its port (the address has no '%'). The
    shell that runs it would read a bracketed IPv6 address as a glob (a file named ``3:8080`` matches
    ``[2001:db8::3]:8080``): the address is quoted (it holds no quote)."""
    return f"{client} -X connect -x '{address}' %h %p"
