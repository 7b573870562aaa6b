"""The tunnel_expectations filter: matching, counting, messages, probe targets and bad expectations."""

from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string it is given
    def trust_as_template(value: str) -> str:
        return value

from ansible_collections.pinggy.tunnels.plugins.filter.tunnel_expectations import SEEN_LIMIT, FilterModule, tunnel_expectations
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import normalize_active


def _session(ident: str, subdomain: str, mode: str, port: t.Optional[int], **extra: t.Any) -> dict[str, t.Any]:
    return normalize_active({"id": ident, "subdomain": subdomain, "mode": mode, "port": port, **extra})


SESSIONS = [
    _session("s1", "db-1.a.pinggy.link", "tcp", 15432, tokenName="prod"),
    _session("s2", "db-2.a.pinggy.link", "tcp", 15433, tokenName="staging"),
    _session("s3", "r4nd.a.free.pinggy.link", "http", None, customdomain="Web.Example.com", tokenName="web"),
    _session("s4", "game.a.pinggy.link", "tcp", 30000, modeUdp="udp"),
    _session("s5", "vault.a.pinggy.link", "tlstcp", 20443),
    _session("s6", "secure.a.pinggy.link", "tls", None),
]


def test_filter_is_registered_under_its_name() -> None:
    assert FilterModule().filters() == {"tunnel_expectations": tunnel_expectations}


def test_every_key_must_match_and_min_count_counts() -> None:
    report = tunnel_expectations(SESSIONS, [
        {"subdomain": "DB-*", "mode": "tcp", "min_count": 2},
        {"custom_domain": "web.example.COM", "token_name": "web"},
        {"mode": "udp", "port": 30000},
    ])
    assert report["met"] is True
    assert report["unmet"] == [] and report["message"] == ""
    assert [result["found"] for result in report["expectations"]] == [2, 1, 1]
    assert [record["id"] for record in report["tunnels"]] == ["s1", "s2", "s3", "s4"]


def test_udp_flag_wins_over_mode() -> None:
    # s4 says mode tcp but mode_udp udp: it is a udp tunnel, not a tcp one.
    report = tunnel_expectations(SESSIONS, [{"mode": "tcp", "port": 30000}])
    assert report["met"] is False
    assert report["expectations"][0]["found"] == 0


def test_unmet_expectations_are_described_with_what_was_found() -> None:
    report = tunnel_expectations(SESSIONS, [
        {"subdomain": "db.*", "mode": "tcp", "port": 5432, "token_name": "ci"},
        {"mode": "tcp", "min_count": 3},
        {"subdomain": "db-1.*"},
    ])
    assert report["met"] is False
    assert report["unmet"] == [
        "expected at least 1 tcp tunnel matching db.* on port 5432 with token ci: found 0",
        "expected at least 3 tcp tunnels: found 2",
    ]
    assert report["message"] == (
        "2 of 3 tunnel expectation(s) unmet: " + "; ".join(report["unmet"]) + "; tunnels seen (6): "
        "tcp://db-1.a.pinggy.link:15432, tcp://db-2.a.pinggy.link:15433, https://Web.Example.com, "
        "udp://game.a.pinggy.link:30000, tls://vault.a.pinggy.link:20443, tls://secure.a.pinggy.link:443"
    )
    # Tunnels matching any expectation, met or not, are reported.
    assert [record["id"] for record in report["tunnels"]] == ["s1", "s2"]


def test_custom_domain_expectation_is_described() -> None:
    report = tunnel_expectations([], [{"custom_domain": "api.example.com", "mode": "http", "min_count": 2}])
    assert report["unmet"] == ["expected at least 2 http tunnels on custom domain api.example.com: found 0"]
    assert report["message"].endswith("tunnels seen (0): none")


def test_an_empty_answer_never_meets_an_expectation() -> None:
    report = tunnel_expectations([], [{}])
    assert report["met"] is False
    assert report["unmet"] == ["expected at least 1 tunnel: found 0"]


def test_tunnels_seen_are_capped() -> None:
    many = [_session(f"m{index}", f"t{index}.a.pinggy.link", "tcp", 10000 + index) for index in range(SEEN_LIMIT + 5)]
    message = tunnel_expectations(many, [{"subdomain": "nothing.*"}])["message"]
    assert f"tunnels seen ({SEEN_LIMIT + 5}): " in message
    assert message.endswith("tcp://t9.a.pinggy.link:10009 and 5 more")
    assert "t10.a.pinggy.link" not in message


def test_a_tunnel_matching_two_expectations_is_listed_once() -> None:
    report = tunnel_expectations(SESSIONS, [{"subdomain": "db-1.*"}, {"token_name": "prod"}])
    assert [record["id"] for record in report["tunnels"]] == ["s1"]


def test_probe_targets_by_mode() -> None:
    report = tunnel_expectations(SESSIONS, [{"min_count": 6}])
    assert report["probes"] == [
        {"kind": "tcp", "label": "tcp://db-1.a.pinggy.link:15432", "host": "db-1.a.pinggy.link", "port": 15432,
         "url": "tcp://db-1.a.pinggy.link:15432"},
        {"kind": "tcp", "label": "tcp://db-2.a.pinggy.link:15433", "host": "db-2.a.pinggy.link", "port": 15433,
         "url": "tcp://db-2.a.pinggy.link:15433"},
        {"kind": "http", "label": "https://Web.Example.com", "host": "Web.Example.com", "port": None, "url": "https://Web.Example.com"},
        {"kind": "tcp", "label": "tls://vault.a.pinggy.link:20443", "host": "vault.a.pinggy.link", "port": 20443,
         "url": "tls://vault.a.pinggy.link:20443"},
    ]


def test_report_strings_from_the_api_are_never_templated() -> None:
    hostile = [_session("x1", "{{ 6 * 7 }}.a.pinggy.link", "tcp", 1234)]
    report = tunnel_expectations(hostile, [{"subdomain": "*", "min_count": 2}])
    # A variable holding the report, used in a template, keeps the API's text verbatim.
    templar = Templar(loader=DataLoader(), variables={"report": report})
    rendered = templar.template(trust_as_template("{{ report.message }} / {{ report.tunnels[0].host }}"))
    assert "tcp://{{ 6 * 7 }}.a.pinggy.link:1234" in rendered
    assert rendered.endswith(" / {{ 6 * 7 }}.a.pinggy.link")
    assert "42" not in rendered


@pytest.mark.parametrize(("expected", "error"), [
    ([{"subdomian": "db"}], "expected[0] has unknown key(s) subdomian; known: subdomain, custom_domain, mode, token_name, port, min_count"),
    ([{"mode": "ftp"}], "expected[0].mode must be one of http, tcp, tls, tlstcp, udp, got 'ftp'"),
    ([{}, {"min_count": 0}], "expected[1].min_count must be an integer >= 1, got 0"),
    ([{"port": "22"}], "expected[0].port must be an integer >= 1, got '22'"),
    ([{"port": True}], "expected[0].port must be an integer >= 1, got True"),
    ([{"subdomain": ["a", "b"]}], "expected[0].subdomain must be a string, got ['a', 'b']"),
    (["db-1"], "expected[0] must be a dictionary, got 'db-1'"),
    ([], "expected must be a non-empty list of expectations, got []"),
    ({"subdomain": "db"}, "expected must be a non-empty list of expectations, got {'subdomain': 'db'}"),
])
def test_bad_expectations_are_named(expected: t.Any, error: str) -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        tunnel_expectations(SESSIONS, expected)
    assert str(caught.value) == f"tunnel_expectations: {error}"


@pytest.mark.parametrize("sessions", [None, "sessions", [1, 2], {"sessions": []}])
def test_input_must_be_the_sessions_list(sessions: t.Any) -> None:
    with pytest.raises(AnsibleFilterError, match="the input must be the list of sessions returned by pinggy.tunnels.pinggy_sessions_info"):
        tunnel_expectations(sessions, [{}])


class _LazyList(list):  # type: ignore[type-arg]
    """Like ansible-core 2.19's lazy lists in registered results: cannot be built from an iterable."""

    def __init__(self, *args: t.Any) -> None:
        if args:
            raise TypeError("Direct construction of lazy containers is not supported.")
        super().__init__()


def test_sessions_with_list_fields_are_reported() -> None:
    options = _LazyList()
    options.extend(["x:https", "b:alice:***"])
    session = {**_session("s9", "web.a.pinggy.link", "http", None), "remote_options": options}
    report = tunnel_expectations([session], [{"mode": "http"}])
    assert report["met"] and report["tunnels"][0]["remote_options"] == ["x:https", "b:alice:***"]


def test_probes_go_only_to_a_valid_host_and_port_never_to_an_api_url() -> None:
    hostile = [
        {**_session("h1", "evil.example/admin#", "http", None), "url": "http://169.254.169.254/latest"},
        _session("h2", "{{ x }}.a.pinggy.link", "tcp", 22),
        _session("h3", "bad-port.a.pinggy.link", "tcp", "22"),
        {**_session("h4", "ok.a.pinggy.link", "http", None), "url": "http://169.254.169.254/latest"},
    ]
    probes = tunnel_expectations(hostile, [{"min_count": 4}])["probes"]
    assert [probe["kind"] for probe in probes] == ["invalid", "invalid", "invalid", "http"]
    assert probes[0]["reason"] == probes[1]["reason"] == "the tunnel's host is not a valid DNS name, not probed"
    assert probes[2]["reason"] == "the tunnel's port is not an integer from 1 to 65535, not probed"
    assert probes[3]["url"] == "https://ok.a.pinggy.link"
    assert all("169.254" not in str(probe["url"]) + str(probe["host"]) for probe in probes)


def test_sessions_with_unhashable_or_shared_ids_are_each_kept() -> None:
    odd = [{**_session("x", "a.a.pinggy.link", "tcp", 1), "id": {"k": "v"}}, _session("dup", "b.a.pinggy.link", "tcp", 2),
           _session("dup", "c.a.pinggy.link", "tcp", 3)]
    report = tunnel_expectations(odd, [{"mode": "tcp"}, {"min_count": 1}])
    assert len(report["tunnels"]) == 3
