"""Let ``ansible-test --venv`` bootstrap pip without its download (this machine reaches only PyPI).

ansible-test fetches a get-pip script into ~/.ansible/test/cache/get_pip_<ver>.py unless the file is
there. The stand-in written here installs pip from the wheel that ``ensurepip`` bundles, then upgrades
it to the pinned version from PyPI. Existing files are left alone.

Usage: python ansible_test_offline.py VENV_PYTHON [VENV_PYTHON ...]
"""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

STAND_IN = '''"""Offline stand-in for the get-pip bootstrap of ansible-test (written by pinggy.tunnels tests/utils)."""
import subprocess
import sys

# ansible-test passes these get-pip.py flags; pip install does not know them.
IGNORED = {"--no-setuptools", "--no-wheel"}
args = [arg for arg in sys.argv[1:] if arg not in IGNORED]
subprocess.check_call([sys.executable, "-m", "ensurepip", "--default-pip"])
subprocess.check_call([sys.executable, "-m", "pip", "install"] + args)
'''

CACHE = pathlib.Path.home() / ".ansible" / "test" / "cache"


def pip_versions(venv_python: str) -> set[str]:
    """The pip versions ansible-test of that environment bootstraps (read from its source, not imported)."""
    site = subprocess.check_output(
        [venv_python, "-c", "import ansible_test, os; print(os.path.dirname(ansible_test.__file__))"], text=True).strip()
    source = pathlib.Path(site, "_internal", "python_requirements.py").read_text(encoding="utf-8")
    return set(re.findall(r"""pip\s*=\s*['"]([0-9][0-9.]*)['"]""", source))


def main() -> int:
    CACHE.mkdir(parents=True, exist_ok=True)
    for venv_python in sys.argv[1:]:
        for version in sorted(pip_versions(venv_python)):
            target = CACHE / f"get_pip_{version.replace('.', '_')}.py"
            if not target.exists():
                target.write_text(STAND_IN, encoding="utf-8")
                print(f"ansible-test pip bootstrap stand-in: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
