# shellcheck shell=bash
# A real systemd, booted as PID 1 of its own PID, mount and UTS namespaces, for end-to-end scripts (root only).
#   source tests/e2e/lib/systemd_ns.sh
#   systemd_ns_boot "$work" [READ_ONLY_DIR ...]   # sets systemd_ns_pid (systemd's PID as the host sees it)
#   systemd_ns_run systemctl status ...           # runs a command inside: its mounts, its systemd, its PIDs
#   systemd_ns_stop                               # in the EXIT trap: kills it by that PID, checks nothing is left
# The namespace shares the network (the emulator stays on 127.0.0.1) and sees the host's files except: its own tmpfs
# on /tmp, /var/tmp, /run, /etc/systemd and /var/lib/systemd; WORK (and the READ_ONLY_DIRs, read-only) at the same
# paths. DANGER (design.md §10): systemd-tmpfiles at boot once emptied the real /tmp here - a mount namespace does not
# protect files. lib/systemd_ns_init.sh fences that off (and the rest, see there) before it execs systemd, and checks
# each fence; systemd_ns_boot puts a sentinel file in the real /tmp and /var/tmp, and systemd_ns_check_sentinels
# (after the boot, and at the end of systemd_ns_stop) fails loudly if one is gone.

systemd_ns_pid=""
systemd_ns_booted=""
systemd_ns_unshare_pid=""
systemd_ns_start_time=""
systemd_ns_pidns=""
systemd_ns_cgroup="pinggy-e2e-$$"
systemd_ns_sentinels=("/tmp/pinggy-sentinel-$$" "/var/tmp/pinggy-sentinel-$$")

# What the namespace must not change on the host: its mounts (and their options), the cgroup tmpfs, /dev.
systemd_ns_host_state() { findmnt -rn -o TARGET,FSTYPE,OPTIONS | sort; ls -a /sys/fs/cgroup /dev; }
systemd_ns_check_host() {
  systemd_ns_check_sentinels || return 1
  if [ "$(systemd_ns_host_state)" != "$systemd_ns_host_before" ]; then
    systemd_ns_fail "the host's mounts, /sys/fs/cgroup or /dev changed:" \
      "$(diff <(echo "$systemd_ns_host_before") <(systemd_ns_host_state))"
    return 1
  fi
}

systemd_ns_fail() { echo "systemd_ns: FAILED: $*" >&2; return 1; }

systemd_ns_check_sentinels() {
  local sentinel
  for sentinel in "${systemd_ns_sentinels[@]}"; do
    if [ ! -f "$sentinel" ]; then
      echo "systemd_ns: DANGER: the sentinel $sentinel in the real /tmp or /var/tmp is GONE: the namespace's systemd" \
        "may have deleted files on the host. Stop and investigate before running this again." >&2
      return 1
    fi
  done
}

# systemd_ns_boot WORK [READ_ONLY_DIR ...]: boot, wait until `systemctl is-system-running` says running.
systemd_ns_boot() {
  local work=$1 sentinel child="" status read_only stale
  shift
  [ "$(id -u)" = 0 ] || { systemd_ns_fail "needs root"; return 1; }
  [ -x /lib/systemd/systemd ] || { systemd_ns_fail "/lib/systemd/systemd is missing (Debian package systemd)"; return 1; }
  # A run killed before its teardown (SIGKILL) leaves its systemd running: say so, with the PIDs to stop.
  for stale in /sys/fs/cgroup/unified/pinggy-e2e-*/; do
    if [ -d "$stale" ]; then
      echo "systemd_ns: WARNING: $stale is left by an earlier run; its processes (if any): " \
        "$(find "$stale" -name cgroup.procs -exec cat {} + 2>/dev/null | paste -sd' ')" >&2
    fi
  done
  for sentinel in "${systemd_ns_sentinels[@]}"; do echo "pinggy e2e sentinel of pid $$" > "$sentinel"; done
  systemd_ns_host_before=$(systemd_ns_host_state)
  [ "$(stat -f -c %T /sys/fs/cgroup/unified 2>/dev/null)" = cgroup2fs ] \
    || { systemd_ns_fail "no cgroup2 hierarchy at /sys/fs/cgroup/unified (written for this machine's hybrid layout)"; return 1; }
  mkdir "/sys/fs/cgroup/unified/$systemd_ns_cgroup"
  read_only=$(IFS=:; echo "$*")
  systemd_ns_booted=1
  unshare --pid --fork --mount --uts --propagation private --mount-proc -- \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin SYSTEMD_NS_CGROUP="$systemd_ns_cgroup" SYSTEMD_NS_CARRY="$work" \
      SYSTEMD_NS_CARRY_RO="$read_only" bash "$(dirname "${BASH_SOURCE[0]}")/systemd_ns_init.sh" \
    < /dev/null > "$work/systemd_ns.log" 2>&1 &
  systemd_ns_unshare_pid=$!
  # systemd's PID as the host sees it: unshare's only child, PID 1 of the new namespace, once it has exec'd systemd.
  for _ in $(seq 1 100); do
    child=$(cat "/proc/$systemd_ns_unshare_pid/task/$systemd_ns_unshare_pid/children" 2>/dev/null || true)
    child=${child%% *}
    if [ -n "$child" ] && [ "$(cat "/proc/$child/comm" 2>/dev/null)" = systemd ]; then break; fi
    if ! kill -0 "$systemd_ns_unshare_pid" 2>/dev/null; then
      cat "$work/systemd_ns.log" >&2
      systemd_ns_fail "the namespace's setup failed before systemd started (its log is above)"; return 1
    fi
    child=""
    sleep 0.1
  done
  [ -n "$child" ] || { cat "$work/systemd_ns.log" >&2; systemd_ns_fail "systemd did not start within 10 s"; return 1; }
  grep -Eq "^NSpid:[[:space:]]+${child}[[:space:]]+1\$" "/proc/$child/status" \
    || { systemd_ns_fail "pid $child is not PID 1 of its namespace"; return 1; }
  systemd_ns_pid=$child
  systemd_ns_start_time=$(cut -d' ' -f22 "/proc/$child/stat")
  systemd_ns_pidns=$(readlink "/proc/$child/ns/pid")
  echo "systemd booting as PID 1 of a new namespace: host pid $systemd_ns_pid"
  systemd_ns_check_sentinels || return 1
  for _ in $(seq 1 100); do
    [ -S "/proc/$systemd_ns_pid/root/run/systemd/private" ] && break
    sleep 0.1
  done
  status=$(timeout 30 nsenter --target "$systemd_ns_pid" --mount --pid --uts -- systemctl is-system-running --wait 2>&1) \
    || true
  systemd_ns_check_host || return 1
  if [ "$status" != running ]; then
    cat "$work/systemd_ns.log" >&2
    systemd_ns_run systemctl --failed --no-pager >&2 || true
    systemd_ns_fail "systemd did not boot: is-system-running says '$status'"; return 1
  fi
  # The fences as systemd sees them: another /tmp (the host's sentinel is not in it), tmpfiles masked.
  [ ! -e "/proc/$systemd_ns_pid/root${systemd_ns_sentinels[0]}" ] \
    || { systemd_ns_fail "the namespace's /tmp is the host's"; return 1; }
  [ "$(systemd_ns_run systemctl is-enabled systemd-tmpfiles-setup.service systemd-tmpfiles-clean.timer 2>&1)" \
    = "$(printf 'masked\nmasked')" ] || { systemd_ns_fail "systemd-tmpfiles is not masked"; return 1; }
}

# systemd_ns_run COMMAND...: run it inside the namespace (its mounts and /etc/systemd, its systemd, its PIDs).
systemd_ns_run() {
  nsenter --target "${systemd_ns_pid:?systemd_ns_boot first}" --mount --pid --uts --wdns=/ -- "$@"
}

# systemd_ns_stop: kill the namespace's systemd by its PID (every process of the namespace dies with it), then check
# that no process of the namespace is left, remove its cgroups and check the mounts and the sentinels.
systemd_ns_stop() {
  local pid left dir
  [ -n "$systemd_ns_booted" ] || return 0
  if [ -n "$systemd_ns_pid" ] && [ -e "/proc/$systemd_ns_pid" ] \
     && [ "$(cut -d' ' -f22 "/proc/$systemd_ns_pid/stat" 2>/dev/null)" = "$systemd_ns_start_time" ]; then
    kill -KILL "$systemd_ns_pid"
  fi
  if [ -n "$systemd_ns_unshare_pid" ]; then wait "$systemd_ns_unshare_pid" 2>/dev/null || true; fi
  if [ -n "$systemd_ns_pidns" ]; then
    for _ in $(seq 1 50); do
      left=""
      for pid in /proc/[0-9]*; do
        if [ "$(readlink "$pid/ns/pid" 2>/dev/null)" = "$systemd_ns_pidns" ]; then left+=" ${pid#/proc/}"; fi
      done
      [ -z "$left" ] && break
      sleep 0.1
    done
    [ -z "$left" ] || { systemd_ns_fail "processes of the namespace are left:$left"; return 1; }
  fi
  dir=/sys/fs/cgroup/unified/$systemd_ns_cgroup
  if [ -d "$dir" ]; then find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true; fi
  [ ! -d "$dir" ] || { systemd_ns_fail "cgroup $dir is left"; return 1; }
  systemd_ns_pid="" systemd_ns_booted=""
  systemd_ns_check_host || return 1
  rm -f "${systemd_ns_sentinels[@]}"
}

# What a script that boots systemd needs on the host: root, the OpenSSH client and server (lib/sshd.sh's
# ensure_openssh), and systemd itself (installing the package starts nothing here). Fails with the reason.
systemd_ns_prerequisites() {
  [ "$(id -u)" = 0 ] || { echo "needs root: it boots systemd in namespaces and creates a system user" >&2; return 1; }
  ensure_openssh
  if [ ! -x /lib/systemd/systemd ]; then
    echo "installing systemd (Debian package; installing it starts nothing here)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd >/dev/null
  fi
}

# systemd_ns_hidden DIR...: those of the DIRs the namespace hides (they lie under /tmp, /var/tmp or /run), resolved,
# one a line: what systemd_ns_boot must carry in read-only (a clone under /tmp, as CI makes, has its .venv there).
systemd_ns_hidden() {
  local dir
  for dir in "$@"; do
    case "$(realpath -m "$dir")" in /tmp/*|/var/tmp/*|/run/*) realpath "$dir" ;; esac
  done
}

# systemd_ns_teardown USER WORK: the common end of such a script's EXIT trap: stop the namespace's systemd, remove the
# system user and group and the work directory. Non-zero when systemd_ns_stop found something left.
systemd_ns_teardown() {
  local rc=0
  systemd_ns_stop || rc=1
  userdel "$1" 2>/dev/null || true
  groupdel "$1" 2>/dev/null || true
  rm -rf "$2"
  return "$rc"
}
