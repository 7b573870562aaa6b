"""A loopback HTTP server mimicking the Pinggy Pro API (optionally with an SSH front for live tunnels), for tests, demos and benchmarks."""

from __future__ import annotations

from .server import Emulator

__all__ = ["Emulator"]
