"""Running a module's main() in-process, as ansible-core would, and catching its result."""

from __future__ import annotations

import contextlib
import json
import typing as t

import pytest

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

try:  # ansible-core >= 2.19 ships the supported way to hand arguments to a module under test.
    from ansible.module_utils.testing import patch_module_args
except ImportError:
    @contextlib.contextmanager  # type: ignore[no-redef]
    def patch_module_args(args: dict[str, t.Any]) -> t.Iterator[None]:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
            yield


class ModuleExit(Exception):
    """exit_json or fail_json was called; carries the result."""

    def __init__(self, result: dict[str, t.Any], failed: bool) -> None:
        super().__init__(result)
        self.result = result
        self.failed = failed


def capture_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make exit_json and fail_json raise ModuleExit, and run without any PINGGY_* from the environment."""
    def exit_json(_module: basic.AnsibleModule, **result: t.Any) -> None:
        raise ModuleExit(result, failed=False)

    def fail_json(_module: basic.AnsibleModule, msg: str, **result: t.Any) -> None:
        raise ModuleExit({"msg": msg, **result}, failed=True)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    for name in ("PINGGY_API_KEY", "PINGGY_API_URL", "PINGGY_VALIDATE_CERTS", "PINGGY_TIMEOUT", "PINGGY_RETRIES"):
        monkeypatch.delenv(name, raising=False)


def run_module(main: t.Callable[[], None], args: dict[str, t.Any]) -> ModuleExit:
    """The result of main() given these module arguments (capture_exit must be in effect)."""
    with patch_module_args(args), pytest.raises(ModuleExit) as outcome:
        main()
    return outcome.value
