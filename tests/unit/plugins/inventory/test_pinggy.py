"""pinggy inventory plugin: naming, de-duplication, grouping and filters, parsed against the emulator."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from ansible.errors import AnsibleParserError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string it is given
    def trust_as_template(value: str) -> str:  # type: ignore[misc]
        return value

from ansible_collections.pinggy.tunnels.plugins.inventory.pinggy import name_hosts
from ansible_collections.pinggy.tunnels.plugins.module_utils import _api
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import MODES
from ansible_collections.pinggy.tunnels.plugins.module_utils._dns_names import is_dns_name
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._unsafe import DATA_TAGGING
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, SEED_SESSION, EmulatorControl, hostile_data

HOSTNAMES = ["customdomain", "subdomain"]


def session(**fields: t.Any) -> dict[str, t.Any]:
    return {**SEED_SESSION, **fields}


def test_names_prefer_custom_domain_then_subdomain_then_a_name_from_the_id() -> None:
    records = [
        {"id": "a", "subdomain": "s1.a.pinggy.link", "customdomain": "web.example.com"},
        {"id": "b", "subdomain": "s2.a.pinggy.link", "customdomain": None},
        {"id": "c", "subdomain": None, "customdomain": None},
    ]
    hosts, collided = name_hosts(records, HOSTNAMES)
    assert [host[:2] for host in hosts] == [
        ("web.example.com", "web.example.com"), ("s2.a.pinggy.link", "s2.a.pinggy.link"), ("pinggy_c", None)]
    assert collided == []


def test_colliding_names_get_port_or_id_suffixes_and_nothing_is_dropped() -> None:
    records = [
        {"id": "id-1", "subdomain": "db.a.pinggy.link", "port": 1001},
        {"id": "id-2", "subdomain": "db.a.pinggy.link", "port": 1002},
        {"id": "id-3", "subdomain": "web.a.pinggy.link", "port": None},
        {"id": "id-4", "subdomain": "web.a.pinggy.link", "port": None},
        {"id": "id-5", "subdomain": "x.a.pinggy.link", "port": 7},
        {"id": "id-6", "subdomain": "x.a.pinggy.link", "port": 7},
    ]
    hosts, collided = name_hosts(records, ["subdomain"])
    assert [host[0] for host in hosts] == [
        "db.a.pinggy.link_1001", "db.a.pinggy.link_1002", "web.a.pinggy.link_id-3", "web.a.pinggy.link_id-4",
        "x.a.pinggy.link_id-5", "x.a.pinggy.link_id-6"]
    assert all(":" not in host[0] for host in hosts)
    assert [host[1] for host in hosts[:2]] == ["db.a.pinggy.link", "db.a.pinggy.link"]
    assert collided == ["db.a.pinggy.link", "web.a.pinggy.link", "x.a.pinggy.link"]


def test_naming_is_stable_whatever_the_order() -> None:
    records = [{"id": f"id-{n}", "subdomain": "same.a.pinggy.link", "port": None} for n in range(3)]
    forward = name_hosts(records, ["subdomain"])[0]
    backward = name_hosts(list(reversed(records)), ["subdomain"])[0]
    assert {record["id"]: name for name, public, record in forward} == {record["id"]: name for name, public, record in backward}


def parse(tmp_path: Path, emulator: EmulatorControl, **options: t.Any) -> InventoryData:
    source = tmp_path / "test.pinggy.yml"
    config = {"plugin": "pinggy.tunnels.pinggy", "api_url": emulator.api_url, "api_key": API_KEY, "retries": 0, **options}
    source.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    plugin = inventory_loader.get("pinggy.tunnels.pinggy")
    assert plugin.verify_file(str(source))
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(source), cache=False)
    return inventory


TUNNELS = [
    session(id="t1", subdomain="db-1.a.pinggy.link", mode="tcp", port=15432, tokenName="prod"),
    session(id="t2", subdomain="r4nd.a.free.pinggy.link", customdomain="web.example.com", mode="http", port=None),
    session(id="t3", subdomain="dns.a.pinggy.link", mode="udp", modeUdp="udp", port=5353, tokenName="prod"),
    session(id="t4", subdomain="secure.a.pinggy.link", mode="tls", port=None),
]


def test_hosts_vars_and_groups(tmp_path: Path, emulator: EmulatorControl) -> None:
    emulator.reset(TUNNELS)
    inventory = parse(tmp_path, emulator)
    assert sorted(inventory.hosts) == ["db-1.a.pinggy.link", "dns.a.pinggy.link", "secure.a.pinggy.link", "web.example.com"]
    db = inventory.get_host("db-1.a.pinggy.link").vars
    assert (db["ansible_host"], db["ansible_port"]) == ("db-1.a.pinggy.link", 15432)
    assert (db["pinggy_mode"], db["pinggy_token_name"], db["pinggy_url"]) == ("tcp", "prod", "tcp://db-1.a.pinggy.link:15432")
    web = inventory.get_host("web.example.com").vars
    assert web["ansible_host"] == "web.example.com" and "ansible_port" not in web
    assert web["pinggy_subdomain"] == "r4nd.a.free.pinggy.link"
    assert inventory.get_host("dns.a.pinggy.link").vars["ansible_port"] == 5353
    groups = {name: sorted(host.name for host in group.get_hosts()) for name, group in inventory.groups.items()}
    assert groups["pinggy"] == sorted(inventory.hosts)
    assert groups["pinggy_tcp"] == ["db-1.a.pinggy.link"]
    assert groups["pinggy_udp"] == ["dns.a.pinggy.link"]
    assert groups["pinggy_http"] == ["web.example.com"]
    assert groups["pinggy_tls"] == ["secure.a.pinggy.link"]


def test_filters_and_constructed_groups(tmp_path: Path, emulator: EmulatorControl) -> None:
    emulator.reset(TUNNELS)
    inventory = parse(tmp_path, emulator, mode=["tcp", "udp"], token_name=["prod"], subdomain=["d*"],
                      keyed_groups=[{"key": "pinggy_mode", "prefix": "by_mode"}],
                      groups={"databases": "pinggy_port == 15432"}, compose={"ansible_user": "'deploy'"})
    assert sorted(inventory.hosts) == ["db-1.a.pinggy.link", "dns.a.pinggy.link"]
    assert [host.name for host in inventory.groups["databases"].get_hosts()] == ["db-1.a.pinggy.link"]
    assert [host.name for host in inventory.groups["by_mode_udp"].get_hosts()] == ["dns.a.pinggy.link"]
    assert inventory.get_host("db-1.a.pinggy.link").vars["ansible_user"] == "deploy"


def test_no_tunnels_is_an_empty_inventory(tmp_path: Path, emulator: EmulatorControl) -> None:
    emulator.reset([])
    assert parse(tmp_path, emulator).hosts == {}


@pytest.mark.parametrize("fault, message", [
    ({"kind": "status", "status": 503, "count": 0}, "HTTP 503"),
    ({"kind": "malformed", "count": 0}, "not valid JSON"),
])
def test_api_failure_fails_the_source(tmp_path: Path, emulator: EmulatorControl, fault: dict, message: str) -> None:
    emulator.fault(**fault)
    with pytest.raises(AnsibleParserError, match=message):
        parse(tmp_path, emulator)


def test_wrong_key_fails_without_the_key(tmp_path: Path, emulator: EmulatorControl) -> None:
    source = tmp_path / "wrong.pinggy.yml"
    source.write_text(f"plugin: pinggy.tunnels.pinggy\napi_url: {emulator.api_url}\napi_key: wrong-inventory-key-3\n",
                      encoding="utf-8")
    with pytest.raises(AnsibleParserError) as error:
        inventory_loader.get("pinggy.tunnels.pinggy").parse(InventoryData(), DataLoader(), str(source), cache=False)
    assert "HTTP 401" in str(error.value) and "wrong-inventory-key-3" not in str(error.value)


def test_only_pinggy_source_files_are_claimed(tmp_path: Path) -> None:
    plugin = inventory_loader.get("pinggy.tunnels.pinggy")
    for name, expected in (("a.pinggy.yml", True), ("pinggy.yaml", True), ("hosts.yml", False), ("x.pinggy.json", False)):
        path = tmp_path / name
        path.write_text("plugin: pinggy.tunnels.pinggy\n", encoding="utf-8")
        assert plugin.verify_file(str(path)) is expected


def test_cache_key_is_per_source_file(tmp_path: Path) -> None:
    plugin = inventory_loader.get("pinggy.tunnels.pinggy")
    first, second = str(tmp_path / "a.pinggy.yml"), str(tmp_path / "b.pinggy.yml")
    assert plugin.get_cache_key(first) == plugin.get_cache_key(first)
    assert plugin.get_cache_key(first) != plugin.get_cache_key(second)


def test_warm_cache_is_served_without_a_request_and_never_holds_the_key(tmp_path: Path, emulator: EmulatorControl) -> None:
    emulator.reset(TUNNELS)
    source = tmp_path / "cached.pinggy.yml"
    source.write_text(json.dumps({"plugin": "pinggy.tunnels.pinggy", "api_url": emulator.api_url, "api_key": API_KEY,
                                  "cache": True, "cache_plugin": "ansible.builtin.jsonfile",
                                  "cache_connection": str(tmp_path / "cache")}), encoding="utf-8")
    for expected_requests, use_cache in ((1, True), (1, True), (2, False)):
        inventory, plugin = InventoryData(), inventory_loader.get("pinggy.tunnels.pinggy")
        plugin.parse(inventory, DataLoader(), str(source), cache=use_cache)
        plugin.update_cache_if_changed()  # as ansible-core's InventoryManager does after each source
        assert len(inventory.hosts) == 4
        assert emulator.requests() == expected_requests
    cache_files = list((tmp_path / "cache").iterdir())
    assert len(cache_files) == 1
    assert API_KEY not in cache_files[0].read_text(encoding="utf-8")


def test_cache_is_per_account(tmp_path: Path, emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another key (or a wrong one) never gets the hosts cached for the first: the cache key carries a key fingerprint."""
    emulator.reset(TUNNELS)
    source = tmp_path / "account.pinggy.yml"
    source.write_text(json.dumps({"plugin": "pinggy.tunnels.pinggy", "retries": 0, "cache": True,
                                  "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache")}),
                      encoding="utf-8")
    monkeypatch.setenv("PINGGY_API_URL", emulator.api_url)

    def parse_with(key: str) -> int:
        monkeypatch.setenv("PINGGY_API_KEY", key)
        inventory, plugin = InventoryData(), inventory_loader.get("pinggy.tunnels.pinggy")
        plugin.parse(inventory, DataLoader(), str(source), cache=True)
        plugin.update_cache_if_changed()
        return len(inventory.hosts)

    assert parse_with(API_KEY) == 4
    with pytest.raises(AnsibleParserError, match="HTTP 401"):
        parse_with("another-account-key-0001")
    assert parse_with(API_KEY) == 4
    assert emulator.requests() == 2
    for cache_file in (tmp_path / "cache").iterdir():
        assert API_KEY not in cache_file.read_text(encoding="utf-8") and API_KEY[:8] not in cache_file.name


# -- hostile API data -------------------------------------------------------------------------------
def _unsafe(value: t.Any) -> bool:
    return bool(getattr(value, "__UNSAFE__", False))


def test_hostile_sessions_lose_nothing_poison_nothing_and_run_nothing(tmp_path: Path, emulator: EmulatorControl) -> None:
    marker = tmp_path / "marker"
    data = hostile_data(marker)
    emulator.reset(data["active"])
    inventory = parse(tmp_path, emulator, keyed_groups=[{"key": "pinggy_token_name", "prefix": "token"}],
                      compose={"label": "pinggy_subdomain"}, groups={"mine": "true"})
    # Nothing dropped: one host per session, every name valid or a safe fallback, no host named like a group.
    assert len(inventory.hosts) == len(data["active"])
    assert not set(inventory.hosts) & set(inventory.groups)
    for name in inventory.hosts:
        assert is_dns_name(name.split("_")[0]) or name.startswith("pinggy_")
        assert "{" not in name and len(name) < 400
    # Nothing poisoned: groups carry no variables, the pinggy_<mode> groups are the five known modes only.
    assert all(not group.vars for group in inventory.groups.values())
    assert {name for name in inventory.groups if name.startswith("pinggy_")} <= {f"pinggy_{mode}" for mode in MODES}
    hostvars = {name: host.vars for name, host in inventory.hosts.items()}
    assert hostvars["ok-1.a.pinggy.link"]["ansible_port"] == 10010
    assert hostvars["ok-1.a.pinggy.link"]["pinggy_token"] == "****0010"
    assert hostvars["ok-1.a.pinggy.link"]["pinggy_virtual_token"] == "****0010"
    assert hostvars["ok-1.a.pinggy.link"]["pinggy_token_name"] == "prod"
    assert hostvars["web.example.com"]["ansible_host"] == "web.example.com"
    assert hostvars["web.example.com"]["pinggy_token"] == "****"
    # Numbers are numbers: ansible_port only from an integer 1-65535; pinggy_port keeps what the API sent.
    for name, variables in hostvars.items():
        if "ansible_port" in variables:
            port = variables["ansible_port"]
            assert isinstance(port, int) and not isinstance(port, bool) and 1 <= port <= 65535
    for bad in ("port-true", "port-float", "port-string", "port-zero", "port-big", "port-negative", "port-huge", "port-list", "tpl-port"):
        assert "ansible_port" not in hostvars[f"{bad}.a.pinggy.link"]
    assert hostvars["port-string.a.pinggy.link"]["pinggy_port"] == "22"
    assert hostvars["dup.a.pinggy.link_1"]["ansible_port"] == 1
    assert {"dup.a.pinggy.link_dup-2", "dup.a.pinggy.link_dup-3"} <= set(hostvars)
    # Reserved names are not host names, and such tunnels have no ansible_host.
    assert not {"all", "pinggy", "ungrouped", "localhost", "pinggy_tcp", "pinggy_http"} & set(inventory.hosts)
    assert "ansible_host" not in hostvars[[name for name in hostvars if hostvars[name].get("pinggy_id") == "named-pinggy"][0]]
    # Nothing runs: template every host variable and group name as a play would.
    templar = Templar(loader=DataLoader())
    for name, host in inventory.hosts.items():
        templar.available_variables = {**host.vars, "inventory_hostname": host.name,
                                       "group_names": sorted(group.name for group in host.get_groups())}
        for variable in list(host.vars) + ["inventory_hostname", "group_names"]:
            if variable.isidentifier():
                templar.template(trust_as_template("{{ %s }}" % variable))
    assert not marker.exists()
    tpl_port = hostvars["tpl-port.a.pinggy.link"]["pinggy_port"]
    assert "touch" in tpl_port
    if DATA_TAGGING:  # 2.19+: core treats plugin data as untrusted; nothing is wrapped
        assert not any(_unsafe(value) for variables in hostvars.values() for value in variables.values())
    else:  # before 2.19: exactly the template-like strings are marked
        assert _unsafe(tpl_port) and not _unsafe(hostvars["ok-1.a.pinggy.link"]["pinggy_subdomain"])
        assert all(_unsafe(group) for group in inventory.groups if "{" in group)


def test_reveal_tokens_returns_them_whole_and_the_cache_never_serves_redacted_ones(tmp_path: Path, emulator: EmulatorControl) -> None:
    emulator.reset([session(id="t", token="SECRETTOKEN10010", virtualToken="VIRTUAL-0001", tokenName="prod")])
    cache = {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_connection": str(tmp_path / "cache")}
    host = SEED_SESSION["subdomain"]

    def listed(**options: t.Any) -> dict:
        source = tmp_path / "c.pinggy.yml"
        source.write_text(json.dumps({"plugin": "pinggy.tunnels.pinggy", "api_url": emulator.api_url, "api_key": API_KEY,
                                      **cache, **options}), encoding="utf-8")
        inventory, plugin = InventoryData(), inventory_loader.get("pinggy.tunnels.pinggy")
        plugin.parse(inventory, DataLoader(), str(source), cache=True)
        plugin.update_cache_if_changed()
        return inventory.get_host(host).vars

    assert listed()["pinggy_token"] == "****0010"
    assert "SECRETTOKEN10010" not in "".join(path.read_text() for path in (tmp_path / "cache").iterdir())
    revealed = listed(reveal_tokens=True)  # the redacted cache cannot serve this: fetched again
    assert (revealed["pinggy_token"], revealed["pinggy_virtual_token"]) == ("SECRETTOKEN10010", "VIRTUAL-0001")
    assert emulator.requests() == 2
    assert listed()["pinggy_token"] == "****0010"  # a revealed cache is redacted again when not asked


def _nested(levels: int) -> t.Any:
    value: t.Any = "{{ lookup('pipe', 'id') }}"
    for level in range(levels):
        value = {"deeperKey": value} if level % 2 else [value]
    return value


def test_a_tunnel_with_a_field_nested_500_deep_is_a_host_like_the_others(tmp_path: Path, emulator: EmulatorControl) -> None:
    emulator.reset([session(id="deep", subdomain="deep.a.pinggy.link", oddField=_nested(500)), *TUNNELS])
    inventory = parse(tmp_path, emulator)
    assert sorted(inventory.hosts) == [
        "db-1.a.pinggy.link", "deep.a.pinggy.link", "dns.a.pinggy.link", "secure.a.pinggy.link", "web.example.com"]
    deep = inventory.get_host("deep.a.pinggy.link").vars
    assert deep["ansible_host"] == "deep.a.pinggy.link" and "(nested deeper than" in json.dumps(deep["pinggy_odd_field"])


def test_a_huge_answer_fails_the_source_with_one_line(tmp_path: Path, emulator: EmulatorControl, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_api, "MAX_BODY_BYTES", 2**20)
    emulator.fault(kind="huge", size=4 * 2**20, count=0)
    with pytest.raises(AnsibleParserError, match=r"GET /backend/api/v1/session/active at 127\.0\.0\.1:\d+ with a body over 1 MiB, "
                                                 r"the most this client reads; refused"):
        parse(tmp_path, emulator)
