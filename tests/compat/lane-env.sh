# SPDX-License-Identifier: GPL-2.0-or-later
# Names of the Slurm 24.11 lane (tests/compat/lane.sh), shared with the
# integration runner it points at that cluster.  Sourced, never run.
# Nothing here overlaps the one-node cluster (setup.sh) or the multi-node
# one (nodes.sh): other paths, ports 6937/6938, job ids from 7000000.
L_SUITE=trixie                        # Debian 13: Slurm 24.11
L_PKGS="slurmd slurmctld slurm-client libslurm-dev munge libmunge-dev gcc make pkg-config libc6-dev
	libcurl4-openssl-dev libjansson-dev libssl-dev libarchive-dev libyaml-dev"
L_STATE=/var/lib/slxd-2411            # the cached roots, the clients' config
L_KEY=$(printf '%s\n' "$L_SUITE" $L_PKGS | sha256sum | cut -c1-12)
L_ROOT=$L_STATE/root-$L_KEY           # the Debian 13 root (mmdebstrap), by package list
L_RUN=/run/slxd-2411                  # the namespace holder's pid
L_ETC=$L_STATE/etc                    # the host-side clients' slurm.conf, plugstack.conf
L_BIN=$L_STATE/bin                    # srun, sbatch, ... of the root, run on the host
L_HOST=s2411                          # the node's (and controller's) host name
L_ADDR=127.0.0.1
L_CTLD_PORT=6937
L_SLURMD_PORT=6938
L_FIRST_JOB=7000000
L_LOCK=/tmp/slxd-2411.lock
L_MULTIARCH=x86_64-linux-gnu
L_PLUGINDIR=/usr/lib/$L_MULTIARCH/slurm-wlm

# The holder of the lane's UTS namespace (a sleep).
l_holder() {
	local pid
	pid=$(cat "$L_RUN/holder.pid" 2>/dev/null) || return 1
	[ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] && echo "$pid"
}
# Run a command in the root, under the lane's host name.
l_exec() { # cmd...
	local h
	h=$(l_holder) || { echo "the 24.11 lane is not up (tests/compat/lane.sh up)" >&2; return 1; }
	nsenter -t "$h" -u -- chroot "$L_ROOT" "$@"
}
