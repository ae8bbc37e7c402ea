#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The Slurm 24.11 lane: Debian 13's slurmctld and slurmd, in a Debian 13
# root of their own, running slurm-lxd built in that root against its
# Slurm, next to (never instead of) the one-node cluster, whose LXD,
# registry and MUNGE it uses (docs/testing.md, "The Slurm 24.11 lane").
#   bash tests/compat/lane.sh root     # make (or reuse) the cached root
#   bash tests/compat/lane.sh up       # root, build + install, start daemons
#   bash tests/compat/lane.sh down     # stop what `up` started, by pid
#   bash tests/compat/lane.sh check [PATTERN]  # up, the cases, down
# As root; `check` needs the one-node cluster (tests/cluster/setup.sh) and
# is run under its lock by make check-compat.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/compat/lane-env.sh
. "$here/lane-env.sh"
# shellcheck source=tests/cluster/lib.sh
. "$top/tests/cluster/lib.sh"

slxd_require_root lane.sh
say() { printf '[2411] %s\n' "$*"; }

# The root, made once per package list (its hash names the directory):
# a second run finds it and spends nothing.  Other lists' roots go.
make_root() {
	local d
	if [ ! -e "$L_ROOT/.slxd-complete" ]; then
		say "making the Debian 13 root $L_ROOT (mmdebstrap, a few minutes once)"
		mkdir -p "$L_STATE"
		rm -rf "$L_ROOT.new"
		mmdebstrap --quiet --variant=apt --include="$(echo $L_PKGS | tr ' ' ,)" \
			"$L_SUITE" "$L_ROOT.new" http://deb.debian.org/debian
		touch "$L_ROOT.new/.slxd-complete"
		mv "$L_ROOT.new" "$L_ROOT"
	fi
	for d in "$L_STATE"/root-*; do
		[ "$d" = "$L_ROOT" ] || { say "removing the old root $d"; rm -rf --one-file-system "$d"; }
	done
}

# slurm.conf for the daemons in the root (plugin dir and plugstack are the
# root's defaults) or for the clients on the host (the root's, by host path).
slurm_conf() { # daemons|clients
	cat <<EOF
# SPDX-License-Identifier: GPL-2.0-or-later
# The Slurm 24.11 lane (written by tests/compat/lane.sh).
ClusterName=slxd2411
SlurmctldHost=$L_HOST($L_ADDR)
SlurmctldPort=$L_CTLD_PORT
SlurmdPort=$L_SLURMD_PORT
FirstJobId=$L_FIRST_JOB
$(slxd_slurm_conf_auth)
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmdSpoolDir=$L_STATE/spool
StateSaveLocation=/var/spool/slurmctld
SlurmctldLogFile=/var/log/slxd-2411/slurmctld.log
SlurmdLogFile=/var/log/slxd-2411/slurmd.log
$(slxd_slurm_conf_timing)
Prolog=/usr/local/sbin/slxd-prolog
Epilog=/usr/local/sbin/slxd-epilog
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
SlurmdParameters=config_overrides
NodeName=$L_HOST NodeAddr=$L_ADDR CPUs=32 RealMemory=16000 State=UNKNOWN
PartitionName=lane Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
	if [ "$1" = clients ]; then
		echo "PluginDir=$L_ROOT$L_PLUGINDIR"
		echo "PlugStackConfig=$L_ETC/plugstack.conf"
	fi
}

write_config() {
	local n
	mkdir -p "$L_ETC" "$L_BIN" "$L_ROOT/etc/slurm" "$L_ROOT/var/log/slxd-2411" \
		"$L_ROOT/var/spool/slurmctld" "$L_ROOT/var/lib/slurm-lxd-test/downloads"
	slurm_conf daemons | replace_file "$L_ROOT/etc/slurm/slurm.conf"
	slurm_conf clients | replace_file "$L_ETC/slurm.conf"
	# (no cgroup plugin is used; 24.11's slurmd still reads cgroup.conf)
	printf '# SPDX-License-Identifier: GPL-2.0-or-later\nCgroupPlugin=disabled\n' |
		replace_file "$L_ROOT/etc/slurm/cgroup.conf"
	echo "required spank_lxd.so config=/etc/slurm/spank_lxd.conf" |
		replace_file "$L_ROOT/etc/slurm/plugstack.conf"
	echo "required $L_ROOT$L_PLUGINDIR/spank_lxd.so config=$L_ROOT/etc/slurm/spank_lxd.conf" |
		replace_file "$L_ETC/plugstack.conf"
	# The node's configuration is the one-node cluster's (this tree's
	# template: its LXD, pool, registry), with the lane's state and spool
	# dirs; the approved list a copy in the root.
	sed -e "s,@SHARED@,$SLXD_TEST_SHARED,g" -e "s,@APPROVED@,$SLXD_APPROVED,g" \
		-e "s,@REGISTRY@,$SLXD_REGISTRY_URL,g" -e "s,@POOL@,$SLXD_POOL,g" \
		-e /^runtime=/d -e "s,@SOCKET@,/var/lib/lxd/unix.socket,g" \
		-e "s,^state_dir=.*,state_dir=$L_STATE/state," -e "s,^slurmd_spool_dir=.*,slurmd_spool_dir=$L_STATE/spool," \
		"$top/tests/cluster/spank_lxd.conf.in" | replace_file "$L_ROOT/etc/slurm/spank_lxd.conf"
	replace_file "$L_ROOT/etc/slurm/lxd-images.conf" <"$SLXD_APPROVED"
	printf '127.0.0.1 localhost %s\n' "$L_HOST" | replace_file "$L_ROOT/etc/hosts"
	# The root's clients, run on the host by the root's loader and
	# libraries: any user may run them, no namespace to enter.
	for n in srun sbatch salloc squeue scontrol scancel sinfo; do
		replace_file "$L_BIN/$n" <<EOF
#!/bin/sh
# Slurm 24.11's $n from $L_ROOT (tests/compat/lane.sh).
SLURM_CONF=$L_ETC/slurm.conf exec $L_ROOT/usr/lib64/ld-linux-x86-64.so.2 --argv0 $n \\
	--library-path $L_ROOT/usr/lib/$L_MULTIARCH:$L_ROOT$L_PLUGINDIR $L_ROOT/usr/bin/$n "\$@"
EOF
		chmod 0755 "$L_BIN/$n"
	done
	chmod 0755 "$L_STATE" "$L_ETC" "$L_BIN"
}

# The root's mounts, made in the host's mount namespace, and the holder of
# the lane's UTS namespace (its host name).  The daemons run chrooted in
# the root but in the mount namespace of the host's LXD, as slurmd must on
# any node: the plugin stages each mount below state_dir/mnt, a private
# mount, and hands LXD that path (lib/mounts.c).  Paths the plugin hands
# LXD (the state and spool dirs, --lxd-mount sources) name the same files
# on both sides: the state and spool dirs are links on the host into the
# root, the rest binds.  No PID or network namespace of its own: the
# plugin joins the container by the host pid LXD reports and fetches from
# the registry on 127.0.0.1, both the one-node cluster's.
L_BINDS="/proc /sys /dev /run/munge /var/lib/lxd /srv/slxd-test /etc/passwd /etc/group /etc/subuid /etc/subgid"

mount_root() {
	local d
	for d in state spool; do
		mkdir -p "$L_ROOT$L_STATE/$d"
		chmod 0755 "$L_ROOT$L_STATE/$d"
		[ -L "$L_STATE/$d" ] || ln -sfn "$L_ROOT$L_STATE/$d" "$L_STATE/$d"
	done
	for d in $L_BINDS; do
		mountpoint -q "$L_ROOT$d" && continue
		[ -d "$d" ] && mkdir -p "$L_ROOT$d"
		[ -f "$d" ] && touch "$L_ROOT$d"
		mount --rbind "$d" "$L_ROOT$d"
		# private: nothing propagates back (no umount below reaches the host's)
		mount --make-rprivate "$L_ROOT$d"
	done
	mountpoint -q "$L_ROOT/tmp" || mount -t tmpfs -o mode=1777 slxd-2411 "$L_ROOT/tmp"
}

# Also the plugin's own mount (state_dir/mnt, bound onto itself) and what
# the node kept: the next `up` is a node just booted, as /run would be.
umount_root() {
	local d
	for d in /tmp $L_BINDS "$L_STATE/state/mnt"; do
		! mountpoint -q "$L_ROOT$d" || umount -R "$L_ROOT$d" || umount -R -l "$L_ROOT$d"
	done
	rm -rf --one-file-system "${L_ROOT:?}$L_STATE/state" "${L_ROOT:?}$L_STATE/spool"
}

start_holder() {
	local pid
	l_holder >/dev/null && return 0
	mkdir -p "$L_RUN"
	setsid unshare --uts sh -c 'hostname "$0" && exec sleep infinity' "$L_HOST" \
		</dev/null >/dev/null 2>"$L_RUN/holder.err" &
	pid=$!
	echo "$pid" >"$L_RUN/holder.pid"
	slxd_wait_for 50 l_holder >/dev/null || { echo "lane.sh: the UTS namespace did not come up: $(cat "$L_RUN/holder.err")" >&2; exit 1; }
	say "host name $L_HOST held by pid $pid"
}

# slurm-lxd built in the root against its libslurm-dev (24.11), from this
# tree's files as they are (committed or not), and installed in the root.
build() {
	local src=$L_ROOT/usr/src/slurm-lxd b=build-2411 out
	say "building slurm-lxd in the root against libslurm-dev $(l_exec dpkg-query -W -f '${Version}' libslurm-dev)"
	# a fresh copy: a file removed from the tree must not linger in the root
	rm -rf "$src"
	mkdir -p "$src"
	(cd "$top" && git ls-files -z --cached --others --exclude-standard | tar --null -T - -cf -) | tar -C "$src" -xf -
	out=$(l_exec make -C /usr/src/slurm-lxd -s BUILD=$b LIBEXECDIR=/usr/local/libexec/slurm-lxd \
		$b/spank_lxd.so $b/slxd-init $b/slxd-prolog $b/slxd-epilog $b/slxd-gc $b/slxd-imagecheck 2>&1) ||
		{ echo "$out" >&2; echo "lane.sh: slurm-lxd does not build against Slurm 24.11" >&2; exit 1; }
	l_exec sh -euc '
		cd /usr/src/slurm-lxd/$0
		install -D -m 0755 spank_lxd.so $1/spank_lxd.so
		install -D -m 0755 slxd-init /usr/local/libexec/slurm-lxd/slxd-init
		install -D -m 0755 slxd-imagecheck /usr/local/libexec/slurm-lxd/slxd-imagecheck
		for p in prolog epilog gc; do install -D -m 0755 slxd-$p /usr/local/sbin/slxd-$p; done' "$b" "$L_PLUGINDIR"
}

daemon_pid() { # name: its pid, if running
	pid_alive "$L_ROOT/run/$1.pid" "$1" && cat "$L_ROOT/run/$1.pid"
}

start_daemons() {
	local d
	: >"$L_ROOT/var/log/slxd-2411/slurmd.log"
	: >"$L_ROOT/var/log/slxd-2411/slurmctld.log"
	# -c: a lane starts with no jobs of an earlier run
	daemon_pid slurmctld >/dev/null || l_exec /usr/sbin/slurmctld -c -i
	daemon_pid slurmd >/dev/null || l_exec /usr/sbin/slurmd
	for _ in $(seq 100); do
		[ "$("$L_BIN/sinfo" -h -o %t 2>/dev/null)" = idle ] && break
		sleep 0.2
	done
	d=$("$L_BIN/sinfo" -h -o %t 2>&1) || true
	if [ "$d" != idle ]; then
		tail -5 "$L_ROOT/var/log/slxd-2411/slurmctld.log" "$L_ROOT/var/log/slxd-2411/slurmd.log" >&2
		echo "lane.sh: the 24.11 node is not idle ($d)" >&2
		return 1
	fi
	say "slurmctld $(daemon_pid slurmctld), slurmd $(daemon_pid slurmd): $("$L_BIN/sinfo" -V), node $L_HOST idle"
}

stop_pid() { # pid
	slxd_kill_wait "$1" || kill -KILL "$1" 2>/dev/null || true
}

down() {
	local n p
	for n in slurmd slurmctld; do
		p=$(daemon_pid "$n") && { say "stopping $n ($p)"; stop_pid "$p"; }
	done
	# what slurmd left: a job's slurmstepd (only after a failed case)
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$L_ROOT" ] || continue
		say "stopping ${p#/proc/} ($(cat "$p/comm" 2>/dev/null)), left in the root"
		stop_pid "${p#/proc/}"
	done
	p=$(l_holder) && { say "releasing the namespaces ($p)"; stop_pid "$p"; }
	rm -rf "$L_RUN"
	umount_root
	return 0
}

up() {
	make_root
	write_config
	mount_root
	start_holder
	build
	start_daemons
}

# slxd-gc built against 24.11's libslurm, asking that slurmctld about a
# running job (slurm_load_job, the node's names from its slurmd, hostlists:
# the API that changed after 22.05): its container is "running-here",
# kept.  A dry run: nothing is deleted.
gc_check() {
	local job out got i
	job=$(runuser -u "$SLXD_TEST_USER" -- env -C "$SLXD_TEST_SHARED/$SLXD_TEST_USER" "$L_BIN/sbatch" --parsable \
		--lxd-image="$SLXD_IMAGE" -o /dev/null --wrap 'sleep 60')
	for i in $(seq 600); do
		[ -n "$(lxc list --format csv -c n "user.slurm.job_id=$job" status=Running 2>/dev/null)" ] && break
		sleep 0.1
	done
	out=$(l_exec /usr/local/sbin/slxd-gc --dry-run --json) || true
	"$L_BIN/scancel" "$job"
	got=$(printf '%s' "$out" | jq -r --argjson j "$job" '.[] | select(.job_id == $j) | "\(.job) \(.action)"' 2>/dev/null)
	for i in $(seq 600); do
		[ -z "$(lxc list --format csv -c n "user.slurm.job_id=$job" 2>/dev/null)" ] && break
		sleep 0.1
	done
	if [ "$got" = "running-here keep" ]; then
		echo "ok   gc_asks_slurm_2411 (job $job: $got)"
	else
		echo "FAIL gc_asks_slurm_2411: job $job: expected 'running-here keep', got '$got' from: $out"
		return 1
	fi
}

# The core, teardown and registry cases of tests/integration, run by its
# runner against this cluster (tests/compat/lane-cases.sh names them).
check() {
	trap down EXIT
	up
	SLXD_LANE_ENV=$here/lane-cases.sh bash "$top/tests/integration/run.sh" "${1:-}"
	[ -n "${1:-}" ] || gc_check
}

# shellcheck source=tests/cluster/env.sh
. "$top/tests/cluster/env.sh"
case "${1:-}" in
root) make_root ;;
up) up ;;
down) down ;;
check) check "${2:-}" ;;
*) echo "usage: lane.sh root|up|down|check [PATTERN]" >&2; exit 2 ;;
esac
