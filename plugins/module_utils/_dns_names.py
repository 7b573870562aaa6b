# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which names from the network may be contacted: DNS host names, never an address or this machine (private).

Pure functions, stdlib only, so a module on a managed host (the web debugger's URLs) and the controller-side plugins
(inventory names, the gate's probes, the tunnel_service checks) apply one rule: a name from the API is contacted, or
made an ``ansible_host``, only when it is a DNS host name that no resolver reads as an IP address or as this machine.
"""

from __future__ import annotations

import ipaddress
import re
import typing as t

DNS_NAME_MAX = 253

_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# A top label the C resolver (inet_aton) and browsers (WHATWG URL "ends in a number") read as part of an IPv4
# address: decimal or octal digits, or 0x and hex digits - so 127.1, 2130706433, 0x7f000001, 0177.0.0.1 and 0 are
# addresses, not names.
_NUMERIC_LABEL = re.compile(r"[0-9]+|0x[0-9a-f]*")


def is_dns_name(value: t.Any) -> bool:
    """True for a host name made of RFC 1123 labels (ASCII letters, digits, inner hyphens), 253 characters at most."""
    if not isinstance(value, str) or not value or len(value) > DNS_NAME_MAX or not value.isascii():
        return False
    return all(_LABEL.fullmatch(label) for label in value.lower().split("."))


def _is_ipv6(name: str) -> bool:
    """True for an IPv6 literal, bracketed or not, scoped or not (::1, [::1], fe80::1%eth0, ::ffff:127.0.0.1)."""
    try:
        ipaddress.IPv6Address(name[1:-1] if name.startswith("[") and name.endswith("]") else name)
    except ValueError:
        return False
    return True


def host_problem(value: t.Any, single_label: bool = True) -> t.Optional[str]:
    """Why a host name from the API may not be contacted or made an ansible_host ('is an IP address'...); None if it may.

    Decided from the text alone, before any lookup: an IP literal in any form a resolver accepts, localhost or a name
    under it (case-insensitive, with or without a trailing dot), or anything but a valid DNS name is refused; with
    single_label false, so is a name of one label, which the resolver completes with its search domains (on a cloud
    VM, 'metadata' is the metadata service).
    """
    if not isinstance(value, str):
        return "is not a valid DNS name"
    name = value.lower()[:-1] if value.endswith(".") else value.lower()
    top_label = name.rpartition(".")[2]
    if _NUMERIC_LABEL.fullmatch(top_label) or (":" in name and _is_ipv6(name)):
        return "is an IP address"
    if top_label == "localhost":
        return "is localhost"
    if not is_dns_name(value):
        return "is not a valid DNS name"
    return None if single_label or "." in name else "is a single label (completed by the resolver's search domains)"
