#!/usr/bin/env bash
# End to end with a live tunnel, real processes only: the OpenSSH client opens `ssh -R` through the emulator's
# SSH front to a real sshd on loopback. Then the module lists the tunnel, the inventory makes it a host that
# `ansible -m ping` reaches through the tunnel, and the gate playbook passes with probing on. Once the client
# is stopped, the gate fails with its message and the history lookup returns the ended session.
# Needs PINGGY_API_URL, PINGGY_API_KEY, PINGGY_EMULATOR_URL and PINGGY_EMULATOR_SSH_PORT
# (PINGGY_EMULATOR_SSH=1 tests/utils/with_emulator.sh sets them) and the collection on ANSIBLE_COLLECTIONS_PATH.
set -euo pipefail
: "${PINGGY_API_URL:?}" "${PINGGY_API_KEY:?}" "${PINGGY_EMULATOR_URL:?}" "${PINGGY_EMULATOR_SSH_PORT:?}"

# shellcheck source=tests/e2e/lib/sshd.sh
source "$(dirname "$0")/lib/sshd.sh"
# shellcheck source=tests/e2e/lib/emulator.sh
source "$(dirname "$0")/lib/emulator.sh"
# shellcheck source=tests/utils/ssh_tunnel.sh
source "$(dirname "$0")/../utils/ssh_tunnel.sh"

work=$(mktemp -d)
tunnel_pid=""
cleanup() {
  if [ -n "$tunnel_pid" ]; then kill "$tunnel_pid" 2>/dev/null || true; fi
  stop_sshd "$work"
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "live tunnel end-to-end: FAILED: $*" >&2; exit 1; }
export ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true ANSIBLE_LOCALHOST_WARNING=false

start_sshd "$work"
emulator_reset "[]"

# The tunnel, opened as a Pinggy user would (token e2e, tcp mode).
opened_at=$(date +%s)
open_tunnel e2e+tcp "$ssh_port" "$work/client.log" || fail "the ssh client did not open the tunnel"
[ "$tunnel_port" != "$ssh_port" ] || fail "the tunnel port is sshd's own port"
echo "tunnel open: 127.0.0.1:$tunnel_port -> sshd on 127.0.0.1:$ssh_port"

# 1. The module lists it.
ansible localhost -o -m pinggy.tunnels.pinggy_sessions_info -a "token_name=e2e mode=tcp query='[].port'" > "$work/module.out" 2>&1 \
  || { cat "$work/module.out"; fail "the module failed"; }
grep -q "\"result\": \[$tunnel_port\]" "$work/module.out" || fail "the module did not list the tunnel: $(cat "$work/module.out")"

# 2. The inventory makes it a host on the tunnel port, and SSH reaches sshd through the tunnel.
trust_host_port "$tunnel_port" "$work"
ping_tunnel_hosts "$work" "$work/ping.out" || { cat "$work/ping.out"; fail "ansible -m ping through the tunnel failed"; }
ansible-inventory -i "$work/e2e.pinggy.yml" --list --yaml > "$work/inventory.out"
grep -q "ansible_port: $tunnel_port\$" "$work/inventory.out" || fail "no host with ansible_port $tunnel_port: $(cat "$work/inventory.out")"

grep -q '"ping": "pong"' "$work/ping.out" || fail "no pong through the tunnel"
grep -q "Accepted publickey for root" "$work/sshd.log" || fail "sshd never saw the client"

# 3. The gate playbook passes with probing on.
cat > "$work/expected.yml" <<'YAML'
assert_tunnels_expected:
  - {token_name: e2e, mode: tcp}
assert_tunnels_probe: true
assert_tunnels_probe_address: 127.0.0.1
YAML
ansible-playbook pinggy.tunnels.gate -e "@$work/expected.yml" > "$work/gate_up.out" 2>&1 \
  || { cat "$work/gate_up.out"; fail "the gate failed with the tunnel up"; }

# 4. Stop the client: within a few seconds the gate fails with its message.
kill "$tunnel_pid"
wait "$tunnel_pid" 2>/dev/null || true
tunnel_pid=""
closed_at=$(date +%s)
rc=0
for _ in $(seq 1 10); do
  rc=0
  ansible-playbook pinggy.tunnels.gate -e "@$work/expected.yml" > "$work/gate_down.out" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] && break
  sleep 1
done
[ "$rc" -eq 2 ] || { cat "$work/gate_down.out"; fail "the gate still passed (or errored) 10 s after the tunnel closed"; }
grep -q "expected at least 1 tcp tunnel with token e2e: found 0" "$work/gate_down.out" || fail "the gate's message is missing"

# 5. The history lookup returns the ended session, with a plausible duration.
cat > "$work/history.yml" <<'YAML'
- name: Check the ended session in the history
  hosts: localhost
  gather_facts: false
  vars:
    ended: "{{ query('pinggy.tunnels.pinggy_history', days=1) | selectattr('port', 'eq', tunnel_port | int) | list }}"
  tasks:
    - name: Check the record
      ansible.builtin.assert:
        that:
          - ended | length == 1
          - ended[0].end_time is string and ended[0].end_time | length > 0
          - ended[0].mode == 'tcp'
          - ended[0].client_address == '127.0.0.1'
          - ended[0].client_port > 0
          - ended[0].duration_seconds >= 0
          - ended[0].duration_seconds <= max_seconds | int
        fail_msg: "{{ ended | to_json }}"
YAML
ansible-playbook "$work/history.yml" -e "tunnel_port=$tunnel_port max_seconds=$((closed_at - opened_at + 2))" > "$work/history.out" 2>&1 \
  || { cat "$work/history.out"; fail "the history lookup did not return the ended session"; }

for output in "$work"/*.out; do
  if grep -qF "$PINGGY_API_KEY" "$output"; then fail "the API key appeared in $(basename "$output")"; fi
done
echo "live tunnel end-to-end: passed (tunnel 127.0.0.1:$tunnel_port -> sshd 127.0.0.1:$ssh_port; listed, pinged, gated, ended, in history)"
