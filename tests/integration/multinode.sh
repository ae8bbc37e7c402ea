#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The multi-node lane: real jobs, as the ordinary test users, on the
# emulated multi-node cluster (tests/cluster/nodes.sh: slurmctld, N>=3
# slurmds each with its own LXD, proctrack/cgroup, task/cgroup, PMIx).
# Brings the nodes up, runs every t_mn_* case (each bounded by
# MN_CASE_TIMEOUT seconds), checks no job container is left on any node,
# stops the nodes, and ends with "N passed, N failed".
#   bash tests/integration/multinode.sh [NAME-PATTERN]
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/cluster/env.sh"
. "$top/tests/cluster/nodes-env.sh"

MN_CASE_TIMEOUT=${MN_CASE_TIMEOUT:-150}
ALICE_DIR=$SLXD_TEST_SHARED/$SLXD_TEST_USER
IMG=$MN_IMAGE

lane_start=$(date +%s)
id "$SLXD_TEST_USER" >/dev/null 2>&1 && [ -d "$ALICE_DIR" ] ||
	{ echo "multinode.sh: no test user $SLXD_TEST_USER: run tests/cluster/setup.sh first"; echo "0 passed, 1 failed"; exit 1; }
bash "$top/tests/cluster/nodes.sh" up || { echo "0 passed, 1 failed"; exit 1; }
echo "multi-node cluster up in $(( $(date +%s) - lane_start )) s"

# --- helpers -------------------------------------------------------------
fail() { echo "  $*" >&2; return 1; }
alice() { (cd "$ALICE_DIR" && runuser -u "$SLXD_TEST_USER" -- env SLURM_CONF="$MN_CONF" "$@"); }
# names of job J's containers on node I (label user.slurm.job_id)
job_containers() { # i job
	mn_lxc "$1" list --format csv -c n "user.slurm.job_id=$2" 2>/dev/null
}
# every job container (any job) on every node
all_job_containers() {
	local i
	for i in $(seq "$MN_NODES"); do
		mn_lxc "$i" list --format csv -c n 2>/dev/null | grep '^slurm-' | sed "s/^/$(mn_node_name "$i"):/"
		mn_lxc "$i" list --format csv -c n user.slurm.role=job 2>/dev/null | sed "s/^/$(mn_node_name "$i"):/"
	done | sort -u
}
# wait until job J has no container on any node (teardown is the epilog's)
wait_job_gone() { # job [seconds]
	local i n
	for _ in $(seq $((${2:-60} * 2))); do
		n=0
		for i in $(seq "$MN_NODES"); do
			[ -z "$(job_containers "$i" "$1")" ] || n=$((n + 1))
		done
		[ $n = 0 ] && return 0
		sleep 0.5
	done
	for i in $(seq "$MN_NODES"); do
		[ -z "$(job_containers "$i" "$1")" ] || echo "  node $(mn_node_name "$i") still has: $(job_containers "$i" "$1")" >&2
	done
	return 1
}
job_state() { mn scontrol show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
wait_state() { # job state seconds
	for _ in $(seq $(($3 * 2))); do [ "$(job_state "$1")" = "$2" ] && return 0; sleep 0.5; done
	fail "job $1 is '$(job_state "$1")', not $2"
}

# --- cases -----------------------------------------------------------------

# Every task of `srun -N3` runs in its own node's job container: the host
# name inside is slurm-<job> and the image's marker is there, on each of
# the nodes, each named by its own slurmd.
t_mn_srun_every_node_in_its_container() {
	local out job n
	out=$(alice timeout 120 srun -N"$MN_NODES" -l --lxd-image="$IMG" \
		sh -c 'echo "$SLURM_JOB_ID $SLURMD_NODENAME $(hostname) $(cat /etc/slxd-image) $(id -u)"') || fail "srun failed: $out" || return 1
	job=$(echo "$out" | awk 'NR==1 {print $2}')
	n=$(echo "$out" | awk -v h="slurm-$job" -v u="$(id -u "$SLXD_TEST_USER")" \
		'$4 == h && $5 == "image:mn-demo" && $6 == u {print $3}' | sort -u | wc -l)
	[ "$n" = "$MN_NODES" ] || fail "expected $MN_NODES nodes each in container slurm-$job, got: $out" || return 1
	# ... and the nodes are the allocated ones, named as slurmctld names them
	[ "$(echo "$out" | awk '{print $3}' | sort -u | tr '\n' ' ')" = "$(for i in $(seq "$MN_NODES"); do mn_node_name "$i"; done | tr '\n' ' ')" ] ||
		fail "tasks ran on unexpected nodes: $out" || return 1
	wait_job_gone "$job" 60
}

# salloc -N2, then several steps: one container per node, the same one
# across the steps, gone after the allocation ends.
t_mn_salloc_steps_reuse_one_container_per_node() {
	local out job
	out=$(alice timeout 120 salloc -N2 --lxd-image="$IMG" sh -c '
		for s in 1 2 3; do
			srun -N2 -l --lxd-image='"$IMG"' sh -c "echo \$SLURMD_NODENAME \$(hostname) step$s; touch /tmp/mn-seen-$s; ls /tmp | grep -c mn-seen-" || exit 1
		done
		echo "JOB $SLURM_JOB_ID"' 2>&1) || fail "salloc failed: $out" || return 1
	job=$(echo "$out" | awk '$1 == "JOB" {print $2}')
	[ -n "$job" ] || fail "no job id in: $out" || return 1
	# step 3 sees the files steps 1 and 2 left in the container's /tmp: one container
	[ "$(echo "$out" | grep -c '^[01]: 3$')" = 2 ] ||
		fail "steps did not share one container per node: $out" || return 1
	[ "$(echo "$out" | grep -c "slurm-$job step")" = 6 ] || fail "unexpected host names: $out" || return 1
	wait_job_gone "$job" 60
}

# scancel of a running 3-node job: no container of it survives on any node.
t_mn_scancel_3node_job_leaves_nothing() {
	local job i n
	printf '#!/bin/sh\nsleep 300\n' >"$ALICE_DIR/mn-sleep.sh"
	chown "$SLXD_TEST_USER" "$ALICE_DIR/mn-sleep.sh"
	job=$(alice sbatch --parsable -N"$MN_NODES" --lxd-image="$IMG" -o /dev/null mn-sleep.sh) || fail "sbatch failed" || return 1
	wait_state "$job" RUNNING 60 || return 1
	# the batch node has its container; start a step on all nodes so every node has one
	alice timeout 60 srun --jobid="$job" -N"$MN_NODES" --lxd-image="$IMG" true || fail "step in job $job failed" || return 1
	n=0
	for i in $(seq "$MN_NODES"); do [ -n "$(job_containers "$i" "$job")" ] && n=$((n + 1)); done
	[ "$n" = "$MN_NODES" ] || fail "job $job has containers on $n nodes, not $MN_NODES" || return 1
	alice scancel "$job"
	wait_job_gone "$job" 60 || return 1
	rm -f "$ALICE_DIR/mn-sleep.sh"
}

# A payload that exceeds --mem is OOM-killed by the job's memory cgroup
# (ConstrainRAMSpace) inside the container, and Slurm says OUT_OF_MEMORY.
t_mn_mem_limit_oom_killed_in_container() {
	local job out
	printf '#!/bin/sh\nhostname\nawk '\''BEGIN { s = "x"; while (1) s = s s }'\''\n' >"$ALICE_DIR/mn-oom.sh"
	chown "$SLXD_TEST_USER" "$ALICE_DIR/mn-oom.sh"
	job=$(alice timeout 120 sbatch --parsable --wait -N1 --mem=64M --lxd-image="$IMG" -o mn-oom-%j.out mn-oom.sh)
	[ -n "$job" ] || fail "sbatch gave no job id" || return 1
	out=$(cat "$ALICE_DIR/mn-oom-$job.out" 2>/dev/null)
	rm -f "$ALICE_DIR/mn-oom.sh" "$ALICE_DIR/mn-oom-$job.out"
	echo "$out" | grep -qx "slurm-$job" || fail "the payload did not run in its container: $out" || return 1
	[ "$(job_state "$job")" = OUT_OF_MEMORY ] || fail "job $job is $(job_state "$job"), not OUT_OF_MEMORY; output: $out" || return 1
	wait_job_gone "$job" 60
}

# --cpus-per-task confines the payload's CPUs (ConstrainCores, affinity):
# 1 gives nproc 1 inside the container, 2 gives 2 (each node has 2).
t_mn_cpus_per_task_confines_cpus() {
	local out
	out=$(alice timeout 60 srun -N1 -n1 --cpus-per-task=1 --lxd-image="$IMG" \
		sh -c 'echo "$(hostname) $(nproc) $(grep Cpus_allowed_list /proc/self/status | cut -f2)"') || fail "srun failed: $out" || return 1
	echo "$out" | grep -q '^slurm-[0-9]* 1 [0-9]*$' || fail "--cpus-per-task=1: $out" || return 1
	out=$(alice timeout 60 srun -N1 -n1 --cpus-per-task=2 --lxd-image="$IMG" \
		sh -c 'echo "$(hostname) $(nproc)"') || fail "srun failed: $out" || return 1
	echo "$out" | grep -q '^slurm-[0-9]* 2$' || fail "--cpus-per-task=2: $out" || return 1
}

# What the job sees of its own allocation (lib/joblimits.h, lxcfs): one
# line "MemTotal-kB cpuinfo-count online-list nproc allowed-list uptime-s".
MN_SEEN='echo "$(awk "/^MemTotal:/ {print \$2}" /proc/meminfo) $(grep -c ^processor /proc/cpuinfo) $(cat /sys/devices/system/cpu/online) $(nproc) $(grep Cpus_allowed_list /proc/self/status | cut -f2) $(cut -d. -f1 /proc/uptime)"'
export MN_SEEN

# 1 CPU and --mem=256M: /proc/meminfo, /proc/cpuinfo, the online CPUs and
# nproc are the job's, /proc/uptime the container's (the host's is days);
# Slurm's own confinement (the task's CPUs) is unchanged.
t_mn_job_sees_its_own_allocation_1cpu_256m() {
	local out
	out=$(alice timeout 60 srun -N1 -n1 -c1 --mem=256M --lxd-image="$IMG" sh -c "$MN_SEEN") ||
		fail "srun failed: $out" || return 1
	set -- $out
	[ "$1" = 262144 ] || fail "MemTotal $1 kB, not 262144 (256M): $out" || return 1
	[ "$2" = 1 ] && [ "$4" = 1 ] || fail "cpuinfo/nproc not 1: $out" || return 1
	[ "$3" = "$5" ] || fail "online CPUs $3 are not the task's ($5): $out" || return 1
	[ "$6" -lt 120 ] || fail "uptime $6 s is not the container's: $out" || return 1
}

# The whole node (--exclusive --mem=0): its 2 CPUs and RealMemory (2000M),
# and a step with fewer CPUs keeps its own confinement: nproc 1 while the
# container still shows the job's 2.
t_mn_job_sees_its_own_allocation_whole_node() {
	local out
	out=$(alice timeout 120 salloc -N1 --exclusive --mem=0 --lxd-image="$IMG" sh -c '
		srun -n1 --lxd-image='"$IMG"' sh -c "$MN_SEEN"
		srun -n1 -c1 --mem=100M --lxd-image='"$IMG"' sh -c "$MN_SEEN"' 2>&1) ||
		fail "salloc failed: $out" || return 1
	local whole one
	whole=$(echo "$out" | grep -E '^[0-9]+ ' | sed -n 1p)
	one=$(echo "$out" | grep -E '^[0-9]+ ' | sed -n 2p)
	set -- $whole
	[ "$1" = 2048000 ] && [ "$2" = 2 ] && [ "$3" = 0-1 ] && [ "$4" = 2 ] ||
		fail "whole node: expected '2048000 2 0-1 2 ...', got: $out" || return 1
	set -- $one
	[ "$1" = 2048000 ] && [ "$2" = 2 ] && [ "$4" = 1 ] ||
		fail "a 1-CPU step of the whole-node job: expected '2048000 2 0-1 1 ...', got: $out" || return 1
}

# Two jobs side by side on one node see different figures, each its own.
t_mn_two_jobs_on_one_node_see_their_own() {
	local node a b
	node=$(mn_node_name 1)
	alice timeout 60 srun -N1 -w "$node" -n1 -c1 --mem=256M --lxd-image="$IMG" \
		sh -c "$MN_SEEN; sleep 4" >"$ALICE_DIR/mn-side-a" 2>&1 &
	alice timeout 60 srun -N1 -w "$node" -n1 -c1 --mem=384M --lxd-image="$IMG" \
		sh -c "$MN_SEEN; sleep 4" >"$ALICE_DIR/mn-side-b" 2>&1 &
	wait
	a=$(cat "$ALICE_DIR/mn-side-a"); b=$(cat "$ALICE_DIR/mn-side-b")
	rm -f "$ALICE_DIR/mn-side-a" "$ALICE_DIR/mn-side-b"
	echo "$a" | grep -q '^262144 1 \([01]\) 1 \1 ' || fail "job A (256M, 1 CPU): $a" || return 1
	echo "$b" | grep -q '^393216 1 \([01]\) 1 \1 ' || fail "job B (384M, 1 CPU): $b" || return 1
	# side by side: each on its own CPU of the node
	[ "$(echo "$a" | cut -d' ' -f3)" != "$(echo "$b" | cut -d' ' -f3)" ] ||
		fail "both jobs on the same CPU: $a / $b" || return 1
}

# One node's slurmd dies mid-job (its slurmstepds and the job's container
# live on), the job is cancelled meanwhile, then the slurmd comes back:
# the job's end reaches that node too and no container survives anywhere.
t_mn_slurmd_killed_mid_job_then_cancel() {
	local job i n pidf hp
	printf '#!/bin/sh\nsleep 300\n' >"$ALICE_DIR/mn-sleep2.sh"
	chown "$SLXD_TEST_USER" "$ALICE_DIR/mn-sleep2.sh"
	job=$(alice sbatch --parsable -N"$MN_NODES" --lxd-image="$IMG" -o /dev/null mn-sleep2.sh) || fail "sbatch failed" || return 1
	rm -f "$ALICE_DIR/mn-sleep2.sh"
	wait_state "$job" RUNNING 60 || return 1
	alice timeout 60 srun --jobid="$job" -N"$MN_NODES" --lxd-image="$IMG" true || fail "step in job $job failed" || return 1
	n=0
	for i in $(seq "$MN_NODES"); do [ -n "$(job_containers "$i" "$job")" ] && n=$((n + 1)); done
	[ "$n" = "$MN_NODES" ] || fail "job $job has containers on $n nodes, not $MN_NODES" || return 1
	# kill node 2's slurmd (by its pid, translated from the node's pid namespace)
	pidf=$MN_STATE/node2/spool/slurmd.pid
	hp=$(mn_host_pid 2 "$(cat "$pidf")") || fail "no slurmd on node 2" || return 1
	[ "$(cat "/proc/$hp/comm")" = slurmd ] || fail "pid $hp is not slurmd" || return 1
	kill -9 "$hp"
	alice scancel "$job"
	sleep 3
	[ -n "$(job_containers 2 "$job")" ] || echo "  (node 2's container went without its slurmd)" >&2
	# the node's slurmd comes back, as after a crash
	mn_exec 2 slurmd -N "$(mn_node_name 2)" >/dev/null 2>&1 || mn_exec 2 slurmd || fail "slurmd did not restart" || return 1
	wait_job_gone "$job" 90
}

# One node's LXD dies and restarts mid-job (the containers run on without
# it); the job's end on that node still finds and removes its container.
t_mn_lxd_restarted_mid_job() {
	local job hp i
	printf '#!/bin/sh\nsleep 300\n' >"$ALICE_DIR/mn-sleep3.sh"
	chown "$SLXD_TEST_USER" "$ALICE_DIR/mn-sleep3.sh"
	job=$(alice sbatch --parsable -N"$MN_NODES" --lxd-image="$IMG" -o /dev/null mn-sleep3.sh) || fail "sbatch failed" || return 1
	rm -f "$ALICE_DIR/mn-sleep3.sh"
	wait_state "$job" RUNNING 60 || return 1
	alice timeout 60 srun --jobid="$job" -N"$MN_NODES" --lxd-image="$IMG" true || fail "step in job $job failed" || return 1
	[ -n "$(job_containers 3 "$job")" ] || fail "no container of job $job on node 3" || return 1
	hp=$(mn_host_pid 3 "$(cat "$MN_RUN/node3.lxd")") || fail "no LXD on node 3" || return 1
	[ "$(cat "/proc/$hp/comm")" = lxd ] || fail "pid $hp is not lxd" || return 1
	kill -9 "$hp"
	for _ in $(seq 50); do kill -0 "$hp" 2>/dev/null || break; sleep 0.1; done
	mn_exec 3 bash -c 'echo $$ >"$0"; exec setsid lxd --group root --logfile "$1"' \
		"$MN_RUN/node3.lxd" "$MN_LOG/lxd-node3.log" </dev/null >/dev/null 2>&1 &
	LXD_DIR=$MN_STATE/node3/lxd timeout 90 lxd waitready --timeout 60 || fail "node 3's LXD did not come back" || return 1
	# the job still runs its steps on every node, in its containers
	alice timeout 60 srun --jobid="$job" -N"$MN_NODES" --lxd-image="$IMG" true || fail "step after LXD restart failed" || return 1
	alice scancel "$job"
	wait_job_gone "$job" 60
}

# MPI across the nodes with Slurm's PMIx: every rank in its node's job
# container (Debian 12 image, OpenMPI), the allreduce right, three nodes,
# and no PMIx error (slurm-lxd gives the ranks what PMIx needs).
t_mn_mpi_pmix_allreduce_across_nodes() {
	local out job
	out=$(alice timeout 120 srun -N3 -n6 --mpi=pmix --lxd-image="$MN_MPI_IMAGE" mpi-hello 2>&1) ||
		fail "srun --mpi=pmix failed: $out" || return 1
	! echo "$out" | grep -q 'PMIX ERROR' || fail "PMIx errors: $out" || return 1
	[ "$(echo "$out" | grep -c '^rank [0-5] of 6 host slurm-[0-9]* node mn[0-9] allreduce 6 ok$')" = 6 ] ||
		fail "not 6 ranks with the right sum in their containers: $out" || return 1
	[ "$(echo "$out" | awk '$1 == "rank" {print $8}' | sort -u | wc -l)" = 3 ] ||
		fail "ranks did not run on 3 nodes: $out" || return 1
	job=$(echo "$out" | awk '$1 == "rank" {sub("slurm-", "", $6); print $6; exit}')
	wait_job_gone "$job" 60
}

# --- runner ----------------------------------------------------------------
export -f fail alice job_containers wait_job_gone job_state wait_state mn mn_lxc mn_node_name mn_host_name mn_addr mn_init mn_exec mn_host_pid
export MN_CONF MN_STATE MN_NODES MN_RUN MN_LOG MN_CGROUP ALICE_DIR IMG SLXD_TEST_USER MN_MPI_IMAGE
pattern=${1:-}
passed=0 failed=0
elapsed() { local ns=$(( $(date +%s%N) - $1 )); printf '%d.%d' $((ns / 1000000000)) $((ns / 100000000 % 10)); }
for t in $(declare -F | awk '{print $3}' | grep '^t_mn_'); do
	[ -n "$pattern" ] && [[ "$t" != *$pattern* ]] && continue
	export -f "$t"
	start=$(date +%s%N)
	if out=$(timeout "$MN_CASE_TIMEOUT" bash -c "$t" 2>&1); then
		passed=$((passed + 1))
		printf 'ok   %-50s %5ss\n' "${t#t_}" "$(elapsed "$start")"
	else
		failed=$((failed + 1))
		printf 'FAIL %-50s %5ss\n%s\n' "${t#t_}" "$(elapsed "$start")" "$out"
	fi
done
# Nothing of ours outlives the lane: no job, no job container on any node.
for c in $(mn squeue -h -o %i 2>/dev/null); do mn scancel "$c"; done
for _ in $(seq 120); do [ -z "$(all_job_containers)" ] && break; sleep 0.5; done
left=$(all_job_containers)
if [ -n "$left" ]; then
	echo "FAIL job containers left behind: $left"
	failed=$((failed + 1))
fi
bash "$top/tests/cluster/nodes.sh" down >/dev/null
echo "multi-node lane: $(( $(date +%s) - lane_start )) s"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
