# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Benchmark floor: the least an inventory plugin must do to give the pinggy plugin's hosts, vars and groups.

Reads the raw active sessions from a local JSON file (no HTTP, no cache, no constructed features).
"""

from __future__ import annotations

import json

from ansible.plugins.inventory import BaseInventoryPlugin

from ansible_collections.pinggy.tunnels.plugins.module_utils._sessions import effective_mode, normalize_active

DOCUMENTATION = r"""
name: pinggy_floor
short_description: Benchmark floor for the pinggy inventory plugin
description: Reads raw Pinggy sessions from a JSON file and sets the same hosts, variables and groups.
options:
  plugin:
    description: Marks the file as a source for this plugin.
    required: true
  sessions_file:
    description: JSON file with the raw active sessions.
    required: true
"""


class InventoryModule(BaseInventoryPlugin):
    """Hosts from a JSON file of raw sessions."""

    NAME = "pinggy_floor"

    def parse(self, inventory, loader, path, cache=True):  # type: ignore[no-untyped-def]
        super().parse(inventory, loader, path, cache)
        self._read_config_data(path)
        with open(self.get_option("sessions_file"), encoding="utf-8") as sessions_file:
            records = [normalize_active(record) for record in json.load(sessions_file)]
        self.inventory.add_group("pinggy")
        for record in records:
            name = record["host"]
            self.inventory.add_host(name, group="pinggy")
            mode = effective_mode(record)
            self.inventory.add_child(self.inventory.add_group(f"pinggy_{mode}"), name)
            for field, value in record.items():
                self.inventory.set_variable(name, f"pinggy_{field}", value)
            self.inventory.set_variable(name, "ansible_host", name)
            if mode in ("tcp", "tlstcp", "udp") and record.get("port"):
                self.inventory.set_variable(name, "ansible_port", record["port"])
