# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base of the controller-side plugins (private: not a public API).

One place reads the connection options strictly, builds the API client, and turns a ``PinggyError``
into the Ansible error of the plugin at hand (hashi_vault's ``HashiVaultPlugin`` and amazon.aws's
``AWSPluginBase._do_fail`` play the same part in those collections).
"""

from __future__ import annotations

import contextlib
import difflib
import os
import typing as t

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.module_utils.common.validation import check_type_bool, check_type_float, check_type_int
from ansible.utils.display import Display

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import (
    CONNECTION_OPTIONS,
    PinggyClient,
    PinggyError,
    PinggyOptionError,
    client_from_options,
)

display = Display()

# The variables a play can set once for every plugin (the hashi_vault ansible_hashi_vault_* pattern).
CONNECTION_VARS = {option: "pinggy_api_" + option.replace("api_", "", 1) for option in CONNECTION_OPTIONS}
_STRICT_CHECKS: dict[str, t.Callable[[t.Any], t.Any]] = {"bool": check_type_bool, "float": check_type_float, "int": check_type_int}
# Option types as plugin documentation spells them, for the ones ansible-core converts leniently.
_DOC_TYPES = {"bool": "bool", "boolean": "bool", "int": "int", "integer": "int", "float": "float", "str": "str", "string": "str"}


def with_connection_variables(args: t.Mapping[str, t.Any], task_vars: t.Mapping[str, t.Any], templar: t.Any) -> dict[str, t.Any]:
    """An action's arguments, with each connection option that neither the task nor module_defaults set taken from
    its pinggy_api_* variable when that is defined (task args and module_defaults come first, PINGGY_* last)."""
    merged = dict(args)
    for option, variable in CONNECTION_VARS.items():
        if merged.get(option) is None and variable in task_vars:
            merged[option] = templar.template(task_vars[variable])
    return merged


def strict_value(option: str, kind: str, value: t.Any) -> t.Any:
    """value as the option's type, accepting only what AnsibleModule would (no typo turns TLS checks off)."""
    if value is None or kind not in _STRICT_CHECKS:
        return value
    if isinstance(value, bool) and kind != "bool":
        raise PinggyOptionError(f"{option}: expected a number, got {value!r}")
    try:
        return _STRICT_CHECKS[kind](value)
    except (TypeError, ValueError):
        expected = "a boolean (true/false, yes/no, on/off, 1/0)" if kind == "bool" else f"a number ({kind})"
        raise PinggyOptionError(f"{option}: expected {expected}, got {str(value)[:40]!r}") from None


def unknown_options_message(given: t.Iterable[str], known: t.Iterable[str]) -> t.Optional[str]:
    """One line naming the options nobody documented, with a close match where there is one."""
    known = sorted(known)
    unknown = sorted(set(given) - set(known))
    if not unknown:
        return None
    named = []
    for name in unknown:
        close = difflib.get_close_matches(name, known, n=1)
        named.append(f"{name} (did you mean {close[0]}?)" if close else name)
    return f"unknown option(s): {', '.join(named)}; expected one of {', '.join(name for name in known if not name.startswith('_'))}"


class PinggyPluginBase:
    """Mixin for the lookup and the inventory plugin; list it before the ansible-core base class."""

    # The Ansible error a PinggyError becomes in this kind of plugin.
    error_class: type[AnsibleError] = AnsibleError
    # Config origins whose values may be templates: an inventory source file ('Direct'), play variables ('var: ').
    templated_origins: tuple[str, ...] = ()

    _direct_options: dict[str, t.Any]
    _var_options: t.Mapping[str, t.Any]
    _strict_options: dict[str, t.Any]

    def set_options(self, task_keys: t.Any = None, var_options: t.Any = None, direct: t.Any = None) -> None:
        """ansible-core's set_options, then: no unknown option, and every typed option strictly of its type."""
        with self.pinggy_errors():
            super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)  # type: ignore[misc]
            self._direct_options, self._var_options = dict(direct or {}), var_options or {}
            message = unknown_options_message(self._direct_options, self._options)  # type: ignore[attr-defined]
            if message:
                raise PinggyOptionError(message)
            self._strict_options = {name: self._strict_option(name, kind) for name, kind in self._option_kinds().items()}

    def _option_kinds(self) -> dict[str, str]:
        definitions = C.config.get_configuration_definitions(self.plugin_type, self._load_name)  # type: ignore[attr-defined]
        return {name: _DOC_TYPES[spec.get("type", "str")] for name, spec in definitions.items()
                if spec.get("type", "str") in _DOC_TYPES and not name.startswith("_")}

    def _strict_option(self, name: str, kind: str) -> t.Any:
        return strict_value(name, kind, self._option_value(name, kind))

    @contextlib.contextmanager
    def pinggy_errors(self) -> t.Iterator[None]:
        """Turn a PinggyError raised inside into this plugin's Ansible error, with the same one line."""
        try:
            yield
        except PinggyError as exc:
            raise self.error_class(str(exc)) from None

    def pinggy_client(self) -> PinggyClient:
        """The API client from the connection options, each read strictly from where it was set."""
        with self.pinggy_errors():
            return client_from_options(self.connection_options(), display.warning)

    def connection_options(self) -> dict[str, t.Any]:
        """The connection options as set_options checked them: strictly typed, templated where allowed."""
        return {name: self._strict_options[name] for name in CONNECTION_OPTIONS}

    def _option_value(self, name: str, kind: str) -> t.Any:
        """The option's value from where it was set, templated where that source allows it."""
        value, origin = C.config.get_config_value_and_origin(
            name, plugin_type=self.plugin_type, plugin_name=self._load_name,  # type: ignore[attr-defined]
            variables=self._var_options, direct=self._direct_options)
        if kind != "str":
            # ansible-core converts leniently ('ture' is False): take the value as given, to check it strictly.
            value = self._value_as_given(name, origin, value)
        if origin.startswith(self.templated_origins):
            value = self._template(value)
        return value

    def _value_as_given(self, name: str, origin: str, converted: t.Any) -> t.Any:
        if origin == "Direct":
            return self._direct_options[name]
        if origin.startswith("var: "):
            return self._var_options[origin[len("var: "):]]
        if origin.startswith("env: "):
            return os.environ[origin[len("env: "):]]
        return converted

    def _template(self, value: t.Any) -> t.Any:
        # Inventory plugins carry a public templar; lookups a private one.
        templar = getattr(self, "templar", None) or getattr(self, "_templar")
        return templar.template(value) if isinstance(value, str) and templar.is_template(value) else value
