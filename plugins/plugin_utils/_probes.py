# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gate's probes (private): what a tunnel's probe may contact, and the TCP connect and HTTP GET themselves.

The only code of the collection that speaks to tunnels rather than to the API (docs/architecture.md).
"""

from __future__ import annotations

import socket
import time
import typing as t
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import effective_mode, tunnel_url, valid_port
from ansible_collections.pinggy.tunnels.plugins.module_utils._dns_names import host_problem

PROBE_WORKERS = 16
TCP_RETRY_SECONDS = 0.2


class ProbeSettings(t.NamedTuple):
    """The gate's probe options (see the pinggy_assert_tunnels module's documentation)."""

    timeout: float
    statuses: list[int]
    path: str
    address: t.Optional[str]
    validate_certs: bool


def probe_target(record: t.Mapping[str, t.Any], label: str) -> t.Optional[dict[str, t.Any]]:
    """How a tunnel is probed: TCP connect for tcp/tlstcp, HTTP GET for http; None for the rest.

    The target is built here from the tunnel's host, which must be a DNS host name of two labels or more (not an IP
    address nor localhost: _dns_names.host_problem), and its port, which must be an integer from 1 to 65535 - never a URL taken from the
    API's text. Otherwise the probe is kind 'invalid', with the reason, and the gate reports it as a failed probe
    without connecting anywhere.
    """
    mode = effective_mode(record)
    kind = {"tcp": "tcp", "tlstcp": "tcp", "http": "http"}.get(mode or "")
    if not kind:
        return None
    host, port = record.get("host"), valid_port(record.get("port"))
    probe = {"kind": kind, "label": label, "host": host, "port": port, "url": None}
    problem = host_problem(host, single_label=False)
    if problem:
        probe.update(kind="invalid", reason=f"the tunnel's host {problem}, not probed")
    elif kind == "tcp" and port is None:
        probe.update(kind="invalid", reason="the tunnel's port is not an integer from 1 to 65535, not probed")
    else:
        probe["url"] = tunnel_url(mode, host, port)
    return probe


def probe_tcp(host: str, port: int, timeout: float) -> tuple[bool, str]:
    """Connect until one connection succeeds or timeout passes (as ansible.builtin.wait_for does)."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False, f"Timeout when waiting for {host}:{port}"
        try:
            with socket.create_connection((host, port), timeout=remaining):
                return True, "connected"
        except OSError:
            time.sleep(min(TCP_RETRY_SECONDS, max(0.0, deadline - time.monotonic())))


def probe_http(url: str, headers: dict[str, str], statuses: list[int], timeout: float, validate_certs: bool) -> tuple[bool, str]:
    """One GET; passes when the status is accepted (ansible.builtin.uri's wording when not).

    Redirects are not followed: a 3xx is the tunnel's own answer, judged as any status, so a tunnel cannot send the
    probe (and its Host header) to another host or scheme.
    """
    # Imported only when probing: most gates do not, and this is a noticeable part of the task's start-up.
    from urllib.error import HTTPError  # pylint: disable=import-outside-toplevel
    from ansible.module_utils.urls import open_url  # pylint: disable=import-outside-toplevel

    try:
        response = open_url(url, method="GET", headers=headers, timeout=timeout, validate_certs=validate_certs,
                            follow_redirects="none", http_agent="pinggy.tunnels")
        status, reason = response.getcode(), "OK"
        response.close()
    except HTTPError as exc:
        status, reason = exc.code, f"HTTP Error {exc.code}: {exc.reason}"
    except Exception as exc:  # pylint: disable=broad-exception-caught  # any failure to get an answer fails the probe
        return False, f"Status code was -1 and not {statuses}: Request failed: {exc}"
    if status in statuses:
        return True, f"Status code was {status}"
    return False, f"Status code was {status} and not {statuses}: {reason}"


def run_probe(probe: t.Mapping[str, t.Any], settings: ProbeSettings) -> dict[str, t.Any]:
    """One probe of a gate report: never contacts an 'invalid' one; an explicit address is the user's, used as given."""
    result = {"label": probe["label"], "kind": probe["kind"], "ok": False}
    address = settings.address or None
    if probe["kind"] == "invalid":
        result["msg"] = probe["reason"]
    elif probe["kind"] == "tcp":
        result["ok"], result["msg"] = probe_tcp(address or probe["host"], probe["port"], settings.timeout)
    else:
        if address:
            url = f"http://{address}{':' + str(probe['port']) if probe['port'] else ''}{settings.path}"
            headers = {"Host": probe["host"]}
        else:
            url, headers = probe["url"] + settings.path, {}
        result["ok"], result["msg"] = probe_http(url, headers, settings.statuses, settings.timeout, settings.validate_certs)
    return result


def run_probes(probes: list[t.Mapping[str, t.Any]], settings: ProbeSettings) -> list[dict[str, t.Any]]:
    """Every probe, concurrently, in the given order."""
    if not probes:
        return []
    with ThreadPoolExecutor(max_workers=min(PROBE_WORKERS, len(probes))) as pool:
        return list(pool.map(lambda probe: run_probe(probe, settings), probes))
