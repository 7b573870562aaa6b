# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Marking API data as untrusted on every supported ansible-core (private: not a public API).

ansible-core 2.19 and later treat every string a plugin hands back as untrusted (data tagging): only strings
tagged as trusted templates are ever templated, so nothing needs wrapping there.
Before 2.19 a string is templated unless it is ``AnsibleUnsafe``, so the strings that could be templates - those
holding a template character - are marked, recursively, keys included, the idea of community.general's
``plugin_utils/unsafe.py``. Every other value is returned as it is, so ordinary values print normally.

Inventory variables need one more step on 2.19+: ``ansible-inventory --list --export`` writes every untrusted
host variable as ``{"__ansible_unsafe": ...}``, and AWX imports that as a dict (community.general#8212,
vmware.vmware#283). ``inventory_safe`` trusts the strings that hold no template character - templating such a
string returns it unchanged, so trusting it cannot run anything - and leaves the others untrusted, so the JSON is
the same on every core: plain strings, and the legacy marker on template-like strings only.
"""

from __future__ import annotations

import re
import typing as t
from collections.abc import Mapping, Set

try:
    from ansible.template import trust_as_template
except ImportError:  # ansible-core < 2.19: no data tagging
    DATA_TAGGING = False
else:
    DATA_TAGGING = True

# "{{", "{%" and "{#" all start with "{"; a lone "}" is marked too, as community.general does.
_TEMPLATE_CHARS = re.compile("[{}]")
_TEMPLATE_BYTES = re.compile(b"[{}]")


def _walk(value: t.Any, on_text: t.Callable[[t.Any], t.Any]) -> t.Any:
    """The value with ``on_text`` applied to every str and bytes in it, keys included (in the order a recursive walk
    would meet them), each container rebuilt as a dict, set, list or tuple.

    Iterative: data nested deeper than Python's recursion limit is walked like any other.
    """
    done: list[t.Any] = []  # finished values, in order; a container takes its parts back from the end
    pending: list[tuple[t.Any, t.Optional[int]]] = [(value, None)]  # (value, its part count once its parts are queued)
    while pending:
        item, parts = pending.pop()
        if isinstance(item, (str, bytes)):
            done.append(on_text(item))
        elif parts is not None:
            built = _rebuilt(item, done[len(done) - parts:])
            del done[len(done) - parts:]
            done.append(built)
        elif isinstance(item, (Mapping, Set, list, tuple)):
            children = _parts(item)
            pending.append((item, len(children)))
            pending.extend((child, None) for child in reversed(children))
        else:
            done.append(item)
    return done[0]


def _parts(container: t.Any) -> list[t.Any]:
    """A mapping's keys and values, alternating; any other container's members."""
    if isinstance(container, Mapping):
        return [part for pair in container.items() for part in pair]
    return list(container)


def _rebuilt(container: t.Any, parts: list[t.Any]) -> t.Any:
    if isinstance(container, Mapping):
        return dict(zip(parts[::2], parts[1::2]))
    if isinstance(container, Set):
        return set(parts)
    return tuple(parts) if isinstance(container, tuple) else parts


def _could_be_template(text: str | bytes) -> bool:
    return bool((_TEMPLATE_CHARS if isinstance(text, str) else _TEMPLATE_BYTES).search(text))


def _mark(value: t.Any) -> t.Any:
    # Imported here only: on 2.19+ ansible.utils.unsafe_proxy is a deprecated compatibility shim.
    from ansible.utils.unsafe_proxy import AnsibleUnsafe, wrap_var  # pylint: disable=import-outside-toplevel

    def mark(text: str | bytes) -> str | bytes:
        return wrap_var(text) if not isinstance(text, AnsibleUnsafe) and _could_be_template(text) else text

    return _walk(value, mark)


def _trust_plain(text: str | bytes) -> str | bytes:
    return trust_as_template(text) if isinstance(text, str) and not _could_be_template(text) else text


def make_unsafe(value: t.Any) -> t.Any:
    """The value with every string that could be a template marked unsafe (before 2.19); unchanged on 2.19+."""
    if DATA_TAGGING:
        return value
    return _mark(value)


def inventory_safe(value: t.Any) -> t.Any:
    """Inventory variables as every core should export them: template-like strings untrusted, the rest plain."""
    if DATA_TAGGING:
        return _walk(value, _trust_plain)
    return _mark(value)
