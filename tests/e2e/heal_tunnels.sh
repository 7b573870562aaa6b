#!/usr/bin/env bash
# End to end for the heal rulebook (issue 24): a live tunnel deployed by the tunnel_service role under a real systemd
# (lib/systemd_ns.sh, as tunnel_service_systemd.sh boots it), and a real ansible-rulebook running
# pinggy.tunnels.heal_tunnels from the installed tarball inside the same namespace. The playbook pinggy.tunnels.heal
# first deploys the tunnel (it owns it by the inventory's tunnel_service_tunnels). Then:
#   1. `systemctl stop` takes the tunnel down (Restart=always does not undo that): the source reports
#      expectations_unmet, the rulebook runs pinggy.tunnels.heal, the unit starts, the tunnel comes back,
#      expectations_met follows;
#   2. the emulator ends the session while ssh stays connected (a stuck ssh: the unit stays active, the role alone
#      would change nothing): the heal restarts the unit and the tunnel comes back again.
# Each heal run's gate passes, the gate playbook passes afterwards, and the key is in none of the rulebook's output.
# Needs PINGGY_API_URL, PINGGY_API_KEY, PINGGY_EMULATOR_URL, PINGGY_EMULATOR_SSH_PORT (PINGGY_EMULATOR_SSH=1
# tests/utils/with_emulator.sh), PINGGY_EDA_VENV and JAVA_HOME (tests/utils/run.sh e2e), root. Run from the
# collection root.
set -euo pipefail
: "${PINGGY_API_URL:?}" "${PINGGY_API_KEY:?}" "${PINGGY_EMULATOR_URL:?}" "${PINGGY_EMULATOR_SSH_PORT:?}"

# shellcheck source=tests/e2e/lib/systemd_ns.sh
source "$(dirname "$0")/lib/systemd_ns.sh"
# shellcheck source=tests/e2e/lib/tunnel_service.sh
source "$(dirname "$0")/lib/tunnel_service.sh"
# shellcheck source=tests/e2e/lib/rulebook.sh
source "$(dirname "$0")/lib/rulebook.sh"

started=$(date +%s)
work=$(mktemp -d)
chmod 0711 "$work"
service_user="pinggy-e2e-heal-$$"
unit_prefix="pinggy-e2e-heal-$$-"
unit="${unit_prefix%-}@db.service"  # its instance of the template unit
log="$work/rulebook.log"
pids=()
cleanup() {
  local rc=$?
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
  # Stopping the namespace's systemd ends ansible-rulebook and everything it started in there.
  systemd_ns_teardown "$service_user" "$work" || rc=1
  if [ -n "$rulebook_pid" ]; then wait "$rulebook_pid" 2>/dev/null || true; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP  # the EXIT trap stops the namespace's systemd
fail() {
  echo "heal_tunnels end-to-end: FAILED: $*" >&2
  [ -f "$log" ] && tail -n 60 "$log" >&2
  exit 1
}
step() { echo "[$(( $(date +%s) - started )) s] $*"; }
inside() { systemd_ns_run "$@"; }
show() { inside systemctl show --value -p "$1" "$unit"; }
eda() {
  inside env PATH="$PINGGY_EDA_VENV/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$work/collections" ANSIBLE_NOCOLOR=1 \
    ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true PYTHONUNBUFFERED=1 "$@"
}

# session_of TOKEN: the id of the active session of that token, within 20 s.
session_of() {
  python3 - "$PINGGY_API_URL" "$1" <<'PY'
import json, os, sys, time, urllib.request
deadline = time.monotonic() + 20
while True:
    request = urllib.request.Request(f"{sys.argv[1]}/session/active", headers={"Authorization": f"Bearer {os.environ['PINGGY_API_KEY']}"})
    ids = [s["id"] for s in json.load(urllib.request.urlopen(request, timeout=10)) if s["tokenName"] == sys.argv[2]]
    if ids:
        sys.exit(print(ids[-1]))
    if time.monotonic() > deadline:
        sys.exit("no active session of the token within 20 s")
    time.sleep(0.2)
PY
}

systemd_ns_prerequisites || fail "the prerequisites are missing (see above)"
install_collection "$work" || fail "the collection did not install from its tarball"
# What the namespace hides under /tmp, /var/tmp or /run and ansible-rulebook needs: carried in, read-only.
mapfile -t carry < <(systemd_ns_hidden "$PINGGY_EDA_VENV" "$(dirname "$(dirname "$(command -v python3)")")")

step "boot systemd in a namespace"
systemd_ns_boot "$work" "${carry[@]}" || fail "systemd could not boot in a namespace on this machine (see above)"
start_web_server "$work"
emulator_reset "[]"
pin_host_key || fail "no host key"
new_secrets e2eHeal

# The inventory says which host owns which tunnel: localhost owns db (known in the API by its token name; the
# emulator names a token by its value).
mkdir -p "$work/inventory/host_vars"
printf 'all:\n  hosts:\n    localhost:\n' > "$work/inventory/hosts.yml"
cat > "$work/inventory/host_vars/localhost.yml" <<YAML
ansible_connection: local
ansible_python_interpreter: "{{ ansible_playbook_python }}"
heal_become: false
heal_gate_timeout: 60
heal_gate_delay: 1
tunnel_service_server: 127.0.0.1
tunnel_service_port: $PINGGY_EMULATOR_SSH_PORT
tunnel_service_known_hosts: ["$host_key"]
tunnel_service_keepalive_interval: 1
tunnel_service_user: $service_user
tunnel_service_restart_sec: 1
tunnel_service_config_dir: /run/pinggy-e2e/etc
tunnel_service_state_dir: /run/pinggy-e2e/state
tunnel_service_unit_prefix: $unit_prefix
tunnel_service_tunnels:
  - {name: db, mode: tcp, local_port: $web_port, token: $tcp_token, token_name: $tcp_token}
YAML
cat > "$work/heal_vars.yml" <<YAML
pinggy_tunnels_interval: 1
pinggy_tunnels_expected:
  - {mode: tcp, token_name: $tcp_token}
YAML
cat > "$work/expected.yml" <<YAML
assert_tunnels_expected:
  - {mode: tcp, token_name: $tcp_token}
YAML

step "the heal playbook deploys the tunnel it owns"
eda ansible-playbook pinggy.tunnels.heal -i "$work/inventory" > "$work/heal0.out" 2>&1 \
  || { cat "$work/heal0.out"; fail "the first heal run (the deployment) failed"; }
inside systemctl is-active --quiet "$unit" || fail "the unit is not active after the first heal run"

step "ansible-rulebook pinggy.tunnels.heal_tunnels, in the namespace"
eda ansible-rulebook -v --rulebook pinggy.tunnels.heal_tunnels -i "$work/inventory" --vars "$work/heal_vars.yml" \
  > "$log" 2>&1 &
rulebook_pid=$!
wait_for_lines "$log" "Waiting for events" 1 180 || fail "the rulebook did not start"
sleep 3  # its first poll: the snapshot, all expectations met

step "systemctl stop: expectations_unmet, heal, expectations_met"
dropped=$(date +%s.%N)
inside systemctl stop "$unit"
wait_for_lines "$log" "every expectation is met again" 1 240 || fail "the stopped tunnel was not healed"
healed_stopped=$(python3 -c "import time; print(f'{time.time() - $dropped:.1f}')")
inside systemctl is-active --quiet "$unit" || fail "the unit is not active after the heal"
session_of "$tcp_token" > /dev/null || fail "the tunnel is not listed after the heal"

step "a stuck ssh (session gone, unit active): the heal restarts the unit"
invocation=$(show InvocationID)
session_id=$(session_of "$tcp_token") || fail "the tunnel is not listed"
dropped=$(date +%s.%N)
emulator_call DELETE "sessions/$session_id" >/dev/null
wait_for_lines "$log" "every expectation is met again" 2 240 || fail "the stuck tunnel was not healed"
healed_stuck=$(python3 -c "import time; print(f'{time.time() - $dropped:.1f}')")
[ "$(show InvocationID)" != "$invocation" ] || fail "the heal did not restart the unit of the stuck tunnel"
rulebook_running || fail "ansible-rulebook stopped"

step "gate, output"
eda ansible-playbook pinggy.tunnels.gate -e "@$work/expected.yml" > "$work/gate.out" 2>&1 \
  || { cat "$work/gate.out"; fail "the gate failed after the heal"; }
[ "$(count_lines "$log" "PLAY [Heal the Pinggy tunnels each host owns]")" -ge 2 ] || fail "the rulebook did not run the heal playbook twice"
if grep -E "^localhost +: .*failed=[1-9]" "$log"; then fail "a heal run failed"; fi
[ "$(count_lines "$log" "TASK [pinggy.tunnels.assert_tunnels : ")" -ge 2 ] || fail "the heal runs did not gate"
assert_no_key "$log" "$work"/*.out || fail "the API key is in the output"
systemd_ns_stop || fail "the namespace's teardown"
echo "heal loop, from the drop to expectations_met after the heal's gate passed (interval 1 s): stopped unit" \
  "healed in $healed_stopped s, stuck ssh healed in $healed_stuck s"
echo "heal_tunnels end-to-end: passed in $(( $(date +%s) - started )) s (deployed by the heal playbook; a stopped" \
  "unit and a stuck ssh each healed by the rulebook, gated, no key in the output)"
