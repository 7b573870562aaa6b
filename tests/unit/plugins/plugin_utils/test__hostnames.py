"""Host naming: valid DNS names, reserved names, collisions against every taken name, safe fallbacks; property tests."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.pinggy.tunnels.plugins.module_utils._dns_names import host_problem
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._hostnames import (
    RESERVED_NAMES,
    _canonical,
    name_hosts,
    safe_id,
)
from ansible_collections.pinggy.tunnels.tests.unit.plugins.module_utils.test__dns_names import IP_LITERALS, LOCALHOSTS

FIELDS = ["customdomain", "subdomain"]
_FALLBACK_OR_SUFFIXED = __import__("re").compile(r"[a-z0-9.-]+(_[a-z0-9-]+)*")


def test_the_inventory_never_names_a_host_by_an_address_or_localhost() -> None:
    records = [{"id": f"i{index}", "customdomain": value, "subdomain": f"s{index}.a.pinggy.link"}
               for index, value in enumerate(IP_LITERALS + LOCALHOSTS)]
    records.append({"id": "last", "customdomain": "127.1", "subdomain": "0x7f000001"})
    hosts, _collided = name_hosts(records, FIELDS)
    assert [host[:2] for host in hosts[:-1]] == [(f"s{index}.a.pinggy.link",) * 2 for index in range(len(records) - 1)]
    assert hosts[-1][:2] == ("pinggy_last", None)


def test_safe_ids_are_kept_and_unsafe_ones_hashed() -> None:
    assert safe_id("9345b393-d916-4a2e-816a-3347468a03c0") == "9345b393-d916-4a2e-816a-3347468a03c0"
    assert safe_id("ABC") == "abc" and safe_id(12345) == "12345"
    for unsafe in (None, True, "{{ x }}", "a" * 64, "-x", {"k": "v"}, ["x"], 1.5, "dup_1"):
        assert safe_id(unsafe).startswith("h") and len(safe_id(unsafe)) == 13
    assert safe_id({"k": "v"}) == safe_id({"k": "v"}) != safe_id({"k": "w"})


def test_names_prefer_the_first_valid_field_and_fall_back_to_the_id() -> None:
    records = [
        {"id": "a", "subdomain": "s1.a.pinggy.link", "customdomain": "web.example.com"},
        {"id": "b", "subdomain": "s2.a.pinggy.link", "customdomain": "not valid"},
        {"id": "c", "subdomain": None, "customdomain": None},
        {"id": "{{ d }}", "subdomain": "all", "customdomain": "pinggy"},
        {"id": "e", "subdomain": "PROD.a.pinggy.link", "customdomain": "existing"},
    ]
    hosts, collided = name_hosts(records, FIELDS, reserved=["existing"])
    assert [host[:2] for host in hosts] == [
        ("web.example.com", "web.example.com"), ("s2.a.pinggy.link", "s2.a.pinggy.link"), ("pinggy_c", None),
        (f"pinggy_{safe_id('{{ d }}')}", None), ("prod.a.pinggy.link", "prod.a.pinggy.link")]
    assert collided == []


def test_reserved_names_are_never_host_names() -> None:
    records = [{"id": name, "subdomain": name} for name in sorted(RESERVED_NAMES) + ["mygroup", "MyGroup"]]
    hosts, _collided = name_hosts(records, ["subdomain"], reserved=["MyGroup"])
    names = [name for name, _public, _record in hosts]
    assert not set(names) & (set(RESERVED_NAMES) | {"mygroup"})
    assert len(set(names)) == len(records)


def test_collisions_skip_names_taken_by_groups_and_earlier_suffixes() -> None:
    records = [
        {"id": "x1", "subdomain": "dup", "port": 1},
        {"id": "x2", "subdomain": "dup", "port": 2},
        {"id": "x3", "subdomain": "DUP", "port": 2},
        {"id": None, "subdomain": "same.io"},
        {"id": None, "subdomain": "same.io"},
        {"id": "p"},
        {"id": "P", "subdomain": "pinggy_p"},
    ]
    hosts, collided = name_hosts(records, ["subdomain"], reserved=["dup_1", "same.io_1"])
    names = [name for name, _public, _record in hosts]
    # dup_1 (port 1) belongs to a group: the id tells it apart; port 2 is shared: the ids again.
    assert names[:3] == ["dup_x1", "dup_x2", "dup_x3"]
    assert names[3:5] == ["same.io_2", "same.io_3"]
    assert sorted(names[5:]) == ["pinggy_p_1", "pinggy_p_2"]  # the same fallback name, and the same id once lowercased
    assert len(set(names)) == len(records)
    assert collided == ["dup", "pinggy_p", "same.io"]


def test_collision_suffixes_avoid_names_taken_by_other_suffixes() -> None:
    records = [{"id": "a", "subdomain": "x.io", "port": 5}, {"id": "b", "subdomain": "x.io", "port": 6},
               {"id": "5", "subdomain": "x.io", "port": 6}]
    names = [name for name, _public, _record in name_hosts(records, ["subdomain"])[0]]
    # x.io_5 goes to the port-5 tunnel (ports first); the tunnel with id 5 (port 6 shared) must not take it again.
    assert names == ["x.io_5", "x.io_b", "x.io_1"]


def test_naming_is_stable_whatever_the_order() -> None:
    records = [{"id": f"id-{n}", "subdomain": "same.a.pinggy.link", "port": 7 if n < 2 else n} for n in range(4)]
    forward = name_hosts(records, ["subdomain"])[0]
    backward = name_hosts(list(reversed(records)), ["subdomain"])[0]
    assert {record["id"]: name for name, _public, record in forward} == {record["id"]: name for name, _public, record in backward}


# Any JSON-shaped session: the name fields and id drawn from names that are valid, reserved, colliding or junk.
_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=5,
)
_names = st.sampled_from(["dup", "DUP", "dup_1", "dup_2", "a.io", "all", "pinggy", "pinggy_tcp", "localhost", "", None,
                          "{{ x }}", "x" * 300, "-", "pinggy_dup", "h0", "1", "ü.io",
                          "127.1", "0x7f000001", "[::1]", "a.localhost."]) | _json
_sessions = st.lists(
    st.fixed_dictionaries({"id": _names, "subdomain": _names, "customdomain": _names,
                           "port": st.sampled_from([None, 1, 2, 65535, 0, -1, True, "1", 1.0, 10 ** 20]) | _json}),
    max_size=25,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions=_sessions, reserved=st.lists(st.sampled_from(["dup", "dup_1", "a.io", "grp", "h0"]), max_size=3))
def test_any_sessions_get_distinct_valid_names_and_none_is_lost(sessions: list, reserved: list) -> None:
    hosts, _collided = name_hosts(sessions, FIELDS, reserved)
    names = [name for name, _public, _record in hosts]
    assert len(hosts) == len(sessions)
    assert [record for _name, _public, record in hosts] == sessions  # same records, same order
    assert len(set(names)) == len(names)
    assert not set(names) & (set(RESERVED_NAMES) | set(reserved))
    for name, public, _record in hosts:
        assert isinstance(name, str) and name == name.lower()
        assert "{" not in name and "}" not in name and " " not in name
        assert _FALLBACK_OR_SUFFIXED.fullmatch(name)
        assert public is None or (host_problem(public) is None and name.startswith(public))
    # Stable: the same sessions in reverse order get the same names (identical sessions may swap theirs).
    backward = name_hosts(list(reversed(sessions)), FIELDS, reserved)[0]
    assert sorted((_canonical(record), name) for name, _public, record in backward) == sorted(
        (_canonical(record), name) for name, _public, record in hosts)
