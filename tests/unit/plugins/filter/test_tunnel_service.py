"""The tunnel_service filters: thin callers of the tunnel_service engine (plugin_utils), with Ansible's filter error."""

from __future__ import annotations

import typing as t

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.pinggy.tunnels.plugins.filter.tunnel_service import (
    FilterModule,
    tunnel_service_plan,
    tunnel_service_ssh_config,
    tunnel_service_ssh_configs,
    tunnel_service_stale,
)

SETTINGS = {"known_hosts": ["a.pinggy.io,[a.pinggy.io]:443 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEqqrjJ+0Ok8yFPSgA9iS4LsQeyZ64Ywkk8fwBvY1Qaa"]}
TUNNELS = [{"name": "web", "local_port": 8080, "token": "T0kenValue42", "options": ["b:alice:pa55word"]}, {"name": "old", "state": "absent"}]


def test_filters_are_registered_under_their_names() -> None:
    assert FilterModule().filters() == {"tunnel_service_plan": tunnel_service_plan, "tunnel_service_ssh_config": tunnel_service_ssh_config,
                                        "tunnel_service_ssh_configs": tunnel_service_ssh_configs,
                                        "tunnel_service_stale": tunnel_service_stale}


def test_the_filters_return_what_the_engine_renders() -> None:
    assert [entry["unit"] for entry in tunnel_service_plan(TUNNELS, SETTINGS)] == ["pinggy-tunnel@web.service", "pinggy-tunnel@old.service"]
    assert tunnel_service_ssh_configs(TUNNELS, SETTINGS) == {"web": tunnel_service_ssh_config("web", TUNNELS, SETTINGS)}
    assert [entry["unit"] for entry in tunnel_service_stale(["/etc/pinggy-tunnels/web.conf", "/etc/pinggy-tunnels/was.conf"],
                                                            TUNNELS, SETTINGS)] == ["pinggy-tunnel@was.service"]


@pytest.mark.parametrize("call", [
    lambda: tunnel_service_plan([{"name": "web", "local_port": 8080, "token": "T0kenValue42/bad"}], SETTINGS),
    lambda: tunnel_service_ssh_config("web", [{"name": "web", "local_port": 8080, "options": ["b:alice:pa55word", "bogus"]}], SETTINGS),
    lambda: tunnel_service_ssh_configs([{"name": "web", "local_port": 8080, "mode": "tcp", "options": ["k:pa55word"]}], SETTINGS),
    lambda: tunnel_service_stale([], [{"name": "web", "local_port": 8080, "mode": "tcp", "options": ["k:pa55word"]}], SETTINGS),
])
def test_an_engine_error_is_one_filter_error_line_without_secrets(call: t.Callable[[], t.Any]) -> None:
    with pytest.raises(AnsibleFilterError) as caught:
        call()
    message = str(caught.value)
    assert message.startswith("tunnel_service: tunnel 'web': ") and "\n" not in message
    assert "T0kenValue42" not in message and "pa55word" not in message
    assert caught.value.__cause__ is None
