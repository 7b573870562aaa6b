# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory host names for API sessions: valid, never a group's, never shared (private: not a public API).

Pure functions. A host is named by the first preferred field that is a valid DNS name (RFC 1123 labels,
at most 253 characters, lowercased) and not a reserved name; failing that, ``pinggy_<id>`` (the session id
when it is a safe label, else a short hash of it). Names shared by several sessions are told apart by a
suffix - the port, else the id, else a counter - chosen against every name already taken, so no session is
ever dropped and the result does not depend on the order of the API's answer.

Whether a name is a DNS host name that no resolver reads as an IP address or as this machine (host_problem) is
decided in ``module_utils._dns_names``, the one rule shared with the gate's probes and the modules on managed hosts.
"""

from __future__ import annotations

import hashlib
import json
import re
import typing as t
from collections import Counter, defaultdict

from ansible_collections.pinggy.tunnels.plugins.module_utils._dns_names import host_problem
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import MODES, valid_port

FALLBACK_PREFIX = "pinggy_"
# Names an inventory host must never take: the implicit groups, this plugin's groups, and the names
# ansible-core treats as the implicit localhost (a tunnel called localhost would take over local plays).
RESERVED_NAMES = frozenset(("all", "ungrouped", "pinggy", "localhost", "127.0.0.1", "::1")
                           + tuple(f"pinggy_{mode}" for mode in MODES))

_SAFE_ID = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
Host = t.Tuple[str, t.Optional[str], t.Mapping[str, t.Any]]


def safe_id(session_id: t.Any) -> str:
    """The session id as a host-name-safe label: itself (lowercased) when safe, else ``h`` and a short hash of it."""
    if isinstance(session_id, (str, int)) and not isinstance(session_id, bool):
        text = str(session_id).lower()
        if _SAFE_ID.fullmatch(text):
            return text
    digest = hashlib.sha256(_canonical(session_id).encode("utf-8", "surrogatepass")).hexdigest()
    return f"h{digest[:12]}"


def _canonical(value: t.Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def public_name(record: t.Mapping[str, t.Any], fields: t.Sequence[str], reserved: t.AbstractSet[str]) -> t.Optional[str]:
    """The first preferred field of the record that is a host name (host_problem) and not reserved, lowercased; else None."""
    for field in fields:
        value = record.get(field)
        if host_problem(value) is None and value.lower() not in reserved:
            return value.lower()
    return None


def _take(candidate: str, index: int, names: list[t.Optional[str]], taken: set[str]) -> None:
    """Give ``candidate`` to host ``index`` unless somebody holds it already."""
    if candidate not in taken:
        names[index] = candidate
        taken.add(candidate)


def _name_by_suffix(base: str, indexes: list[int], records: t.Sequence[t.Mapping[str, t.Any]],
                    names: list[t.Optional[str]], taken: set[str]) -> None:
    """Name the hosts sharing ``base`` ``base_port``, else ``base_id``, where that suffix is theirs alone."""
    ports = {index: valid_port(records[index].get("port")) for index in indexes}
    ids = {index: safe_id(records[index].get("id")) for index in indexes}
    # Ports first, then ids: each pass only takes names nobody holds yet, and a suffix two hosts share tells nothing apart.
    for suffixes in (ports, ids):
        counts = Counter(suffixes.values())
        for index in indexes:
            suffix = suffixes[index]
            if names[index] is None and suffix is not None and counts[suffix] == 1:
                _take(f"{base}_{suffix}", index, names, taken)


def _name_by_counter(base: str, indexes: list[int], names: list[t.Optional[str]], taken: set[str]) -> None:
    """Name the hosts still unnamed ``base_1``, ``base_2``... skipping the names taken."""
    counter = 1
    for index in indexes:
        while names[index] is None:
            _take(f"{base}_{counter}", index, names, taken)
            counter += 1


def name_hosts(records: t.Sequence[t.Mapping[str, t.Any]], fields: t.Sequence[str],
               reserved: t.Iterable[str] = ()) -> tuple[list[Host], list[str]]:
    """(inventory name, public name or None, record) for every record, in order, with distinct names; and the shared names.

    ``reserved`` adds names to avoid (existing group names); compared lowercased, as every chosen name is lowercase.
    """
    taken = set(RESERVED_NAMES) | {str(name).lower() for name in reserved}
    publics = [public_name(record, fields, taken) for record in records]
    bases = [public or FALLBACK_PREFIX + safe_id(record.get("id")) for public, record in zip(publics, records)]
    members: dict[str, list[int]] = defaultdict(list)
    for index, base in enumerate(bases):
        members[base].append(index)
    # Unique names keep their name: the suffixes below are chosen around them.
    taken |= {base for base, indexes in members.items() if len(indexes) == 1}
    names: list[t.Optional[str]] = [base if len(members[base]) == 1 else None for base in bases]
    collided = sorted(base for base, indexes in members.items() if len(indexes) > 1)
    for base in collided:
        # Sorted by content, so the names do not depend on the order of the API's answer.
        indexes = sorted(members[base], key=lambda index: _canonical(records[index]))
        _name_by_suffix(base, indexes, records, names, taken)
        _name_by_counter(base, indexes, names, taken)
    return [(t.cast(str, name), public, record) for name, public, record in zip(names, publics, records)], collided
