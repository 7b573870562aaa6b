#!/usr/bin/env bash
# The history report as a reader sees it: the history_report role writes the report of 60 days of generated history
# plus sessions with hostile names, and headless Chromium (Debian package, installed when absent) loads the HTML:
# no console error, no external request, one timeline bar per session, sorting and filtering work, the hostile names
# show as text (a bidi override and ESC as their codes) and nothing ran. A PNG screenshot is kept in tests/output/e2e/ (or $PINGGY_ARTIFACTS_DIR).
# Needs PINGGY_API_URL, PINGGY_API_KEY and PINGGY_EMULATOR_URL (tests/utils/with_emulator.sh sets them)
# and the collection on ANSIBLE_COLLECTIONS_PATH.
set -euo pipefail
: "${PINGGY_API_URL:?}" "${PINGGY_API_KEY:?}" "${PINGGY_EMULATOR_URL:?}"
here=$(cd "$(dirname "$0")" && pwd)
artifacts=${PINGGY_ARTIFACTS_DIR:-tests/output/e2e}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "report browser: FAILED: $*" >&2; exit 1; }

if ! command -v chromium >/dev/null 2>&1; then
  echo "report browser: installing chromium (Debian package)"
  sudo=(); [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
started=$(date +%s)

# 60 days of generated history, then three sessions whose names are attacks on the page and on the controller.
python3 - "$PINGGY_EMULATOR_URL" "$work/pwned" "$here/../emulator" <<'PY'
import sys
from datetime import datetime, timezone
control, pwned = sys.argv[1:3]
sys.path.insert(0, sys.argv[3])
from control import ControlClient  # the project's one client of the emulator's control API
def call(path, body):
    ControlClient(control).call("POST", path, body)
call("reset", {"active": [], "history_count": 60, "seed": 16})
day = datetime.now(timezone.utc).strftime("%Y-%m-%d")
names = ["<script>console.error('pwned-script')</script>.a.pinggy.link", '"><img src=x onerror="console.error(1)">',
         "{{ lookup('pipe', 'touch %s') }}" % pwned, "evil\u202egnp\x1b[2J.a.pinggy.link"]
call("history", [{"start_time": f"{day}T00:00:0{n}.000+00:00", "end_time": f"{day}T00:30:00.000+00:00", "domains": [name],
                  "mode": "http"} for n, name in enumerate(names)])
PY

cat > "$work/report.yml" <<'YAML'
- name: Write the history report
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The last 60 days
      ansible.builtin.include_role:
        name: pinggy.tunnels.history_report
      vars:
        history_report_dir: "{{ report_dir }}"
        history_report_days: 60
YAML
ansible-playbook "$work/report.yml" -e "report_dir=$work/report" > "$work/playbook.out" 2>&1 \
  || { cat "$work/playbook.out"; fail "the history_report role failed"; }
[ ! -e "$work/pwned" ] || fail "a domain from the API was templated on the controller"

read -r sessions rows < <(python3 -c 'import json, sys
totals = json.load(open(sys.argv[1]))["totals"]
print(totals["sessions"] - totals["unparsable"], totals["sessions"])' "$work/report/pinggy-history.json")
[ "$rows" -eq 64 ] || fail "the report holds $rows sessions, expected 64 (60 generated, 4 hostile)"

python3 "$here/report_browser.py" "$work/report/pinggy-history.html" --sessions "$sessions" --rows "$rows" \
  --screenshot "$artifacts/history_report.png" \
  --text "<script>console.error('pwned-script')</script>.a.pinggy.link" --text '"><img src=x onerror="console.error(1)">' \
  --text "{{ lookup('pipe', 'touch $work/pwned') }}" --text 'evil\u202egnp\x1b[2J.a.pinggy.link'
[ ! -e "$work/pwned" ] || fail "a domain from the API was templated on the controller"
echo "report browser: passed in $(( $(date +%s) - started )) s (screenshot: $(cd "$artifacts" && pwd)/history_report.png)"
