"""make_unsafe's walk before ansible-core 2.19, run on every core: which values it marks, and that it keeps their shape.

On 2.19+ ``ansible.utils.unsafe_proxy`` no longer marks anything, so a recording stand-in takes its place: the test
sees exactly which values the walk hands to ``wrap_var`` (the older cores run the real one in test__unsafe.py).
"""

from __future__ import annotations

import sys
import types
import typing as t

import pytest

from ansible_collections.pinggy.tunnels.plugins.plugin_utils import _unsafe

PAYLOAD = "{{ lookup('pipe', 'id') }}"


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
