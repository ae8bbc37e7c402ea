# SPDX-License-Identifier: GPL-2.0-or-later
# Names of the emulated multi-node test cluster (tests/cluster/nodes.sh),
# shared with its demo and its integration lane.  Sourced, never run.
# Nothing here overlaps the one-node cluster of setup.sh: other paths,
# ports 6917/6918 (not 6817/6818), its own bridge and address range.
MN_RUN=/run/slxd-mn                 # pids of what nodes.sh started
MN_STATE=/var/lib/slxd-mn           # nodes' private dirs, slurmctld state, images
MN_LOG=/var/log/slxd-mn
MN_PREFIX=$MN_STATE/root            # slurm-lxd installed from the worktree (DESTDIR)
MN_ETC=$MN_STATE/etc                # the clients' slurm.conf (SLURM_CONF=$MN_CONF)
MN_CONF=$MN_ETC/slurm.conf
MN_BRIDGE=slxdmn0
MN_NET=10.251.0                     # /24 owned by nodes.sh: .1 the host, .11.. the nodes
MN_CTLD_PORT=6917
MN_SLURMD_PORT=6918
MN_DBD_PORT=6919                    # slurmdbd (accounting; MariaDB has no TCP port)
MN_DB=$MN_STATE/db                  # MariaDB's datadir, made once (purge removes it)
MN_DB_RUN=$MN_RUN/db                # its socket and pid file
MN_CGROUP=slxd-mn                   # /sys/fs/cgroup/<ctrl>/slxd-mn/<node>
MN_PARTITION=mn
MN_IMAGE=demo:1.0                   # approved (list mode), imported in every node's LXD
MN_MPI_IMAGE=demo-mpi:1.0           # Debian 12, OpenMPI, PMIx, mpi-hello (tests/cluster/mpi-image.sh)
MN_MPICH_IMAGE=demo-mpich:1.0       # Debian 12, MPICH (its PMI client: --mpi=pmi2), mpi-hello
MN_NODES=${NODES:-3}
MN_FAKE_GPUS=4                      # per node: /dev/slxd-fakegpu0..3, the last node 4..7 (gres.conf)
MN_FAKE_MAJOR=61                    # a character major for local use: no driver

mn_node_name() { echo "mn$1"; }
# The last node's host name differs from its NodeName (NodeHostname=).
mn_host_name() { if [ "$1" = "$MN_NODES" ]; then echo "mnhost$1"; else echo "mn$1"; fi; }
mn_addr() { echo "$MN_NET.$((10 + $1))"; }

# Run a client command against the multi-node cluster.
mn() { SLURM_CONF=$MN_CONF "$@"; }
# Node I's PID 1 (a reaper; its parent, the `unshare` in node$i.holder,
# holds the node's namespaces), as a host pid.
mn_init() { # i
	local h
	h=$(cat "$MN_RUN/node$1.holder" 2>/dev/null) || return 1
	awk '{print $1}' /proc/"$h"/task/"$h"/children 2>/dev/null | grep .
}
# Run a command in node I's namespaces (pid too) and cgroups, as slurmd
# sees the node.
mn_exec() { # i cmd...
	local i=$1 pid
	shift
	pid=$(mn_init "$i") || { echo "node $i is not up" >&2; return 1; }
	bash -c 'for c in /sys/fs/cgroup/*/; do [ -d "$c$1" ] && echo $$ >"$c$1/cgroup.procs"; done
		shift 2; exec nsenter -t "$0" -n -u -m -C -p -- "$@"' "$pid" "$MN_CGROUP/node$i" _ "$@"
}
# The host pid of node I's process whose pid in the node is NSPID (pid
# files inside a node hold the node's pids).
mn_host_pid() { # i nspid
	local p init k v
	init=$(mn_init "$1") || return 1
	for p in /proc/[0-9]*; do
		# (no fork per process: -ef compares the namespaces' inodes)
		[ "$p/ns/pid" -ef "/proc/$init/ns/pid" ] || continue
		while read -r k v; do
			[ "$k" = NSpid: ] || continue
			[ "${v##*[[:space:]]}" = "$2" ] && { echo "${p#/proc/}"; return 0; }
			break
		done <"$p/status" 2>/dev/null
	done
	return 1
}
# Is the process in node I's pid file FILE (a host path) alive and named COMM?
mn_pid_is() { # i file comm
	local p
	p=$(cat "$2" 2>/dev/null) && [ -n "$p" ] && p=$(mn_host_pid "$1" "$p") &&
		[ "$(cat "/proc/$p/comm" 2>/dev/null)" = "$3" ]
}
# lxc against node I's LXD (its socket is reachable from the host by path).
mn_lxc() { # i lxc-args...
	local i=$1
	shift
	LXD_DIR=$MN_STATE/node$i/lxd lxc "$@"
}
