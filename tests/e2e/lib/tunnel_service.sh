# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154  # sets tcp_token, web_token, password, web_port, host_key; reads service_user
# Pieces of the tunnel_service role's end-to-end scripts (tunnel_service.sh, tunnel_service_systemd.sh).
#   source tests/e2e/lib/tunnel_service.sh   # also sources sshd.sh, emulator.sh and gate.sh
# new_secrets PREFIX: sets tcp_token, web_token and password (random; the tokens start with PREFIX).
# start_web_server WORK: a web server on 127.0.0.1:$web_port serving WORK/www; its PID appended to pids.
# write_role_vars FILE TCP_LOCAL_PORT WEB_OPTIONS STATE [EXTRA_YAML]: the role's variables: the emulator's SSH front
# as server (host_key pinned), service_user, tunnels ssh (tcp to TCP_LOCAL_PORT, tcp_token) and web (http to web_port,
# web_token, the option list WEB_OPTIONS), both in STATE, then the lines EXTRA_YAML.
# pin_host_key: sets host_key, the emulator SSH front's host key, pinned as a user would pin a.pinggy.io's.
# write_deploy_playbook FILE [POST_TASKS]: a play that runs the role on localhost and checks the expectations it
# publishes, then the post_tasks given (YAML list items, indented four spaces).
# write_gate_vars FILE TCP_TOKEN WEB_TOKEN: the gate's variables (probing through loopback; http answers 401).
# write_list_playbook FILE TCP_TOKEN WEB_TOKEN WEB_OPTIONS_JSON: pinggy_sessions_info lists both, with the options.
# changed_count PLAY_OUTPUT: the changed= count of localhost in a play recap.
# deploy_and_again WORK: with the caller's `deploy` function (the role's play): a first run at -vvv, into
# WORK/deploy1.out, that changes something, then a second, into WORK/deploy2.out, that changes nothing.
# tunnel_ports TCP_TOKEN WEB_TOKEN [WEB_OPTION]: once both are up (the web one with its options, or with WEB_OPTION
# among them), print the tcp and the http tunnel's loopback ports.
# forwards_reach_web_server TOKEN COUNT: once the token has COUNT sessions (a tunnel's forward and one per custom
# domain), each one's loopback port serves the web server's page.
# check_no_secret "SECRET ..." FILE...: fails naming the file and lines where a secret appears.

# shellcheck source=tests/e2e/lib/sshd.sh
source "$(dirname "${BASH_SOURCE[0]}")/sshd.sh"
# shellcheck source=tests/e2e/lib/emulator.sh
source "$(dirname "${BASH_SOURCE[0]}")/emulator.sh"
# shellcheck source=tests/e2e/lib/gate.sh
source "$(dirname "${BASH_SOURCE[0]}")/gate.sh"

new_secrets() {
  tcp_token="${1}Tcp$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
  web_token="${1}Web$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
  password="Pw$(python3 -c 'import secrets; print(secrets.token_hex(8))')"
}

start_web_server() {
  mkdir -p "$1/www" && echo "hello through pinggy" > "$1/www/index.html"
  web_port=$(free_port)
  python3 -m http.server --bind 127.0.0.1 --directory "$1/www" "$web_port" > "$1/web.log" 2>&1 &
  pids+=($!)
}

write_role_vars() {
  cat > "$1" <<YAML
tunnel_service_server: 127.0.0.1
tunnel_service_port: ${PINGGY_EMULATOR_SSH_PORT:?}
tunnel_service_known_hosts: ["$host_key"]
tunnel_service_keepalive_interval: 1
tunnel_service_user: $service_user
tunnel_service_tunnels:
  - {name: ssh, mode: tcp, local_port: $2, token: $tcp_token, state: $4}
  - {name: web, mode: http, local_port: $web_port, token: $web_token, state: $4, options: $3}
${5:-}
YAML
}

pin_host_key() {
  host_key=$(ssh-keyscan -T 10 -t ed25519 -p "${PINGGY_EMULATOR_SSH_PORT:?}" 127.0.0.1 2>/dev/null | grep -v '^#' | head -n1)
  [ -n "$host_key" ] || { echo "ssh-keyscan got no host key from the SSH front" >&2; return 1; }
}

write_deploy_playbook() {
  cat > "$1" <<'YAML'
- name: Deploy the tunnels
  hosts: localhost
  connection: local
  gather_facts: false
  roles:
    - pinggy.tunnels.tunnel_service
  post_tasks:
    - name: Check the expectations the role publishes for the gate
      ansible.builtin.assert:
        that: >-
          tunnel_service_expectations in [[{'mode': 'tcp'}, {'mode': 'http'}], []]
        fail_msg: "{{ tunnel_service_expectations | to_json }}"
YAML
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" >> "$1"; fi
}

# The role's expectations, plus the token names (the emulator names a token by its value, so the role is not given
# token_name: its output must not hold the token).
write_gate_vars() {
  cat > "$1" <<YAML
assert_tunnels_expected:
  - {mode: tcp, token_name: $2}
  - {mode: http, token_name: $3}
assert_tunnels_probe: true
assert_tunnels_probe_address: 127.0.0.1
assert_tunnels_probe_status: [401]
YAML
}

write_list_playbook() {
  cat > "$1" <<YAML
- name: Check the deployed tunnels
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Read the tunnels of the two tokens
      pinggy.tunnels.pinggy_sessions_info:
        token_name: [$2, $3]
      register: listed
    - name: Check mode, token name and options
      ansible.builtin.assert:
        that:
          - listed.sessions | map(attribute='token_name') | unique | sort == ['$2', '$3'] | sort
          - by_token['$2'].mode == 'tcp' and by_token['$2'].remote_options == []
          - by_token['$3'].mode == 'http'
          - by_token['$3'].remote_options == $4
        fail_msg: "{{ listed.sessions | to_json }}"
      vars:
        by_token: "{{ dict(listed.sessions | map(attribute='token_name') | zip(listed.sessions)) }}"
YAML
}

changed_count() { sed -n 's/^localhost *: .*changed=\([0-9]*\).*/\1/p' "$1"; }

deploy_and_again() {
  deploy -vvv > "$1/deploy1.out" 2>&1 || { cat "$1/deploy1.out"; echo "the role failed" >&2; return 1; }
  [ "$(changed_count "$1/deploy1.out")" -gt 0 ] || { echo "the first run changed nothing" >&2; return 1; }
  deploy > "$1/deploy2.out" 2>&1 || { cat "$1/deploy2.out"; echo "the second run failed" >&2; return 1; }
  [ "$(changed_count "$1/deploy2.out")" = 0 ] || { cat "$1/deploy2.out"; echo "the second run changed something" >&2; return 1; }
}

tunnel_ports() {
  python3 - "${PINGGY_API_URL:?}" "$1" "$2" "${3:-}" <<'PY'
import json, os, sys, time, urllib.request
url, tcp_token, web_token, web_option = sys.argv[1:]
deadline = time.monotonic() + 20
while True:
    request = urllib.request.Request(f"{url}/session/active", headers={"Authorization": f"Bearer {os.environ['PINGGY_API_KEY']}"})
    sessions = json.load(urllib.request.urlopen(request, timeout=10))
    tcp = [s for s in sessions if s["tokenName"] == tcp_token]
    web = [s for s in sessions if s["tokenName"] == web_token and s.get("remoteOptions")
           and (not web_option or web_option in s["remoteOptions"])]
    if tcp and web:
        print(tcp[-1]["port"], web[-1]["port"])
        break
    if time.monotonic() > deadline:
        sys.exit(f"not up within 20 s: {sorted(s['tokenName'] for s in sessions)}")
    time.sleep(0.2)
PY
}

forwards_reach_web_server() {
  python3 - "${PINGGY_API_URL:?}" "$1" "$2" <<'PY'
import json, os, sys, time, urllib.request
url, token, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
deadline = time.monotonic() + 20
while True:
    request = urllib.request.Request(f"{url}/session/active", headers={"Authorization": f"Bearer {os.environ['PINGGY_API_KEY']}"})
    ports = [s["port"] for s in json.load(urllib.request.urlopen(request, timeout=10)) if s["tokenName"] == token]
    if len(ports) == count:
        break
    if time.monotonic() > deadline:
        sys.exit(f"expected {count} forwards of the tunnel, found {len(ports)}")
    time.sleep(0.2)
for port in ports:
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/index.html", timeout=10).read()
    assert body == b"hello through pinggy\n", (port, body)
PY
}

check_no_secret() {
  local secrets secret file
  read -ra secrets <<< "$1"
  shift
  for secret in "${secrets[@]}"; do
    for file in "$@"; do
      if grep -qF -- "$secret" "$file"; then
        echo "a secret appeared in $(basename "$file"), line(s)" \
          "$(grep -nF -- "$secret" "$file" | cut -d: -f1 | head -n5 | paste -sd' ')" >&2
        return 1
      fi
    done
  done
}
