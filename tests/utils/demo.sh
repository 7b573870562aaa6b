#!/usr/bin/env bash
# The demo's main job, run inside tests/utils/with_emulator.sh. With the emulator's SSH front up and an OpenSSH
# client here, it first opens live tunnels (ssh -R, as Pinggy users do) to a local web server, and the gate
# probes them; otherwise the demo shows the emulator's generated tunnels. It says which.
set -euo pipefail
work=$(mktemp -d)
pids=()
cleanup() {
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# shellcheck source=tests/utils/ssh_tunnel.sh
source "$(dirname "$0")/ssh_tunnel.sh"

# demo_tunnel USER LOCAL_PORT: open_tunnel, with the client stopped at exit and the tunnel shown.
demo_tunnel() {
  local status=0
  open_tunnel "$1" "$2" "$work/tunnel-${#pids[@]}.log" || status=$?
  pids+=("$tunnel_pid")
  [ "$status" -eq 0 ] && echo "  $1 -> 127.0.0.1:$2 through the tunnel port $tunnel_port"
  return "$status"
}

extra_vars='{}'
if [ -n "${PINGGY_EMULATOR_SSH_PORT:-}" ] && command -v ssh >/dev/null 2>&1; then
  echo "demo: LIVE tunnels - OpenSSH clients connected to the emulator's SSH front (127.0.0.1:$PINGGY_EMULATOR_SSH_PORT)"
  python3 -m http.server --bind 127.0.0.1 --directory "$work" 0 > "$work/web.log" 2>&1 &
  pids+=($!)
  web_port=""
  for _ in $(seq 1 100); do
    web_port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$work/web.log" | head -n1)
    [ -n "$web_port" ] && break
    sleep 0.1
  done
  [ -n "$web_port" ] || { echo "the demo web server did not start" >&2; exit 1; }
  demo_tunnel web+http "$web_port"
  demo_tunnel db+tcp "$web_port"
  demo_tunnel ci+tcp "$web_port"
  # Emulated tunnels listen on loopback: the gate probes them there.
  extra_vars='{"assert_tunnels_probe": true, "assert_tunnels_probe_address": "127.0.0.1"}'
else
  echo "demo: generated FIXTURE tunnels (no OpenSSH client or no SSH front here, so no live tunnels)"
fi
report_dir="$PWD/tests/output/demo"
ansible-playbook pinggy.tunnels.demo -e "$extra_vars" -e "demo_report_dir=$report_dir"
echo "demo: the history report of the last 7 days is at $report_dir/pinggy-history.html (also .md and .json)"
