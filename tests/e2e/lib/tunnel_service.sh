# shellcheck shell=bash
# Pieces of the tunnel_service role's end-to-end scripts (tunnel_service.sh, tunnel_service_systemd.sh).
#   source tests/e2e/lib/tunnel_service.sh
# pin_host_key: sets host_key, the emulator SSH front's host key, pinned as a user would pin a.pinggy.io's.
# write_deploy_playbook FILE: a play that runs the role on localhost and checks the expectations it publishes.
# write_gate_vars FILE TCP_TOKEN WEB_TOKEN: the gate's variables (probing through loopback; http answers 401).
# write_list_playbook FILE TCP_TOKEN WEB_TOKEN WEB_OPTIONS_JSON: pinggy_sessions_info lists both, with the options.
# changed_count PLAY_OUTPUT: the changed= count of localhost in a play recap.
# tunnel_ports TCP_TOKEN WEB_TOKEN [WEB_OPTION]: once both are up (the web one with its options, or with WEB_OPTION
# among them), print the tcp and the http tunnel's loopback ports.
# check_no_secret "SECRET ..." FILE...: fails naming the file and lines where a secret appears.

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
