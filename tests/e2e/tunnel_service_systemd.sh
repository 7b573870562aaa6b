#!/usr/bin/env bash
# End to end for the tunnel_service role with tunnel_service_manage_service: true, under a real systemd. This machine
# has no systemd as PID 1, so lib/systemd_ns.sh boots one as PID 1 of its own PID, mount and UTS namespaces (sharing
# the network: the emulator's SSH front stays on 127.0.0.1), fenced off from the host first (own /tmp, /var/tmp, /run,
# /dev, /etc/systemd; no tmpfiles rule; a minimal target; see lib/systemd_ns_init.sh), with sentinel files in the real
# /tmp and /var/tmp checked after the boot and after the teardown. The role and systemctl run inside the namespace.
# A host as an earlier version deployed it (one unit per tunnel, running) moves to the template unit: each tunnel
# restarted once, as an instance of the template, no old unit or link left. The role deploys two tunnels (tcp, and http
# with basic auth, x:https and an allow-list) to a local web server: its instances start (as the service user,
# enabled); a second run changes nothing; a changed option restarts that unit only; a killed ssh is restarted by
# systemd (Restart=always); pinggy_sessions_info lists both with their options and the gate passes. Then, issue 25:
# with a debugger_port each, the URLs the role publishes are the API's and gate (lib/tunnel_service_urls.sh), a
# template served as a name is refused, another process holding a debugger_port is not believed; behind an HTTP CONNECT proxy (Debian's tinyproxy on loopback, lib/proxy.sh)
# the web tunnel goes through it (its log, the unit's nc, the page) and the ssh one (proxy: none) does not; an http
# tunnel with two custom domains forwards three times, each reaching the web server; without exclusive an unlisted
# tunnel keeps running, with it a renamed tunnel's old instance and the unlisted one go (the other keeps running);
# state: absent stops, disables and removes them (the template unit too), and the gate then fails. The tokens and the
# password appear in no unit file, `systemctl show`, process list, journal, proxy log or role output (-vvv).
# Needs PINGGY_API_URL, PINGGY_API_KEY, PINGGY_EMULATOR_URL and PINGGY_EMULATOR_SSH_PORT
# (PINGGY_EMULATOR_SSH=1 tests/utils/with_emulator.sh sets them), root, and the collection on ANSIBLE_COLLECTIONS_PATH.
set -euo pipefail
: "${PINGGY_API_URL:?}" "${PINGGY_API_KEY:?}" "${PINGGY_EMULATOR_URL:?}" "${PINGGY_EMULATOR_SSH_PORT:?}"

# shellcheck source=tests/e2e/lib/systemd_ns.sh
source "$(dirname "$0")/lib/systemd_ns.sh"
# shellcheck source=tests/e2e/lib/tunnel_service.sh
source "$(dirname "$0")/lib/tunnel_service.sh"
# shellcheck source=tests/e2e/lib/tunnel_service_urls.sh
source "$(dirname "$0")/lib/tunnel_service_urls.sh"
# shellcheck source=tests/e2e/lib/proxy.sh
source "$(dirname "$0")/lib/proxy.sh"

started=$(date +%s)
work=$(mktemp -d)
chmod 0711 "$work"
service_user="pinggy-e2e-sd-$$"
unit_prefix="pinggy-e2e-$$-"
pids=()
cleanup() {
  local rc=$?
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
  systemd_ns_teardown "$service_user" "$work" || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP  # the EXIT trap stops the namespace's systemd
fail() { echo "tunnel_service under systemd, end-to-end: FAILED: $*" >&2; exit 1; }
step() { echo "[$(( $(date +%s) - started )) s] $*"; }
export ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_PIPELINING=true
inside() { systemd_ns_run "$@"; }
unit_of() { echo "${unit_prefix%-}@$1.service"; }  # a tunnel's instance of the template unit
show() { inside systemctl show --value -p "$2" "$(unit_of "$1")"; }

systemd_ns_prerequisites || fail "the prerequisites are missing (see above)"
# Paths the namespace hides (its own /tmp, /var/tmp, /run) that ansible needs there: carried in, read-only. Those are
# the collections and the whole virtualenv ansible-playbook runs from (bin/ alone has no site-packages): a clone
# under /tmp, as CI makes, has its .venv there.
IFS=: read -ra collection_paths <<< "${ANSIBLE_COLLECTIONS_PATH:-}"
mapfile -t carry < <(systemd_ns_hidden "${collection_paths[@]}" "$(dirname "$(dirname "$(command -v ansible-playbook)")")")

step "boot systemd in a namespace"
systemd_ns_boot "$work" "${carry[@]}" || fail "systemd could not boot in a namespace on this machine (see above)"
start_web_server "$work"
emulator_reset "[]"
pin_host_key || fail "no host key"

new_secrets e2eSd
all_secrets="$tcp_token $web_token $password"
# The role's defaults but for: the server, a fast restart, and its files in the namespace's /run (so nothing it writes
# lands on the host's disk: the units go to /etc/systemd/system, the namespace's tmpfs); $1: the web tunnel's options,
# $2: the state of both.
write_vars() {
  write_role_vars "$work/vars.yml" "$web_port" "$1" "$2" "tunnel_service_restart_sec: 1
tunnel_service_config_dir: /run/pinggy-e2e/etc
tunnel_service_state_dir: /run/pinggy-e2e/state
tunnel_service_unit_prefix: $unit_prefix"
}
write_deploy_playbook "$work/deploy.yml"
write_gate_vars "$work/expected.yml" "$tcp_token" "$web_token"
deploy() { inside ansible-playbook "$work/deploy.yml" -e "@$work/vars.yml" "$@"; }
# deploy_legacy WORK: the host as an earlier version left it (tests/e2e/lib/legacy_tunnel.service.j2): the files
# written, one unit per tunnel, enabled and started; no template unit.
deploy_legacy() {
  cat > "$1/legacy.yml" <<YAML
- name: Deploy the tunnels as an earlier version did
  hosts: localhost
  connection: local
  gather_facts: false
  vars: {tunnel_service_manage_service: false}
  roles: [pinggy.tunnels.tunnel_service]
  tasks:
    - name: Remove the template unit
      ansible.builtin.file: {path: "{{ tunnel_service_deployed[0].unit_file }}", state: absent}
    - name: Write one unit per tunnel
      ansible.builtin.template: {src: "$(cd "$(dirname "$0")" && pwd)/lib/legacy_tunnel.service.j2", dest: "{{ item.legacy_unit_file }}", mode: "0644"}
      loop: "{{ tunnel_service_deployed }}"
    - name: Start them
      ansible.builtin.systemd_service: {name: "{{ item.legacy_unit }}", state: started, enabled: true, daemon_reload: true}
      loop: "{{ tunnel_service_deployed }}"
YAML
  inside ansible-playbook "$1/legacy.yml" -e "@$1/vars.yml" > "$1/legacy.out" 2>&1 || { cat "$1/legacy.out"; return 1; }
}

step "a host deployed by an earlier version: one unit per tunnel, running"
write_vars "[x:https, 'b:alice:$password', 'w:127.0.0.1/32']" present
deploy_legacy "$work" || fail "the earlier version's units did not start"
tunnel_ports "$tcp_token" "$web_token" > /dev/null || { inside journalctl --no-pager -n 50 || true; fail "the earlier version's tunnels did not come up"; }

step "deploy (the tunnels move to the template unit: one restart each), then again"
deploy_and_again "$work" || fail "deploy, then again"
left=$(inside sh -c "ls /etc/systemd/system/$unit_prefix* /etc/systemd/system/multi-user.target.wants/$unit_prefix* 2>/dev/null; systemctl list-units --all --no-legend '$unit_prefix*'" || true)
[ -z "$left" ] || fail "the earlier version's units are left: $left"
for name in ssh web; do
  inside systemctl is-active --quiet "$(unit_of "$name")" \
    || { inside systemctl status --no-pager "$(unit_of "$name")" || true; fail "$name's unit is not active"; }
  [ "$(inside systemctl is-enabled "$(unit_of "$name")")" = enabled ] || fail "$name's unit is not enabled"
  [ "$(inside journalctl --no-pager -o cat -u "$unit_prefix$name.service" | grep -c '^Stopped')" = 1 ] \
    || fail "$name's earlier unit was not stopped once"
  [ "$(inside journalctl --no-pager -o cat -u "$(unit_of "$name")" | grep -c '^Started')" = 1 ] \
    || fail "$name's instance was not started once"
  [ "$(inside ps -o user= -p "$(show "$name" MainPID)")" = "$service_user" ] || fail "$name's ssh does not run as $service_user"
done
ports=$(tunnel_ports "$tcp_token" "$web_token") || { inside journalctl --no-pager -n 50 || true; fail "the tunnels did not come up"; }
echo "tunnels up through systemd (tcp, http: $ports)"

step "a changed option restarts that unit only; a killed ssh comes back"
ssh_invocation=$(show ssh InvocationID); web_invocation=$(show web InvocationID)
web_options="[x:https, 'b:alice:$password', 'w:127.0.0.1/32', 'x:xff']"
write_vars "$web_options" present
deploy > "$work/deploy3.out" 2>&1 || { cat "$work/deploy3.out"; fail "the run with a changed option failed"; }
grep -q "RUNNING HANDLER \[pinggy.tunnels.tunnel_service : Restart the changed Pinggy tunnels\]" "$work/deploy3.out" \
  || fail "no restart handler ran"
[ "$(show web InvocationID)" != "$web_invocation" ] || fail "the web unit was not restarted"
[ "$(show ssh InvocationID)" = "$ssh_invocation" ] || fail "the ssh unit was restarted for the web tunnel's change"
tunnel_ports "$tcp_token" "$web_token" x:xff > /dev/null || fail "the restarted tunnel did not come back with x:xff"
ssh_pid=$(show ssh MainPID)
inside kill -KILL "$ssh_pid"
for _ in $(seq 1 50); do
  new_pid=$(show ssh MainPID)
  [ "$new_pid" != 0 ] && [ "$new_pid" != "$ssh_pid" ] && [ "$(show ssh ActiveState)" = active ] && break
  sleep 0.1
done
if [ "$(show ssh NRestarts)" -lt 1 ] || [ "$(show ssh ActiveState)" != active ]; then
  fail "systemd did not restart the killed ssh"
fi
read -r tcp_port http_port <<< "$(tunnel_ports "$tcp_token" "$web_token" x:xff)" || fail "the tcp tunnel did not come back"
echo "restarted: tcp 127.0.0.1:$tcp_port, http 127.0.0.1:$http_port"

step "list and gate"
write_list_playbook "$work/list.yml" "$tcp_token" "$web_token" "['x:https', 'b:alice:***', 'w:127.0.0.1/32', 'x:xff']"
ansible-playbook "$work/list.yml" > "$work/list.out" 2>&1 || { cat "$work/list.out"; fail "the module did not list the tunnels as deployed"; }
ansible-playbook pinggy.tunnels.gate -e "@$work/expected.yml" > "$work/gate_up.out" 2>&1 \
  || { cat "$work/gate_up.out"; fail "the gate failed with the tunnels up"; }
# What a secret must not be in, captured while the units run: their files, systemctl show, every process, the journal.
inside sh -c "cat /etc/systemd/system/${unit_prefix%-}@.service" > "$work/units.txt"
for name in ssh web; do inside systemctl show "$(unit_of "$name")"; done > "$work/show.txt"
ps -eo args > "$work/ps.txt"
grep -q -- "-F /run/pinggy-e2e/etc/web.conf pinggy-tunnel" "$work/ps.txt" || fail "the unit's ssh is not in the process list"

step "public URLs without the API key (debugger_port): published as the API reports them, gated; a template refused; an impostor on the port not believed"
check_debugger_urls "$work" || fail "the public URLs from the web debuggers"

step "through an HTTP CONNECT proxy (tinyproxy): the web tunnel goes through it, the ssh one (proxy: none) does not"
proxy_carries_tunnel || fail "the proxy does not carry the tunnel"

step "two custom domains on an http tunnel; without exclusive, a tunnel no longer listed keeps running"
# Issue 25: a third tunnel, shop, with two Pro custom domains: three forwards, each reaching the web server. Then the
# list without it and tunnel_service_exclusive false: shop's instance is left running (the rename below removes it).
domains_token="e2eSdDom$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
all_secrets="$all_secrets $domains_token"
sed -e "/- {name: web,/a\\  - {name: shop, mode: http, local_port: $web_port, token: $domains_token, domains: [shop.example.com, www.shop.example.com]}" \
  "$work/vars.yml" > "$work/vars_domains.yml"
printf '%s\n' "- {name: Deploy three tunnels, hosts: localhost, connection: local, gather_facts: false," \
  "   roles: [pinggy.tunnels.tunnel_service]}" > "$work/deploy_three.yml"
inside ansible-playbook "$work/deploy_three.yml" -e "@$work/vars_domains.yml" > "$work/deploy_domains.out" 2>&1 \
  || { cat "$work/deploy_domains.out"; fail "the run with custom domains failed"; }
forwards_reach_web_server "$domains_token" 3 || { inside journalctl --no-pager -n 30 -u "$(unit_of shop)" || true; fail "the custom domains do not reach the web server"; }
deploy > "$work/deploy_unlisted.out" 2>&1 || { cat "$work/deploy_unlisted.out"; fail "the run without shop failed"; }
inside systemctl is-active --quiet "$(unit_of shop)" || fail "without exclusive, the unlisted tunnel was stopped"

step "a renamed tunnel with exclusive: the old unit stops and goes, the other keeps running"
# Issue 25: web renamed to site (the same token: its first connection may be refused until the old one stops, and
# systemd's restart brings it up).
ssh_invocation=$(show ssh InvocationID)
sed -e 's/{name: web,/{name: site,/' "$work/vars.yml" > "$work/vars_renamed.yml"
echo "tunnel_service_exclusive: true" >> "$work/vars_renamed.yml"
inside ansible-playbook "$work/deploy.yml" -e "@$work/vars_renamed.yml" > "$work/rename.out" 2>&1 \
  || { cat "$work/rename.out"; fail "the run with the renamed tunnel failed"; }
grep -qF "not in tunnel_service_tunnels, so removed (tunnel_service_exclusive): shop, web\"" "$work/rename.out" \
  || { cat "$work/rename.out"; fail "the run does not name the removed tunnel"; }
if inside systemctl is-active --quiet "$(unit_of web)"; then fail "the old unit still runs"; fi
left=$(inside sh -c "ls /etc/systemd/system/multi-user.target.wants/$(unit_of web) /run/pinggy-e2e/etc/web.conf /run/pinggy-e2e/state/web.known_hosts 2>/dev/null" || true)
[ -z "$left" ] || fail "exclusive left the old tunnel's files: $left"
[ "$(inside systemctl is-enabled "$(unit_of site)")" = enabled ] || fail "the renamed unit is not enabled"
tunnel_ports "$tcp_token" "$web_token" x:xff > /dev/null || { inside journalctl --no-pager -n 30 || true; fail "the renamed tunnel did not come up"; }
inside systemctl is-active --quiet "$(unit_of site)" || fail "the renamed unit is not active"
[ "$(show ssh InvocationID)" = "$ssh_invocation" ] || fail "the ssh unit was restarted by the rename"

step "state: absent (exclusive: the renamed one too), gate fails"
write_vars "$web_options" absent
echo "tunnel_service_exclusive: true" >> "$work/vars.yml"
deploy > "$work/absent.out" 2>&1 || { cat "$work/absent.out"; fail "state: absent failed"; }
for name in ssh web; do
  if inside systemctl is-active --quiet "$(unit_of "$name")"; then fail "$name's unit still runs"; fi
done
left=$(inside sh -c "systemctl list-unit-files --no-legend '${unit_prefix%-}*'; find /etc/systemd/system /run/pinggy-e2e -name '${unit_prefix%-}*' -o -name '*.conf' -o -name '*known_hosts*'")
[ -z "$left" ] || fail "state: absent left: $left"
gate_until_fails "$work/expected.yml" "$work/gate_down.out"
[ "$rc" -eq 2 ] || { cat "$work/gate_down.out"; fail "the gate did not fail once the tunnels were removed"; }
grep -q "expected at least 1 tcp tunnel with token $tcp_token: found 0" "$work/gate_down.out" || fail "the gate's message is missing"

step "secrets, teardown"
inside journalctl --no-pager -o verbose > "$work/journal.txt"
grep -q "Started.*Pinggy tunnel web" "$work/journal.txt" || fail "the journal does not show the units"
check_no_secret "$all_secrets" "$work"/deploy*.out "$work"/rename.out "$work"/absent.out "$work"/units.txt "$work"/show.txt "$work"/ps.txt \
  "$work"/journal.txt "$work"/legacy.out || fail "a secret leaked"
check_no_secret "$password $PINGGY_API_KEY" "$work"/*.out || fail "the password or the API key leaked"
systemd_ns_stop || fail "the namespace's teardown"
for path in /etc/systemd/system/"${unit_prefix%-}"* /etc/systemd/system/multi-user.target.wants/"${unit_prefix%-}"* /run/pinggy-e2e; do
  [ ! -e "$path" ] || fail "$path is on the host"
done
echo "tunnel_service under systemd, end-to-end: passed in $(( $(date +%s) - started )) s (booted, moved from per-tunnel units, units started as" \
  "$service_user and enabled, idempotent, restarted one unit, survived a killed ssh, listed, gated, URLs published as the" \
  "API's, through a proxy, two custom domains, exclusive or not, stopped and removed," \
  "no secret leaked, nothing left on the host)"
