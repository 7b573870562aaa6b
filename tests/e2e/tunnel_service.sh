#!/usr/bin/env bash
# End to end for the tunnel_service role, real processes only. The role deploys two tunnels on localhost, with the
# emulator's SSH front as the Pinggy server: tcp to a real sshd (token only) and http to a web server (token, basic auth,
# x:https and an allow-list). The role runs with tunnel_service_manage_service: false, as where systemd is not the
# service manager (containers), and this script does systemd's part: `systemd-analyze verify` on the template unit, then
# its ExecStart for each tunnel (the instance name for %i), as the unit's User (tunnel_service_systemd.sh runs the role with
# manage_service: true under a real systemd, booted in namespaces). Then: the module lists both tunnels
# with their mode, token name and options; the inventory makes the tcp one a host that `ansible -m ping` reaches through
# the tunnel; basic auth is enforced through the http one; the gate (with the role's expectations) passes. A second run
# changes nothing; check mode with --diff changes nothing and shows no secret; a renamed tunnel's old files stay, or
# with tunnel_service_exclusive go (check mode naming them first); a per-tunnel unit of an earlier version goes (a unit
# without the role's line stays); two custom domains of an http tunnel with its own
# server reach the web server through the emulator's SSH front; state: absent removes every file and,
# the processes stopped, the gate fails. The token and the password appear in no unit, command line (ps), client log
# or Ansible output (-vvv).
# Needs PINGGY_API_URL, PINGGY_API_KEY, PINGGY_EMULATOR_URL and PINGGY_EMULATOR_SSH_PORT
# (PINGGY_EMULATOR_SSH=1 tests/utils/with_emulator.sh sets them), root (it creates a system user) and the collection
# on ANSIBLE_COLLECTIONS_PATH.
set -euo pipefail
: "${PINGGY_API_URL:?}" "${PINGGY_API_KEY:?}" "${PINGGY_EMULATOR_URL:?}" "${PINGGY_EMULATOR_SSH_PORT:?}"

# shellcheck source=tests/e2e/lib/tunnel_service.sh
source "$(dirname "$0")/lib/tunnel_service.sh"

started=$(date +%s)
work=$(mktemp -d)
chmod 0711 "$work"  # the service user reads its config below it
service_user="pinggy-e2e-$$"
pids=()
cleanup() {
  if [ ${#pids[@]} -gt 0 ]; then kill "${pids[@]}" 2>/dev/null || true; fi
  stop_sshd "$work"
  userdel "$service_user" 2>/dev/null || true
  groupdel "$service_user" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "tunnel_service end-to-end: FAILED: $*" >&2; exit 1; }
step() { echo "[$(( $(date +%s) - started )) s] $*"; }
export ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED=true ANSIBLE_LOCALHOST_WARNING=false ANSIBLE_HOST_KEY_CHECKING=true
export ANSIBLE_PIPELINING=true  # fewer temp files per task: this test runs the role four times

[ "$(id -u)" = 0 ] || fail "needs root: it creates a system user and runs ssh as that user"
ensure_openssh
command -v systemd-analyze >/dev/null 2>&1 || fail "systemd-analyze is missing (Debian package systemd; installing it starts nothing)"
start_sshd "$work"
start_web_server "$work"
emulator_reset "[]"

new_secrets e2e
pin_host_key || fail "no host key"

# tunnels.yml: the role's variables; $1 is the web tunnel's option list, $2 the state of both tunnels.
write_vars() {
  write_role_vars "$work/vars.yml" "$ssh_port" "$1" "$2" "tunnel_service_config_dir: $work/etc
tunnel_service_state_dir: $work/state
tunnel_service_unit_dir: $work/units
tunnel_service_manage_service: false"
}
web_options="[x:https, 'b:alice:$password', 'w:127.0.0.1/32']"
write_deploy_playbook "$work/deploy.yml"
write_gate_vars "$work/expected.yml" "$tcp_token" "$web_token"
deploy() { ansible-playbook "$work/deploy.yml" -e "@$work/vars.yml" "$@"; }

step "links in the state directory"
# 0. Issue 22: the service user owned the state directory (as earlier versions made it) and planted links where
# the role writes as root: symbolic links at id_ed25519 and id_ed25519.pub, and a hard link at web.known_hosts (the
# service user's own where fs.protected_hardlinks is 0; root plants it here), all to root-only files. The role must
# refuse them, take the directory back, and leave every target's owner, mode and content as it was.
useradd --system --user-group --no-create-home --home-dir "$work/state" --shell /usr/sbin/nologin "$service_user"
as_service_user() { setpriv --reuid="$service_user" --regid="$service_user" --init-groups -- "$@"; }
install -d -o "$service_user" -g "$service_user" -m 0700 "$work/state"
for target in key pub hosts; do install -o root -g root -m 0640 /dev/null "$work/root-$target"; echo "root only: $target" > "$work/root-$target"; done
as_service_user ln -s "$work/root-key" "$work/state/id_ed25519"
as_service_user ln -s "$work/root-pub" "$work/state/id_ed25519.pub"
ln "$work/root-hosts" "$work/state/web.known_hosts"
targets_before=$(stat -c '%n %U %G %a %s' "$work"/root-* && sha256sum "$work"/root-*)
write_vars "[x:https]" present
deploy > "$work/links.out" 2>&1 && { cat "$work/links.out"; fail "the role ran with links in the state directory"; }
for message in "$work/state/id_ed25519 is a symbolic link" "$work/state/id_ed25519.pub is a symbolic link" \
               "$work/state/web.known_hosts is not a regular file or has other hard links"; do
  grep -qF "tunnel_service: $message; the role writes it as root and follows no link: remove it" "$work/links.out" \
    || { cat "$work/links.out"; fail "no refusal: $message"; }
done
[ "$(stat -c '%n %U %G %a %s' "$work"/root-* && sha256sum "$work"/root-*)" = "$targets_before" ] \
  || fail "a link's target changed: $(stat -c '%n %U %G %a' "$work"/root-*)"
! grep -l "PRIVATE KEY" "$work"/root-* || fail "a private key was written to a link's target"
[ "$(stat -c '%U %a' "$work/state")" = "root 750" ] || fail "the state directory is not root's: $(stat -c '%U %a' "$work/state")"
! as_service_user ln -s "$work/root-key" "$work/state/id_ed25519.new" 2>/dev/null || fail "the service user can still plant a link"
rm -f "$work/state/id_ed25519" "$work/state/id_ed25519.pub" "$work/state/web.known_hosts"

step "scoped addresses and hostile values"
# 0b. Values with '%' (an IPv6 scope id) reach the ssh config and the unit as written and are read back exactly
# (ssh -G, systemd-analyze verify); a value with a newline stops the role before it writes anything.
scoped="$work/scoped"
write_scoped_vars() {
  cat > "$scoped.yml" <<YAML
tunnel_service_server: "fe80::2%lo"
tunnel_service_known_hosts: ["[fe80::2%lo]:443 ${host_key#* }"]
tunnel_service_user: $service_user
tunnel_service_config_dir: $scoped/etc
tunnel_service_state_dir: $scoped/state
tunnel_service_unit_dir: $scoped/units
tunnel_service_manage_service: false
tunnel_service_tunnels: [{name: scoped, mode: tcp, local_port: 22, local_host: "$1"}]
YAML
}
printf '%s\n' "- {name: Deploy one tunnel, hosts: localhost, connection: local, gather_facts: false," \
  "   roles: [pinggy.tunnels.tunnel_service]}" > "$work/scoped_play.yml"
deploy_scoped() { ansible-playbook "$work/scoped_play.yml" -e "@$scoped.yml"; }
write_scoped_vars 'fe80::1%lo'
deploy_scoped > "$work/scoped.out" 2>&1 || { cat "$work/scoped.out"; fail "the role refused a scoped address"; }
systemd-analyze verify --man=no "$scoped/units/pinggy-tunnel@.service" > "$work/verify_scoped.out" 2>&1 \
  || { cat "$work/verify_scoped.out"; fail "systemd-analyze verify failed on a scoped address"; }
[ ! -s "$work/verify_scoped.out" ] || { cat "$work/verify_scoped.out"; fail "systemd-analyze verify warned on a scoped address"; }
! grep -qF 'fe80' "$scoped/units/pinggy-tunnel@.service" || fail "a tunnel's address is in the template unit"
ssh -G -F "$scoped/etc/scoped.conf" pinggy-tunnel > "$work/scoped.G"
for line in "hostname fe80::2%lo" "remoteforward 0 [fe80::1%lo]:22" "user tcp" "userknownhostsfile $scoped/state/scoped.known_hosts"; do
  grep -qxF "$line" "$work/scoped.G" || { cat "$work/scoped.G"; fail "ssh -G does not read '$line'"; }
done
! grep -qiE '^(proxycommand|localcommand|permitlocalcommand yes)' "$work/scoped.G" || fail "ssh -G reads a command"
rm -rf "$scoped"
write_scoped_vars '::1%x]:22\n  ProxyCommand touch pwned\n  #'
deploy_scoped > "$work/hostile.out" 2>&1 && fail "the role took a local_host with a newline"
grep -qF "tunnel 'scoped': local_host must be a host name or an IP address (an IPv6 scope id only as an interface name" \
  "$work/hostile.out" || { cat "$work/hostile.out"; fail "no one-line refusal of a hostile local_host"; }
[ ! -e "$scoped" ] || fail "the role wrote files before refusing a hostile local_host: $(find "$scoped")"

step "renamed tunnels, exclusive or not"
# 0c. Issue 25: a tunnel renamed from 'old' to 'new'. With tunnel_service_exclusive false the old one's files stay;
# with true, check mode (--diff) names them and removes nothing, then a run removes exactly them (not a foreign
# .conf, not a link to a file with the role's header, not the other tunnel's files), and a second run changes nothing.
fleet="$work/fleet"
# The fleet's variables: its own directories, no service management, then the lines given ($1).
write_fleet_settings() {
  cat > "$fleet.yml" <<YAML
tunnel_service_known_hosts: ["$host_key", "[a.pinggy.io]:443 ${host_key#* }"]
tunnel_service_user: $service_user
tunnel_service_config_dir: $fleet/etc
tunnel_service_state_dir: $fleet/state
tunnel_service_unit_dir: $fleet/units
tunnel_service_manage_service: false
$1
YAML
}
write_fleet_vars() {  # $1: the tunnel's name, $2: exclusive
  write_fleet_settings "tunnel_service_exclusive: $2
tunnel_service_tunnels: [{name: keep, mode: tcp, local_port: 22}, {name: $1, mode: http, local_port: 8080}]"
}
deploy_fleet() { ansible-playbook "$work/scoped_play.yml" -e "@$fleet.yml" "$@"; }
old_files=("$fleet/etc/old.conf" "$fleet/state/old.known_hosts")
write_fleet_vars old true  # on a new host: nothing to remove, no warning
deploy_fleet > "$work/fleet1.out" 2>&1 || { cat "$work/fleet1.out"; fail "the role failed to deploy 'old'"; }
! grep -q "WARNING.*$fleet" "$work/fleet1.out" || { cat "$work/fleet1.out"; fail "exclusive warned on a new host"; }
printf '# not the role'"'"'s\nHost x\n' > "$fleet/etc/foreign.conf"
head -1 "$fleet/etc/old.conf" > "$work/headed.conf" && ln -s "$work/headed.conf" "$fleet/etc/linked.conf"
write_fleet_vars new false
deploy_fleet > "$work/fleet2.out" 2>&1 || { cat "$work/fleet2.out"; fail "the role failed to deploy 'new'"; }
for file in "${old_files[@]}" "$fleet/etc/new.conf"; do [ -f "$file" ] || fail "exclusive false: $file is missing"; done
write_fleet_vars new true
before=$(find "$fleet" | sort)
deploy_fleet --check --diff > "$work/fleet_check.out" 2>&1 || { cat "$work/fleet_check.out"; fail "exclusive check mode failed"; }
grep -qF "not in tunnel_service_tunnels, so removed (tunnel_service_exclusive): old\"" "$work/fleet_check.out" \
  || { cat "$work/fleet_check.out"; fail "check mode does not name the stale tunnel"; }
for file in "${old_files[@]}"; do
  grep -qF "\"path\": \"$file\"" "$work/fleet_check.out" || { cat "$work/fleet_check.out"; fail "--diff does not show $file going"; }
done
[ "$(find "$fleet" | sort)" = "$before" ] || fail "check mode removed files"
printf '[Service]\n' > "$fleet/units/pinggy-tunnel-old.service"  # old's unit name, but not the role's: it stays
deploy_fleet > "$work/fleet3.out" 2>&1 || { cat "$work/fleet3.out"; fail "exclusive true failed"; }
[ -e "$fleet/units/pinggy-tunnel-old.service" ] || fail "exclusive removed a unit that is not the role's"
rm "$fleet/units/pinggy-tunnel-old.service"
for file in "${old_files[@]}"; do [ ! -e "$file" ] || fail "exclusive true left $file"; done
for file in "$fleet/etc/new.conf" "$fleet/etc/keep.conf" "$fleet/units/pinggy-tunnel@.service" "$fleet/etc/foreign.conf" \
            "$fleet/etc/linked.conf" "$work/headed.conf"; do
  [ -e "$file" ] || fail "exclusive true removed $file, which is not a stale tunnel's"
done
deploy_fleet > "$work/fleet4.out" 2>&1 || { cat "$work/fleet4.out"; fail "the second exclusive run failed"; }
[ "$(changed_count "$work/fleet4.out")" -eq 0 ] || { cat "$work/fleet4.out"; fail "the second exclusive run changed something"; }
# Issue 25: a per-tunnel unit an earlier version wrote (its line names the role) goes; one without that line stays.
printf '%s\n' "# Pinggy tunnel keep (pinggy.tunnels.tunnel_service). OpenSSH is the client" "[Service]" \
  > "$fleet/units/pinggy-tunnel-keep.service"
printf '[Service]\n' > "$fleet/units/pinggy-tunnel-new.service"
deploy_fleet > "$work/fleet5.out" 2>&1 || { cat "$work/fleet5.out"; fail "the run with an earlier version's unit failed"; }
[ ! -e "$fleet/units/pinggy-tunnel-keep.service" ] || fail "the earlier version's unit of 'keep' stays"
[ -e "$fleet/units/pinggy-tunnel-new.service" ] || fail "a unit without the role's line was removed"
# A prefix whose template name is a unit that is not the role's (as user- would name systemd's user@.service): refused
# before any change, naming it.
printf '[Service]\nExecStart=/bin/true\n' > "$fleet/units/foreign@.service"
deploy_fleet -e tunnel_service_unit_prefix=foreign- > "$work/fleet6.out" 2>&1 && fail "the role overwrote a unit that is not its own"
grep -qF "tunnel_service: $fleet/units/foreign@.service exists and is not the role's template unit" "$work/fleet6.out" \
  || { cat "$work/fleet6.out"; fail "no one-line refusal of a foreign template unit"; }
[ "$(cat "$fleet/units/foreign@.service")" = "$(printf '[Service]\nExecStart=/bin/true')" ] || fail "the foreign unit changed"
[ -z "$(find "$fleet" -newer "$fleet/units/foreign@.service")" ] || fail "the role changed files before refusing"
step "custom domains and a tunnel's own server"
# 0d. Issue 25: an http tunnel with two custom domains and its own server (the emulator's, while the role's server is
# a name that must never be contacted): its ssh config forwards three times (ssh -G reads each), and each of the three
# sessions the SSH front records reaches the local web server.
domains_token="e2eDom$(python3 -c 'import secrets; print(secrets.token_hex(6))')"
write_fleet_settings "tunnel_service_server: server.invalid
tunnel_service_port: $PINGGY_EMULATOR_SSH_PORT
tunnel_service_tunnels: [{name: shop, mode: http, local_port: $web_port, token: $domains_token, server: 127.0.0.1,
                          domains: [shop.example.com, www.shop.example.com]}]"
deploy_fleet > "$work/domains.out" 2>&1 || { cat "$work/domains.out"; fail "the role refused custom domains"; }
ssh -G -F "$fleet/etc/shop.conf" pinggy-tunnel > "$work/domains.G"
for line in "hostname 127.0.0.1" "remoteforward 0 [localhost]:$web_port" "remoteforward [shop.example.com]:0 [localhost]:$web_port" \
            "remoteforward [www.shop.example.com]:0 [localhost]:$web_port"; do
  grep -qxF "$line" "$work/domains.G" || { cat "$work/domains.G"; fail "ssh -G does not read '$line'"; }
done
exec_start=$(sed -n 's/^ExecStart=//p' "$fleet/units/pinggy-tunnel@.service")
read -ra argv <<< "${exec_start//%i/shop}"
setpriv --reuid="$service_user" --regid="$service_user" --init-groups -- "${argv[@]}" < /dev/null > "$work/domains.log" 2>&1 &
pids+=($!)
forwards_reach_web_server "$domains_token" 3 || { cat "$work/domains.log"; fail "the custom domains do not reach the local server"; }
kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
rm -rf "$fleet"

step "deploy, then again"
# 1. Deploy (at -vvv), then a second run changes nothing.
write_vars "$web_options" present
deploy_and_again "$work" || fail "deploy, then again"
for file in "$work/etc/ssh.conf" "$work/etc/web.conf"; do
  [ "$(stat -c '%a %U' "$file")" = "600 $service_user" ] || fail "$file is not 0600 and owned by $service_user: $(stat -c '%a %U' "$file")"
done
grep -q "^  User $web_token+http\$" "$work/etc/web.conf" || fail "web.conf has no User line with the token"
getent passwd "$service_user" | grep -q ':/usr/sbin/nologin$' || fail "the service user has a login shell"

step "check mode"
# 2. Check mode with --diff: another option is reported as a change, nothing is written, no secret is shown.
sum_before=$(cat "$work"/etc/* "$work"/units/* | sha256sum)
write_vars "[x:https, 'b:alice:$password', 'w:127.0.0.1/32', 'x:xff']" present
deploy --check --diff > "$work/check.out" 2>&1 || { cat "$work/check.out"; fail "check mode failed"; }
[ "$(changed_count "$work/check.out")" -gt 0 ] || fail "check mode did not report the change"
[ "$(cat "$work"/etc/* "$work"/units/* | sha256sum)" = "$sum_before" ] || fail "check mode changed files"
write_vars "$web_options" present

step "verify and start the units"
# 3. systemd's part: verify the template unit, then run its ExecStart for each tunnel (%i, the instance name, is the
# tunnel's name), as its User.
units=("$work"/units/*.service)
[ "${units[*]}" = "$work/units/pinggy-tunnel@.service" ] || fail "expected the template unit only, found: ${units[*]}"
unit=${units[0]}
systemd-analyze verify --man=no "$unit" > "$work/verify.out" 2>&1 || { cat "$work/verify.out"; fail "systemd-analyze verify failed"; }
[ ! -s "$work/verify.out" ] || { cat "$work/verify.out"; fail "systemd-analyze verify warned"; }
if ! grep -q '^Restart=always$' "$unit" || ! grep -q '^NoNewPrivileges=yes$' "$unit"; then
  fail "$unit lacks Restart=always or hardening"
fi
check_no_secret "$tcp_token $web_token $password" "$unit" || fail "a secret leaked"
user=$(sed -n 's/^User=//p' "$unit"); group=$(sed -n 's/^Group=//p' "$unit"); exec_start=$(sed -n 's/^ExecStart=//p' "$unit")
for name in ssh web; do
  read -ra argv <<< "${exec_start//%i/$name}"
  setpriv --reuid="$user" --regid="$group" --init-groups -- "${argv[@]}" < /dev/null > "$work/$name.service.log" 2>&1 &
  pids+=($!)
done

# The sessions, once the web tunnel's options have arrived: their loopback ports.
tunnel_ports "$tcp_token" "$web_token" > "$work/ports" || { cat "$work"/*.service.log; fail "the tunnels did not come up"; }
read -r tcp_port http_port < "$work/ports"
echo "tunnels up: tcp 127.0.0.1:$tcp_port -> sshd :$ssh_port, http 127.0.0.1:$http_port -> web :$web_port"
for pid in "${pids[@]:1}"; do
  [ "$(ps -o user= -p "$pid")" = "$service_user" ] || fail "ssh (pid $pid) does not run as $service_user"
done
ps -eo args > "$work/ps.out"
grep -q -- "-F $work/etc/ssh.conf pinggy-tunnel" "$work/ps.out" || fail "the unit's ssh is not in the process list"

step "list and gate"
# 4. The module lists both, with mode, token name and options (the password shown as ***); the gate passes.
write_list_playbook "$work/verify.yml" "$tcp_token" "$web_token" "['x:https', 'b:alice:***', 'w:127.0.0.1/32']"
ansible-playbook "$work/verify.yml" > "$work/verify_play.out" 2>&1 || { cat "$work/verify_play.out"; fail "the module did not list the tunnels as deployed"; }
ansible-playbook pinggy.tunnels.gate -e "@$work/expected.yml" > "$work/gate_up.out" 2>&1 \
  || { cat "$work/gate_up.out"; fail "the gate failed with the tunnels up"; }

step "inventory ping, basic auth"
# 5. The inventory makes the tcp tunnel a host; SSH reaches sshd through it. Basic auth guards the http one.
trust_host_port "$tcp_port" "$work"
cat > "$work/tunnels.pinggy.yml" <<YAML
plugin: pinggy.tunnels.pinggy
token_name: [$tcp_token]
compose:
  ansible_host: "'127.0.0.1'"
  ansible_user: "'root'"
YAML
ansible -i "$work/tunnels.pinggy.yml" pinggy -m ansible.builtin.ping -e "ansible_python_interpreter=$(command -v python3)" \
  --private-key "$work/client_key" --timeout 10 \
  --ssh-common-args="-o UserKnownHostsFile=$work/known_hosts -o StrictHostKeyChecking=yes" > "$work/ping.out" 2>&1 \
  || { cat "$work/ping.out"; fail "ansible -m ping through the tunnel failed"; }
grep -q '"ping": "pong"' "$work/ping.out" || fail "no pong through the tunnel"
python3 - "$http_port" "$password" <<'PY' || fail "basic auth is not enforced through the http tunnel"
import base64, sys, urllib.error, urllib.request
port, password = sys.argv[1:]
url = f"http://127.0.0.1:{port}/index.html"
try:
    urllib.request.urlopen(url, timeout=10)
    sys.exit("answered without credentials")
except urllib.error.HTTPError as error:
    assert error.code == 401, error.code
auth = base64.b64encode(f"alice:{password}".encode()).decode()
body = urllib.request.urlopen(urllib.request.Request(url, headers={"Authorization": f"Basic {auth}"}), timeout=10).read()
assert body == b"hello through pinggy\n", body
PY

step "state: absent, gate fails"
# 6. state: absent removes every file (the template unit with the last tunnel); once the processes stop (systemd's part), the gate fails.
write_vars "$web_options" absent
deploy > "$work/absent.out" 2>&1 || { cat "$work/absent.out"; fail "state: absent failed"; }
leftover=$(find "$work/etc" "$work/units" "$work/state" -name 'ssh*' -o -name 'web*' -o -name '*.service')
[ -z "$leftover" ] || fail "state: absent left files: $leftover"
kill "${pids[@]:1}"
wait "${pids[@]:1}" 2>/dev/null || true
gate_until_fails "$work/expected.yml" "$work/gate_down.out"
[ "$rc" -eq 2 ] || { cat "$work/gate_down.out"; fail "the gate did not fail once the tunnels were removed"; }
grep -q "expected at least 1 tcp tunnel with token $tcp_token: found 0" "$work/gate_down.out" || fail "the gate's message is missing"

step "secrets"
# 7. No secret in command lines, client logs or the role's Ansible output at -vvv (units: checked in 3; the API itself
# returns token values, so the module's and the gate's output may hold the tokens, never the password).
check_no_secret "$tcp_token $web_token $password" "$work"/deploy1.out "$work"/deploy2.out "$work"/check.out \
  "$work"/absent.out "$work"/ps.out "$work"/*.service.log || fail "a secret leaked"
check_no_secret "$password $PINGGY_API_KEY" "$work"/*.out || fail "the password or the API key leaked"
echo "tunnel_service end-to-end: passed in $(( $(date +%s) - started )) s (deployed, idempotent, check mode, units verified" \
  "and run as $service_user, listed with options, pinged, basic auth enforced, gated, removed, no secret leaked)"
