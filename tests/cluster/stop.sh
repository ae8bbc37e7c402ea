#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Stop the daemons tests/cluster/setup.sh started, by the pids it recorded
# (never by name), after cancelling the test users' jobs and removing the
# templates and spares they left.  Packages, images, users and
# configuration stay, so setup.sh is quick next time.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/env.sh"
# shellcheck source=tests/cluster/lib.sh
. "$here/lib.sh"

# lxcfs leaves its FUSE mount behind when it stops ("Transport endpoint is
# not connected" for every later user): take it away once no lxcfs serves it.
lxcfs_drop_dead_mount() {
	grep -q ' /var/lib/lxcfs fuse.lxcfs ' /proc/self/mounts || return 0
	stat /var/lib/lxcfs >/dev/null 2>&1 && return 0
	umount -l /var/lib/lxcfs
}

stop_pid() { # pidfile expected-name
	pid_alive "$1" "$2" && slxd_kill_wait "$(cat "$1")"
	rm -f "$1"
}

for u in "$SLXD_TEST_USER" "$SLXD_TEST_USER2"; do scancel -u "$u" 2>/dev/null || true; done
# the node's cache of the test users' jobs: templates and idle spares
command -v lxc >/dev/null && [ -f "$SLXD_TEST_RUN/lxd.pid" ] && remove_node_cache
stop_pid "$SLXD_TEST_RUN/slurmd.pid" slurmd
stop_pid "$SLXD_TEST_RUN/slurmctld.pid" slurmctld
stop_pid "$SLXD_TEST_RUN/registryd.pid" slxd-registryd
stop_pid "$SLXD_TEST_RUN/munged.pid" munged
stop_pid "$SLXD_TEST_RUN/rsyslogd.pid" rsyslogd
. "$here/incus.sh"
if [ -f "$SLXD_TEST_RUN/incusd.pid" ]; then
	command -v incus >/dev/null && (lxc() { incus "$@"; }; remove_node_cache)
	incus_stop
fi
if [ -f "$SLXD_TEST_RUN/lxd.pid" ]; then
	lxd shutdown --timeout 60 >/dev/null 2>&1 || stop_pid "$SLXD_TEST_RUN/lxd.pid" lxd
	rm -f "$SLXD_TEST_RUN/lxd.pid"
fi
# after LXD: its containers' /proc files were lxcfs's
stop_pid "$SLXD_TEST_RUN/lxcfs.pid" lxcfs
lxcfs_drop_dead_mount
