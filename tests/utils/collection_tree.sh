#!/usr/bin/env bash
# Copy the collection into DEST/ansible_collections/pinggy/tunnels: ansible-test runs only from a
# path of that shape, and resolves symlinks, so a link will not do. Prints the collection path.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
dest=${1:?usage: collection_tree.sh DEST}
coll="$dest/ansible_collections/pinggy/tunnels"
mkdir -p "$coll"
# Keep ansible-test's own output (tests/output) between runs; refresh everything else.
find "$coll" -mindepth 1 -maxdepth 1 ! -name tests -exec rm -rf {} +
find "$coll/tests" -mindepth 1 -maxdepth 1 ! -name output -exec rm -rf {} + 2>/dev/null || true
tar -C "$root" -cf - \
  --exclude=./.git --exclude='./.venv*' --exclude=./build --exclude=./tests/output \
  --exclude='*.tar.gz' --exclude=__pycache__ --exclude=.pytest_cache . | tar -C "$coll" -xf -
echo "$coll"
