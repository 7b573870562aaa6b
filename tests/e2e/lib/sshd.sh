# shellcheck shell=bash
# A real OpenSSH server on 127.0.0.1 for end-to-end scripts, with its keys and known_hosts in a temp dir.
#   source tests/e2e/lib/sshd.sh; start_sshd "$work"   # sets ssh_port; stop_sshd "$work" in the EXIT trap
# Root logs in with $work/client_key; trust_host_port PORT adds the host key for [127.0.0.1]:PORT to
# $work/known_hosts, for a tunnel port that forwards to this sshd. ping_tunnel_hosts pings, through real SSH,
# every host of a pinggy inventory source of the tunnels of token e2e.

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

ensure_openssh() {
  if [ ! -x /usr/sbin/sshd ] || ! command -v ssh >/dev/null 2>&1; then
    echo "installing openssh-server and openssh-client (Debian packages) for the SSH end-to-end tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client >/dev/null
  fi
}

start_sshd() {
  local work=$1
  ensure_openssh
  ssh_port=$(free_port)
  ssh-keygen -q -t ed25519 -N '' -C pinggy-e2e-host -f "$work/host_key"
  ssh-keygen -q -t ed25519 -N '' -C pinggy-e2e-client -f "$work/client_key"
  cp "$work/client_key.pub" "$work/authorized_keys"
  : > "$work/known_hosts"
  trust_host_port "$ssh_port" "$work"
  cat > "$work/sshd_config" <<CONFIG
ListenAddress 127.0.0.1
Port $ssh_port
HostKey $work/host_key
PidFile $work/sshd.pid
AuthorizedKeysFile $work/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
CONFIG
  mkdir -p /run/sshd
  /usr/sbin/sshd -f "$work/sshd_config" -E "$work/sshd.log"
  for _ in $(seq 1 50); do [ -s "$work/sshd.pid" ] && return 0; sleep 0.1; done
  echo "sshd did not start: $(cat "$work/sshd.log")" >&2
  return 1
}

trust_host_port() {
  echo "[127.0.0.1]:$1 $(cut -d' ' -f1,2 "$2/host_key.pub")" >> "$2/known_hosts"
}

stop_sshd() {
  if [ -s "$1/sshd.pid" ]; then kill "$(cat "$1/sshd.pid")" 2>/dev/null || true; fi
}

# ping_tunnel_hosts WORK OUTPUT: write WORK/e2e.pinggy.yml (the tunnels of token e2e, reached on loopback as
# root) and run `ansible -m ping` on its hosts with the client key, into OUTPUT; returns ansible's exit code.
ping_tunnel_hosts() {
  local work=$1 output=$2
  cat > "$work/e2e.pinggy.yml" <<'SOURCE'
plugin: pinggy.tunnels.pinggy
token_name: [e2e]
compose:
  # The emulated public names do not resolve; the tunnel ports are on loopback.
  ansible_host: "'127.0.0.1'"
  ansible_user: "'root'"
SOURCE
  ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true ANSIBLE_HOST_KEY_CHECKING=true \
    ansible -i "$work/e2e.pinggy.yml" pinggy -m ansible.builtin.ping \
      -e "ansible_python_interpreter=$(command -v python3)" --private-key "$work/client_key" --timeout 10 \
      --ssh-common-args="-o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes" > "$output" 2>&1
}
