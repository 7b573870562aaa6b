# shellcheck shell=bash
# open_tunnel USER LOCAL_PORT LOG: open a tunnel as a Pinggy user does, `ssh -N -R0:localhost:LOCAL_PORT USER@127.0.0.1`,
# through the emulator's SSH front ($PINGGY_EMULATOR_SSH_PORT; it needs no key), the client's output in LOG.
# Sets tunnel_pid (the ssh client, also when opening fails) and tunnel_port (the allocated loopback port);
# returns 1, with the client's output on stderr, when no port is allocated within 10 s.
open_tunnel() {
  local user=$1 local_port=$2 log=$3
  ssh -p "$PINGGY_EMULATOR_SSH_PORT" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
    -o ExitOnForwardFailure=yes -N -R "0:localhost:$local_port" "$user@127.0.0.1" > "$log" 2>&1 &
  tunnel_pid=$!
  tunnel_port=""
  for _ in $(seq 1 100); do
    tunnel_port=$(sed -n 's/^Allocated port \([0-9]*\) for remote forward.*/\1/p' "$log")
    [ -n "$tunnel_port" ] && return 0
    kill -0 "$tunnel_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "the tunnel $user -> 127.0.0.1:$local_port did not open: $(cat "$log")" >&2
  return 1
}
