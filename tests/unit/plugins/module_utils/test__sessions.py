"""Normalization, derived fields, filters and queries of session records."""

from __future__ import annotations

import pytest

from ansible_collections.pinggy.tunnels.plugins.module_utils import _sessions
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import (
    PinggyQueryError,
    compile_query,
    effective_mode,
    filter_sessions,
    has_redacted_tokens,
    normalize_active,
    normalize_history,
    parse_client_ip,
    redact_token,
    redact_tokens,
    tunnel_url,
    valid_port,
)
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import SEED_HISTORY, SEED_SESSION


def test_seed_record_is_snake_cased_with_host_and_url() -> None:
    assert normalize_active(SEED_SESSION) == {
        "id": "9345b393-d916-4a2e-816a-3347468a03c0",
        "user_id": 4490909,
        "token_id": 392084,
        "token": None,
        "token_name": None,
        "virtual_token": "sJsufpgMMl-10003",
        "virtual_token_name": None,
        "subdomain": "mytest.v.awesomeapp.a.pinggy.link",
        "customdomain": None,
        "mode": "tcp",
        "mode_udp": "",
        "port": 10003,
        "creation_timestamp": "2024-08-23T04:04:36.083+00:00",
        "last_update_timestamp": "2024-08-23T04:04:37.780+00:00",
        "host": "mytest.v.awesomeapp.a.pinggy.link",
        "url": "tcp://mytest.v.awesomeapp.a.pinggy.link:10003",
    }


def test_normalize_does_not_change_its_input() -> None:
    record = dict(SEED_SESSION)
    normalize_active(record)
    assert record == SEED_SESSION


@pytest.mark.parametrize("mode, mode_udp, port, expected", [
    ("http", "", None, "https://h.example"),
    ("tls", "", None, "tls://h.example:443"),
    ("tcp", "", 10003, "tcp://h.example:10003"),
    ("tlstcp", "", 20000, "tls://h.example:20000"),
    ("udp", "udp", 30000, "udp://h.example:30000"),
    ("", "udp", 30001, "udp://h.example:30001"),
    ("tcp", "", None, None),
    ("quic", "", 1, None),
    (None, None, None, None),
])
def test_url_by_mode(mode: str, mode_udp: str, port: int, expected: str) -> None:
    record = normalize_active({"subdomain": "h.example", "mode": mode, "modeUdp": mode_udp, "port": port})
    assert record["url"] == expected


def test_custom_domain_wins_over_subdomain() -> None:
    record = normalize_active({"subdomain": "x.a.pinggy.link", "customdomain": "web.example.com", "mode": "http"})
    assert (record["host"], record["url"]) == ("web.example.com", "https://web.example.com")


def test_missing_and_null_fields_never_crash() -> None:
    assert normalize_active({}) == {"host": None, "url": None}
    assert normalize_active({"subdomain": None, "customdomain": None, "mode": None}) == {
        "subdomain": None, "customdomain": None, "mode": None, "host": None, "url": None}


def test_unknown_future_fields_pass_through_snake_cased() -> None:
    record = normalize_active({**SEED_SESSION, "regionName": "eu", "bytesIn": 7})
    assert (record["region_name"], record["bytes_in"]) == ("eu", 7)


def test_udp_flag_decides_the_mode() -> None:
    assert effective_mode({"mode": "tcp", "mode_udp": "udp"}) == "udp"
    assert effective_mode({"mode": "tcp", "mode_udp": ""}) == "tcp"
    assert effective_mode({"mode": ""}) is None


def test_tunnel_url_needs_a_host() -> None:
    assert tunnel_url("http", None, None) is None


SESSIONS = [
    normalize_active({"subdomain": "db-1.a.pinggy.link", "mode": "tcp", "port": 1, "tokenName": "prod"}),
    normalize_active({"subdomain": "db-2.a.pinggy.link", "mode": "tcp", "port": 2, "tokenName": "staging"}),
    normalize_active({"subdomain": "r4nd0m.a.free.pinggy.link", "customdomain": "Web.Example.com", "mode": "http"}),
    normalize_active({"subdomain": "dns.a.pinggy.link", "mode": "udp", "modeUdp": "udp", "port": 3}),
]


def _hosts(records: list) -> list:
    return [record["host"] for record in records]


def test_no_filter_keeps_everything_in_order() -> None:
    assert filter_sessions(SESSIONS) == SESSIONS
    assert filter_sessions(SESSIONS, modes=[], subdomains=[], token_names=[]) == SESSIONS


def test_filter_by_mode() -> None:
    assert _hosts(filter_sessions(SESSIONS, modes=["tcp"])) == ["db-1.a.pinggy.link", "db-2.a.pinggy.link"]
    assert _hosts(filter_sessions(SESSIONS, modes=["udp", "http"])) == ["Web.Example.com", "dns.a.pinggy.link"]
    assert filter_sessions(SESSIONS, modes=["tls"]) == []


def test_filter_by_subdomain_pattern_matches_subdomain_and_custom_domain_case_insensitively() -> None:
    assert _hosts(filter_sessions(SESSIONS, subdomains=["DB-*"])) == ["db-1.a.pinggy.link", "db-2.a.pinggy.link"]
    assert _hosts(filter_sessions(SESSIONS, subdomains=["*.example.COM"])) == ["Web.Example.com"]
    assert _hosts(filter_sessions(SESSIONS, subdomains=["r4nd0m.*"])) == ["Web.Example.com"]
    assert filter_sessions(SESSIONS, subdomains=["db-?"]) == []


def test_filter_by_token_name_and_filters_combine() -> None:
    assert _hosts(filter_sessions(SESSIONS, token_names=["prod"])) == ["db-1.a.pinggy.link"]
    assert filter_sessions(SESSIONS, modes=["http"], token_names=["prod"]) == []
    assert _hosts(filter_sessions(SESSIONS, modes=["tcp"], subdomains=["db-*"], token_names=["staging"])) == [
        "db-2.a.pinggy.link"]


def test_query_compiles_and_searches() -> None:
    assert compile_query("[?mode=='tcp'].port").search(SESSIONS) == [1, 2]


@pytest.mark.parametrize("expression", ["[?", "foo[", "`"])
def test_invalid_query_is_one_line_naming_the_option(expression: str) -> None:
    with pytest.raises(ValueError) as error:
        compile_query(expression)
    message = str(error.value)
    assert message.startswith("query: invalid JMESPath expression")
    assert "\n" not in message


@pytest.mark.parametrize("value, port", [
    (1, 1), (65535, 65535), (10003, 10003), (0, None), (65536, None), (-1, None), (True, None), (False, None),
    (1.0, None), ("22", None), (None, None), ([22], None), ({"p": 1}, None), (10 ** 30, None),
])
def test_only_integers_from_1_to_65535_are_ports(value: object, port: object) -> None:
    assert valid_port(value) == port


def test_urls_need_a_usable_port_and_a_string_host() -> None:
    assert tunnel_url("tcp", "h.io", "{{ x }}") is None
    assert tunnel_url("tcp", "h.io", True) is None
    assert tunnel_url("tcp", ["h.io"], 1) is None
    assert tunnel_url("tls", "h.io", "junk") == "tls://h.io:443"
    assert effective_mode({"mode": ["tcp"]}) is None and effective_mode({"mode": {"a": 1}}) is None


@pytest.mark.parametrize("value, redacted", [
    ("SECRETTOKEN10010", "****0010"), ("sJsufpgMMl-10003", "****0003"), ("12345678", "****5678"), ("short", "****"),
    ("****0003", "****0003"), ("****", "****"), (None, None), ("", ""), (12345, "****"), ({"t": "x"}, "****"), (["x"], "****"),
])
def test_tokens_keep_only_a_short_suffix(value: object, redacted: object) -> None:
    assert redact_token(value) == redacted
    assert redact_token(redact_token(value)) == redacted  # idempotent


def test_redaction_covers_every_token_field_and_spares_names() -> None:
    active = normalize_active({**SEED_SESSION, "token": "ABCDEFGHI", "tokenName": "prod", "virtualTokenName": "vt"})
    history = {"token_value": "HISTORYTOKEN0002", "virtual_token_value": "VTOKEN-0002", "user_email": "a@b.c"}
    (redacted_active, redacted_history, raw) = redact_tokens([active, history, {"virtualToken": "RAWVIRTUAL0001"}])
    assert (redacted_active["token"], redacted_active["virtual_token"]) == ("****FGHI", "****0003")
    assert (redacted_active["token_name"], redacted_active["virtual_token_name"]) == ("prod", "vt")
    assert redacted_history == {"token_value": "****0002", "virtual_token_value": "****0002", "user_email": "a@b.c"}
    assert raw == {"virtualToken": "****0001"}
    assert active["token"] == "ABCDEFGHI"  # the input is not changed
    assert redact_tokens([active], reveal=True) == [active]
    assert has_redacted_tokens([redacted_active]) and not has_redacted_tokens([active]) and not has_redacted_tokens(["x"])


def test_without_jmespath_a_query_fails_naming_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_sessions, "HAS_JMESPATH", False)
    with pytest.raises(PinggyQueryError, match=r"^query: the Python library 'jmespath' is required"):
        compile_query("[].id")


def test_seed_history_record_gains_derived_fields() -> None:
    assert normalize_history(SEED_HISTORY) == {
        **SEED_HISTORY, "duration_seconds": 50321.723, "client_address": "5.7.152.215", "client_port": 48696}


@pytest.mark.parametrize("client_ip, expected", [
    ("[2001:db8::1]:5555", ("2001:db8::1", 5555)),
    ("[::1]:22", ("::1", 22)),
    ("5.7.152.215:48696", ("5.7.152.215", 48696)),
    ("[5.7.152.215]", (None, None)),
    ("garbage", (None, None)),
    ("", (None, None)),
    (None, (None, None)),
    (12345, (None, None)),
    ("[5.7.152.215]:" + "9" * 5000, (None, None)),  # int() of it would raise ValueError
    ("[5.7.152.215]:123456", (None, None)),
    ("[5.7.152.215]:\u0664\u0664\u0663", (None, None)),  # Arabic-Indic digits are not a port
])
def test_client_ip_parsing(client_ip: object, expected: tuple) -> None:
    assert parse_client_ip(client_ip) == expected


@pytest.mark.parametrize("start, end, expected", [
    ("2025-02-06T16:16:44.571+00:00", None, None),
    ("2025-02-06T16:16:44+00:00", "2025-02-06T16:16:45.5Z", 1.5),
    ("2025-02-06T16:16:44.571+00:00", "not a time", None),
    (None, "2025-02-06T16:16:44.571+00:00", None),
    ("2025-02-06T16:16:44.571+00:00", "2025-02-06T15:16:44.571+00:00", None),
    ("2025-02-06T16:16:44.571", "2025-02-06T17:16:44.571", None),
])
def test_duration_is_none_unless_both_times_are_usable(start: object, end: object, expected: object) -> None:
    assert normalize_history({"start_time": start, "end_time": end})["duration_seconds"] == expected


def test_empty_record_never_crashes() -> None:
    assert normalize_history({}) == {"duration_seconds": None, "client_address": None, "client_port": None}
