"""The tunnel_expectations filter: its name, its input checks and error lines, and API strings kept as data.

What the report holds (matching, counting, messages, probe targets) is the gate engine's: tests/unit/plugins/plugin_utils/test__gate.py.
"""

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

from ansible_collections.pinggy.tunnels.plugins.filter.tunnel_expectations import FilterModule, tunnel_expectations
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import normalize_active


def _session(ident: str, subdomain: str, mode: str, port: t.Optional[int], **extra: t.Any) -> dict[str, t.Any]:
    return normalize_active({"id": ident, "subdomain": subdomain, "mode": mode, "port": port, **extra})


SESSIONS = [_session("s1", "db-1.a.pinggy.link", "tcp", 15432, tokenName="prod")]


def test_filter_is_registered_under_its_name() -> None:
    assert FilterModule().filters() == {"tunnel_expectations": tunnel_expectations}


def test_the_filter_returns_the_engines_report() -> None:
    report = tunnel_expectations(SESSIONS, [{"subdomain": "db-1.*"}, {"mode": "http"}])
    assert report["met"] is False
    assert [result["found"] for result in report["expectations"]] == [1, 0]
    assert report["unmet"] == ["expected at least 1 http tunnel: found 0"]


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
    ([{}, {"min_count": 0}, {"port": 0}], "expected[1].min_count must be an integer >= 1, got 0"),
    ([], "expected must be a non-empty list of expectations, got []"),
    ({"subdomain": "db"}, "expected must be a non-empty list of expectations, got {'subdomain': 'db'}"),
])
def test_the_first_bad_expectation_is_named_in_one_line(expected: t.Any, error: str) -> None:
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
