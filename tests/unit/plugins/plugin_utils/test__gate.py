"""The gate engine: matching, counting, messages, probe targets, the expectation checks, the wait and the verdict."""

from __future__ import annotations

import typing as t

import pytest

from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import normalize_active
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._gate import SEEN_LIMIT, check, evaluate, expectation_problems, verdict, wait_for


def _session(ident: str, subdomain: str, mode: str, port: t.Optional[int], **extra: t.Any) -> dict[str, t.Any]:
    return normalize_active({"id": ident, "subdomain": subdomain, "mode": mode, "port": port, **extra})


def tunnel_expectations(sessions: list[dict[str, t.Any]], expected: list[dict[str, t.Any]]) -> dict[str, t.Any]:
    """The report for well-formed expectations, as every caller of the engine gets it."""
    assert expectation_problems(expected) == []
    return evaluate(sessions, expected)


SESSIONS = [
    _session("s1", "db-1.a.pinggy.link", "tcp", 15432, tokenName="prod"),
    _session("s2", "db-2.a.pinggy.link", "tcp", 15433, tokenName="staging"),
    _session("s3", "r4nd.a.free.pinggy.link", "http", None, customdomain="Web.Example.com", tokenName="web"),
    _session("s4", "game.a.pinggy.link", "tcp", 30000, modeUdp="udp"),
    _session("s5", "vault.a.pinggy.link", "tlstcp", 20443),
    _session("s6", "secure.a.pinggy.link", "tls", None),
]


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
    assert expectation_problems(expected) == [error]


def test_every_bad_expectation_is_named_in_order() -> None:
    assert expectation_problems([{"mode": "ftp"}, {}, {"port": 0, "min_count": 0}]) == [
        "expected[0].mode must be one of http, tcp, tls, tlstcp, udp, got 'ftp'",
        "expected[2].port must be an integer >= 1, got 0",
    ]


def test_unset_keys_are_ignored_and_min_count_defaults_to_one() -> None:
    expected = [{"subdomain": "db-1.*", "mode": None, "port": None, "min_count": None}]
    assert expectation_problems(expected) == []
    assert evaluate(SESSIONS, expected)["expectations"][0]["expectation"] == {"subdomain": "db-1.*", "min_count": 1}


def test_wait_for_reads_until_met_and_counts_attempts() -> None:
    answers = iter([[], [], SESSIONS])
    outcome = wait_for(lambda: next(answers), [{"subdomain": "db-1.*"}], wait_timeout=5, delay=0.01, errors=(OSError,))
    assert outcome.report["met"] and outcome.attempts == 3 and outcome.error is None


def test_wait_for_stops_at_the_deadline_with_the_last_report() -> None:
    outcome = wait_for(lambda: [], [{"subdomain": "db-1.*"}], wait_timeout=0.05, delay=0.01, errors=(OSError,))
    assert not outcome.report["met"] and outcome.attempts >= 2 and outcome.error is None


def test_wait_for_ends_at_the_first_error_without_a_report() -> None:
    def failing() -> list[dict[str, t.Any]]:
        raise OSError("API down")
    outcome = wait_for(failing, [{}], wait_timeout=60, delay=1, errors=(OSError,))
    assert outcome.report == {} and outcome.attempts == 1 and str(outcome.error) == "API down"


def test_verdict_orders_problems_and_passes_only_when_all_is_well() -> None:
    met = evaluate(SESSIONS, [{"subdomain": "db-1.*"}])
    assert verdict(met, [{"kind": "tcp", "label": "a", "ok": True, "msg": "connected"}]) is None
    probes = [{"kind": "invalid", "label": "c", "ok": False, "msg": "not probed"},
              {"kind": "http", "label": "b", "ok": False, "msg": "Status code was 500"},
              {"kind": "tcp", "label": "a", "ok": False, "msg": "Timeout"}]
    assert verdict(met, probes) == ("pinggy.tunnels.assert_tunnels: probe failed for a: Timeout; "
                                    "probe failed for b: Status code was 500; probe failed for c: not probed")
    unmet = evaluate([], [{"subdomain": "db-1.*"}])
    assert verdict(unmet, []) == "pinggy.tunnels.assert_tunnels: " + unmet["message"]


def test_check_is_evaluate_without_the_matched_tunnels_and_probes() -> None:
    expected = [{"mode": "tcp", "min_count": 2}, {"mode": "udp", "min_count": 2}]
    report = tunnel_expectations(SESSIONS, expected)
    checked = check(SESSIONS, expected)
    assert checked == {key: report[key] for key in ("met", "expectations", "unmet", "message")}
    assert checked["met"] is False and checked["unmet"] == ["expected at least 2 udp tunnels: found 1"]
