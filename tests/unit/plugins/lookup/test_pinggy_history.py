"""pinggy_history lookup: validation before any request, and results against the emulator."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
import yaml

from ansible.errors import AnsibleError
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import lookup_loader
from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string it is given
    def trust_as_template(value: str) -> str:  # type: ignore[misc]
        return value

from ansible_collections.pinggy.tunnels.plugins.lookup import pinggy_history
from ansible_collections.pinggy.tunnels.plugins.module_utils._api import HISTORY_PAGE_SIZE_MAX
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._unsafe import DATA_TAGGING
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import (
    API_KEY,
    EmulatorControl,
    hostile_data,
    history_records,
    utc_today,
)


def run_lookup(emulator: EmulatorControl, terms: t.Optional[list] = None, **options: t.Any) -> list:
    lookup = lookup_loader.get("pinggy.tunnels.pinggy_history")
    connection = {"api_key": API_KEY, "api_url": emulator.api_url}
    return lookup.run(terms or [], variables={}, **{**connection, **options})


def test_records_are_normalized_filtered_and_queried(emulator: EmulatorControl) -> None:
    today = utc_today()
    emulator.reset(active=[], history=history_records(5, today, "tcp") + history_records(2, today, "http"))
    records = run_lookup(emulator, [today.isoformat()])
    assert len(records) == 7 and records[0]["client_address"] == "10.0.0.1" and records[0]["client_port"] == 1000
    assert len(run_lookup(emulator, days=1, mode=["http"])) == 2
    assert run_lookup(emulator, days=1, mode=["http"], query="length(@)") == [2]
    assert run_lookup(emulator, days=1, mode=["udp"]) == []


def test_query_on_no_records_and_query_failing_on_the_records(emulator: EmulatorControl) -> None:
    emulator.reset(active=[], history=history_records(3, utc_today()))
    assert run_lookup(emulator, days=1, mode=["udp"], query="sum([].duration_seconds)") == [0]
    with pytest.raises(AnsibleError) as error:
        run_lookup(emulator, days=1, query="sum([].domains)")
    assert str(error.value).startswith("query: JMESPath expression 'sum([].domains)' failed on the records: ")


@pytest.mark.parametrize("options, message", [
    ({"page_size": 0}, "page_size: expected an integer from 1 to 2000, got 0"),
    ({"page_size": 2001}, "page_size: expected an integer from 1 to 2000, got 2001"),
    ({"max_workers": 0}, "max_workers: expected an integer from 1 to 16, got 0"),
    ({"query": "[?"}, "query: invalid JMESPath expression"),
    ({"days": 90}, "days: expected an integer from 1 to 60"),
    ({"api_url": "not-a-url"}, "api_url: expected an http(s) URL"),
])
def test_bad_options_fail_before_any_request(emulator: EmulatorControl, options: dict, message: str) -> None:
    with pytest.raises(AnsibleError) as error:
        run_lookup(emulator, **options)
    assert str(error.value).startswith(message)
    assert emulator.requests("total") == 0


def test_unknown_mode_fails_before_any_request(emulator: EmulatorControl) -> None:
    # ansible-core checks the documented choices in set_options, on every supported core version.
    with pytest.raises(AnsibleError) as error:
        run_lookup(emulator, mode=["tcp", "bogus"])
    assert "mode" in str(error.value) and "bogus" in str(error.value)
    assert emulator.requests("total") == 0


def test_api_failure_is_an_ansible_error_without_the_key(emulator: EmulatorControl) -> None:
    with pytest.raises(AnsibleError) as error:
        run_lookup(emulator, days=1, api_key="wrong-history-key-77")
    assert "HTTP 401" in str(error.value) and "wrong-history-key-77" not in str(error.value)


def test_a_record_with_a_field_nested_500_deep_is_returned_with_the_others(emulator: EmulatorControl) -> None:
    deep: t.Any = "{{ lookup('pipe', 'id') }}"
    for level in range(500):
        deep = {"deeper": deep} if level % 2 else [deep]
    records = history_records(3, utc_today())
    emulator.reset(active=[], history=[{**records[0], "odd_field": deep}, *records[1:]])
    found = run_lookup(emulator, days=1)
    assert [record["client_port"] for record in found] == [1000, 1001, 1002]
    assert "(nested deeper than" in json.dumps(found[0]["odd_field"])
    Templar(loader=DataLoader(), variables={"records": found}).template(trust_as_template("{{ records | length }}"))


def test_hostile_history_is_all_returned_redacted_and_never_templated(emulator: EmulatorControl, tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    data = hostile_data(marker)
    emulator.reset(active=[], history=data["history"])
    records = run_lookup(emulator, days=1)
    assert len(records) == len(data["history"])
    assert [record["token_value"] for record in records] == ["****) }}", "****0002", "****"]
    assert records[1]["virtual_token_value"] == "****"
    assert run_lookup(emulator, days=1, reveal_tokens=True)[1]["token_value"] == "HISTORYTOKEN0002"
    templar = Templar(loader=DataLoader(), variables={"records": records})
    templar.template(trust_as_template("{{ records }}"))
    templar.template(trust_as_template("{{ records[0].domains | join(',') }} {{ records[0].mode }} {{ records[0].port }}"))
    assert not marker.exists()
    if not DATA_TAGGING:  # the lookup marks template-like strings itself, even under allow_unsafe_lookups
        assert getattr(records[0]["mode"], "__UNSAFE__", False)
        assert not getattr(records[1]["token_value"], "__UNSAFE__", False)


def test_paging_bound_fails_the_lookup_in_one_line(emulator: EmulatorControl) -> None:
    page = {"totalElements": 10, "totalPages": 10 ** 9, "size": 1, "content": [], "number": 0, "last": False}
    emulator.fault(kind="status", status=200, count=0, endpoint="history", body=json.dumps(page))
    with pytest.raises(AnsibleError) as error:
        run_lookup(emulator, days=1)
    assert "announces 1000000000 pages" in str(error.value) and "\n" not in str(error.value)
    assert emulator.requests("history") == 1


def test_documented_page_size_default_is_the_client_constant() -> None:
    documented = yaml.safe_load(pinggy_history.DOCUMENTATION)["options"]["page_size"]
    assert documented["default"] == HISTORY_PAGE_SIZE_MAX == pinggy_history.PAGE_SIZE_MAX
