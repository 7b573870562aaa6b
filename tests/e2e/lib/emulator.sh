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
# emulator_call METHOD RESOURCE [JSON]: one control API call, e.g. emulator_call DELETE sessions/t1,
# emulator_call POST faults '{"kind": "status", "status": 503, "count": 0}'.
emulator_call() {
  python3 - "${PINGGY_EMULATOR_URL:?}" "$1" "$2" "${3:-}" <<'PY'
import sys, urllib.request
body = sys.argv[4].encode() if sys.argv[4] else None
request = urllib.request.Request(f"{sys.argv[1]}/{sys.argv[3]}", data=body, headers={"Content-Type": "application/json"}, method=sys.argv[2])
urllib.request.urlopen(request, timeout=10).read()
PY
}
