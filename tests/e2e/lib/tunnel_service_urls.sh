# shellcheck shell=bash
# shellcheck disable=SC2154  # reads tcp_token, web_token (tunnel_service_systemd.sh's) and calls its inside, unit_of and deploy
# Issue 25: public URLs without the API key, in tunnel_service_systemd.sh (after "list and gate").
#   source tests/e2e/lib/tunnel_service_urls.sh; check_debugger_urls "$work"
# check_debugger_urls WORK: deploys WORK/vars.yml with a debugger_port on both tunnels (free ports): the role reads each
# tunnel's web debugger (/urls, through the emulator's SSH front) and publishes tunnel_service_urls, printed (URLs hold no
# token); checks that they are, per tunnel, exactly the URLs Pinggy's debugger gives for the session pinggy_sessions_info
# reports for that token (tcp: its url; http: http:// and https:// of its host); feeds them to the gate as the README
# shows (an expectation per host, probed); then serves a template as the web tunnel's name (the control API replaces its
# session): the role fails with one line naming the tunnel, and nothing ran the template. Then (check_impostor_refused)
# another process holds the web tunnel's debugger_port and answers /urls with a plausible URL: the role fails with one
# line naming the tunnel and that its ssh does not hold the port, publishes nothing, and never even asks the impostor.
# Ends with WORK/vars.yml deployed again, the debugger forwards gone.

# shellcheck source=tests/e2e/lib/emulator.sh
source "$(dirname "${BASH_SOURCE[0]}")/emulator.sh"

write_urls_deploy_playbook() {
  write_deploy_playbook "$1" "    - name: Save the published URLs
      ansible.builtin.copy:
        content: \"{{ tunnel_service_urls | to_json }}\"
        dest: $2
        mode: \"0644\""
}

# FILE PUBLISHED_JSON: on the controller, the API's view of each token's tunnel against the published URLs, then the gate.
write_urls_check_playbook() {
  cat > "$1" <<YAML
- name: Check the published URLs against the API, then gate on them
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    published: "{{ lookup('ansible.builtin.file', '$2') | from_json }}"
  tasks:
    - name: Read the tunnel of each token (the restarted tunnels' sessions only)
      pinggy.tunnels.pinggy_sessions_info:
        token_name: [$tcp_token, $web_token]
      register: listed
      until: listed.sessions | map(attribute='token_name') | sort == ['$tcp_token', '$web_token'] | sort
      retries: 20
      delay: 1

    - name: The published URLs are the ones Pinggy's web debugger gives for those sessions
      ansible.builtin.assert:
        that:
          - published.keys() | sort == ['ssh', 'web']
          - published.ssh == [by_token['$tcp_token'].url]
          - published.web == ['http://' ~ by_token['$web_token'].host, by_token['$web_token'].url]
        fail_msg: "published {{ published | to_json }}; the API: {{ listed.sessions | map(attribute='url') | list | to_json }}"
      vars:
        by_token: "{{ dict(listed.sessions | map(attribute='token_name') | zip(listed.sessions)) }}"

    # The README's example: an expectation per published host, probed by the gate (here through loopback).
    - name: Expect a tunnel at each published URL's host
      ansible.builtin.set_fact:
        url_expectations: "{{ url_expectations | default([]) + [{'subdomain': item}] }}"
      loop: "{{ published.values() | flatten | map('urlsplit', 'hostname') | unique }}"

    - name: Gate on them, probing each
      ansible.builtin.include_role:
        name: pinggy.tunnels.assert_tunnels
      vars:
        assert_tunnels_expected: "{{ url_expectations }}"
        assert_tunnels_probe: true
        assert_tunnels_probe_address: 127.0.0.1
        assert_tunnels_probe_status: [401]
YAML
}

# The web tunnel's active session, or (with a second argument) that session with a template as its name; JSON on stdout.
web_session() {
  python3 - "${PINGGY_API_URL:?}" "$web_token" "${1:-}" <<'PY'
import json, os, sys, urllib.request
url, token, hostile = sys.argv[1:]
request = urllib.request.Request(f"{url}/session/active", headers={"Authorization": f"Bearer {os.environ['PINGGY_API_KEY']}"})
session = [s for s in json.load(urllib.request.urlopen(request, timeout=10)) if s["tokenName"] == token][-1]
print(json.dumps([{**session, "subdomain": "{{ lookup('pipe', 'id') }}"} if hostile else session]))
PY
}

check_debugger_urls() {
  local work=$1 original
  sed -e "s/{name: ssh,/{name: ssh, debugger_port: $(free_port),/" -e "s/{name: web,/{name: web, debugger_port: $(free_port),/" \
    "$work/vars.yml" > "$work/vars_urls.yml"
  grep -q "debugger_port: .*debugger_port: " <(tr -d '\n' < "$work/vars_urls.yml") || { echo "no debugger_port added" >&2; return 1; }
  write_urls_deploy_playbook "$work/deploy_urls.yml" "$work/urls.json"
  inside ansible-playbook "$work/deploy_urls.yml" -e "@$work/vars_urls.yml" > "$work/deploy_urls.out" 2>&1 \
    || { cat "$work/deploy_urls.out"; echo "the role did not publish the URLs" >&2; return 1; }
  echo "published tunnel_service_urls: $(cat "$work/urls.json")"
  write_urls_check_playbook "$work/urls_check.yml" "$work/urls.json"
  ansible-playbook "$work/urls_check.yml" > "$work/urls_check.out" 2>&1 \
    || { cat "$work/urls_check.out"; echo "the published URLs are not the API's, or the gate failed on them" >&2; return 1; }

  original=$(web_session)
  emulator_call POST sessions "$(web_session hostile)" > /dev/null
  inside ansible-playbook "$work/deploy_urls.yml" -e "@$work/vars_urls.yml" -e tunnel_service_urls_timeout=2 -v \
    > "$work/deploy_hostile.out" 2>&1 && { cat "$work/deploy_hostile.out"; echo "the role took a template for a URL" >&2; return 1; }
  # What the debugger served (the module never returns an answer's body): the session's name was the template.
  web_session | grep -qF "lookup('pipe', 'id')" || { echo "the hostile answer was not served" >&2; return 1; }
  emulator_call POST sessions "$original" > /dev/null
  grep -q "\"msg\": \"tunnel_service: tunnel 'web': no public URL from its web debugger (127.0.0.1:[0-9]*/urls) within 2 s (no public URL in the answer); " \
    "$work/deploy_hostile.out" || { cat "$work/deploy_hostile.out"; echo "no one-line failure naming the web tunnel" >&2; return 1; }
  if grep -q "uid=[0-9]" "$work/deploy_hostile.out"; then echo "the hostile answer was templated" >&2; return 1; fi
  echo "a template as the tunnel's name: $(grep -o "tunnel_service: tunnel 'web': no public URL[^\"]*" "$work/deploy_hostile.out" | head -n1)"

  check_impostor_refused "$work" || return 1
  deploy > "$work/deploy_urls_off.out" 2>&1 || { cat "$work/deploy_urls_off.out"; echo "the run without debugger ports failed" >&2; return 1; }
}

# An HTTP server answering every GET /urls with a plausible Pinggy URL, logging each request it gets to $2.
write_impostor() {
  cat > "$1" <<'PY'
import http.server, sys
port, log = int(sys.argv[1]), sys.argv[2]
class Impostor(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log, "a") as requests:
            print(self.path, file=requests)
        body = b'{"urls": ["https://impostor.a.free.pinggy.link"]}'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", port), Impostor).serve_forever()
PY
}

# check_impostor_refused WORK: a process that is not the web tunnel's ssh (a transient unit of the namespace's systemd)
# holds a free port; WORK/vars_urls.yml with that port as the web tunnel's debugger_port must fail with one line naming
# the web tunnel and the impostor's pid, publish nothing, and not ask the impostor at all. The impostor is stopped
# afterwards (the web tunnel's ssh, which cannot listen there, keeps restarting until the next deploy).
check_impostor_refused() {
  local work=$1 port impostor="pinggy-e2e-impostor-$$.service" unit line impostor_pid
  port=$(free_port)
  unit=$(unit_of web)
  sed -e "s/{name: web, debugger_port: [0-9]*,/{name: web, debugger_port: $port,/" "$work/vars_urls.yml" > "$work/vars_impostor.yml"
  grep -q "{name: web, debugger_port: $port," "$work/vars_impostor.yml" || { echo "no debugger_port replaced" >&2; return 1; }
  write_impostor "$work/impostor.py"
  rm -f "$work/impostor.log" "$work/urls.json"
  inside systemd-run --quiet --unit "$impostor" "$(python3 -c 'import sys; print(sys.executable)')" "$work/impostor.py" "$port" "$work/impostor.log"
  # Up when it accepts a connection (which sends no request, so the log stays empty).
  python3 - "$port" <<'PY' || { echo "the impostor did not come up" >&2; return 1; }
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
PY
  impostor_pid=$(inside systemctl show -p MainPID --value "$impostor")
  inside ansible-playbook "$work/deploy_urls.yml" -e "@$work/vars_impostor.yml" -e tunnel_service_urls_timeout=3 \
    > "$work/deploy_impostor.out" 2>&1 && { cat "$work/deploy_impostor.out"; inside systemctl stop "$impostor"; echo "the role took the impostor's answer" >&2; return 1; }
  inside systemctl stop "$impostor"
  line=$(grep -o "\"msg\": \"tunnel_service: tunnel 'web': no public URL from its web debugger (127.0.0.1:$port/urls) within 3 s ([^\"]*" \
    "$work/deploy_impostor.out") || { cat "$work/deploy_impostor.out"; echo "no one-line failure naming the web tunnel" >&2; return 1; }
  # The last try saw the impostor holding the port while the tunnel's ssh ran, or between two of its restarts (it
  # cannot listen there): either way the impostor is named by its pid.
  grep -Eq "\((port $port on 127.0.0.1 is held by another process \(pid $impostor_pid\), not $unit's ssh \(pid [0-9]+\)|$unit is not running; port $port on 127.0.0.1 is held by another process \(pid $impostor_pid\))\);" \
    <<< "$line" || { echo "$line"; echo "the failure does not name the impostor (pid $impostor_pid) on the port" >&2; return 1; }
  if grep -q "tunnel 'ssh'" <<< "$line"; then echo "$line"; echo "the ssh tunnel failed too" >&2; return 1; fi
  if [ -e "$work/urls.json" ] || grep -q "impostor.a.free" "$work/deploy_impostor.out"; then
    echo "the impostor's URL was published" >&2; return 1
  fi
  [ ! -s "$work/impostor.log" ] || { echo "the impostor was asked: $(cat "$work/impostor.log")" >&2; return 1; }
  echo "another process on the web tunnel's debugger_port: ${line#\"msg\": \"}"
}
