"""Which names from the network may be contacted: DNS host names, never an IP address in any form, never localhost."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.pinggy.tunnels.plugins.module_utils._dns_names import host_problem, is_dns_name


@pytest.mark.parametrize("name, valid", [
    ("db-1.a.pinggy.link", True), ("Web.Example.COM", True), ("a", True), ("1.2.3.4", True), ("x" * 63 + ".io", True),
    ("x" * 64 + ".io", False), (".".join(["a" * 63] * 4), False), (".".join(["a" * 61] * 4) + ".ab", True),
    ("", False), ("-a.example", False), ("a-.example", False), ("a..b", False), ("trailing.", False), ("under_score.io", False),
    ("has space.io", False), ("bücher.example", False), ("{{ x }}", False), ("a" * 5000, False), (None, False), (5, False),
    (["a.io"], False), ({"a": 1}, False), (True, False),
])
def test_dns_names(name: t.Any, valid: bool) -> None:
    assert is_dns_name(name) is valid


# Every IP literal form the C resolver (inet_aton, getaddrinfo) or a browser accepts: refused by name, before any lookup.
IP_LITERALS = [
    "127.0.0.1", "127.1", "127.0.1", "2130706433", "0x7f000001", "0X7F000001", "0x7f.0.0.1", "0177.0.0.1", "0", "0x",
    "017700000001", "169.254.169.254", "10.0.0.1", "1.2.3.4", "1.2.3.0x4", "example.1", "127.0.0.1.", "0.",
    "::1", "[::1]", "::", "fe80::1", "fe80::1%eth0", "[fe80::1%eth0]", "::ffff:127.0.0.1", "[::ffff:7f00:1]",
    "::FFFF:169.254.169.254", "64:ff9b::7f00:1",
    "::1%x]:22\n  ProxyCommand touch pwned",  # Python's ipaddress takes any scope id: refused all the same
]
LOCALHOSTS = ["localhost", "LOCALHOST", "localhost.", "LocalHost.", "a.localhost", "db.web.LOCALHOST", "x.localhost."]
HOST_NAMES = ["a.pinggy.link", "db-1.a.pinggy.link", "Web.Example.COM", "xn--bcher-kva.example", "r4nd.a.free.pinggy.link",
              "1.2.3.example", "127.0.0.1.example.com", "0x7f000001.io", "host1.io", "a", "web", "0xg.io", "1a.2b",
              "localhost.example", "localhost-1.io", "mylocalhost"]


@pytest.mark.parametrize("value", IP_LITERALS)
def test_ip_literals_are_refused_as_addresses(value: str) -> None:
    assert host_problem(value) == "is an IP address"


@pytest.mark.parametrize("value", LOCALHOSTS)
def test_localhost_and_names_under_it_are_refused(value: str) -> None:
    assert host_problem(value) == "is localhost"


@pytest.mark.parametrize("value", HOST_NAMES)
def test_host_names_are_taken(value: str) -> None:
    assert host_problem(value) is None


@pytest.mark.parametrize("value", ["a", "web", "metadata", "METADATA", "mylocalhost"])
def test_a_probe_refuses_single_labels_the_resolver_would_complete(value: str) -> None:
    assert host_problem(value, single_label=False) == "is a single label (completed by the resolver's search domains)"
    assert host_problem(f"{value}.example.com", single_label=False) is None


@pytest.mark.parametrize("value", ["", "trailing.", "a..b", "under_score.io", "has space.io", "bücher.example", "{{ x }}",
                                   "a" * 5000, "[::1", "1.2.3.4:80", None, 5,
                                   ["a.io"], {"a": 1}, True])
def test_other_values_are_not_dns_names(value: t.Any) -> None:
    assert host_problem(value) == "is not a valid DNS name"
