#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# An emulated multi-node cluster on this one machine, next to (never
# instead of) setup.sh's one-node cluster:
#   bash tests/cluster/nodes.sh up     # idempotent; NODES=N (default 3)
#   bash tests/cluster/nodes.sh down   # stops what `up` started, by pid
#   bash tests/cluster/nodes.sh purge  # down, then remove its state
# One slurmctld on the host (10.251.0.1, port 6917) and N compute nodes.
# A node is a namespace holder process (net, uts, mount, cgroup) in
# cgroups of its own; in it run the node's LXD and slurmd, with /etc/slurm,
# /var/spool/slurmd, /var/lib/lxd, /run/slurm-lxd, /run/lxc and the cgroup
# hierarchies private.  docs/testing.md, "How a node is emulated".  slurm-lxd is
# installed from this tree into $MN_PREFIX; MUNGE is the machine's.
# Clients: SLURM_CONF=/var/lib/slxd-mn/etc/slurm.conf srun ...
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
# shellcheck source=tests/cluster/env.sh
. "$here/env.sh"
# shellcheck source=tests/cluster/nodes-env.sh
. "$here/nodes-env.sh"
# shellcheck source=tests/cluster/lib.sh
. "$here/lib.sh"

slxd_require_root nodes.sh
say() { printf '[nodes] %s\n' "$*"; }

# The holder is an `unshare` whose child, the node's PID 1, is in a
# network namespace that is not ours.
holder_alive() { # i
	local init
	pid_alive "$MN_RUN/node$1.holder" unshare && init=$(mn_init "$1") &&
		[ "$(readlink "/proc/$init/ns/net")" != "$(readlink /proc/self/ns/net)" ]
}

controllers() { local c; for c in /sys/fs/cgroup/*/; do c=${c%/}; echo "${c##*/}"; done; }

# /sys/fs/cgroup/<ctrl>/slxd-mn/nodeI for every hierarchy (v1 controllers,
# name=systemd and the unified v2 one).  cpuset needs cpus and mems
# before a task may join.
make_cgroups() { # i
	local c d
	for c in $(controllers); do
		for d in "$MN_CGROUP" "$MN_CGROUP/node$1"; do
			[ -d "/sys/fs/cgroup/$c/$d" ] || mkdir "/sys/fs/cgroup/$c/$d"
			if [ "$c" = cpuset ]; then
				[ -n "$(cat "/sys/fs/cgroup/cpuset/$d/cpuset.cpus")" ] ||
					cat "/sys/fs/cgroup/cpuset/$(dirname "$d")/cpuset.cpus" >"/sys/fs/cgroup/cpuset/$d/cpuset.cpus"
				[ -n "$(cat "/sys/fs/cgroup/cpuset/$d/cpuset.mems")" ] ||
					cat "/sys/fs/cgroup/cpuset/$(dirname "$d")/cpuset.mems" >"/sys/fs/cgroup/cpuset/$d/cpuset.mems"
			fi
		done
	done
}

setup_bridge() {
	if ! ip link show "$MN_BRIDGE" >/dev/null 2>&1; then
		say "creating bridge $MN_BRIDGE ($MN_NET.1/24)"
		ip link add "$MN_BRIDGE" type bridge
		ip addr add "$MN_NET.1/24" dev "$MN_BRIDGE"
	fi
	ip link set "$MN_BRIDGE" up
}

# The node's namespaces, held by an unshare that was moved into the node's
# cgroups before it unshared: its cgroup namespace is rooted there.  The
# node has its own PID 1 (a bash that reaps orphans), as a real node has:
# liblxc bases a container's cgroups on /proc/1/cgroup, which must be the
# node's own (docs/testing.md, "How a node is emulated").
start_holder() { # i
	local i=$1 pid
	holder_alive "$i" && return 0
	make_cgroups "$i"
	setsid bash -c 'for c in /sys/fs/cgroup/*/; do echo $$ >"$c$0/cgroup.procs"; done
		exec unshare --net --uts --mount --cgroup --pid --fork --propagation private \
			bash -c "trap \"exit 0\" TERM; while :; do sleep 3600 & wait; done"' \
		"$MN_CGROUP/node$i" </dev/null >/dev/null 2>&1 &
	pid=$!
	echo "$pid" >"$MN_RUN/node$i.holder"
	slxd_wait_for 50 holder_alive "$i" || { echo "nodes.sh: node $i's namespaces did not come up" >&2; exit 1; }
	say "node $i: namespaces held by pid $pid"
	# network: a veth pair on the bridge
	pid=$(mn_init "$i")
	ip link add "mnv$i" type veth peer name eth0 netns "$pid"
	ip link set "mnv$i" master "$MN_BRIDGE" up
	nsenter -t "$pid" -n sh -c "ip link set lo up && ip addr add $(mn_addr "$i")/24 dev eth0 && ip link set eth0 up"
	# host name, private mounts and the node's own cgroup hierarchies
	local d=$MN_STATE/node$i
	mkdir -p "$d/etc" "$d/spool" "$d/lxd" "$d/tmp"
	chmod 0711 "$d/lxd"
	chmod 1777 "$d/tmp"
	mn_exec "$i" bash -euc '
		hostname "$1"
		mount -t proc proc /proc
		# the main LXD'\''s mounts (its pool, its containers) are not this node'\''s:
		# drop our copies, so they hold nothing of it busy either
		awk '\''$5 ~ "^/var/lib/lxd(/|$)" {print $5}'\'' /proc/self/mountinfo | sort -r |
			while read -r m; do umount -l "$m" 2>/dev/null || true; done
		mount --bind "$2/lxd" /var/lib/lxd
		mount --bind "$2/etc" /etc/slurm
		mount --bind "$2/spool" /var/spool/slurmd
		# each node its own /tmp and /dev/shm, as real nodes: slurmstepd makes
		# /tmp/spmix_appdir_<uid>_<job>.<step> for PMIx on every node of a step
		mount --bind "$2/tmp" /tmp
		mount -t tmpfs -o mode=1777,nosuid,nodev slxd-mn /dev/shm
		mkdir -p /run/slurm-lxd /run/lxc /var/log/lxd "$2/log-lxd"
		mount -t tmpfs -o mode=0755 slxd-mn /run/slurm-lxd
		mount -t tmpfs -o mode=0755 slxd-mn /run/lxc
		mount --bind "$2/log-lxd" /var/log/lxd
		# v1 hierarchies mounted inside the cgroup namespace: their root is
		# the node'\''s cgroup, so slurmd'\''s /slurm/uid_U/job_J is the node'\''s own
		ctrls=$(cd /sys/fs/cgroup && ls)
		mount -t tmpfs -o mode=0755 cgroup /sys/fs/cgroup
		for c in $ctrls; do
			mkdir /sys/fs/cgroup/$c
			case $c in
			unified) mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified ;;
			systemd) mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd ;;
			*) mount -t cgroup -o "$c" cgroup /sys/fs/cgroup/$c ;;
			esac
		done' _ "$(mn_host_name "$i")" "$d"
}

install_prefix() {
	say "installing slurm-lxd from $top into $MN_PREFIX"
	make -C "$top" -s all >/dev/null
	make -C "$top" -s install DESTDIR="$MN_PREFIX" PREFIX=/usr/local >/dev/null
}

plugin_path() { find "$MN_PREFIX" -name spank_lxd.so | head -1; }

write_slurm_conf() {
	local i nodes=""
	for i in $(seq "$MN_NODES"); do
		nodes+="NodeName=$(mn_node_name "$i") NodeHostname=$(mn_host_name "$i") NodeAddr=$(mn_addr "$i") Sockets=1 CoresPerSocket=$(nproc) ThreadsPerCore=1 RealMemory=2000 Gres=gpu:$MN_FAKE_GPUS State=UNKNOWN"$'\n'
	done
	replace_file "$MN_CONF" <<EOF
# SPDX-License-Identifier: GPL-2.0-or-later
# Emulated multi-node test cluster (written by tests/cluster/nodes.sh).
ClusterName=slxdmn
# Job ids of their own: the nodes' helpers log to the machine's syslog,
# which the one-node cluster's tests grep for "job N".
FirstJobId=5000000
SlurmctldHost=$(hostname -s)($MN_NET.1)
SlurmctldPort=$MN_CTLD_PORT
SlurmdPort=$MN_SLURMD_PORT
$(slxd_slurm_conf_auth)
# Fake GPUs (gres_conf below): character devices with no driver.
GresTypes=gpu
MpiDefault=pmix
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup,task/affinity
SchedulerType=sched/backfill
# Only the backfill scheduler starts a heterogeneous job, every bf_interval
# (30 s by default): the lane's cases take seconds.
SchedulerParameters=bf_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=200
SlurmctldPidFile=$MN_RUN/slurmctld.pid
SlurmdPidFile=/var/spool/slurmd/slurmd.pid
SlurmdSpoolDir=/var/spool/slurmd
StateSaveLocation=$MN_STATE/ctld
SlurmctldLogFile=$MN_LOG/slurmctld.log
SlurmdLogFile=$MN_LOG/slurmd-%n.log
$(slxd_slurm_conf_timing)
Prolog=$MN_PREFIX/usr/local/sbin/slxd-prolog
Epilog=$MN_PREFIX/usr/local/sbin/slxd-epilog
# Accounting (sacct) through the slurmdbd start_slurmdbd runs; sstat
# asks the steps' slurmstepds, which sample every 5 s.
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=$MN_NET.1
AccountingStoragePort=$MN_DBD_PORT
JobAcctGatherType=jobacct_gather/cgroup
JobAcctGatherFrequency=task=5
# Every node is the same 2 cores of this machine (docs/testing.md, "How a node is emulated").
${nodes}PartitionName=$MN_PARTITION Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
}

# cgroup.conf: what sites run (v1 on this kernel: the hybrid layout).
cgroup_conf() {
	cat <<EOF
# SPDX-License-Identifier: GPL-2.0-or-later
# Written by tests/cluster/nodes.sh.
CgroupPlugin=cgroup/v1
CgroupMountpoint=/sys/fs/cgroup
ConstrainRAMSpace=yes
ConstrainSwapSpace=yes
ConstrainCores=yes
ConstrainDevices=yes
EOF
}

# Every node has $MN_FAKE_GPUS fake GPUs and one device for every job,
# /dev/slxd-fakesite0: character devices of a major kept for local use
# (61), which no driver claims, so opening an allowed one fails with ENXIO
# and a denied one with EPERM (docs/testing.md).  One gres.conf for all
# nodes, as sites write it, with NodeName= lines that differ: the last node
# (whose host name is not its NodeName) has /dev/slxd-fakegpu4..7, the
# others /dev/slxd-fakegpu0..3.  On the last node the others' files are no
# GRES of its slurmd, so its device cgroup lets every job reach them: only
# the right NodeName= line keeps them out of a job's container
# (t_mn_gres_forged_nodename).
make_fake_devices() {
	local n
	for n in $(seq 0 $((2 * MN_FAKE_GPUS - 1))); do
		[ -c "/dev/slxd-fakegpu$n" ] || mknod -m 0666 "/dev/slxd-fakegpu$n" c "$MN_FAKE_MAJOR" "$n"
	done
	[ -c /dev/slxd-fakesite0 ] || mknod -m 0666 /dev/slxd-fakesite0 c "$MN_FAKE_MAJOR" 99
}

gres_conf() {
	local last=$MN_NODES
	cat <<EOF
# SPDX-License-Identifier: GPL-2.0-or-later
# Written by tests/cluster/nodes.sh: fake GPUs, no NVML.
AutoDetect=off
NodeName=mn[1-$((last - 1))] Name=gpu File=/dev/slxd-fakegpu[0-$((MN_FAKE_GPUS - 1))]
NodeName=$(mn_node_name "$last") Name=gpu File=/dev/slxd-fakegpu[$MN_FAKE_GPUS-$((2 * MN_FAKE_GPUS - 1))]
EOF
}

spank_conf() { # approved-list path
	cat <<EOF
# SPDX-License-Identifier: GPL-2.0-or-later
# slurm-lxd on an emulated node (tests/cluster/nodes.sh).  The paths are
# the node's own (its mount namespace): its LXD, its state dir.
lxd_socket=/var/lib/lxd/unix.socket
profile=default
storage_pool=$SLXD_POOL
approved_images=$1
slurmd_spool_dir=/var/spool/slurmd
state_dir=/run/slurm-lxd
init=$MN_PREFIX/usr/local/libexec/slurm-lxd/slxd-init
mount_allow=$SLXD_TEST_SHARED
lxd_timeout=60
gres_conf=/etc/slurm/gres.conf
default_devices=/dev/slxd-fakesite*
EOF
}

write_confs() {
	local i plugin
	plugin=$(plugin_path)
	mkdir -p "$MN_ETC"
	write_slurm_conf
	cgroup_conf | replace_file "$MN_ETC/cgroup.conf"
	spank_conf "$MN_ETC/lxd-images.conf" | replace_file "$MN_ETC/spank_lxd.conf"
	echo "required $plugin config=$MN_ETC/spank_lxd.conf" | replace_file "$MN_ETC/plugstack.conf"
	for i in $(seq "$MN_NODES"); do
		local d=$MN_STATE/node$i/etc
		replace_file "$d/slurm.conf" <"$MN_CONF"
		cgroup_conf | replace_file "$d/cgroup.conf"
		gres_conf | replace_file "$d/gres.conf"
		{ spank_conf /etc/slurm/lxd-images.conf; echo "node_name=mn$i"; } | replace_file "$d/spank_lxd.conf"
		echo "required $plugin config=/etc/slurm/spank_lxd.conf" | replace_file "$d/plugstack.conf"
	done
}

# The node's own lxcfs on its /var/lib/lxcfs, as a real node has (one per
# node, seeing the node's pids and cgroups): the node's containers show the
# job's memory and CPUs in /proc (lib/joblimits.h).
setup_lxcfs() { # i
	local pidf=$MN_RUN/node$1.lxcfs
	mn_pid_is "$1" "$pidf" lxcfs && return 0
	say "node $1: starting lxcfs"
	# its own lock file: /run is the machine's (the default /run/lxcfs.pid
	# may be the one-node cluster's lxcfs)
	mn_exec "$1" bash -c 'umount -l /var/lib/lxcfs 2>/dev/null; mkdir -p /var/lib/lxcfs
		echo $$ >"$0"; exec setsid lxcfs -p "$1" /var/lib/lxcfs' "$pidf" "$MN_RUN/node$1.lxcfs-lock" \
		</dev/null >>"$MN_LOG/lxcfs-node$1.log" 2>&1 &
	slxd_wait_for 50 mn_exec "$1" test -d /var/lib/lxcfs/proc && return 0
	echo "nodes.sh: node $1's lxcfs did not come up (see $MN_LOG/lxcfs-node$1.log)" >&2
	exit 1
}

setup_lxd() { # i
	local i=$1 pidf
	pidf=$MN_RUN/node$1.lxd
	if ! mn_pid_is "$i" "$pidf" lxd; then
		say "node $i: starting LXD"
		mn_exec "$i" bash -c 'echo $$ >"$0"; exec setsid lxd --group root --logfile "$1"' \
			"$pidf" "$MN_LOG/lxd-node$i.log" </dev/null >/dev/null 2>&1 &
		LXD_DIR=$MN_STATE/node$i/lxd timeout 90 lxd waitready --timeout 60
	fi
	if ! mn_lxc "$i" storage show "$SLXD_POOL" >/dev/null 2>&1; then
		say "node $i: creating storage pool $SLXD_POOL (btrfs on a loop file)"
		slxd_pool_preseed "$SLXD_POOL" 4GiB | LXD_DIR=$MN_STATE/node$i/lxd lxd init --preseed
	fi
	local name
	for name in demo demo-mpi demo-mpich; do
		mn_lxc "$i" image info "slxd-mn-$name" >/dev/null 2>&1 && continue
		say "node $i: importing $name:1.0"
		mn_lxc "$i" image import "$MN_STATE/images/$name.tar.gz" --alias "slxd-mn-$name" >/dev/null
	done
}

# Approved-list mode: the registry at 127.0.0.1:8470 is in the host's
# network namespace, which no node can reach; each node's LXD has the
# images imported by this set-up instead.
write_approved() {
	local i
	{
		echo "# NAME:TAG FINGERPRINT — written by tests/cluster/nodes.sh"
		echo "$MN_IMAGE $(sha256sum "$MN_STATE/images/demo.tar.gz" | cut -d' ' -f1)"
		echo "$MN_MPI_IMAGE $(sha256sum "$MN_STATE/images/demo-mpi.tar.gz" | cut -d' ' -f1)"
		echo "$MN_MPICH_IMAGE $(sha256sum "$MN_STATE/images/demo-mpich.tar.gz" | cut -d' ' -f1)"
	} | replace_file "$MN_ETC/lxd-images.conf"
	for i in $(seq "$MN_NODES"); do
		replace_file "$MN_STATE/node$i/etc/lxd-images.conf" <"$MN_ETC/lxd-images.conf"
	done
}

# Accounting as a site runs it: MariaDB (its own datadir under $MN_STATE,
# a socket only: --skip-networking) and slurmdbd (port $MN_DBD_PORT), both
# on the host, started and stopped by pid; the datadir is made once.
# MariaDB syncs nothing (a test database: speed over durability).
db_opts=(--innodb-buffer-pool-size=16M --innodb-log-file-size=4M --innodb-flush-log-at-trx-commit=0
	--innodb-doublewrite=0 --innodb-flush-method=nosync)
start_mariadb() {
	pid_alive "$MN_DB_RUN/mysqld.pid" mariadbd && return 0
	mkdir -p "$MN_DB_RUN"
	chown mysql:mysql "$MN_DB_RUN"
	chmod 0700 "$MN_DB_RUN"
	if [ ! -d "$MN_DB/mysql" ]; then
		say "accounting: creating MariaDB's datadir $MN_DB (once)"
		rm -rf "$MN_DB.new"
		mkdir -p "$MN_DB.new"
		chown mysql:mysql "$MN_DB.new"
		mariadb-install-db --no-defaults --user=mysql --datadir="$MN_DB.new" --skip-test-db \
			--auth-root-authentication-method=socket "${db_opts[@]}" >"$MN_LOG/mariadb-install.log" 2>&1 ||
			{ echo "nodes.sh: mariadb-install-db failed; see $MN_LOG/mariadb-install.log" >&2; exit 1; }
		mv "$MN_DB.new" "$MN_DB"
	fi
	say "accounting: starting MariaDB (socket $MN_DB_RUN/mysqld.sock, no TCP)"
	setsid mariadbd --no-defaults --user=mysql --datadir="$MN_DB" --socket="$MN_DB_RUN/mysqld.sock" \
		--pid-file="$MN_DB_RUN/mysqld.pid" --skip-networking "${db_opts[@]}" \
		--log-error="$MN_LOG/mariadb.log" </dev/null >/dev/null 2>&1 &
	slxd_wait_for 300 eval 'pid_alive "$MN_DB_RUN/mysqld.pid" mariadbd &&
		mariadb-admin --no-defaults -S "$MN_DB_RUN/mysqld.sock" ping >/dev/null 2>&1' && return 0
	echo "nodes.sh: MariaDB did not come up; see $MN_LOG/mariadb.log" >&2
	exit 1
}

# slurmdbd reads slurmdbd.conf next to $SLURM_CONF; it reaches MariaDB by
# the socket (libmariadb's MYSQL_UNIX_PORT) as root, whom MariaDB knows by
# the socket's peer (unix_socket authentication): no password anywhere.
start_slurmdbd() {
	replace_file "$MN_ETC/slurmdbd.conf" <<EOF
# SPDX-License-Identifier: GPL-2.0-or-later
# Written by tests/cluster/nodes.sh.
AuthType=auth/munge
DbdHost=$(hostname -s)
DbdPort=$MN_DBD_PORT
SlurmUser=root
PidFile=$MN_RUN/slurmdbd.pid
LogFile=$MN_LOG/slurmdbd.log
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=root
StorageLoc=slxdmn_acct
EOF
	chmod 0600 "$MN_ETC/slurmdbd.conf"
	if ! pid_alive "$MN_RUN/slurmdbd.pid" slurmdbd; then
		say "accounting: starting slurmdbd (port $MN_DBD_PORT)"
		SLURM_CONF=$MN_CONF MYSQL_UNIX_PORT=$MN_DB_RUN/mysqld.sock slurmdbd
	fi
	slxd_wait_for 300 eval 'mn sacctmgr -n list cluster >/dev/null 2>&1' || true
	# the cluster, an account and the test users, once
	if [ -z "$(mn sacctmgr -n -P list user "$SLXD_TEST_USER2" 2>/dev/null)" ]; then
		say "accounting: adding cluster slxdmn, account slxd-test, $SLXD_TEST_USER and $SLXD_TEST_USER2"
		{ mn sacctmgr -i add cluster slxdmn
		  mn sacctmgr -i add account slxd-test cluster=slxdmn
		  mn sacctmgr -i add user "$SLXD_TEST_USER","$SLXD_TEST_USER2" account=slxd-test cluster=slxdmn; } >/dev/null ||
			{ echo "nodes.sh: sacctmgr could not add the test users; see $MN_LOG/slurmdbd.log" >&2; exit 1; }
	fi
}

start_slurmctld() {
	mkdir -p "$MN_STATE/ctld"
	if ! pid_alive "$MN_RUN/slurmctld.pid" slurmctld; then
		say "starting slurmctld ($MN_NET.1:$MN_CTLD_PORT)"
		SLURM_CONF=$MN_CONF slurmctld -i
		slxd_wait_for 50 pid_alive "$MN_RUN/slurmctld.pid" slurmctld || true
	fi
}

start_slurmd() { # i
	local i=$1 name
	name=$(mn_node_name "$i")
	mn_pid_is "$i" "$MN_STATE/node$i/spool/slurmd.pid" slurmd && return 0
	say "node $i: starting slurmd ($name on host $(mn_host_name "$i"), $(mn_addr "$i"))"
	if [ "$name" = "$(mn_host_name "$i")" ]; then
		mn_exec "$i" slurmd             # finds its NodeName by host name
	else
		mn_exec "$i" slurmd -N "$name"  # NodeName != host name
	fi
}

wait_idle() {
	local i name
	for i in $(seq "$MN_NODES"); do
		name=$(mn_node_name "$i")
		slxd_wait_node "$name" mn ||
			{ echo "nodes.sh: node $name is '$slxd_node_state'; see $MN_LOG/slurmd-$name.log" >&2; exit 1; }
	done
}

up() {
	local t0 i
	t0=$(date +%s)
	mkdir -p "$MN_RUN" "$MN_STATE/images" "$MN_LOG"
	chmod 0755 "$MN_STATE"
	install_prefix
	# the busybox test image of setup.sh (no setuid copy)
	[ -f "$MN_STATE/images/demo.tar.gz" ] ||
		slxd_build_busybox_image "$MN_STATE/images/demo.tar.gz" image:mn-demo "slurm-lxd multi-node test image"
	# Debian 12 + OpenMPI + PMIx, built once with mmdebstrap, then cached
	bash "$here/mpi-image.sh" "$MN_STATE/images/demo-mpi.tar.gz"
	bash "$here/mpi-image.sh" "$MN_STATE/images/demo-mpich.tar.gz" mpich # --mpi=pmi2
	setup_bridge
	for i in $(seq "$MN_NODES"); do start_holder "$i"; done
	local before gres_before
	gres_before=$(cksum 2>/dev/null <"$MN_STATE/node1/etc/gres.conf") || true
	before=$(cat "$MN_CONF" "$MN_ETC/cgroup.conf" 2>/dev/null | cksum) || true
	write_confs
	# slurmd reads gres.conf only when it starts: start them again
	if [ "$gres_before" != "$(cksum <"$MN_STATE/node1/etc/gres.conf")" ]; then
		for i in $(seq "$MN_NODES"); do stop_pid "$MN_STATE/node$i/spool/slurmd.pid" slurmd "$i"; done
	fi
	if [ "$before" != "$(cat "$MN_CONF" "$MN_ETC/cgroup.conf" | cksum)" ] &&
	   pid_alive "$MN_RUN/slurmctld.pid" slurmctld; then
		say "configuration changed: scontrol reconfigure"
		mn scontrol reconfigure || true
	fi
	write_approved
	for i in $(seq "$MN_NODES"); do setup_lxcfs "$i"; setup_lxd "$i"; done
	local ta
	ta=$(date +%s%N)
	start_mariadb
	start_slurmdbd
	say "accounting up in $(( ($(date +%s%N) - ta) / 1000000 )) ms"
	start_slurmctld
	make_fake_devices
	for i in $(seq "$MN_NODES"); do start_slurmd "$i"; done
	wait_idle
	say "ready in $(( $(date +%s) - t0 )) s: $(mn sinfo -h -o '%P %D %T %N')"
}

stop_pid() { # pidfile comm [node]: the pid is the node's when a node is given
	local pid
	pid=$(cat "$1" 2>/dev/null) || return 0
	[ -z "${3:-}" ] || pid=$(mn_host_pid "$3" "$pid") || pid=
	if [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ]; then
		slxd_kill_wait "$pid" || true
	fi
	rm -f "$1"
}

down() {
	local i c h
	if pid_alive "$MN_RUN/slurmctld.pid" slurmctld; then
		for c in $(mn squeue -h -o %i 2>/dev/null); do mn scancel "$c" 2>/dev/null || true; done
	fi
	for i in $(seq "$MN_NODES"); do stop_pid "$MN_STATE/node$i/spool/slurmd.pid" slurmd "$i"; done
	stop_pid "$MN_RUN/slurmctld.pid" slurmctld
	stop_pid "$MN_RUN/slurmdbd.pid" slurmdbd
	stop_pid "$MN_DB_RUN/mysqld.pid" mariadbd
	for i in $(seq "$MN_NODES"); do
		if mn_pid_is "$i" "$MN_RUN/node$i.lxd" lxd; then
			# idle spares are cache (docs/how-it-works.md), and LXD would
			# wait for each to stop: remove them; templates are stopped
			for c in $(mn_lxc "$i" list --format csv -c n user.slurm.role=spare 2>/dev/null); do
				mn_lxc "$i" delete -f "$c" >/dev/null 2>&1 || true
			done
			mn_lxc "$i" stop --all --force >/dev/null 2>&1 || true
			LXD_DIR=$MN_STATE/node$i/lxd lxd shutdown --timeout 60 >/dev/null 2>&1 ||
				stop_pid "$MN_RUN/node$i.lxd" lxd "$i"
		fi
		rm -f "$MN_RUN/node$i.lxd"
		stop_pid "$MN_RUN/node$i.lxcfs" lxcfs "$i"
		rm -f "$MN_RUN/node$i.lxcfs-lock"
		# The end of the node's PID 1 ends its namespaces (and kills what
		# is left in them): the veth, the node's mounts (its pool's loop
		# device is released with them).  unshare itself ignores TERM.
		if holder_alive "$i"; then
			h=$(cat "$MN_RUN/node$i.holder")
			kill "$(mn_init "$i")" 2>/dev/null || true
			slxd_wait_gone "$h" || true
		fi
		rm -f "$MN_RUN/node$i.holder"
		ip link del "mnv$i" 2>/dev/null || true
	done
	# the node's cgroups, with what slurmd and LXD made in them (empty now)
	for c in $(controllers); do
		[ -d "/sys/fs/cgroup/$c/$MN_CGROUP" ] &&
			find "/sys/fs/cgroup/$c/$MN_CGROUP" -depth -type d -exec rmdir {} + 2>/dev/null
	done
	ip link del "$MN_BRIDGE" 2>/dev/null || true
	say "stopped"
}

case "${1:-}" in
up) up ;;
down) down ;;
purge) down; rm -rf "$MN_STATE" "$MN_RUN"; rm -f /dev/slxd-fakegpu[0-9]* /dev/slxd-fakesite0; say "removed $MN_STATE" ;;
*) echo "usage: nodes.sh up|down|purge  (NODES=N, default 3)" >&2; exit 2 ;;
esac
