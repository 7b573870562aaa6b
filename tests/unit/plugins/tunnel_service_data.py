"""Test data shared by the tunnel_service engine's tests (_tunnel_service_checks, _tunnel_service_render)."""

from __future__ import annotations

import typing as t

KEY = "[127.0.0.1]:2222,[a.pinggy.io]:443,[*.a.pinggy.io]:443 ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEqqrjJ+0Ok8yFPSgA9iS4LsQeyZ64Ywkk8fwBvY1Qaa"
SETTINGS = {"known_hosts": [KEY]}
# For tunnels whose server no line of KEY is for (host keys not the point of the test).
TRUST_ON_FIRST_USE = {"strict_host_key_checking": "accept-new"}
TOKEN = "T0kenValue42"
PASSWORD = "pa55:word"


def tunnel(**extra: t.Any) -> dict[str, t.Any]:
    """The 'web' tunnel on port 8080, with the given keys added or replaced."""
    return {"name": "web", "local_port": 8080, **extra}
