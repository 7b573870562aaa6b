# -*- coding: utf-8 -*-
# Copyright (c) pinggy.tunnels contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: pinggy
short_description: Active Pinggy tunnels as inventory hosts
version_added: 0.1.0
description:
  - Makes one host of every active tunnel of a Pinggy account, addressed by its public name and port.
  - The host name is the first field of O(hostnames) that is a valid DNS name (RFC 1123 labels - ASCII letters,
    digits and inner hyphens - at most 253 characters), lowercased, and not the name of a group (C(all),
    C(ungrouped), C(pinggy), C(pinggy_<mode>), the groups of other sources and of O(groups)) nor of the implicit
    localhost (C(localhost), C(127.0.0.1), C(::1)). C(ansible_host) is that name.
  - A field that is an address rather than a name is never a host name nor C(ansible_host), so API data cannot point
    a play at the controller or its network - its top label is numeric (every IPv4 form a resolver accepts, such as
    C(127.0.0.1), C(127.1), C(2130706433), C(0x7f000001), C(0177.0.0.1), C(0)), it is an IPv6 literal (C(::1),
    C([::1]), C(fe80::1%eth0)), or it is C(localhost) or a name under it (C(app.localhost), C(localhost.)). The next
    field of O(hostnames) is tried, as for any invalid name.
  - A tunnel with no such field is named C(pinggy_<id>) from its session id (or C(pinggy_h<hash>) when the id is not
    a safe label), has no C(ansible_host), and a warning names its session id.
  - C(ansible_port) is the tunnel port for tcp, tlstcp and udp tunnels (not set for http and tls), and only when the API
    gives an integer from 1 to 65535; otherwise it is not set, with a warning, and C(pinggy_port) keeps what the API sent.
  - Every field of the normalized session is set as a C(pinggy_<field>) host variable, for example C(pinggy_mode),
    C(pinggy_port), C(pinggy_token_name), C(pinggy_url). Tunnel tokens are redacted unless O(reveal_tokens) is set.
    A field whose name cannot make a variable name is kept in the dict C(pinggy_fields_with_invalid_names) instead.
  - Hosts are grouped in C(pinggy) and C(pinggy_<mode>) (for the five known modes only); O(compose), O(groups) and
    O(keyed_groups) add more.
  - Tunnels that would get the same name all appear, under C(<name>_<port>), else C(<name>_<session id>), else
    C(<name>_<N>), each checked against every name already taken, with a warning. No tunnel is dropped, and the
    names do not depend on the order of the API's answer.
  - Any failure of the API fails the inventory source with a one-line error. Set E(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED)
    (C(inventory_any_unparsed_is_failed) in C(ansible.cfg)) so that Ansible stops instead of going on without these hosts.
  - Strings from the API are untrusted data, never templates - host variables, host names and the names of O(keyed_groups)
    made from them. Strings holding C({) or C(}) stay untrusted on every core (marked unsafe before 2.19); the others
    are plain values, so C(ansible-inventory --list --export), which AWX imports, writes them as plain JSON strings.
  - With the cache on, the cache holds the API answer with tokens redacted unless O(reveal_tokens) is set, never the key.
  - The source file name must end with C(pinggy.yml) or C(pinggy.yaml).
author:
  - Pinggy Tunnels Maintainers (@pinggy)
extends_documentation_fragment:
  - pinggy.tunnels.pinggy
  - pinggy.tunnels.pinggy.plugins
  - pinggy.tunnels.pinggy.filters
  - pinggy.tunnels.pinggy.tokens
  - ansible.builtin.constructed
  - ansible.builtin.inventory_cache
options:
  plugin:
    description: Marks the file as a source for this plugin.
    type: str
    required: true
    choices: [pinggy.tunnels.pinggy]
  hostnames:
    description:
      - Normalized session fields, in order of preference, to name each host; the first that is a valid DNS name
        and not a group name wins.
      - For example V(customdomain), V(subdomain), V(host), V(id).
    type: list
    elements: str
    default: [customdomain, subdomain]
"""

EXAMPLES = r"""
# The smallest source, demo.pinggy.yml, holds one line and lists every active tunnel
# (API key from PINGGY_API_KEY):
#   plugin: pinggy.tunnels.pinggy

# ssh.pinggy.yml: TCP tunnels to SSH servers, grouped by token, cached for 5 minutes
plugin: pinggy.tunnels.pinggy
mode: [tcp]
subdomain: ["ssh-*"]
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: ~/.cache/pinggy-inventory
cache_timeout: 300
keyed_groups:
  - key: pinggy_token_name | default('none', true)
    prefix: token
compose:
  ansible_user: "'deploy'"
groups:
  production: pinggy_token_name == 'prod'
"""

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import PinggyClient
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import (
    MODES,
    PORT_MODES,
    effective_mode,
    filter_sessions,
    has_redacted_tokens,
    normalize_active,
    redact_tokens,
    valid_port,
)
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._base import PinggyPluginBase
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._hostnames import Host, name_hosts
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._unsafe import inventory_safe, make_unsafe

display = Display()

ODD_FIELDS_VAR = "pinggy_fields_with_invalid_names"
# A warning lists this many names or ids, then says how many more.
WARN_LIST = 5


def _listed(items: list) -> str:
    shown = ", ".join(items[:WARN_LIST])
    return f"{shown} and {len(items) - WARN_LIST} more" if len(items) > WARN_LIST else shown


def _variable_name(name: str) -> bool:
    """An ASCII identifier: what every supported ansible-core accepts as a variable name (pinggy_ rules out keywords)."""
    return name.isascii() and name.isidentifier()


def _shown_id(value: object) -> str:
    """A session id as a warning can quote it: one short line, whatever the API sent."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 60 else text[:57] + "..."


def _warn_bad_ports(hosts: list[Host], all_vars: list[dict]) -> None:
    """Warn of the tunnels that should have a port (or sent one) but got no ansible_port: their port is unusable."""
    bad_ports = [name for (name, _public, record), hostvars in zip(hosts, all_vars)
                 if "ansible_port" not in hostvars
                 and (record.get("port") is not None or effective_mode(record) in PORT_MODES)]
    if bad_ports:
        display.warning(f"pinggy inventory: tunnel(s) {_listed(bad_ports)} have no usable port (an integer from 1 to "
                        "65535); ansible_port is not set, pinggy_port holds what the API sent")


class InventoryModule(PinggyPluginBase, BaseInventoryPlugin, Constructable, Cacheable):
    """Active Pinggy tunnels as hosts."""

    NAME = "pinggy.tunnels.pinggy"
    error_class = AnsibleParserError
    # The source file may take its connection settings from templates, e.g. api_key: "{{ lookup('env', 'MY_KEY') }}".
    templated_origins = ("Direct",)

    def verify_file(self, path: str) -> bool:
        return super().verify_file(path) and path.endswith(("pinggy.yml", "pinggy.yaml"))

    def parse(self, inventory, loader, path, cache=True):  # type: ignore[no-untyped-def]
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        self._populate(self._raw_sessions(self.pinggy_client(), path, cache))

    def _raw_sessions(self, client: PinggyClient, path: str, cache: bool) -> list:
        """The raw API answer, from the cache when allowed and warm; the cache never holds the key.

        The cache entry is per source file and account (API URL and a one-way fingerprint of the key),
        so another account or a wrong key never gets these hosts.
        """
        cache_key = f"{self.get_cache_key(path)}_{client.fingerprint}"
        use_cache = self.get_option("cache")
        reveal = self.get_option("reveal_tokens")
        if use_cache and cache:
            try:
                cached = self._cache[cache_key]
            except KeyError:
                pass
            else:
                # An answer cached with redacted tokens cannot serve reveal_tokens: fetch it again.
                if not (reveal and has_redacted_tokens(cached)):
                    return cached
        with self.pinggy_errors():
            raw = client.active_sessions()
        raw = redact_tokens(raw, reveal)
        if use_cache:
            self._cache[cache_key] = raw
        return raw

    def _sanitize_group_name(self, name):  # type: ignore[no-untyped-def]
        # keyed_groups name groups after host variables, that is after API strings: untrusted before 2.19 too.
        return make_unsafe(super()._sanitize_group_name(name))

    def _populate(self, raw_sessions: list) -> None:
        sessions = filter_sessions(
            redact_tokens((normalize_active(record) for record in raw_sessions), self.get_option("reveal_tokens")),
            modes=self.get_option("mode"),
            subdomains=self.get_option("subdomain"),
            token_names=self.get_option("token_name"),
        )
        hosts, collided = name_hosts(sessions, self.get_option("hostnames"), self._group_names())
        self._warn_renamed(hosts, collided)
        self.inventory.add_group("pinggy")
        for mode in MODES:
            if any(effective_mode(record) == mode for _name, _public, record in hosts):
                self.inventory.add_group(f"pinggy_{mode}")
        all_vars = [self._add_tunnel(name, public, record) for name, public, record in hosts]
        _warn_bad_ports(hosts, all_vars)
        self._construct([name for name, _public, _record in hosts], all_vars)

    def _group_names(self) -> set[str]:
        """Every group there is or that ``groups`` and ``keyed_groups`` (parent groups) will make.

        A host must never share a group's name: inventory calls resolve a name to the group first, so the
        host's variables would land on the group.
        """
        reserved = set(self.inventory.groups) | set(self.get_option("groups") or {})
        reserved |= {keyed["parent_group"] for keyed in self.get_option("keyed_groups") or []
                     if isinstance(keyed, dict) and isinstance(keyed.get("parent_group"), str)}
        return reserved

    def _warn_renamed(self, hosts: list[Host], collided: list[str]) -> None:
        """Say which hosts were not named after the tunnel's own domain, and why."""
        if collided:
            display.warning(f"pinggy inventory: several tunnels share the name(s) {_listed(collided)}; "
                            "they were renamed name_port, name_id or name_N")
        unnamed = [_shown_id(record.get("id")) for _name, public, record in hosts if public is None]
        if unnamed:
            display.warning(f"pinggy inventory: no field of hostnames ({', '.join(self.get_option('hostnames'))}) is a valid "
                            f"DNS name that is not an IP address, localhost or a group name for the tunnel(s) with id {_listed(unnamed)}; "
                            "they were named pinggy_<id> and have no ansible_host")

    def _construct(self, names: list[str], all_vars: list[dict]) -> None:
        """Apply ``compose``, ``groups`` and ``keyed_groups`` to the hosts."""
        strict = self.get_option("strict")
        # compose sets variables by host name, so it runs before keyed_groups can make a group of that name.
        for name, hostvars in zip(names, all_vars):
            self._set_composite_vars(self.get_option("compose"), hostvars, name, strict=strict)
        for name, hostvars in zip(names, all_vars):
            self._add_host_to_composed_groups(self.get_option("groups"), hostvars, name, strict=strict)
            self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, name, strict=strict)

    def _add_tunnel(self, inventory_name: str, public_name: str | None, record: dict) -> dict:
        """Add one host with its variables, set on the host itself (never resolved by name); return the variables."""
        name = self.inventory.add_host(make_unsafe(inventory_name), group="pinggy")
        host = self.inventory.get_host(name)
        mode = effective_mode(record)
        if mode in MODES:
            self.inventory.add_child(f"pinggy_{mode}", name)
        hostvars = {f"pinggy_{field}": value for field, value in record.items() if _variable_name(f"pinggy_{field}")}
        # A field whose name cannot be part of a variable name (ansible-core refuses those) is kept in one dict.
        odd_fields = {field: value for field, value in record.items() if not _variable_name(f"pinggy_{field}")}
        if odd_fields:
            hostvars[ODD_FIELDS_VAR] = odd_fields
        if public_name:
            hostvars["ansible_host"] = public_name
        port = valid_port(record.get("port"))
        if mode in PORT_MODES and port is not None:
            hostvars["ansible_port"] = port
        hostvars = inventory_safe(hostvars)
        for var, value in hostvars.items():
            host.set_variable(var, value)
        return hostvars
