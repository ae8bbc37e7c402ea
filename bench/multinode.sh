#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make bench`'s multi-node section, on the emulated cluster of
# tests/cluster/nodes.sh (3 nodes, each its own slurmd and LXD): what a
# 3-node job pays for its containers against a 1-node job, side by side
# with plain Slurm in the same run, interleaved so the machine's load hits
# every kind alike.  Prints a markdown section on stdout (bench/run.sh
# appends it to results/latest.md); leaves the cluster down.
#   MN_RUNS=N   runs of each kind (default 5); MN_MPI=0 leaves the MPI hello out;
#   MN_RAW=FILE keeps the raw records
# Each run is also taken apart per node (bench/mn-timing.py: the plugin's
# timing line in each slurmd log, the node's and its LXD's CPU).
# Run under the cluster's lock: flock -o /tmp/slxd-mn.lock bash bench/multinode.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/cluster/env.sh"
. "$top/tests/cluster/nodes-env.sh"
[ "$(id -u)" = 0 ] || { echo "bench/multinode.sh: run as root" >&2; exit 1; }

RUNS=${MN_RUNS:-5}
MPI_RUNS=${MN_MPI:-1} # 0: leave the MPI hello out (a shorter hold of the lock)
dir=$SLXD_TEST_SHARED/$SLXD_TEST_USER
uid=$(id -u "$SLXD_TEST_USER")
raw=$(mktemp)
started=$(date +%s)
BENCH_TAG=bench-mn
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
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
	[ -z "${MN_RAW:-}" ] || cp "$raw" "$MN_RAW" # the raw records, to look at again
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
# Per node, what a job costs it: where its slurmd log ends, the node's
# CPU nanoseconds (its cgroup: slurmd, slurmstepd, LXD, containers), its
# LXD daemon's CPU ticks and its threads' nanoseconds waiting on a run
# queue (schedstat).  Read before and after each run.
declare -A lxd_pid
probe() {
	local i p ticks rq f
	for i in $(seq "$MN_NODES"); do
		p=${lxd_pid[$i]:-}
		ticks=0 rq=0
		if [ -n "$p" ] && [ -r "/proc/$p/stat" ]; then
			ticks=$(awk '{sub(/^.*\) /, ""); print $12 + $13 + $14 + $15}' "/proc/$p/stat")
			for f in /proc/"$p"/task/*/schedstat; do
				rq=$((rq + $(cut -d' ' -f2 "$f" 2>/dev/null || echo 0)))
			done
		fi
		echo "$i $(stat -c %s "$MN_LOG/slurmd-$(mn_node_name "$i").log") $(cat "/sys/fs/cgroup/cpuacct/$MN_CGROUP/node$i/cpuacct.usage") $ticks $rq"
	done
}
# One record per node of the run just timed (bench/mn-timing.py's fields,
# then the node's CPU, its LXD's CPU and run-queue wait, in seconds).
decompose() { # kind t0 before after
	local k=$1 t0=$2 args=() i off
	while read -r i off _; do
		args+=("$(mn_node_name "$i")=$MN_LOG/slurmd-$(mn_node_name "$i").log:$off")
	done <<<"$3"
	# the log lines of a run are written by its end, a fraction later
	sleep 0.3
	join <(python3 "$here/mn-timing.py" "$t0" "${args[@]}" | sed 's/^mn//' | sort) \
		<(join <(echo "$3" | sort) <(echo "$4" | sort) |
			awk -v hz="$(getconf CLK_TCK)" '{printf "%s %.3f %.3f %.3f\n", $1, ($7-$3)/1e9, ($8-$4)/hz, ($9-$5)/1e9}') |
		while read -r line; do record "${k}_node" "$runno $line"; done
}
runno=0
timed() { # kind cmd...
	local k=$1 t0 t1 before
	shift
	settle
	before=$(probe)
	runno=$((runno + 1))
	t0=$(now)
	if ! alice "$@" >/dev/null 2>"$dir/bench-mn.err"; then
		# an MPI run may fail on this loaded machine: counted, not timed
		case $k in mpi_*) say "warning: '$*' failed: $(head -c 2000 "$dir/bench-mn.err")"; record "${k}_failed" 1; return 0 ;; esac
		say "'$*' failed: $(cat "$dir/bench-mn.err")"
		exit 1
	fi
	t1=$(now)
	record "$k" "$(sub "$t1" "$t0")"
	case $k in mpi_*) ;; *) decompose "$k" "$t0" "$before" "$(probe)" ;; esac
}

say "bringing the multi-node cluster up"
bash "$top/tests/cluster/nodes.sh" up >/dev/null
IMG=$MN_IMAGE MPI=$MN_MPI_IMAGE
for i in $(seq "$MN_NODES"); do lxd_pid[$i]=$(mn_host_pid "$i" "$(cat "$MN_RUN/node$i.lxd")"); done
say "warm-up"
alice srun -N"$MN_NODES" --lxd-image="$IMG" true >/dev/null
[ "$MPI_RUNS" = 0 ] || alice srun -N"$MN_NODES" -n6 --mpi=pmix --lxd-image="$MPI" mpi-hello >/dev/null
say "$RUNS runs of each kind, spares on"
for r in $(seq "$RUNS"); do
	timed plain1 srun -N1 true
	timed plain3 srun -N"$MN_NODES" true
	wait_spares slxd-mn-demo
	timed lxd1 srun -N1 --lxd-image="$IMG" true
	wait_spares slxd-mn-demo
	timed lxd3 srun -N"$MN_NODES" --lxd-image="$IMG" true
	if [ "$MPI_RUNS" != 0 ]; then
		timed mpi_plain srun -N"$MN_NODES" -n6 --mpi=pmix true
		wait_spares slxd-mn-demo-mpi
		timed mpi_lxd srun -N"$MN_NODES" -n6 --mpi=pmix --lxd-image="$MPI" mpi-hello
	fi
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
echo "Each node's own critical path (medians over runs and nodes; from each node's slurmd log: its \`launch task\` line, then slurm-lxd's \`timing:\` line, lib/steptime.h, or for plain Slurm its \`task N started\` line).  *path*: the launch request's arrival at slurmd to the payload's exec; *launch→stepd*: slurmd (and, at a job's first step, the Prolog) until slurmstepd loads the plugin; *→priv*: slurmstepd's own set-up until the task's privileged callback; *→ready*: the job's container claimed or made (LXD); *→exec*: entering it and the task's last callbacks.  *task CPU*/*task runq*: the task process's CPU seconds and seconds waiting for a CPU until its container was ready; *LXD CPU*/*LXD runq*: the node's LXD daemon's, over the whole run; *node CPU*: everything in the node's cgroup over the whole run.  *net path*: path minus task runq minus LXD runq (the wait for a CPU taken out).  *first launch*: srun's start to the first node's launch; *spread*: last node's launch minus first's (what reaches the nodes one after another).  Seconds."
echo
echo "| kind | nodes×runs | path | launch→stepd | →priv | →ready | →exec | task CPU | task runq | LXD CPU | LXD runq | node CPU | net path | slowest node's path | first launch | spread |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
drow() { # label kind
	awk -F'\t' -v k="$2_node" '$1 == k {print $2}' "$raw" | awk '$10 != "-"' | awk -v label="$1" '
	function med(col,   n, i, j, t, v) {
		n = 0
		for (i = 1; i <= NR; i++) if (val[i, col] != "-") v[++n] = val[i, col] + 0
		if (!n) return "-"
		for (i = 2; i <= n; i++) { t = v[i]; for (j = i - 1; j >= 1 && v[j] > t; j--) v[j + 1] = v[j]; v[j + 1] = t }
		return sprintf("%.3f", (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2)
	}
	function medarr(a, n,   i, j, t) {
		if (!n) return "-"
		for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
		return sprintf("%.3f", (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2)
	}
	{
		for (c = 1; c <= NF; c++) val[NR, c] = $c
		net = "-"
		if ($3 != "-" && $9 != "-") net = $3 - $9 - $13
		val[NR, 14] = net
		r = $1
		if (!(r in seen)) { seen[r] = 1; runs[++nr] = r }
		if ($3 != "-" && (!(r in mx) || $3 > mx[r])) mx[r] = $3
		if ($10 != "-") {
			if (!(r in lo) || $10 < lo[r]) lo[r] = $10
			if (!(r in hi) || $10 > hi[r]) hi[r] = $10
		}
	}
	END {
		if (!NR) exit
		for (i = 1; i <= nr; i++) {
			if (runs[i] in mx) m1[++n1] = mx[runs[i]]
			if (runs[i] in lo) { f1[++n2] = lo[runs[i]]; s1[n2] = hi[runs[i]] - lo[runs[i]] }
		}
		printf "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", label, NR,
			med(3), med(4), med(5), med(6), med(7), med(8), med(9), med(12), med(13), med(11), med(14),
			medarr(m1, n1), medarr(f1, n2), medarr(s1, n2)
	}'
}
drow "\`srun -N1 true\` (plain)" plain1
drow "\`srun -N$MN_NODES true\` (plain)" plain3
drow "\`srun -N1 --lxd-image\`, spare" lxd1
drow "\`srun -N$MN_NODES --lxd-image\`, spares" lxd3
drow "\`srun -N1 true\` (plain, spares-off phase)" plain1_b
drow "\`srun -N$MN_NODES true\` (plain, spares-off phase)" plain3_b
drow "\`srun -N1 --lxd-image\`, no spare" lxd1_ns
drow "\`srun -N$MN_NODES --lxd-image\`, no spares" lxd3_ns
echo
echo "| target | measured | |"
echo "| --- | --- | --- |"
echo "| a $MN_NODES-node job's overhead within 0.05 s of a 1-node job's, spares | $o3 s against $o1 s ($(sub "$o3" "$o1") s) | $(verdict "$o3" "$o1") |"
echo "| … no spares | $o3n s against $o1n s ($(sub "$o3n" "$o1n") s) | $(verdict "$o3n" "$o1n") |"
say "done"
