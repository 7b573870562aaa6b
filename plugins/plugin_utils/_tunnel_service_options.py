# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The grammar of Pinggy's remote options, as the tunnel_service role writes them (private: not a public API).

The forms accepted are Pinggy's documented ones (pinggy.io/docs/usages, /docs/advanced/advanced_options,
/docs/http_tunnels/*): ``a:Name:Value``, ``u:Name:Value``, ``r:Name``, ``b:user:password``, ``k:key``,
``w:CIDR[,CIDR...]`` and ``x:...``. No message ever quotes a basic-auth password or a key.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

# One option is one word of the remote command: printable ASCII without whitespace, quotes, backslash or '#'
# (ssh_config would split, unquote or end the line there).
WORD = re.compile(r"[!$%&()*+,./0-9:;<=>?@A-Z\[\]^_a-z{|}~-]+")
HEADER_NOHASH = re.compile(r"[!$%&*+.^_|~0-9A-Za-z-]+")  # an HTTP token, minus the characters ssh_config treats specially
HOSTNAME = re.compile(r"(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*")
X_FLAGS = ("https", "httpsonly", "noreverseproxy", "xff", "fullurl", "origurl", "passpreflight", "localservertls")
OPTION_FORMS = (
    "a:Header:Value, u:Header:Value, r:Header, b:user:password, k:key, w:IP-or-CIDR[,...], "
    "x:https, x:noreverseproxy, x:xff[:Header], x:fullurl, x:passpreflight, x:localServerTls[:SNI]"
)
HTTP_ONLY = ("a", "u", "r", "b", "k", "x")


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
    if not sep or not HEADER_NOHASH.fullmatch(header) or not header_value:
        return f"must be {kind}:Header:Value (a header name, then a value)"
    return None


def _header_problem(_kind: str, value: str) -> t.Optional[str]:
    if not HEADER_NOHASH.fullmatch(value):
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
    if argument and flag == "xff" and not HEADER_NOHASH.fullmatch(argument):
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


def option_problem(option: str, mode: str) -> t.Optional[str]:
    """Why ``option`` is not a documented Pinggy option for a ``mode`` tunnel, or None."""
    kind, sep, value = option.partition(":")
    if not sep or kind not in VALUE_PROBLEMS:
        return f"is not a Pinggy option; the documented forms are {OPTION_FORMS}"
    if not WORD.fullmatch(option):
        return "has whitespace, quotes, a backslash, '#' or non-ASCII characters, which an ssh config cannot carry"
    if kind in HTTP_ONLY and mode != "http":
        return f"applies to http tunnels only (this one is {mode}); {mode} tunnels take w: only"
    return VALUE_PROBLEMS[kind](kind, value)
