# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions over Pinggy session records: normalization, derived fields, filters, queries (private)."""

from __future__ import annotations

import fnmatch
import re
import traceback
import typing as t
from datetime import datetime

from ansible.module_utils.common.dict_transformations import camel_dict_to_snake_dict

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import PinggyError, one_line

# The optional-import guard Ansible modules use (missing_required_lib reads the flag and the traceback).
try:
    import jmespath
except ImportError:
    HAS_JMESPATH = False
    JMESPATH_IMPORT_ERROR: t.Optional[str] = traceback.format_exc()
else:
    HAS_JMESPATH = True
    JMESPATH_IMPORT_ERROR = None

MODES = ("http", "tcp", "tls", "tlstcp", "udp")
PORT_MAX = 65535
# What `ssh TOKEN@a.pinggy.io` authenticates with, as the active (camelCase and snake_case) and history records
# name it. The names (token_name, virtual_token_name) are not secret.
TOKEN_FIELDS = frozenset(("token", "token_value", "virtual_token", "virtual_token_value",
                          "tokenValue", "virtualToken", "virtualTokenValue"))
REDACTED = "****"
# A redacted token keeps this many trailing characters, so tunnels can still be told apart, when it is long enough.
REDACTED_SUFFIX = 4
REDACTED_SUFFIX_MIN_LENGTH = 8


class PinggyQueryError(PinggyError, ValueError):
    """A JMESPath query that does not compile, or fails on the records."""


# "[5.7.152.215]:48696", "[2001:db8::1]:5555", or an unbracketed IPv4 "5.7.152.215:48696". The port is at most 5
# ASCII digits: int() of thousands of digits raises ValueError, and \d would take other scripts' digits.
_CLIENT_IP = re.compile(r"^\[(?P<bracketed>[^\]]+)\]:(?P<port>[0-9]{1,5})$|^(?P<plain>[^:\[\]]+):(?P<plain_port>[0-9]{1,5})$")
# Python < 3.11 fromisoformat wants exactly 3 or 6 fraction digits and no "Z".
_FRACTION = re.compile(r"\.(\d+)")

# How each mode is reached from outside: (URL scheme, fixed port or None to use the tunnel's port).
_URL_FORMS: dict[str, tuple[str, t.Optional[int]]] = {
    "tcp": ("tcp", None),
    "tlstcp": ("tls", None),
    "udp": ("udp", None),
    "tls": ("tls", 443),
}
# The modes whose tunnels have a port of their own (http and tls are reached on 443).
PORT_MODES = tuple(mode for mode, (_scheme, fixed_port) in _URL_FORMS.items() if fixed_port is None)


def valid_port(value: t.Any) -> t.Optional[int]:
    """The value if it is a usable port (an integer from 1 to 65535, not a bool), else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= PORT_MAX:
        return value
    return None


def redact_token(value: t.Any) -> t.Any:
    """A token as ``****`` plus its last 4 characters (only ``****`` when short); null and empty stay as they are.

    Idempotent: a redacted token redacts to itself. Any other type is replaced whole.
    """
    if value is None or value == "":
        return value
    if isinstance(value, str) and len(value) >= REDACTED_SUFFIX_MIN_LENGTH:
        return REDACTED + value[-REDACTED_SUFFIX:]
    return REDACTED


def redact_tokens(records: t.Iterable[t.Mapping[str, t.Any]], reveal: bool = False) -> list[t.Any]:
    """The records with their token fields redacted (new dicts; the input is not changed); as they are when reveal."""
    if reveal:
        return list(records)
    return [
        {key: redact_token(value) if key in TOKEN_FIELDS else value for key, value in record.items()}
        if isinstance(record, t.Mapping) else record
        for record in records
    ]


def has_redacted_tokens(records: t.Iterable[t.Any]) -> bool:
    """True when a token field of some record holds a redacted value (so it cannot serve reveal_tokens)."""
    return any(
        isinstance(value, str) and value.startswith(REDACTED)
        for record in records if isinstance(record, t.Mapping)
        for key, value in record.items() if key in TOKEN_FIELDS
    )


def effective_mode(record: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """The tunnel's mode, where a UDP tunnel is flagged by mode_udp == 'udp' whatever mode says."""
    if record.get("mode_udp") == "udp":
        return "udp"
    mode = record.get("mode")
    return mode if isinstance(mode, str) and mode else None


def public_host(record: t.Mapping[str, t.Any]) -> t.Optional[str]:
    """The name users reach the tunnel by: the custom domain if set, else the Pinggy subdomain."""
    return record.get("customdomain") or record.get("subdomain") or None


def tunnel_url(mode: t.Optional[str], host: t.Optional[str], port: t.Any) -> t.Optional[str]:
    """The public URL of a tunnel, or None when mode, host or a needed port is unknown or unusable."""
    if not host or not isinstance(host, str) or not mode:
        return None
    if mode == "http":
        return f"https://{host}"
    if mode not in _URL_FORMS:
        return None
    scheme, fixed_port = _URL_FORMS[mode]
    port = fixed_port or valid_port(port)
    return f"{scheme}://{host}:{port}" if port else None


def normalize_active(record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """snake_case every API key (unknown future keys pass through) and add host and url."""
    normalized = camel_dict_to_snake_dict(dict(record))
    normalized["host"] = public_host(normalized)
    normalized["url"] = tunnel_url(effective_mode(normalized), normalized["host"], normalized.get("port"))
    return normalized


def parse_timestamp(text: t.Any) -> t.Optional[datetime]:
    """An API timestamp such as 2025-02-06T16:16:44.571+00:00 as an aware datetime, or None if unusable."""
    if not isinstance(text, str) or not text:
        return None
    text = _FRACTION.sub(lambda match: "." + match.group(1)[:6].ljust(6, "0"), text.replace("Z", "+00:00"), count=1)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else None


def parse_client_ip(client_ip: t.Any) -> tuple[t.Optional[str], t.Optional[int]]:
    """(address, port) of a client_ip such as "[2001:db8::1]:5555"; (None, None) when it does not parse."""
    match = _CLIENT_IP.match(client_ip) if isinstance(client_ip, str) else None
    if not match:
        return None, None
    return match.group("bracketed") or match.group("plain"), int(match.group("port") or match.group("plain_port"))


def normalize_history(record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """A history record (already snake_case) plus duration_seconds, client_address and client_port."""
    normalized = dict(record)
    started, ended = parse_timestamp(record.get("start_time")), parse_timestamp(record.get("end_time"))
    duration = (ended - started).total_seconds() if started and ended else None
    normalized["duration_seconds"] = round(duration, 3) if duration is not None and duration >= 0 else None
    normalized["client_address"], normalized["client_port"] = parse_client_ip(record.get("client_ip"))
    return normalized


def _names_match(record: t.Mapping[str, t.Any], patterns: t.Sequence[str]) -> bool:
    # DNS names are case-insensitive, so compare lowercased.
    names = [str(record[key]).lower() for key in ("subdomain", "customdomain") if record.get(key)]
    return any(fnmatch.fnmatchcase(name, pattern.lower()) for name in names for pattern in patterns)


def filter_sessions(
    sessions: t.Iterable[t.Mapping[str, t.Any]],
    modes: t.Optional[t.Sequence[str]] = None,
    subdomains: t.Optional[t.Sequence[str]] = None,
    token_names: t.Optional[t.Sequence[str]] = None,
) -> list[t.Mapping[str, t.Any]]:
    """Keep the normalized sessions that match every given filter (an empty or None filter matches all)."""
    return [
        record
        for record in sessions
        if (not modes or effective_mode(record) in modes)
        and (not subdomains or _names_match(record, subdomains))
        and (not token_names or record.get("token_name") in token_names)
    ]


def compile_query(expression: str) -> t.Any:
    """Compile a JMESPath expression up front, so a typo fails before any API request.

    Raises PinggyQueryError with a one-line reason naming the query option.
    """
    if not HAS_JMESPATH:
        raise PinggyQueryError("query: the Python library 'jmespath' is required: pip install jmespath")
    try:
        return jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        # jmespath messages span lines (the expression, then a caret under it): flattened, never cut.
        raise PinggyQueryError(f"query: invalid JMESPath expression {expression!r}: {one_line(exc, limit=None)}") from None


def run_query(query: t.Any, data: t.Any) -> t.Any:
    """Apply a compiled query; a runtime error (e.g. sum() over strings) becomes a one-line PinggyQueryError naming query."""
    try:
        return query.search(data)
    except jmespath.exceptions.JMESPathError as exc:
        raise PinggyQueryError(f"query: JMESPath expression {query.expression!r} failed on the records: {one_line(exc, limit=None)}") from None
