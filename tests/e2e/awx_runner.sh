#!/usr/bin/env bash
# The collection run the way AWX / Ansible Automation Platform runs it: through ansible-runner, installed from the
# built tarball into a fresh collections path (as a project update does from docs/awx/project/collections/requirements.yml),
# with the API key injected as environment by the custom credential type of docs/awx/credential_type.yml:
# an inventory update from docs/awx/project/inventory/tunnels.pinggy.yml (`ansible-inventory --list --export`,
# JSON checked as AWX imports it), the gate job passing and failing, and a history job. The job events and
# artifacts must not hold any 8-character run of the key. The work is in tests/awx_runner.py.
# Needs PINGGY_API_URL, PINGGY_API_KEY and PINGGY_EMULATOR_URL (tests/utils/with_emulator.sh sets them) and
# ansible-runner (tests/requirements-dev.txt); runs from the collection root.
set -euo pipefail
: "${PINGGY_API_URL:?}" "${PINGGY_API_KEY:?}" "${PINGGY_EMULATOR_URL:?}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

ansible-galaxy collection build . --output-path "$work/dist" >/dev/null
python3 "$here/awx_runner.py" "$work" "$work"/dist/pinggy-tunnels-*.tar.gz
