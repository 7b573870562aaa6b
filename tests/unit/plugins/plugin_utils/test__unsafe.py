"""make_unsafe and inventory_safe: template-like API strings never templated, ordinary ones exported as plain strings;
the walk before ansible-core 2.19: which values it marks, and that it keeps their shape."""

from __future__ import annotations

import sys
import types
import typing as t

import pytest

from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string it is given
    def trust_as_template(value: str) -> str:  # type: ignore[misc]
        return value
from ansible.parsing.dataloader import DataLoader

from ansible_collections.pinggy.tunnels.plugins.plugin_utils import _unsafe
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._unsafe import DATA_TAGGING, inventory_safe, make_unsafe

PAYLOAD = "{{ 'templated' | upper }}"


def _is_unsafe(value: object) -> bool:
    return bool(getattr(value, "__UNSAFE__", False))


def test_only_template_like_strings_are_marked_before_2_19_and_nothing_from_2_19() -> None:
    data = {"plain": "db.a.pinggy.link", "tpl": PAYLOAD, "brace": "a}b", "n": 5, "none": None, "flag": True,
            "list": [PAYLOAD, "x", {"deep": PAYLOAD}], "tuple": (PAYLOAD,), PAYLOAD: "key"}
    marked = make_unsafe(data)
    assert marked == data  # the same values either way
    if DATA_TAGGING:
        assert marked is data
        return
    assert _is_unsafe(marked["tpl"]) and _is_unsafe(marked["brace"]) and _is_unsafe(marked["list"][0])
    assert _is_unsafe(marked["list"][2]["deep"]) and _is_unsafe(marked["tuple"][0])
    assert any(_is_unsafe(key) for key in marked)
    assert not _is_unsafe(marked["plain"]) and not _is_unsafe(marked["list"][1])


def test_marked_data_is_never_templated() -> None:
    templar = Templar(loader=DataLoader(), variables={"api": make_unsafe({"name": PAYLOAD})})
    assert templar.template(trust_as_template("{{ api.name }}")) == PAYLOAD


def _exported(hostvars: dict) -> dict:
    """The host's variables as ``ansible-inventory --list --export`` writes them, decoded as AWX's import does."""
    import json  # pylint: disable=import-outside-toplevel

    data = {"_meta": {"hostvars": {"h": hostvars}}}
    if DATA_TAGGING:  # the encoder ansible-inventory uses from 2.19
        from ansible._internal._json._profiles import _inventory_legacy  # pylint: disable=import-outside-toplevel
        text = json.dumps(data, cls=_inventory_legacy.Encoder)
    else:  # as ansible-inventory calls it before 2.19
        from ansible.parsing.ajson import AnsibleJSONEncoder  # pylint: disable=import-outside-toplevel
        text = json.dumps(data, cls=AnsibleJSONEncoder, preprocess_unsafe=True)
    return json.loads(text)["_meta"]["hostvars"]["h"]


def test_inventory_variables_export_as_plain_strings_and_template_like_ones_stay_untrusted() -> None:
    hostvars = {"ansible_host": "db.a.pinggy.link", "ansible_port": 5432, "tpl": PAYLOAD, "none": None,
                "list": ["x", PAYLOAD], "odd": {"k": "v", "t": "a}b"}}
    safe = inventory_safe(hostvars)
    assert safe == hostvars
    exported = _exported(safe)
    marker = "__ansible_unsafe"
    # AWX stores what ansible-inventory writes: an ordinary value must be a plain JSON string, as before 2.19.
    assert exported["ansible_host"] == "db.a.pinggy.link" and exported["ansible_port"] == 5432
    assert exported["list"][0] == "x" and exported["odd"]["k"] == "v" and exported["none"] is None
    # A string that could be a template keeps the legacy marker on every core, so it is never templated later.
    assert exported["tpl"] == {marker: PAYLOAD} and exported["list"][1] == {marker: PAYLOAD}
    assert exported["odd"]["t"] == {marker: "a}b"}


def test_inventory_safe_data_is_never_templated() -> None:
    variables = inventory_safe({"name": PAYLOAD, "plain": "db.a.pinggy.link"})
    templar = Templar(loader=DataLoader(), variables={"api": variables})
    assert templar.template(trust_as_template("{{ api.name }}")) == PAYLOAD
    assert templar.template(trust_as_template("{{ api.plain }}")) == "db.a.pinggy.link"


def _nested(levels: int, leaf: object) -> object:
    for level in range(levels):
        leaf = {PAYLOAD: leaf} if level % 2 else [leaf, "plain"]
    return leaf


def _innermost(value: object) -> object:
    while isinstance(value, (dict, list)):
        value = next(iter(value.values())) if isinstance(value, dict) else value[0]
    return value


def test_data_nested_past_the_recursion_limit_is_walked_on_every_core() -> None:
    # API answers are cut at 32 levels by the client; the walk itself must still never recurse.
    data = _nested(5000, PAYLOAD)
    for walked in (make_unsafe(data), inventory_safe(data)):
        assert _innermost(walked) == PAYLOAD
        if not DATA_TAGGING:
            assert _is_unsafe(_innermost(walked))


# -- the walk before 2.19, on every core ---------------------------------------------------------------------------
# On 2.19+ ``ansible.utils.unsafe_proxy`` no longer marks anything, so a recording stand-in takes its place: these
# tests see exactly which values the walk hands to ``wrap_var`` (the older cores run the real one in the tests above).
class _Unsafe:
    """The stand-in's AnsibleUnsafe."""


class _UnsafeText(str, _Unsafe):
    pass


class _UnsafeBytes(bytes, _Unsafe):
    pass


@pytest.fixture(name="wrapped")
def wrapped_fixture(monkeypatch: pytest.MonkeyPatch) -> list[t.Any]:
    """Every value the walk marked, in order; the module the walk imports is the stand-in."""
    calls: list[t.Any] = []

    def wrap_var(value: t.Any) -> t.Any:
        calls.append(value)
        return _UnsafeBytes(value) if isinstance(value, bytes) else _UnsafeText(value)

    proxy = types.ModuleType("ansible.utils.unsafe_proxy")
    proxy.AnsibleUnsafe = _Unsafe  # type: ignore[attr-defined]
    proxy.wrap_var = wrap_var  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "ansible.utils.unsafe_proxy", proxy)
    monkeypatch.setattr(_unsafe, "DATA_TAGGING", False)
    return calls


def test_only_strings_and_bytes_with_template_characters_are_marked(wrapped: list[t.Any]) -> None:
    marked = _unsafe.make_unsafe(["plain.a.pinggy.link", PAYLOAD, "lone }", b"{% raw %}", b"bytes", 42, 1.5, True, None])
    assert wrapped == [PAYLOAD, "lone }", b"{% raw %}"]
    assert [isinstance(item, _Unsafe) for item in marked] == [False, True, True, True, False, False, False, False, False]
    assert marked == ["plain.a.pinggy.link", PAYLOAD, "lone }", b"{% raw %}", b"bytes", 42, 1.5, True, None]


def test_keys_and_nested_values_are_marked_and_containers_keep_their_kind(wrapped: list[t.Any]) -> None:
    data = {PAYLOAD: {"deep": [(PAYLOAD, "x")], "set": frozenset({PAYLOAD, "y"})}, "n": 1}
    marked = _unsafe.make_unsafe(data)
    assert marked == data
    (key,) = [key for key in marked if key != "n"]
    assert isinstance(key, _Unsafe)
    inner = marked[key]
    assert isinstance(inner["deep"], list) and isinstance(inner["deep"][0], tuple)
    assert isinstance(inner["deep"][0][0], _Unsafe) and not isinstance(inner["deep"][0][1], _Unsafe)
    # A set comes back as a set (of the same members), its template-like member marked.
    assert isinstance(inner["set"], set) and {isinstance(member, _Unsafe) for member in inner["set"]} == {True, False}
    assert sorted(wrapped) == [PAYLOAD, PAYLOAD, PAYLOAD]


def test_values_marked_already_are_not_marked_again(wrapped: list[t.Any]) -> None:
    already = _UnsafeText(PAYLOAD)
    assert _unsafe.make_unsafe({"a": already})["a"] is already
    assert not wrapped


def test_a_mapping_of_another_kind_becomes_a_plain_dict_and_odd_objects_pass_through(wrapped: list[t.Any]) -> None:
    odd = object()
    marked = _unsafe.make_unsafe(types.MappingProxyType({"k": PAYLOAD, "o": odd}))
    assert isinstance(marked, dict) and marked["o"] is odd and isinstance(marked["k"], _Unsafe)
    assert wrapped == [PAYLOAD]


def test_data_tagging_cores_return_the_very_same_object(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_unsafe, "DATA_TAGGING", True)
    data = {"k": [PAYLOAD]}
    assert _unsafe.make_unsafe(data) is data


def test_a_value_nested_past_the_recursion_limit_is_walked_and_keeps_its_shape(wrapped: list[t.Any]) -> None:
    data: t.Any = PAYLOAD
    for level in range(3 * sys.getrecursionlimit()):
        data = {"k": data, PAYLOAD: "v"} if level % 2 else [data, "plain"]
    marked = _unsafe.make_unsafe(data)
    assert len(wrapped) == 1 + 3 * sys.getrecursionlimit() // 2  # the leaf and every template-like key
    while isinstance(data, (dict, list)):  # == would recurse: compare level by level
        assert type(marked) is type(data) and len(marked) == len(data)
        marked, data = (marked["k"], data["k"]) if isinstance(data, dict) else (marked[0], data[0])
    assert marked == data and isinstance(marked, _Unsafe)
