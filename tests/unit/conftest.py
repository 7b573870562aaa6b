"""Plain pytest from a checkout: `.venv/bin/pytest tests/unit/...` at the repository root.

The tests import the collection as ``ansible_collections.pinggy.tunnels``, which ansible-test provides by running them
in a tree of that shape. Anywhere else this gives the checkout that name: a link
``<cache>/ansible_collections/pinggy/tunnels`` -> the checkout, found by Ansible's own collection loader (what
ansible-test's pytest plugin installs too). Under ansible-test, or with the loader already in place, it does nothing.
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
COLLECTION = ("ansible_collections", "pinggy", "tunnels")


def _collections_base(root: Path) -> Path:
    """A directory holding ansible_collections/pinggy/tunnels that is this checkout: its parents, or a link in a cache."""
    if root.parts[-3:] == COLLECTION:
        return root.parents[2]
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    base = cache / "pinggy-tunnels-pytest" / hashlib.sha256(str(root).encode()).hexdigest()[:12]
    link = base.joinpath(*COLLECTION)
    if not link.is_symlink() or link.resolve() != root:
        link.parent.mkdir(parents=True, exist_ok=True)
        if link.is_symlink():
            link.unlink()
        link.symlink_to(root, target_is_directory=True)
    return base


def _install_collection_loader() -> None:
    # pylint: disable=import-outside-toplevel
    from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

    if any(isinstance(finder, _AnsibleCollectionFinder) for finder in sys.meta_path):
        return  # ansible-test's pytest plugin (ansible_pytest_collections) installed it
    _AnsibleCollectionFinder(paths=[str(_collections_base(ROOT))])._install()  # pylint: disable=protected-access


_install_collection_loader()
