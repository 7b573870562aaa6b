"""make_unsafe and inventory_safe: template-like API strings never templated, ordinary ones exported as plain strings."""

from __future__ import annotations

from ansible.template import Templar

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19 templates every string it is given
    def trust_as_template(value: str) -> str:  # type: ignore[misc]
        return value
from ansible.parsing.dataloader import DataLoader

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
