"""The emulator fixtures of tests/unit/plugins/conftest.py, for the event source's tests (one emulator per session)."""

from __future__ import annotations

from ansible_collections.pinggy.tunnels.tests.unit.plugins.conftest import (  # noqa: F401  # pylint: disable=unused-import
    emulator,
    emulator_control,
    emulator_server,
)
