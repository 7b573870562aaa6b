# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Marking API data as untrusted on every supported ansible-core (private: not a public API).

ansible-core 2.19 and later treat every string a plugin hands back as untrusted (data tagging): only strings
tagged as trusted templates are ever templated, so nothing needs wrapping there, and wrapping would only print
as ``{"__ansible_unsafe": ...}`` in ``ansible-inventory --list`` (AWX then imports dicts: community.general#8212).
Before 2.19 a string is templated unless it is ``AnsibleUnsafe``, so the strings that could be templates - those
holding a template character - are marked, recursively, keys included, the idea of community.general's
``plugin_utils/unsafe.py``. Every other value is returned as it is, so ordinary values print normally.
"""

from __future__ import annotations

import re
import typing as t
from collections.abc import Mapping, Set

try:
    from ansible.template import trust_as_template  # noqa: F401  pylint: disable=unused-import
except ImportError:  # ansible-core < 2.19: no data tagging
    DATA_TAGGING = False
else:
    DATA_TAGGING = True

# "{{", "{%" and "{#" all start with "{"; a lone "}" is marked too, as community.general does.
_TEMPLATE_CHARS = re.compile("[{}]")
_TEMPLATE_BYTES = re.compile(b"[{}]")


def _mark(value: t.Any) -> t.Any:
    # Imported here only: on 2.19+ ansible.utils.unsafe_proxy is a deprecated compatibility shim.
    from ansible.utils.unsafe_proxy import AnsibleUnsafe, wrap_var  # pylint: disable=import-outside-toplevel

    def walk(item: t.Any) -> t.Any:
        if item is None or isinstance(item, AnsibleUnsafe):
            return item
        if isinstance(item, str):
            return wrap_var(item) if _TEMPLATE_CHARS.search(item) else item
        if isinstance(item, bytes):
            return wrap_var(item) if _TEMPLATE_BYTES.search(item) else item
        if isinstance(item, Mapping):
            return {walk(key): walk(sub) for key, sub in item.items()}
        if isinstance(item, Set):
            return {walk(sub) for sub in item}
        if isinstance(item, list):
            return [walk(sub) for sub in item]
        if isinstance(item, tuple):
            return tuple(walk(sub) for sub in item)
        return item

    return walk(value)


def make_unsafe(value: t.Any) -> t.Any:
    """The value with every string that could be a template marked unsafe (before 2.19); unchanged on 2.19+."""
    if DATA_TAGGING:
        return value
    return _mark(value)
