#!/usr/bin/env bash
# The demo's main job, run inside tests/utils/with_emulator.sh. With the emulator's SSH front up and an OpenSSH
# client here, it first opens live tunnels (ssh -R, as Pinggy users do) to a local web server, deploys one more with
# the tunnel_service role (its unit's ExecStart run as written), and the gate probes them; otherwise the demo shows
# the emulator's generated tunnels. It says which.
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

# demo_service_tunnel LOCAL_PORT: the tunnel_service role deploys one tunnel (token svc) into $work/service; its unit's
# ExecStart then runs as written, %i its instance name (systemd is not PID 1 here), and the demo waits for the session.
demo_service_tunnel() {
  local host_key unit exec_start argv
  host_key=$(ssh-keyscan -T 10 -t ed25519 -p "$PINGGY_EMULATOR_SSH_PORT" 127.0.0.1 2>/dev/null | grep -v '^#' | head -n1)
  mkdir -p "$work/service"
  cat > "$work/service/vars.yml" <<YAML
demo_dir: $work/service
demo_local_port: $1
demo_ssh_port: $PINGGY_EMULATOR_SSH_PORT
demo_host_key: "$host_key"
demo_user: $(id -un)
demo_group: $(id -gn)
YAML
  ansible-playbook "$(dirname "$0")/demo_tunnel_service.yml" -e "@$work/service/vars.yml" > "$work/service/deploy.log" 2>&1 \
    || { cat "$work/service/deploy.log"; return 1; }
  unit="$work/service/units/pinggy-tunnel@.service"  # the template unit; its instance pinggy-tunnel@demo-web.service
  exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
  exec_start=${exec_start//%i/demo-web}
  read -ra argv <<< "$exec_start"
  "${argv[@]}" < /dev/null > "$work/service/ssh.log" 2>&1 &
  pids+=($!)
  python3 - "$PINGGY_API_URL" <<'PY' || { cat "$work/service/ssh.log"; return 1; }
import json, os, sys, time, urllib.request
request = urllib.request.Request(f"{sys.argv[1]}/session/active", headers={"Authorization": f"Bearer {os.environ['PINGGY_API_KEY']}"})
deadline = time.monotonic() + 15
while not any(s.get("tokenName") == "svc" and s.get("remoteOptions") for s in json.load(urllib.request.urlopen(request, timeout=10))):
    if time.monotonic() > deadline:
        sys.exit("the tunnel_service tunnel did not come up within 15 s")
    time.sleep(0.2)
PY
  echo "  tunnel_service role: pinggy-tunnel@demo-web.service (token svc, x:https w:127.0.0.1/32 in its 0600 ssh config), ExecStart: $exec_start"
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
  demo_service_tunnel "$web_port"
  # Emulated tunnels listen on loopback: the gate probes them there.
  extra_vars='{"assert_tunnels_probe": true, "assert_tunnels_probe_address": "127.0.0.1"}'
else
  echo "demo: generated FIXTURE tunnels (no OpenSSH client or no SSH front here, so no live tunnels)"
fi
report_dir="$PWD/tests/output/demo"
ansible-playbook pinggy.tunnels.demo -e "$extra_vars" -e "demo_report_dir=$report_dir"
echo "demo: the history report of the last 7 days is at $report_dir/pinggy-history.html (also .md and .json)"
