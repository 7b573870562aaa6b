"""make_unsafe: marks template-like strings before ansible-core 2.19, leaves data alone from 2.19 (data tagging)."""

from __future__ import annotations

from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string it is given
    def trust_as_template(value: str) -> str:  # type: ignore[misc]
        return value
from ansible.parsing.dataloader import DataLoader

from ansible_collections.pinggy.tunnels.plugins.plugin_utils._unsafe import DATA_TAGGING, make_unsafe

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
