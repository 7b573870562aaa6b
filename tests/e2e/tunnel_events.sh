#!/usr/bin/env bash
# End to end with a real ansible-rulebook (issue 24): the collection installed from its tarball, the event source
# pinggy.tunnels.tunnel_events polling the emulator, rules printing each event. A session removed gives tunnel_down
# and expectations_unmet, added back (a new id) tunnel_up and expectations_met; the API answering 503 for a while
# gives one api_error and one api_recovered and the rulebook keeps running; hostile records run nothing; the key is
# in none of the output.
# Needs PINGGY_API_URL, PINGGY_API_KEY, PINGGY_EMULATOR_URL (tests/utils/with_emulator.sh), PINGGY_EDA_VENV and
# JAVA_HOME (tests/utils/run.sh e2e). Run from the collection root.
set -euo pipefail
: "${PINGGY_API_URL:?}" "${PINGGY_API_KEY:?}" "${PINGGY_EMULATOR_URL:?}"

# shellcheck source=tests/e2e/lib/emulator.sh
source "$(dirname "$0")/lib/emulator.sh"
# shellcheck source=tests/e2e/lib/rulebook.sh
source "$(dirname "$0")/lib/rulebook.sh"

work=$(mktemp -d)
cleanup() { stop_rulebook; rm -rf "$work"; }
trap cleanup EXIT
fail() {
  echo "tunnel_events end-to-end: FAILED: $*" >&2
  [ -f "$work/rulebook.log" ] && tail -n 40 "$work/rulebook.log" >&2
  exit 1
}
log="$work/rulebook.log"
marker="$work/pwned"

install_collection "$work" || fail "the collection did not install from its tarball"

db() { printf '{"id": "%s", "subdomain": "db-1.a.pinggy.link", "mode": "tcp", "port": 15432, "tokenName": "prod"}' "$1"; }
hostile() {
  # shellcheck disable=SC2016 # the $(...) is the hostile text itself, never expanded
  printf '{"id": "%s", "subdomain": "{{ lookup(%s, %s) }}", "customdomain": "$(touch %s)", "mode": "tcp", "port": 1}' \
    "$1" "'ansible.builtin.pipe'" "'touch $marker'" "$marker"
}
emulator_reset "[$(db db-1), {\"id\": \"web-1\", \"subdomain\": \"web.a.pinggy.link\", \"mode\": \"http\"}, $(hostile hostile-1)]"

cat > "$work/inventory.yml" <<'YAML'
all:
  hosts:
    localhost:
      ansible_connection: local
YAML
# The connection comes from PINGGY_API_URL and PINGGY_API_KEY in the environment: no key in the rulebook.
cat > "$work/rulebook.yml" <<'YAML'
---
- name: Tunnel events, printed
  hosts: all
  sources:
    - pinggy.tunnels.tunnel_events:
        interval: 1
        max_interval: 2
        retries: 0
        timeout: 5
        expected:
          - subdomain: "db-*"
            mode: tcp
  # One rule per event (ansible-rulebook's default): the hostile one first.
  rules:
    - name: Hostile data is only compared and printed, never run
      condition: event.type == "tunnel_up" and event.tunnel.customdomain is search("touch")
      action:
        debug:
          msg: "E2E tunnel_up {{ event.tunnel.id }} {{ event.tunnel.subdomain }} customdomain {{ event.tunnel.customdomain }}"
    - name: A tunnel appeared or disappeared
      condition: event.type == "tunnel_up" or event.type == "tunnel_down"
      action:
        debug:
          msg: "E2E {{ event.type }} {{ event.tunnel.id }} {{ event.tunnel.subdomain }}"
    - name: Any other event
      condition: event.type != "tunnel_up" and event.type != "tunnel_down"
      action:
        debug:
          msg: "E2E {{ event.type }}"
YAML

start_rulebook "$work" "$work/rulebook.yml" "$work/inventory.yml"
wait_for_lines "$log" "E2E snapshot" 1 180 || fail "no snapshot event"
echo "snapshot seen"

emulator_call DELETE sessions/db-1 >/dev/null
wait_for_lines "$log" "E2E tunnel_down db-1" 1 30 || fail "no tunnel_down for the removed session"
wait_for_lines "$log" "E2E expectations_unmet" 1 30 || fail "no expectations_unmet"
echo "session removed: tunnel_down, expectations_unmet"

emulator_call POST sessions "$(db db-2)" >/dev/null
wait_for_lines "$log" "E2E tunnel_up db-2" 1 30 || fail "no tunnel_up for the session added back"
wait_for_lines "$log" "E2E expectations_met" 1 30 || fail "no expectations_met"
echo "session added back: tunnel_up, expectations_met"

emulator_call POST sessions "$(hostile hostile-2)" >/dev/null
wait_for_lines "$log" "E2E tunnel_up hostile-2 {{ lookup('ansible.builtin.pipe', 'touch $marker') }} customdomain \$(touch $marker)" 1 30 \
  || fail "the hostile tunnel's template and shell text did not arrive as text"
echo "hostile tunnel: its template and shell text printed as text"

emulator_call POST faults '{"kind": "status", "status": 503, "count": 0}' >/dev/null
wait_for_lines "$log" "E2E api_error" 1 30 || fail "no api_error during the 503 period"
sleep 5  # several failed polls: still one api_error
emulator_call DELETE faults >/dev/null
wait_for_lines "$log" "E2E api_recovered" 1 30 || fail "no api_recovered after the 503 period"
sleep 3
rulebook_running || fail "ansible-rulebook stopped after the API failures"
echo "503 period: api_error and api_recovered, the rulebook still running"

for event in snapshot expectations_unmet expectations_met api_error api_recovered; do
  [ "$(count_lines "$log" "E2E $event")" = 1 ] || fail "$(count_lines "$log" "E2E $event") $event events, expected exactly 1"
done
[ "$(count_lines "$log" "E2E tunnel_")" = 3 ] || fail "$(count_lines "$log" "E2E tunnel_") tunnel events, expected 3"
stop_rulebook
[ ! -e "$marker" ] || fail "a hostile record ran a command"
assert_no_key "$log" || fail "the API key is in ansible-rulebook's output"
echo "tunnel_events end-to-end: passed (each event once, nothing run from API data, no key in the output)"
