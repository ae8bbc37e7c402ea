#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Bring up everything the integration tests, the demo and the benchmarks
# need on one Debian 12 machine, as root: packages, MUNGE, LXD with a btrfs
# storage pool and no network, a one-node Slurm cluster, two ordinary test
# users, a test image built locally from busybox-static, and slurm-lxd
# itself installed and configured.  Safe to run again: each step checks
# what is already there.  Daemons it starts are recorded by pid in
# $SLXD_TEST_RUN so tests/cluster/stop.sh stops exactly those.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/cluster/env.sh
. "$here/env.sh"
# shellcheck source=tests/cluster/lib.sh
. "$here/lib.sh"

slxd_require_root setup.sh "it installs packages and starts daemons"

say() { printf '[setup] %s\n' "$*"; }

PACKAGES=(slurmctld slurmd slurm-client libslurm-dev munge libmunge-dev
	lxd lxd-client btrfs-progs squashfs-tools busybox-static zstd
	build-essential pkg-config libcurl4-openssl-dev libjansson-dev
	libcmocka-dev libmicrohttpd-dev libsqlite3-dev sqlite3 curl jq
	libssl-dev libarchive-dev libyaml-dev clang clang-format libclang-rt-14-dev valgrind
	python3 procps psmisc util-linux
	debhelper dpkg-dev fakeroot adduser rsyslog rpm
	libpmix2 libpmix-dev mmdebstrap lxcfs skopeo docker-registry mariadb-server slurmdbd nginx-light)
# debhelper, dpkg-dev, fakeroot: `make deb` (debian/control's other
# Build-Depends are above); adduser: the registry package's postinst runs
# it.  rpm: `make rpm` (rpmbuild).  rsyslog: the helpers and slxd-registryd log through syslog(3), and
# the test cluster's own rsyslogd (setup_syslog) keeps those lines.
# libpmix2, libpmix-dev: Slurm's mpi/pmix of the multi-node cluster
# (tests/cluster/nodes.sh) dlopens pmix2/lib/libpmix.so, which is in -dev;
# mmdebstrap builds its MPI test image (tests/cluster/mpi-image.sh).
# lxcfs: the job's own memory and CPUs in its /proc (setup_lxcfs).
# skopeo, docker-registry: push docker:// from a registry a case starts by
# pid on a loopback port (t_registry_docker_transport); Debian's service is not used.
# mariadb-server, slurmdbd: the multi-node cluster's accounting (sacct;
# nodes.sh start_accounting), each started by pid, never as a service.
# nginx-light: the HTTP cache in front of the registry (t_registry_cache_*, bench/cache.sh).

install_packages() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing ${missing[*]}"
		apt-get update -qq
		# Debian's packages try to start their services; we start them
		# ourselves, by pid, so keep the postinst scripts from doing it.
		DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq \
			--no-install-recommends "${missing[@]}" >/dev/null
	fi
}

ensure_line() { # file line
	grep -qxF "$2" "$1" 2>/dev/null || echo "$2" >>"$1"
}

setup_users() {
	getent group "$SLXD_TEST_GROUP" >/dev/null || groupadd -g "$SLXD_TEST_GID" "$SLXD_TEST_GROUP"
	local u uid
	for u in "$SLXD_TEST_USER:$SLXD_TEST_UID" "$SLXD_TEST_USER2:$SLXD_TEST_UID2"; do
		uid=${u#*:}; u=${u%%:*}
		id "$u" >/dev/null 2>&1 || useradd -m -u "$uid" -U -s /bin/bash "$u"
	done
	# The first user has a supplementary group so `id -G` is a real test.
	usermod -a -G "$SLXD_TEST_GROUP" "$SLXD_TEST_USER"
	install -d -m 0755 "$SLXD_TEST_SHARED"
	for u in "$SLXD_TEST_USER" "$SLXD_TEST_USER2"; do
		install -d -m 0700 -o "$u" -g "$u" "$SLXD_TEST_SHARED/$u"
	done
}

# LXD maps the job's ids onto themselves only where /etc/subuid and
# /etc/subgid grant them to root; LXD reads both only when it starts.
setup_subids() {
	local f changed=0
	for f in /etc/subuid /etc/subgid; do
		touch "$f"
		grep -qxF "$SLXD_SUBID_LINE" "$f" || { echo "$SLXD_SUBID_LINE" >>"$f"; changed=1; }
		grep -q '^root:100000:' "$f" || { echo "root:100000:1000000000" >>"$f"; changed=1; }
	done
	if [ $changed = 1 ] && lxd_running; then
		say "subuid/subgid changed: restarting LXD"
		stop_lxd
	fi
}

lxd_running() { lxc query /1.0 >/dev/null 2>&1; }

stop_lxd() {
	if pid_alive "$SLXD_TEST_RUN/lxd.pid" lxd; then
		lxd shutdown --timeout 30 >/dev/null 2>&1 || kill "$(cat "$SLXD_TEST_RUN/lxd.pid")"
		rm -f "$SLXD_TEST_RUN/lxd.pid"
	fi
}

# lxcfs on /var/lib/lxcfs: liblxc's hook (common.conf.d/00-lxcfs.conf,
# which LXD includes) then shows every container started afterwards
# lxcfs's /proc/meminfo, cpuinfo, uptime... figured from the container's
# own cgroup, where the job's limits are (lib/joblimits.h).
setup_lxcfs() {
	pid_alive "$SLXD_TEST_RUN/lxcfs.pid" lxcfs && return 0
	# an lxcfs that died (or was stopped) leaves a mount nothing can use
	if grep -q ' /var/lib/lxcfs fuse.lxcfs ' /proc/self/mounts && ! stat /var/lib/lxcfs >/dev/null 2>&1; then
		say "lxcfs: removing the mount a stopped lxcfs left behind"
		umount -l /var/lib/lxcfs
	fi
	if mountpoint -q /var/lib/lxcfs; then
		say "lxcfs: /var/lib/lxcfs is mounted by something else; using it"
		return 0
	fi
	say "starting lxcfs"
	mkdir -p /var/lib/lxcfs
	(setsid lxcfs /var/lib/lxcfs </dev/null >>"$SLXD_TEST_LOG/lxcfs.log" 2>&1 &
		echo $! >"$SLXD_TEST_RUN/lxcfs.pid")
	slxd_wait_for 50 test -d /var/lib/lxcfs/proc && return 0
	echo "setup.sh: lxcfs did not come up (see $SLXD_TEST_LOG/lxcfs.log)" >&2
	exit 1
}

setup_lxd() {
	if ! lxd_running; then
		say "starting LXD"
		(setsid lxd --group root --logfile "$SLXD_TEST_LOG/lxd.log" </dev/null >/dev/null 2>&1 &
			echo $! >"$SLXD_TEST_RUN/lxd.pid")
		lxd waitready --timeout 60
	fi
	if ! lxc storage show "$SLXD_POOL" >/dev/null 2>&1; then
		say "creating LXD storage pool $SLXD_POOL (btrfs on a loop file: copy-on-write instances)"
		slxd_pool_preseed "$SLXD_POOL" 16GiB "$SLXD_POOL_MOUNT_OPTIONS" | lxd init --preseed
	fi
	# LXD unpacks images as root: with nodev,nosuid a device node or setuid
	# file an image brings is inert (docs/admin-guide.md, "The storage pool")
	if [ "$(lxc storage get "$SLXD_POOL" btrfs.mount_options)" != "$SLXD_POOL_MOUNT_OPTIONS" ]; then
		say "LXD storage pool $SLXD_POOL: btrfs.mount_options=$SLXD_POOL_MOUNT_OPTIONS"
		lxc storage set "$SLXD_POOL" btrfs.mount_options "$SLXD_POOL_MOUNT_OPTIONS"
	fi
}

setup_images() {
	install -d -m 0755 "$SLXD_TEST_STATE"
	local alias img fp
	for alias in "$SLXD_IMAGE_ALIAS" "$SLXD_IMAGE2_ALIAS" "$SLXD_IMAGE_UNAPPROVED_ALIAS"; do
		img="$SLXD_TEST_STATE/$alias.tar.gz"
		# The registry is given the same file LXD imported: keep them one.
		if [ ! -f "$img" ] && lxc image info "$alias" >/dev/null 2>&1; then
			lxc image delete "$alias"
		fi
		if ! lxc image info "$alias" >/dev/null 2>&1; then
			[ -f "$img" ] ||
				slxd_build_busybox_image "$img" "image:$alias" "slurm-lxd test image ($alias)" --suid
			say "importing test image $alias"
			lxc image import "$img" --alias "$alias" >/dev/null
		fi
	done
	# The approved list: root-owned, not writable by others.
	local tmp
	tmp=$(mktemp "$SLXD_APPROVED.XXXXXX")
	{
		echo "# NAME:TAG FINGERPRINT — written by tests/cluster/setup.sh"
		fp=$(lxc image info "$SLXD_IMAGE_ALIAS" | awk '/^Fingerprint:/{print $2}')
		echo "$SLXD_IMAGE $fp"
		echo "${SLXD_IMAGE%%:*}:latest $fp"
		fp=$(lxc image info "$SLXD_IMAGE2_ALIAS" | awk '/^Fingerprint:/{print $2}')
		echo "$SLXD_IMAGE2 $fp"
		# Approved, but the node does not have it: a job must fail clearly.
		echo "absent:1 0000000000000000000000000000000000000000000000000000000000000000"
	} >"$tmp"
	chmod 0644 "$tmp"
	mv -f "$tmp" "$SLXD_APPROVED"
}

munge_works() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

setup_munge() {
	[ -s /etc/munge/munge.key ] || { mungekey --create --keyfile=/etc/munge/munge.key; chown munge:munge /etc/munge/munge.key; chmod 0400 /etc/munge/munge.key; }
	install -d -o munge -g munge -m 0755 /run/munge
	if ! munge_works; then
		say "starting munged"
		runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
		cp /run/munge/munged.pid "$SLXD_TEST_RUN/munged.pid"
		slxd_wait_for 50 munge_works || true
	fi
}

setup_slurm() {
	local host conf=/etc/slurm/slurm.conf
	host=$(hostname -s)
	install -d -m 0755 /var/spool/slurmd /var/spool/slurmctld
	local new
	new=$(mktemp)
	sed -e "s/@HOST@/$host/g" -e "s,@LOG@,$SLXD_TEST_LOG,g" "$here/slurm.conf.in" >"$new"
	if ! cmp -s "$new" "$conf"; then
		say "writing $conf"
		install -m 0644 "$new" "$conf"
		if pid_alive /run/slurmctld.pid slurmctld; then scontrol reconfigure || true; fi
	fi
	rm -f "$new"
	if ! pid_alive /run/slurmctld.pid slurmctld; then
		say "starting slurmctld"
		slurmctld -i
		sleep 0.5
		cp /run/slurmctld.pid "$SLXD_TEST_RUN/slurmctld.pid"
	fi
	if ! pid_alive /run/slurmd.pid slurmd; then
		say "starting slurmd"
		slurmd
		sleep 0.5
		cp /run/slurmd.pid "$SLXD_TEST_RUN/slurmd.pid"
	fi
	slxd_wait_node "$host" ||
		{ echo "setup.sh: node $host is '$slxd_node_state', not ready; see $SLXD_TEST_LOG/slurmd.log" >&2; exit 1; }
}

install_slurm_lxd() {
	say "installing slurm-lxd"
	make -C "$top" -s install PREFIX=/usr/local >/dev/null
	write_node_conf
	echo "required spank_lxd.so config=/etc/slurm/spank_lxd.conf" |
		replace_file /etc/slurm/plugstack.conf.d/lxd.conf
}

# The node's spank_lxd.conf for SLXD_RUNTIME (lxd unless told; then no
# runtime= line, the default, as before there was one).
write_node_conf() {
	local rt=()
	[ "$SLXD_RUNTIME" = incus ] || rt=(-e /^runtime=/d)
	sed "${rt[@]}" -e "s,@SHARED@,$SLXD_TEST_SHARED,g" -e "s,@APPROVED@,$SLXD_APPROVED,g" \
		-e "s,@REGISTRY@,$SLXD_REGISTRY_URL,g" -e "s,@RUNTIME@,$SLXD_RUNTIME,g" \
		-e "s,@SOCKET@,$SLXD_RUNTIME_SOCKET,g" \
		-e "s,@POOL@,$SLXD_POOL,g" "$here/spank_lxd.conf.in" | replace_file /etc/slurm/spank_lxd.conf
}

# A syslog daemon of the test cluster's own, started by pid (not through
# systemd) with its own configuration: every line sent to /dev/log lands in
# $SLXD_TEST_LOG/syslog, next to slurmd.log, so a job's whole story can be
# grepped (docs/admin-guide.md, "Logging").  A syslog daemon not of ours
# that already serves /dev/log is left alone.
setup_syslog() {
	local conf=$SLXD_TEST_RUN/rsyslog.conf pidfile=$SLXD_TEST_RUN/rsyslogd.pid
	pid_alive "$pidfile" rsyslogd && return 0
	if [ -S /dev/log ] && logger --socket-errors=on -u /dev/log -t slxd-setup "syslog check" 2>/dev/null; then
		say "a syslog daemon not started by setup.sh serves /dev/log: leaving it"
		return 0
	fi
	cat >"$conf" <<EOF
# Written by tests/cluster/setup.sh: the test cluster's syslog.
global(workDirectory="$SLXD_TEST_RUN")
module(load="imuxsock" SysSock.Name="/dev/log")
# slurmd.log's time stamps ([2026-11-25T17:01:09.592], local time), so
# 'grep -hw "job N" slurmd.log syslog | sort' is the job's story in order.
template(name="slxd" type="string"
         string="[%timegenerated:1:23:date-rfc3339%] %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\\n")
*.* action(type="omfile" file="$SLXD_TEST_LOG/syslog" template="slxd")
EOF
	rm -f "$pidfile" /dev/log # (a socket nobody serves)
	say "starting rsyslogd (to $SLXD_TEST_LOG/syslog)"
	rsyslogd -f "$conf" -i "$pidfile"
	slxd_wait_for 50 eval '[ -S /dev/log ] && pid_alive "$pidfile" rsyslogd' && return 0
	echo "setup.sh: rsyslogd did not start (configuration $conf)" >&2
	exit 1
}

# The image registry, started by pid like the other daemons.
stop_registryd() {
	pid_alive "$SLXD_TEST_RUN/registryd.pid" slxd-registryd || return 0
	slxd_kill_wait "$(cat "$SLXD_TEST_RUN/registryd.pid")" || true
}

setup_registry() {
	local new
	new=$(mktemp)
	sed -e "s,@STORE@,$SLXD_REGISTRY_STORE,g" "$here/registryd.conf.in" >"$new"
	install -d -m 0755 "$(dirname "$SLXD_REGISTRY_CONF")"
	# a new configuration, or a daemon built since this one started
	if ! cmp -s "$new" "$SLXD_REGISTRY_CONF" ||
	   [ /usr/local/sbin/slxd-registryd -nt "$SLXD_TEST_RUN/registryd.pid" ]; then
		install -m 0644 "$new" "$SLXD_REGISTRY_CONF"
		stop_registryd
	fi
	rm -f "$new"
	# `make install` replaced the binary: run the one just installed (nodes
	# and the command check what it answers, e.g. its signatures)
	if pid_alive "$SLXD_TEST_RUN/registryd.pid" slxd-registryd &&
		! cmp -s "/proc/$(cat "$SLXD_TEST_RUN/registryd.pid")/exe" /usr/local/sbin/slxd-registryd; then
		say "restarting slxd-registryd (another binary was installed)"
		stop_registryd
	fi
	install -d -m 0755 "$SLXD_REGISTRY_STORE"
	if ! pid_alive "$SLXD_TEST_RUN/registryd.pid" slxd-registryd; then
		say "starting slxd-registryd"
		/usr/local/sbin/slxd-registryd -c "$SLXD_REGISTRY_CONF" \
			--pidfile "$SLXD_TEST_RUN/registryd.pid" 2>>"$SLXD_TEST_LOG/registryd.log" ||
			{ echo "setup.sh: slxd-registryd did not start; see $SLXD_TEST_LOG/registryd.log" >&2; exit 1; }
	fi
}

# NAME:TAG approved in the registry with exactly the bytes of FILE (as root,
# an admin of the test registry).  Idempotent.
registry_approve() { # name:tag file
	local reg=(slxd-registry --registry "$SLXD_REGISTRY_URL") fp cur
	fp=$(sha256sum "$2" | cut -d' ' -f1)
	cur=$("${reg[@]}" show "$1" --json 2>/dev/null | jq -r '.approved.fingerprint // empty' || true)
	[ "$cur" = "$fp" ] && return 0
	say "registry: pushing and approving $1"
	# --keep-format: these exact bytes (push re-compresses to zstd otherwise)
	"${reg[@]}" push "$2" --name "$1" --keep-format >/dev/null 2>&1 || true # already pending is fine
	"${reg[@]}" approve "$1" --fingerprint "$fp" >/dev/null
}

seed_registry() {
	registry_approve "$SLXD_IMAGE" "$SLXD_TEST_STATE/$SLXD_IMAGE_ALIAS.tar.gz"
	registry_approve "${SLXD_IMAGE%%:*}:latest" "$SLXD_TEST_STATE/$SLXD_IMAGE_ALIAS.tar.gz"
	registry_approve "$SLXD_IMAGE2" "$SLXD_TEST_STATE/$SLXD_IMAGE2_ALIAS.tar.gz"
}

mkdir -p "$SLXD_TEST_RUN" "$SLXD_TEST_LOG"
# --node-conf: only spank_lxd.conf (e.g. SLXD_RUNTIME=lxd, back to LXD)
[ "${1:-}" = --node-conf ] && { write_node_conf; exit 0; }
install_packages
[ "${1:-}" = --packages-only ] && exit 0
setup_syslog
setup_users
setup_subids
setup_lxcfs
# shellcheck source=tests/cluster/incus.sh
. "$here/incus.sh"
if [ "$SLXD_RUNTIME" = incus ]; then incus_install; incus_start; incus_pool; else setup_lxd; fi
setup_images
setup_munge
install_slurm_lxd
setup_registry
seed_registry
setup_slurm
say "ready: $(sinfo -h -o '%P %D %T')"
