#!/usr/bin/env bash
# PID 1 of the namespace that tests/e2e/lib/systemd_ns.sh boots systemd in (run by its `unshare`; never run it
# yourself). It fences off everything systemd could change on the shared machine, checks every fence, and only then
# execs systemd (so systemd is PID 1 of the namespace). Any failed step exits before systemd starts.
# A mount namespace does not protect files: at boot systemd-tmpfiles emptied the real /tmp here once (design.md §10).
# Environment (set by systemd_ns_boot): SYSTEMD_NS_CGROUP (the cgroup made for it), SYSTEMD_NS_CARRY (a dir below
# /tmp to keep visible, read-write, at the same path), SYSTEMD_NS_CARRY_RO (colon-separated dirs, read-only).
set -euo pipefail
fail() { echo "systemd_ns_init: FAILED: $*" >&2; exit 1; }
on_tmpfs() {
  if ! mountpoint -q "$1" || [ "$(stat -f -c %T "$1")" != tmpfs ]; then fail "$1 is not a tmpfs mount"; fi
}
read_only() { findmnt -n -o OPTIONS --target "$1" | grep -Eq '^ro(,|$)' || fail "$1 is not read-only"; }
empty_over() {  # empty_over DIR: an empty read-only dir mounted over DIR (in this namespace only)
  mount --bind /run/systemd-ns-empty "$1"
  if ! mountpoint -q "$1" || [ -n "$(ls -A "$1")" ]; then fail "$1 is not emptied"; fi
}

[ "$$" = 1 ] || fail "not PID 1 of a new PID namespace"
: "${SYSTEMD_NS_CGROUP:?}" "${SYSTEMD_NS_CARRY:?}"
# 1. Nothing mounted here reaches the host's mount table.
mount --make-rprivate /
[ "$(findmnt -n -o PROPAGATION --mountpoint /)" = private ] || fail "/ is not private"

# 2. Own tmpfs on /run, /tmp, /var/tmp. The dirs to keep are bound below the new /run first, moved in afterwards.
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
on_tmpfs /run
mkdir -m 0700 /run/systemd-ns-carry
carry=("$SYSTEMD_NS_CARRY")
IFS=: read -ra carry_ro <<< "${SYSTEMD_NS_CARRY_RO:-}"
carry+=("${carry_ro[@]}")
for i in "${!carry[@]}"; do
  mkdir "/run/systemd-ns-carry/$i"
  mount --bind "${carry[$i]}" "/run/systemd-ns-carry/$i"
done
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /tmp
on_tmpfs /tmp
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /var/tmp
on_tmpfs /var/tmp
for i in "${!carry[@]}"; do
  mkdir -p "${carry[$i]}"
  mount --move "/run/systemd-ns-carry/$i" "${carry[$i]}"
  mountpoint -q "${carry[$i]}" || fail "could not carry ${carry[$i]} into the namespace"
  if [ "$i" -gt 0 ]; then
    mount -o remount,bind,ro "${carry[$i]}"
    read_only "${carry[$i]}"
  fi
  rmdir "/run/systemd-ns-carry/$i"
done
rmdir /run/systemd-ns-carry

# Its own /dev (the host's is a shared devtmpfs: journald would put its /dev/log there): the basic nodes, a new pty
# instance, its own /dev/shm.
mount -t tmpfs -o mode=0755,nosuid tmpfs /dev
on_tmpfs /dev
mknod -m 0666 /dev/null c 1 3
mknod -m 0666 /dev/zero c 1 5
mknod -m 0666 /dev/full c 1 7
mknod -m 0666 /dev/random c 1 8
mknod -m 0666 /dev/urandom c 1 9
mknod -m 0666 /dev/tty c 5 0
mkdir /dev/pts /dev/shm
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
on_tmpfs /dev/shm
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr

# 3. systemd-tmpfiles gets no rule to act on (and its units are masked below); no generator runs (fstab, ...).
mkdir -m 0555 /run/systemd-ns-empty
for dir in /etc/tmpfiles.d /usr/lib/tmpfiles.d /usr/local/lib/tmpfiles.d /usr/lib/systemd/system-generators \
           /usr/local/lib/systemd/system-generators; do
  if [ -d "$dir" ]; then empty_over "$dir"; fi
done
rules=$(systemd-tmpfiles --cat-config 2>/dev/null | grep -v '^#' || true)
[ -z "${rules//[[:space:]]/}" ] || fail "tmpfiles still has rules: $rules"

# 4. A minimal boot: the units shipped in /usr/lib want nothing (their .wants dirs emptied), /etc/systemd is a tmpfs
# holding the target booted, masks for everything that touches the machine, and settings that keep state off disk.
for dir in /usr/lib/systemd/system/*.wants; do empty_over "$dir"; done
mount -t tmpfs -o mode=0755 tmpfs /etc/systemd
on_tmpfs /etc/systemd
mount -t tmpfs -o mode=0755 tmpfs /var/lib/systemd
on_tmpfs /var/lib/systemd
mkdir /etc/systemd/system /etc/systemd/system.conf.d /etc/systemd/journald.conf.d
for unit in systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service systemd-tmpfiles-setup-dev-early.service \
            systemd-tmpfiles-clean.service systemd-tmpfiles-clean.timer \
            apt-daily.service apt-daily.timer apt-daily-upgrade.service apt-daily-upgrade.timer \
            e2scrub_all.service e2scrub_all.timer e2scrub_reap.service fstrim.service fstrim.timer \
            systemd-sysusers.service ldconfig.service systemd-machine-id-commit.service systemd-firstboot.service \
            networking.service NetworkManager.service systemd-networkd.service systemd-networkd.socket \
            systemd-networkd-wait-online.service systemd-resolved.service systemd-timesyncd.service \
            avahi-daemon.service avahi-daemon.socket ssh.service sshd.service cron.service postgresql.service \
            systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
            systemd-udev-trigger.service systemd-udev-settle.service systemd-hwdb-update.service \
            systemd-sysctl.service systemd-modules-load.service kmod-static-nodes.service systemd-binfmt.service \
            proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount systemd-remount-fs.service \
            systemd-fsck-root.service systemd-random-seed.service systemd-update-utmp.service \
            systemd-update-utmp-runlevel.service systemd-journal-flush.service systemd-journal-catalog-update.service \
            systemd-journald-audit.socket systemd-update-done.service systemd-pstore.service systemd-repart.service \
            systemd-logind.service getty.target console-getty.service logrotate.timer man-db.timer \
            dpkg-db-backup.timer sys-kernel-debug.mount sys-kernel-tracing.mount sys-kernel-config.mount \
            sys-fs-fuse-connections.mount dev-hugepages.mount dev-mqueue.mount tmp.mount; do
  ln -s /dev/null "/etc/systemd/system/$unit"
done
cat > /etc/systemd/system/pinggy-e2e.target <<'UNIT'
[Unit]
Description=pinggy.tunnels end-to-end: a minimal boot (journald only)
Wants=systemd-journald.service
After=systemd-journald.service
UNIT
cat > /etc/systemd/system.conf.d/pinggy-e2e.conf <<'CONF'
[Manager]
DefaultTimeoutStopSec=5s
DefaultCPUAccounting=no
DefaultIOAccounting=no
DefaultIPAccounting=no
DefaultMemoryAccounting=no
DefaultTasksAccounting=no
CONF
printf '[Journal]\nStorage=volatile\n' > /etc/systemd/journald.conf.d/pinggy-e2e.conf
[ ! -e /etc/systemd/system/multi-user.target.wants ] || fail "the host's enabled units are visible"

# 5. Kernel settings stay the host's: /proc/sys and /sys read-only here. /sys/fs/cgroup is only the cgroup made for
# this namespace (a cgroup2 bind, so systemd runs in unified mode and never touches the host's cgroup tmpfs: in the
# hybrid layout it mounts controllers there and remounts that tmpfs read-only, for the host too).
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
read_only /proc/sys
cgroup=/sys/fs/cgroup/unified/$SYSTEMD_NS_CGROUP
[ "$(stat -f -c %T "$cgroup")" = cgroup2fs ] || fail "$cgroup is not a cgroup2 directory"
echo 0 > "$cgroup/cgroup.procs"
grep -qx "0::/$SYSTEMD_NS_CGROUP" /proc/self/cgroup || fail "not in its own cgroup: $(cat /proc/self/cgroup)"
mkdir /run/systemd-ns-cgroup
mount --bind "$cgroup" /run/systemd-ns-cgroup
mount --bind /sys /sys  # not recursive: the host's cgroup mounts stay out of sight
mount -o remount,bind,ro /sys
read_only /sys
mount --move /run/systemd-ns-cgroup /sys/fs/cgroup
rmdir /run/systemd-ns-cgroup
if [ "$(stat -f -c %T /sys/fs/cgroup)" != cgroup2fs ] || [ ! -f /sys/fs/cgroup/cgroup.procs ] || [ -e /sys/fs/cgroup/systemd ]; then
  fail "/sys/fs/cgroup is not the namespace's cgroup alone"
fi

unset SYSTEMD_NS_CGROUP SYSTEMD_NS_CARRY SYSTEMD_NS_CARRY_RO
export container=pinggy-e2e  # systemd behaves as in a container: no kmod, no umount/remount at shutdown
exec /lib/systemd/systemd --system --unit=pinggy-e2e.target --show-status=no
