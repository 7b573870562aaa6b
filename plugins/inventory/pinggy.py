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
  - The host name is the first non-empty field of O(hostnames); C(ansible_host) is that name and C(ansible_port)
    the tunnel port for tcp, tlstcp and udp tunnels (not set for http and tls).
  - Every field of the normalized session is set as a C(pinggy_<field>) host variable, for example C(pinggy_mode),
    C(pinggy_port), C(pinggy_token_name), C(pinggy_url).
  - Hosts are grouped in C(pinggy) and C(pinggy_<mode>); O(compose), O(groups) and O(keyed_groups) add more.
  - Two tunnels that would get the same name both appear, under C(<name>_<port>) (or C(<name>_<session id>) when the
    port does not tell them apart), with a warning. No tunnel is dropped.
  - Any failure of the API fails the inventory source with a one-line error. Set E(ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED)
    (C(inventory_any_unparsed_is_failed) in C(ansible.cfg)) so that Ansible stops instead of going on without these hosts.
  - Strings from the API are untrusted data, never templates.
  - The source file name must end with C(pinggy.yml) or C(pinggy.yaml).
author:
  - Pinggy Tunnels Maintainers (@pinggy)
extends_documentation_fragment:
  - pinggy.tunnels.pinggy
  - pinggy.tunnels.pinggy.plugins
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
      - Normalized session fields, in order of preference, to name each host; the first non-empty one wins.
      - For example V(customdomain), V(subdomain), V(host), V(id).
    type: list
    elements: str
    default: [customdomain, subdomain]
  mode:
    description: Keep only tunnels of these modes. A UDP tunnel is one whose C(mode_udp) is V(udp).
    type: list
    elements: str
    choices: [http, tcp, tls, tlstcp, udp]
  subdomain:
    description: Keep only tunnels whose subdomain or custom domain matches one of these shell-style patterns (case-insensitive).
    type: list
    elements: str
  token_name:
    description: Keep only tunnels created with a token of one of these names.
    type: list
    elements: str
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

from collections import Counter

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable
from ansible.utils.display import Display
from ansible.utils.unsafe_proxy import wrap_var

from ansible_collections.pinggy.tunnels.plugins.module_utils._api import PinggyClient
from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import (
    effective_mode,
    filter_sessions,
    normalize_active,
)
from ansible_collections.pinggy.tunnels.plugins.plugin_utils._base import PinggyPluginBase

display = Display()

PORT_MODES = ("tcp", "tlstcp", "udp")


def host_name(record: dict, hostnames: list) -> str | None:
    """The first non-empty preferred field of a normalized session."""
    for field in hostnames:
        if record.get(field):
            return str(record[field])
    return None


def name_hosts(records: list, hostnames: list) -> tuple[list, list]:
    """(inventory name, public name, record) triples in API order with distinct inventory names, and the names that collided.

    Colliding tunnels are named name_port, or name_id where the port does not tell them apart: stable across runs,
    and free of ':' so they stay usable in host patterns. Linear in the number of tunnels.
    """
    public_names = [host_name(record, hostnames) or str(record.get("id")) for record in records]
    name_counts = Counter(public_names)
    port_counts = Counter((name, record.get("port")) for name, record in zip(public_names, records) if name_counts[name] > 1)
    hosts = []
    for name, record in zip(public_names, records):
        inventory_name = name
        if name_counts[name] > 1:
            port = record.get("port")
            inventory_name = f"{name}_{port}" if port and port_counts[(name, port)] == 1 else f"{name}_{record.get('id')}"
        hosts.append((inventory_name, name, record))
    return hosts, sorted(name for name, count in name_counts.items() if count > 1)


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
        if use_cache and cache:
            try:
                return self._cache[cache_key]
            except KeyError:
                pass
        with self.pinggy_errors():
            raw = client.active_sessions()
        if use_cache:
            self._cache[cache_key] = raw
        return raw

    def _populate(self, raw_sessions: list) -> None:
        sessions = filter_sessions(
            (normalize_active(record) for record in raw_sessions),
            modes=self.get_option("mode"),
            subdomains=self.get_option("subdomain"),
            token_names=self.get_option("token_name"),
        )
        hosts, collided = name_hosts(sessions, self.get_option("hostnames"))
        if collided:
            display.warning(f"pinggy inventory: several tunnels share the name(s) {', '.join(collided[:5])}"
                            f"{' ...' if len(collided) > 5 else ''}; they were renamed name_port or name_id")
        strict = self.get_option("strict")
        self.inventory.add_group("pinggy")
        for inventory_name, public_name, record in hosts:
            self._add_tunnel(inventory_name, public_name, record, strict)

    def _add_tunnel(self, inventory_name: str, public_name: str, record: dict, strict: bool) -> None:
        host = self.inventory.add_host(inventory_name, group="pinggy")
        mode = effective_mode(record)
        if mode:
            self.inventory.add_child(self.inventory.add_group(f"pinggy_{mode}"), host)
        hostvars = {f"pinggy_{field}": wrap_var(value) for field, value in record.items()}
        hostvars["ansible_host"] = wrap_var(public_name)
        if mode in PORT_MODES and record.get("port"):
            hostvars["ansible_port"] = record["port"]
        for var, value in hostvars.items():
            self.inventory.set_variable(host, var, value)
        self._set_composite_vars(self.get_option("compose"), hostvars, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option("groups"), hostvars, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option("keyed_groups"), hostvars, host, strict=strict)
