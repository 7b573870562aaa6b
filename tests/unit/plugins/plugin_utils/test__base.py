"""The controller-plugin base: strict values, unknown options, settings from variables and templates."""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest

from ansible.errors import AnsibleError
from ansible.inventory.data import InventoryData
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import inventory_loader, lookup_loader
from ansible.template import Templar

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import PinggyOptionError
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._base import CONNECTION_VARS, strict_value, unknown_options_message
from ansible_collections.pinggy.tunnels.tests.unit.plugins.emulator_control import API_KEY, SEED_SESSION, EmulatorControl


@pytest.mark.parametrize("kind, given, expected", [
    ("bool", "yes", True), ("bool", "False", False), ("bool", True, True), ("bool", 0, False),
    ("float", "2.5", 2.5), ("float", 3, 3.0), ("int", "4", 4), ("str", "x", "x"), ("int", None, None),
])
def test_strict_values_accept_what_a_module_accepts(kind: str, given: t.Any, expected: t.Any) -> None:
    assert strict_value("option", kind, given) == expected


@pytest.mark.parametrize("kind, given", [
    ("bool", "ture"), ("bool", "maybe"), ("bool", 2), ("float", "fast"), ("float", True), ("int", "1.5"), ("int", False),
])
def test_strict_values_refuse_the_rest_naming_the_option(kind: str, given: t.Any) -> None:
    with pytest.raises(PinggyOptionError) as error:
        strict_value("validate_certs", kind, given)
    assert str(error.value).startswith("validate_certs: expected ")


def test_unknown_options_are_named_with_a_close_match() -> None:
    message = unknown_options_message(["start", "modes", "days"], ["start_date", "mode", "days", "_terms"])
    assert message.startswith("unknown option(s): modes (did you mean mode?), start (did you mean start_date?);")
    assert "_terms" not in message
    assert unknown_options_message(["days"], ["days"]) is None


def test_connection_variables_follow_the_hashi_vault_pattern() -> None:
    assert CONNECTION_VARS == {
        "api_key": "pinggy_api_key", "api_url": "pinggy_api_url", "validate_certs": "pinggy_api_validate_certs",
        "timeout": "pinggy_api_timeout", "retries": "pinggy_api_retries"}


def history(variables: dict[str, t.Any], **options: t.Any) -> list:
    lookup = lookup_loader.get("pinggy.tunnels.pinggy_history", templar=Templar(loader=DataLoader(), variables=variables))
    return lookup.run([], variables=variables, **options)


@pytest.mark.parametrize("options, message", [
    ({"start": "2026-10-01"}, "unknown option(s): start (did you mean start_date?)"),
    ({"validate_certs": "ture"}, "validate_certs: expected a boolean"),
    ({"timeout": "nan"}, "timeout: expected a number of seconds above 0"),
    ({"retries": "many"}, "retries"),
])
def test_lookup_refuses_bad_options_before_any_request(emulator: EmulatorControl, options: dict, message: str) -> None:
    with pytest.raises(AnsibleError) as error:
        history({}, api_key=API_KEY, api_url=emulator.api_url, **options)
    assert message in str(error.value) and API_KEY not in str(error.value)
    assert emulator.requests("total") == 0


def test_lookup_reads_the_connection_from_variables(emulator: EmulatorControl) -> None:
    variables = {"pinggy_api_key": API_KEY + "\n", "pinggy_api_url": emulator.api_url, "pinggy_api_retries": "0"}
    assert history(variables, days=1) == []
    assert emulator.requests("history") == 1


def test_lookup_options_win_over_variables(emulator: EmulatorControl) -> None:
    variables = {"pinggy_api_key": "wrong-variable-key", "pinggy_api_url": emulator.api_url}
    assert history(variables, days=1, api_key=API_KEY) == []
    with pytest.raises(AnsibleError, match="HTTP 401"):
        history(variables, days=1)


def test_lookup_variable_bool_typo_is_refused(emulator: EmulatorControl) -> None:
    variables = {"pinggy_api_key": API_KEY, "pinggy_api_url": emulator.api_url, "pinggy_api_validate_certs": "maybe"}
    with pytest.raises(AnsibleError, match="validate_certs: expected a boolean"):
        history(variables, days=1)


def parse_source(tmp_path: Path, config: dict[str, t.Any], name: str = "test.pinggy.yml") -> InventoryData:
    source = tmp_path / name
    source.write_text(json.dumps({"plugin": "pinggy.tunnels.pinggy", "retries": 0, **config}), encoding="utf-8")
    plugin = inventory_loader.get("pinggy.tunnels.pinggy")
    inventory = InventoryData()
    plugin.parse(inventory, DataLoader(), str(source), cache=False)
    return inventory


def test_inventory_templates_its_connection_options(tmp_path: Path, emulator: EmulatorControl,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_PINGGY_KEY", API_KEY + "\n")
    monkeypatch.setenv("MY_PINGGY_URL", emulator.api_url)
    inventory = parse_source(tmp_path, {
        "api_key": "{{ lookup('ansible.builtin.env', 'MY_PINGGY_KEY') }}",
        "api_url": "{{ lookup('ansible.builtin.env', 'MY_PINGGY_URL') }}",
        "validate_certs": "{{ 'yes' }}"})
    assert SEED_SESSION["subdomain"] in inventory.hosts


@pytest.mark.parametrize("config, message", [
    ({"modes": ["tcp"]}, "unknown option(s): modes (did you mean mode?)"),
    ({"validate_certs": "ture"}, "validate_certs: expected a boolean"),
    ({"timeout": "inf"}, "timeout: expected a number of seconds above 0"),
    ({"api_url": "https://user:pw-123456789@example.com/backend/api/v1"}, "api_url: must not hold a user name or password"),
])
def test_inventory_refuses_bad_options_before_any_request(tmp_path: Path, emulator: EmulatorControl,
                                                          config: dict, message: str) -> None:
    with pytest.raises(AnsibleError) as error:
        parse_source(tmp_path, {"api_key": API_KEY, "api_url": emulator.api_url, **config})
    assert message in str(error.value) and API_KEY not in str(error.value) and "pw-123456789" not in str(error.value)
    assert emulator.requests("total") == 0


@pytest.mark.parametrize("options, message", [
    ({"reveal_tokens": "maybe"}, "reveal_tokens: expected a boolean"),
    ({"days": True}, "days: expected a number"),
    ({"max_workers": False}, "max_workers: expected a number"),
    ({"page_size": "10.5"}, "page_size"),
])
def test_every_typed_lookup_option_is_strict(emulator: EmulatorControl, options: dict, message: str) -> None:
    with pytest.raises(AnsibleError) as error:
        history({}, api_key=API_KEY, api_url=emulator.api_url, **options)
    assert message in str(error.value)
    assert emulator.requests("total") == 0


def test_inventory_boolean_options_are_strict(tmp_path: Path, emulator: EmulatorControl) -> None:
    with pytest.raises(AnsibleError, match="strict: expected a boolean"):
        parse_source(tmp_path, {"api_key": API_KEY, "api_url": emulator.api_url, "strict": "ture"})
    assert emulator.requests("total") == 0
