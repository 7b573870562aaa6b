# shellcheck shell=bash
# shellcheck disable=SC2154  # reads the calling script's work, service_user, tcp_token, web_token, password, all_secrets
# An HTTP CONNECT proxy on loopback for the tunnel_service end-to-end scripts: Debian's tinyproxy (a maintained proxy,
# not one written for the test), run in the foreground from the test's work dir, as nobody.
#   source tests/e2e/lib/proxy.sh
# ensure_tinyproxy: installs tinyproxy-bin (the executable only: no service starts) where tinyproxy is missing.
# start_tinyproxy WORK CONNECT_PORT: tinyproxy on 127.0.0.1:$proxy_port, allowing 127.0.0.1 and CONNECT to
# CONNECT_PORT only, logging each connection and request to $proxy_log (WORK/tinyproxy.log); its PID appended to pids.
# proxy_requests FROM_LINE PORT: how many CONNECT 127.0.0.1:PORT requests $proxy_log holds after line FROM_LINE.
# proxy_carries_tunnel: the proxy step of tunnel_service_systemd.sh, with its `inside` and `show` helpers and the tunnels
# up: the role redeployed with tunnel_service_proxy (the web tunnel through tinyproxy, the ssh one `proxy: none`).

proxy_port=""
proxy_log=""

ensure_tinyproxy() {
  if ! command -v tinyproxy >/dev/null 2>&1; then
    echo "installing tinyproxy-bin (Debian package; the executable only, it starts no service) for the proxy step"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq tinyproxy-bin >/dev/null
  fi
}

start_tinyproxy() {
  proxy_port=$(free_port)
  proxy_log="$1/tinyproxy.log"
  cat > "$1/tinyproxy.conf" <<CONF
Port $proxy_port
Listen 127.0.0.1
Timeout 600
MaxClients 20
Allow 127.0.0.1
ConnectPort $2
LogFile "$proxy_log"
LogLevel Connect
CONF
  install -m 0600 -o nobody /dev/null "$proxy_log"
  setpriv --reuid=nobody --regid=nogroup --clear-groups -- tinyproxy -d -c "$1/tinyproxy.conf" > "$1/tinyproxy.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 1 50); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$proxy_port") 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  cat "$1/tinyproxy.out" >&2
  echo "tinyproxy did not listen on 127.0.0.1:$proxy_port" >&2
  return 1
}

proxy_requests() {
  tail -n "+$(( $1 + 1 ))" "$proxy_log" | grep -c "Request (file descriptor [0-9]*): CONNECT 127.0.0.1:$2 HTTP/" || true
}

# The web tunnel answers through the proxy: its session is up, and the page comes back with basic auth.
proxy_fetch_page() {
  python3 - "${PINGGY_API_URL:?}" "$web_token" "$password" <<'PY'
import base64, json, os, sys, time, urllib.request
url, token, password = sys.argv[1:]
auth = base64.b64encode(f"alice:{password}".encode()).decode()
deadline = time.monotonic() + 20
while True:
    request = urllib.request.Request(f"{url}/session/active", headers={"Authorization": f"Bearer {os.environ['PINGGY_API_KEY']}"})
    ports = [s["port"] for s in json.load(urllib.request.urlopen(request, timeout=10)) if s["tokenName"] == token]
    try:
        page = urllib.request.Request(f"http://127.0.0.1:{ports[-1]}/index.html", headers={"Authorization": f"Basic {auth}"})
        if urllib.request.urlopen(page, timeout=5).read() == b"hello through pinggy\n":
            break
    except (IndexError, OSError):
        pass
    if time.monotonic() > deadline:
        sys.exit("the web tunnel did not answer through the proxy within 20 s")
    time.sleep(0.2)
PY
}

# proxy_run_as_service_user NAME COMMAND...: COMMAND as a transient service of the service user (as the units run,
# SHELL and all), its output printed once it has ended (systemd-run --wait needs a D-Bus the namespace has not).
proxy_run_as_service_user() {
  local unit="pinggy-proxy-check-$$-$1.service" state=""
  shift
  inside systemd-run --quiet --unit="$unit" -p User="$service_user" -p RemainAfterExit=yes -p RuntimeMaxSec=30 -- "$@" || return 1
  for _ in $(seq 1 300); do
    state=$(inside systemctl show --value -p SubState "$unit")
    case "$state" in exited|failed) break ;; esac
    sleep 0.1
  done
  inside journalctl --no-pager -o cat -u "$unit"
  inside systemctl stop "$unit" 2>/dev/null || true
  inside systemctl reset-failed "$unit" 2>/dev/null || true
  case "$state" in exited|failed) ;; *) echo "$unit did not end within 30 s" >&2; return 1 ;; esac
}

# Why the unit pins Environment=SHELL=/bin/sh: ssh runs the ProxyCommand through $SHELL, and systemd sets SHELL from
# the service user's passwd entry - unless it is a placeholder such as nologin (systemd 252 here leaves it unset, and ssh
# falls back to /bin/sh), which older systemd versions or a user of another shell would not. Checked here: what this
# systemd gives the service user (printed), that with SHELL=nologin ssh never reaches the proxy, and the units' SHELL.
proxy_check_shell() {
  local config=$1 from shell
  # shellcheck disable=SC2016  # $SHELL is the transient unit's, expanded by its sh ($$: systemd expands $ in ExecStart)
  proxy_run_as_service_user shell sh -c 'echo "SHELL=$${SHELL-(unset)}"' > "$work/proxy_shell.out" || return 1
  shell=$(sed -n 's/^SHELL=//p' "$work/proxy_shell.out")
  [ -n "$shell" ] || { cat "$work/proxy_shell.out" >&2; echo "no SHELL line from the service user's unit" >&2; return 1; }
  from=$(wc -l < "$proxy_log")
  proxy_run_as_service_user nologin env SHELL=/usr/sbin/nologin /usr/bin/ssh -F "$config" pinggy-tunnel > "$work/proxy_nologin.out" \
    || return 1
  grep -q "Connection closed" "$work/proxy_nologin.out" \
    || { cat "$work/proxy_nologin.out" >&2; echo "ssh with SHELL=nologin did not fail as expected" >&2; return 1; }
  # nologin's refusal goes to ssh's end of the pipe, not to the output: the proof is that no CONNECT was made.
  [ "$(proxy_requests "$from" "${PINGGY_EMULATOR_SSH_PORT:?}")" = 0 ] \
    || { echo "with SHELL=nologin the proxy client still ran: ssh does not run it through SHELL" >&2; return 1; }
  inside cat "/proc/$(show web MainPID)/environ" | tr '\0' '\n' | grep -qx "SHELL=/bin/sh" \
    || { echo "the unit's ssh does not run with SHELL=/bin/sh" >&2; return 1; }
  echo "systemd gives the service user SHELL=$shell; with SHELL=nologin ssh never reaches the proxy; the units pin /bin/sh"
}

proxy_carries_tunnel() {
  local front=${PINGGY_EMULATOR_SSH_PORT:?} from ssh_invocation had_nc="already there" config
  ensure_tinyproxy || return 1
  start_tinyproxy "$work" "$front" || return 1
  [ -x /usr/bin/nc ] || had_nc="installed by the role"
  from=$(wc -l < "$proxy_log")
  ssh_invocation=$(show ssh InvocationID)
  grep -q "{name: ssh, " "$work/vars.yml" || { echo "no ssh tunnel in vars.yml" >&2; return 1; }
  # The role-wide proxy in its http:// form; the ssh tunnel opts out (its config, so its unit, must not change).
  sed -e 's/{name: ssh, /{name: ssh, proxy: none, /' "$work/vars.yml" > "$work/vars_proxy.yml"
  echo "tunnel_service_proxy: http://127.0.0.1:$proxy_port/" >> "$work/vars_proxy.yml"
  inside ansible-playbook "$work/deploy.yml" -e "@$work/vars_proxy.yml" > "$work/deploy_proxy.out" 2>&1 \
    || { cat "$work/deploy_proxy.out"; echo "the run with a proxy failed" >&2; return 1; }
  proxy_fetch_page || { inside journalctl --no-pager -n 30 || true; cat "$proxy_log"; return 1; }
  [ "$(proxy_requests "$from" "$front")" -ge 1 ] || { cat "$proxy_log"; echo "the proxy's log shows no CONNECT to the front" >&2; return 1; }
  inside ps -o args= --ppid "$(show web MainPID)" | grep -qxF "/usr/bin/nc -X connect -x 127.0.0.1:$proxy_port 127.0.0.1 $front" \
    || { inside ps -ef >&2; echo "the web unit's ssh has no proxy client" >&2; return 1; }
  [ "$(show ssh InvocationID)" = "$ssh_invocation" ] || { echo "the ssh tunnel (proxy: none) was restarted" >&2; return 1; }
  [ -z "$(inside ps -o args= --ppid "$(show ssh MainPID)")" ] || { echo "the ssh tunnel (proxy: none) has a proxy client" >&2; return 1; }
  config=$(show web ExecStart | sed -n 's/.* -F \([^ ]*\) pinggy-tunnel.*/\1/p' | head -n1)
  proxy_check_shell "$config" || return 1
  check_no_secret "$all_secrets" "$proxy_log" "$work/tinyproxy.out" "$work/deploy_proxy.out" "$work"/proxy_*.out || return 1
  echo "through tinyproxy: $(proxy_requests "$from" "$front") CONNECT(s) to 127.0.0.1:$front after the redeploy, nc $had_nc"
}
