# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The public URLs a tunnel's Pinggy web debugger reports, checked (private: not a public API).

A tunnel with a ``debugger_port`` forwards that port of the managed host's 127.0.0.1 to Pinggy's web debugger
(``LocalForward 127.0.0.1:<port> localhost:4300``), whose ``GET /urls`` answers ``{"urls": ["http://NAME",
"https://NAME"]}`` (``tcp://NAME:PORT`` and so on for the other modes); no API key needed. That answer comes from the
network, so it is data: a URL is kept only when it is rebuilt, unchanged, from checked parts - a known scheme, a host
that ``_dns_names.host_problem`` accepts, an optional valid port and nothing else. What is returned is made of
lower-case letters, digits and ``.:/-`` only: it can never hold a template, on any ansible-core.

Stdlib only: the ``pinggy_debugger_urls`` module runs this on the managed host.
"""

from __future__ import annotations

import json
import typing as t
from urllib.parse import urlsplit

from ansible_collections.pinggy.tunnels.plugins.module_utils._dns_names import DNS_NAME_MAX, host_problem
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import valid_port

# The URL schemes of the tunnels OpenSSH can carry (udp needs the Pinggy app).
SCHEMES = ("http", "https", "tcp", "tls", "tlstcp")
# An answer larger than this is not Pinggy's: it is not parsed. A tunnel has a handful of URLs; more are dropped.
ANSWER_LIMIT = 65536
URLS_LIMIT = 16
URL_LIMIT = len("tlstcp://") + DNS_NAME_MAX + len(":65535/")


def checked_url(value: t.Any) -> t.Optional[str]:
    """The URL, lower-cased, if it is exactly ``scheme://host`` or ``scheme://host:port`` (a trailing ``/`` allowed)
    with a known scheme, a DNS host name (host_problem) and a port from 1 to 65535; else None."""
    if not isinstance(value, str) or len(value) > URL_LIMIT or not value.isascii():
        return None
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:  # a port out of range or not a number, a bracket left open
        return None
    host = parts.hostname
    if parts.scheme not in SCHEMES or host is None or host_problem(host, single_label=False) is not None:
        return None
    if port is not None and valid_port(port) is None:
        return None
    url = f"{parts.scheme}://{host}" + ("" if port is None else f":{port}")
    # Rebuilt from its parts, it must be what was given: no user, path, query, fragment, stray character or
    # anything urlsplit quietly drops (tabs, newlines).
    return url if value.lower() in (url, f"{url}/") else None


def parsed_answer(body: bytes) -> t.Any:
    """The body as JSON data, or None when it is not: over ANSWER_LIMIT bytes (not parsed at all), not UTF-8, not
    JSON, or nested deeper than the parser's recursion limit (``[[[[...`` raises RecursionError, not ValueError)."""
    if len(body) > ANSWER_LIMIT:
        return None
    try:
        return json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None


def debugger_urls(body: bytes) -> list[str]:
    """The checked URLs of a web debugger's ``/urls`` answer (its body), in order, each once, at most URLS_LIMIT;
    ``[]`` for an answer that is not ``{"urls": [...]}``. Never fails: the answer is untrusted data."""
    document = parsed_answer(body)
    candidates = document.get("urls") if isinstance(document, dict) else None
    if not isinstance(candidates, list):
        return []
    urls: list[str] = []
    for candidate in candidates:
        url = checked_url(candidate)
        if url is not None and url not in urls:
            urls.append(url)
            if len(urls) == URLS_LIMIT:
                break
    return urls
