# shellcheck shell=bash
# The emulator's control API for end-to-end scripts (PINGGY_EMULATOR_URL, set by tests/utils/with_emulator.sh),
# through the shared client tests/emulator/control.py.
#   source tests/e2e/lib/emulator.sh; emulator_reset '[{"id": "t1", "mode": "tcp", "port": 1}]'
EMULATOR_CONTROL="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../emulator" && pwd)/control.py"

# emulator_call METHOD RESOURCE [JSON_BODY]: the control API's JSON answer on stdout. It may hold tunnel tokens (a
# session moved to the history keeps its token): send it to /dev/null unless the script reads it.
emulator_call() { python3 "$EMULATOR_CONTROL" --url "${PINGGY_EMULATOR_URL:?}" "$@"; }

# emulator_reset ACTIVE_JSON: the active sessions become exactly that JSON list (default none), the history empty,
# and faults and counters are cleared.
emulator_reset() { emulator_call POST reset "{\"active\": ${1:-[]}, \"history\": []}" >/dev/null; }
