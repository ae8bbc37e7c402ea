#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make bench`'s multi-node section, on the emulated cluster of
# tests/cluster/nodes.sh (3 nodes, each its own slurmd and LXD): what a
# 3-node job pays for its containers against a 1-node job, side by side
# with plain Slurm in the same run, interleaved so the machine's load hits
# every kind alike.  Prints a markdown section on stdout (bench/run.sh
# appends it to results/latest.md); leaves the cluster down.
#   MN_RUNS=N   runs of each kind (default 5)
# Run under the cluster's lock: flock -o /tmp/slxd-mn.lock bash bench/multinode.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/cluster/env.sh"
. "$top/tests/cluster/nodes-env.sh"
[ "$(id -u)" = 0 ] || { echo "bench/multinode.sh: run as root" >&2; exit 1; }

RUNS=${MN_RUNS:-5}
dir=$SLXD_TEST_SHARED/$SLXD_TEST_USER
uid=$(id -u "$SLXD_TEST_USER")
raw=$(mktemp)
started=$(date +%s)
say() { printf '[bench-mn %4ds] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a-b}'; }
record() { printf '%s\t%s\n' "$1" "$2" >>"$raw"; }
stats() { # median p95 min max n of kind $1
	awk -F'\t' -v k="$1" '$1==k{print $2}' "$raw" | sort -g | awk '{v[NR]=$1} END{
		if (!NR) {print "- - - - 0"; exit}
		m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; p=int(0.95*NR+0.999)
		printf "%.3f %.3f %.3f %.3f %d\n", m, v[p], v[1], v[NR], NR}'
}
med() { stats "$1" | cut -d' ' -f1; }
alice() { (cd "$dir" && runuser -u "$SLXD_TEST_USER" -- env SLURM_CONF="$MN_CONF" "$@"); }

spares() { # on/off: every node's configuration (read per job)
	local i f
	for i in $(seq "$MN_NODES"); do
		f=$MN_STATE/node$i/etc/spank_lxd.conf
		if [ "$1" = off ]; then
			[ -e "$f.bench-saved" ] || cp -p "$f" "$f.bench-saved"
			echo spare_max_idle=0 >>"$f"
		elif [ -e "$f.bench-saved" ]; then
			mv -f "$f.bench-saved" "$f"
		fi
	done
}
cleanup() {
	set +e
	spares on
	for j in $(mn squeue -h -u "$SLXD_TEST_USER" -o %i 2>/dev/null); do mn scancel "$j"; done
	bash "$top/tests/cluster/nodes.sh" down >/dev/null 2>&1
	rm -f "$raw" "$dir/bench-mn.err"
}
trap cleanup EXIT

# Until no job of the user is completing and no job container is left on
# any node: every figure starts from settled nodes.
settle() {
	local i n
	for _ in $(seq 600); do
		n=$(mn squeue -h -u "$SLXD_TEST_USER" -t CG -o %i 2>/dev/null)
		for i in $(seq "$MN_NODES"); do
			n=$n$(mn_lxc "$i" list --format csv -c n user.slurm.role=job 2>/dev/null)
		done
		[ -z "$n" ] && return 0
		sleep 0.1
	done
	say "warning: not settled after 60 s: $n"
}
# Until every node has a spare of the user for image alias $1 (made in the
# background after a job ended); at most 60 s.
wait_spares() { # alias
	local i fp ok
	fp=$(mn_lxc 1 image info "$1" | awk '/^Fingerprint:/{print $2}')
	for _ in $(seq 300); do
		ok=0
		for i in $(seq "$MN_NODES"); do
			mn_lxc "$i" list --format csv -c n user.slurm.role=spare "user.slurm.uid=$uid" 2>/dev/null |
				grep -q "^slxd-spare-${fp:0:12}-" && ok=$((ok + 1))
		done
		[ "$ok" = "$MN_NODES" ] && return 0
		sleep 0.2
	done
	say "warning: not every node has a spare for $1"
}
timed() { # kind cmd...
	local k=$1 t0 t1
	shift
	settle
	t0=$(now)
	if ! alice "$@" >/dev/null 2>"$dir/bench-mn.err"; then
		# an MPI run may fail on this loaded machine: counted, not timed
		case $k in mpi_*) say "warning: '$*' failed: $(head -c 2000 "$dir/bench-mn.err")"; record "${k}_failed" 1; return 0 ;; esac
		say "'$*' failed: $(cat "$dir/bench-mn.err")"
		exit 1
	fi
	t1=$(now)
	record "$k" "$(sub "$t1" "$t0")"
}

say "bringing the multi-node cluster up"
bash "$top/tests/cluster/nodes.sh" up >/dev/null
IMG=$MN_IMAGE MPI=$MN_MPI_IMAGE
say "warm-up"
alice srun -N"$MN_NODES" --lxd-image="$IMG" true >/dev/null
alice srun -N"$MN_NODES" -n6 --mpi=pmix --lxd-image="$MPI" mpi-hello >/dev/null
say "$RUNS runs of each kind, spares on"
for r in $(seq "$RUNS"); do
	timed plain1 srun -N1 true
	timed plain3 srun -N"$MN_NODES" true
	wait_spares slxd-mn-demo
	timed lxd1 srun -N1 --lxd-image="$IMG" true
	wait_spares slxd-mn-demo
	timed lxd3 srun -N"$MN_NODES" --lxd-image="$IMG" true
	timed mpi_plain srun -N"$MN_NODES" -n6 --mpi=pmix true
	wait_spares slxd-mn-demo-mpi
	timed mpi_lxd srun -N"$MN_NODES" -n6 --mpi=pmix --lxd-image="$MPI" mpi-hello
	say "run $r done"
done
say "$RUNS runs of each kind, spares off (a copy of the template per node)"
spares off
for r in $(seq "$RUNS"); do
	timed plain1_b srun -N1 true
	timed plain3_b srun -N"$MN_NODES" true
	timed lxd1_ns srun -N1 --lxd-image="$IMG" true
	timed lxd3_ns srun -N"$MN_NODES" --lxd-image="$IMG" true
done
spares on

row() { # label kind baseline-kind
	local m p mn mx n
	read -r m p mn mx n < <(stats "$2")
	echo "| $1 | $m | $p | $mn | $mx | $n | $(sub "$m" "$(med "$3")") |"
}
o1=$(sub "$(med lxd1)" "$(med plain1)")
o3=$(sub "$(med lxd3)" "$(med plain3)")
o1n=$(sub "$(med lxd1_ns)" "$(med plain1_b)")
o3n=$(sub "$(med lxd3_ns)" "$(med plain3_b)")
verdict() { awk -v a="$1" -v b="$2" 'BEGIN{d=a-b; print (d <= 0.05) ? "met" : "missed"}'; }
echo
echo "### 7. Multi-node: \`srun -N$MN_NODES\` against \`srun -N1\` (emulated nodes, \`bench/multinode.sh\`)"
echo
echo "$MN_NODES emulated nodes on this machine (tests/cluster/nodes.sh: each its own slurmd and LXD, \`proctrack/cgroup\`, \`task/cgroup\`), all sharing its $(nproc) cores; MN_RUNS=$RUNS, interleaved; each job a new allocation from settled nodes.  Seconds."
echo
echo "| what | median | p95 | min | max | n | minus plain (same nodes) |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
row "\`srun -N1 true\` (plain)" plain1 plain1
row "\`srun -N$MN_NODES true\` (plain)" plain3 plain3
row "\`srun -N1 --lxd-image=$IMG true\`, a spare waiting" lxd1 plain1
row "\`srun -N$MN_NODES --lxd-image=$IMG true\`, a spare waiting on each node" lxd3 plain3
row "\`srun -N1 true\` (plain, spares-off phase)" plain1_b plain1_b
row "\`srun -N$MN_NODES true\` (plain, spares-off phase)" plain3_b plain3_b
row "\`srun -N1 --lxd-image=$IMG true\`, no spare (template copy)" lxd1_ns plain1_b
row "\`srun -N$MN_NODES --lxd-image=$IMG true\`, no spare on any node" lxd3_ns plain3_b
row "\`srun -N$MN_NODES -n6 --mpi=pmix true\` (plain)" mpi_plain mpi_plain
row "\`srun -N$MN_NODES -n6 --mpi=pmix --lxd-image=$MPI mpi-hello\` (MPI_Allreduce), a spare waiting" mpi_lxd mpi_plain
echo
echo "MPI runs that failed (not timed): $(awk -F'\t' '$1 == "mpi_lxd_failed"' "$raw" | wc -l) with the image, $(awk -F'\t' '$1 == "mpi_plain_failed"' "$raw" | wc -l) plain."
echo
echo "| target | measured | |"
echo "| --- | --- | --- |"
echo "| a $MN_NODES-node job's overhead within 0.05 s of a 1-node job's, spares | $o3 s against $o1 s ($(sub "$o3" "$o1") s) | $(verdict "$o3" "$o1") |"
echo "| … no spares | $o3n s against $o1n s ($(sub "$o3n" "$o1n") s) | $(verdict "$o3n" "$o1n") |"
say "done"
