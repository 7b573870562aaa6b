#!/usr/bin/env bash
# End to end, real processes only: an OpenSSH server on loopback stands behind a tcp tunnel registered in the
# emulator; the pinggy inventory turns the tunnel into a host and `ansible -m ping` reaches sshd through real SSH.
# A second tunnel points at a closed port and must be reported unreachable.
# Needs PINGGY_API_URL, PINGGY_API_KEY and PINGGY_EMULATOR_URL (tests/utils/with_emulator.sh sets them).
set -euo pipefail
: "${PINGGY_API_URL:?}" "${PINGGY_API_KEY:?}" "${PINGGY_EMULATOR_URL:?}"

# shellcheck source=tests/e2e/lib/sshd.sh
source "$(dirname "$0")/lib/sshd.sh"
# shellcheck source=tests/e2e/lib/emulator.sh
source "$(dirname "$0")/lib/emulator.sh"

work=$(mktemp -d)
cleanup() {
  stop_sshd "$work"
  rm -rf "$work"
}
trap cleanup EXIT

start_sshd "$work"
closed_port=$(free_port)

# The tunnels, as Pinggy would list them: the ports are the loopback ports behind them.
emulator_reset "[{\"id\": \"e2e-up\", \"subdomain\": \"ssh-up.a.pinggy.link\", \"mode\": \"tcp\", \"port\": $ssh_port, \"tokenName\": \"e2e\"},
                {\"id\": \"e2e-down\", \"subdomain\": \"ssh-down.a.pinggy.link\", \"mode\": \"tcp\", \"port\": $closed_port, \"tokenName\": \"e2e\"}]"

rc=0
ping_tunnel_hosts "$work" "$work/ping.out" || rc=$?
cat "$work/ping.out"

fail() { echo "SSH end-to-end: FAILED: $*" >&2; exit 1; }
# ansible exits 4 when a host is unreachable: the closed port must be, the sshd one must not.
[ "$rc" -eq 4 ] || fail "ansible exited $rc, expected 4 (one host unreachable)"
grep -q '^ssh-up.a.pinggy.link | SUCCESS' "$work/ping.out" || fail "ssh-up.a.pinggy.link was not pinged through sshd"
grep -q '"ping": "pong"' "$work/ping.out" || fail "no pong from ssh-up.a.pinggy.link"
grep -q '^ssh-down.a.pinggy.link | UNREACHABLE' "$work/ping.out" || fail "ssh-down.a.pinggy.link was not reported unreachable"
grep -q "Accepted publickey for root" "$work/sshd.log" || fail "sshd never accepted the client's key"
if grep -qF "$PINGGY_API_KEY" "$work/ping.out"; then fail "the API key appeared in the output"; fi
echo "SSH end-to-end: passed (ping through sshd on 127.0.0.1:$ssh_port, closed port $closed_port unreachable)"
