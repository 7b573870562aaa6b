# shellcheck shell=bash
# The emulator's control API for end-to-end scripts (PINGGY_EMULATOR_URL, set by tests/utils/with_emulator.sh).
#   source tests/e2e/lib/emulator.sh; emulator_reset '[{"id": "t1", "mode": "tcp", "port": 1}]'
# emulator_reset ACTIVE_JSON: the active sessions become exactly that JSON list (default none), the history empty,
# and faults and counters are cleared.
emulator_reset() {
  python3 - "${PINGGY_EMULATOR_URL:?}" "${1:-[]}" <<'PY'
import json, sys, urllib.request
body = json.dumps({"active": json.loads(sys.argv[2]), "history": []}).encode()
request = urllib.request.Request(f"{sys.argv[1]}/reset", data=body, headers={"Content-Type": "application/json"}, method="POST")
urllib.request.urlopen(request, timeout=10).read()
PY
}
