"""The grammar of Pinggy's remote options: every documented form, what each kind refuses, secrets hidden when shown."""

from __future__ import annotations

import pytest

from ansible_collections.pinggy.tunnels.plugins.plugin_utils._tunnel_service_options import option_problem, shown_option


@pytest.mark.parametrize("option", [
    "a:X-Env:prod", "u:Host:example.com", "r:X-Powered-By", "b:alice:s3cret:with:colons", "k:bearer-key",
    "w:203.0.113.7", "w:203.0.113.0/24,2001:db8::/32,10.0.0.1", "x:https", "x:HTTPSOnly", "x:noreverseproxy",
    "x:xff", "x:xff:X-Real-IP", "x:fullurl", "x:origurl", "x:passpreflight", "x:localServerTls", "x:localServerTls:app.internal",
])
def test_every_documented_option_form_is_accepted(option: str) -> None:
    assert option_problem(option, "http") is None


@pytest.mark.parametrize("option", ["w:203.0.113.0/24", "w:2001:db8::1"])
def test_allow_lists_are_the_one_option_of_tcp_tls_and_tlstcp_tunnels(option: str) -> None:
    for mode in ("tcp", "tls", "tlstcp"):
        assert option_problem(option, mode) is None
        assert option_problem("x:https", mode) == f"applies to http tunnels only (this one is {mode}); {mode} tunnels take w: only"


@pytest.mark.parametrize(("option", "problem"), [
    ("zz:1", "is not a Pinggy option; the documented forms are a:Header:Value"),
    ("a:X Y:1", "has whitespace, quotes, a backslash, '#' or non-ASCII characters, which an ssh config cannot carry"),
    ("a:X-Env", "must be a:Header:Value (a header name, then a value)"),
    ("r:Bad/Header", "must be r:Header (a header name)"),
    ("b:alice", "must be b:user:password (a user name without ':', then a password)"),
    ("k:", "must be k:key (the key visitors send as 'Authorization: Bearer key')"),
    ("w:10.0.0.300", "must be w:IP-or-CIDR[,IP-or-CIDR...] (e.g. w:203.0.113.0/24,2001:db8::/32)"),
    ("x:turbo", "is not a Pinggy x: option; known: x:https, x:httpsonly"),
    ("x:xff:Bad/Header", "must be x:xff or x:xff:Header (a header name)"),
    ("x:localServerTls:-bad-", "must be x:localServerTls or x:localServerTls:SNI (a host name)"),
    ("x:fullurl:yes", "x:fullurl takes no value"),
])
def test_each_kind_says_what_it_expected(option: str, problem: str) -> None:
    assert str(option_problem(option, "http")).startswith(problem)


def test_shown_option_hides_passwords_and_keys() -> None:
    assert [shown_option(option) for option in ("b:alice:pw:x", "k:key", "w:10.0.0.0/8", "x:https")] == [
        "b:alice:***", "k:***", "w:10.0.0.0/8", "x:https"]
