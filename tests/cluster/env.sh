# SPDX-License-Identifier: GPL-2.0-or-later
# Names shared by setup.sh, stop.sh, the demo, the integration suite and the
# benchmarks, and the one clean-up they share.  Sourced, never run.
SLXD_TEST_RUN=/run/slurm-lxd-test          # pids of the daemons we started
SLXD_TEST_LOG=/var/log/slurm-lxd-test
SLXD_TEST_STATE=/var/lib/slurm-lxd-test    # built test images
SLXD_TEST_SHARED=/srv/slxd-test            # allow-listed for --lxd-mount
SLXD_TEST_USER=slxd-alice
SLXD_TEST_UID=2001
SLXD_TEST_USER2=slxd-bob
SLXD_TEST_UID2=2002
SLXD_TEST_GROUP=slxd-lab
SLXD_TEST_GID=2010
SLXD_SUBID_LINE=root:2000:1000             # grants the test users' ids
SLXD_POOL=slxd
SLXD_APPROVED=/etc/slurm/lxd-images.conf
SLXD_IMAGE=demo:1.0                         # approved, on the node
SLXD_IMAGE_ALIAS=slxd-test-demo
SLXD_IMAGE2=demo:2.0                        # approved, second image
SLXD_IMAGE2_ALIAS=slxd-test-demo2
SLXD_IMAGE_UNAPPROVED_ALIAS=slxd-test-unapproved  # on the node, never approved
SLXD_REGISTRY_URL=http://127.0.0.1:8470     # the test registry (slxd-registryd)
SLXD_REGISTRY_CONF=/etc/slurm-lxd/registryd.conf
SLXD_REGISTRY_STORE=/var/lib/slurm-lxd-test/registry

# The node's container daemon (runtime= in spank_lxd.conf): lxd, or incus
# (tests/cluster/incus.sh) with SLXD_RUNTIME=incus (`make integration
# RUNTIME=incus`).  The scripts say `lxc`; for Incus that is its client,
# which takes the same commands.
SLXD_RUNTIME=${SLXD_RUNTIME:-lxd}
case "$SLXD_RUNTIME" in
incus)
	SLXD_RUNTIME_NAME=Incus SLXD_RUNTIME_DIR=/var/lib/incus SLXD_RUNTIME_COMM=incusd
	lxc() { incus "$@"; } ;;
lxd) SLXD_RUNTIME_NAME=LXD SLXD_RUNTIME_DIR=/var/lib/lxd SLXD_RUNTIME_COMM=lxd ;;
*) echo "SLXD_RUNTIME=$SLXD_RUNTIME: use lxd or incus" >&2; return 1 ;;
esac
SLXD_RUNTIME_SOCKET=$SLXD_RUNTIME_DIR/unix.socket
# Its daemon as setup.sh started it: the pid file and /proc/PID/comm
SLXD_RUNTIME_PIDFILE=$SLXD_TEST_RUN/$SLXD_RUNTIME_COMM.pid

# A job's container by name: slurm-<job>, or the spare (lib/spare.h) the
# job took, which keeps its own name.  slurmd's log says which, also after
# the container is gone.
logged_container() { # job id -> instance name, or nothing
	grep -h -m1 -o "slurm-lxd: job $1: \(created\|took spare\) container [^ ]*" \
		"$SLXD_TEST_LOG/slurmd.log" 2>/dev/null | awk '{print $NF}'
}

# Templates (lib/template.h) and idle spares (lib/spare.h) are the node's
# cache; test runs remove the ones their jobs made, after letting a build
# in flight finish (LXD refuses to delete an instance it is still
# creating).  A spare a job took is that job's container: never touched.
remove_node_cache() { # [fingerprint prefix, default all]
	local n i found
	# a job's end may still be making one: go again until a pass finds none
	for _ in 1 2 3 4 5; do
		found=
		for n in $(lxc list --format csv -c n 2>/dev/null | grep "^slxd-tpl-${1:-}"); do
			for i in $(seq 600); do
				[ "$(lxc config get "$n" user.slurm.role 2>/dev/null)" = template-building ] || break
				sleep 0.1
			done
			lxc delete -f "$n" >/dev/null 2>&1 || true # (busy: the next pass)
			found=1
		done
		for n in $(lxc list --format csv -c n user.slurm.role=spare 2>/dev/null |
			   grep "^slxd-spare-${1:-}"); do
			lxc delete -f "$n" >/dev/null 2>&1 || true # (busy: the next pass)
			found=1
		done
		[ -n "$found" ] || break
		sleep 1
	done
	return 0
}

# Is test case NAME one the runner was asked for: 'PATTERN|PATTERN...',
# substrings of case names (none: every case)?  For run.sh and multinode.sh.
slxd_case_selected() { # name patterns
	local p ps
	[ -z "$2" ] && return 0
	IFS='|' read -ra ps <<<"$2"
	for p in "${ps[@]}"; do [[ "$1" == *$p* ]] && return 0; done
	return 1
}
