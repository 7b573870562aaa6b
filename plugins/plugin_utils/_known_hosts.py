# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which known_hosts lines OpenSSH would take for a server (private: not a public API).

The tunnel_service role pins the Pinggy servers' host keys: a tunnel whose server has no line would never connect
(``Host key verification failed``, retried forever). The rules are OpenSSH's (sshd(8), SSH_KNOWN_HOSTS FILE FORMAT):
the host field is a comma-separated list of patterns (``*`` and ``?`` wildcards, ``!`` negation) or one hashed name
``|1|salt|hash`` (HMAC-SHA1 of the name); a port other than 22 is written ``[host]:port``. Only plain host key lines
count: ``@cert-authority`` lines vouch for certificates, which Pinggy's servers do not present, and a key that an
``@revoked`` line names is refused by ssh wherever else it is listed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import typing as t


def known_host_name(server: str, port: int) -> str:
    """The name OpenSSH looks up in known_hosts for ``server`` on ``port``."""
    return server.lower() if port == 22 else f"[{server.lower()}]:{port}"


def _pattern_matches(pattern: str, name: str) -> bool:
    regex = "".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern.lower())
    return re.fullmatch(regex, name, re.DOTALL) is not None


def _hashed_matches(field: str, name: str) -> bool:
    _empty, _magic, salt, digest = (field.split("|") + ["", "", "", ""])[:4]
    try:
        expected = hmac.new(base64.b64decode(salt, validate=True), name.encode(), hashlib.sha1).digest()
        return hmac.compare_digest(expected, base64.b64decode(digest, validate=True))
    except (binascii.Error, ValueError):
        return False


def _hosts_match(hosts: str, name: str) -> bool:
    if hosts.startswith("|1|"):
        return _hashed_matches(hosts, name)
    patterns = hosts.split(",")
    if any(pattern.startswith("!") and _pattern_matches(pattern[1:], name) for pattern in patterns):
        return False
    return any(not pattern.startswith("!") and _pattern_matches(pattern, name) for pattern in patterns)


def has_key_for(lines: t.Iterable[str], server: str, port: int) -> bool:
    """Whether one of the known_hosts ``lines`` gives ``server`` on ``port`` a host key that no line revokes."""
    name = known_host_name(server, port)
    entries = [line.split() for line in lines]
    revoked = {fields[3] for fields in entries if len(fields) >= 4 and fields[0] == "@revoked"}
    return any(len(fields) >= 3 and not fields[0].startswith("@") and fields[2] not in revoked and _hosts_match(fields[0], name)
               for fields in entries)
