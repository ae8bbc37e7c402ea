#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The multi-node lane: real jobs, as the ordinary test users, on the
# emulated multi-node cluster (tests/cluster/nodes.sh: slurmctld, N>=3
# slurmds each with its own LXD, proctrack/cgroup, task/cgroup, PMIx).
# Brings the nodes up, runs every t_mn_* case (each bounded by
# MN_CASE_TIMEOUT seconds), checks no job container is left on any node,
# stops the nodes, and ends with "N passed, N failed".
#   bash tests/integration/multinode.sh ['PATTERN|PATTERN...']
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
# OpenMPI 4.1's start-up race (docs/testing.md, "The rare MPI_Init
# segfault"): a rank dies of SIGSEGV in MPI_Init, in its own signal report,
# and nothing else went wrong.
mpi_init_race() { # srun output
	echo "$1" | grep -q '\*\*\* Process received signal \*\*\*$' &&
		echo "$1" | grep -q '\] Signal: Segmentation fault (11)$' &&
		! echo "$1" | grep -q -e 'slurm-lxd' -e 'PMIX ERROR'
}
t_mn_mpi_pmix_allreduce_across_nodes() {
	local out job rc
	out=$(alice timeout 120 srun -N3 -n6 --mpi=pmix --lxd-image="$MN_MPI_IMAGE" mpi-hello 2>&1)
	rc=$?
	if [ $rc != 0 ] && mpi_init_race "$out"; then
		echo "  (a rank hit OpenMPI's MPI_Init race; once more)" >&2
		out=$(alice timeout 120 srun -N3 -n6 --mpi=pmix --lxd-image="$MN_MPI_IMAGE" mpi-hello 2>&1)
		rc=$?
	fi
	[ $rc = 0 ] || fail "srun --mpi=pmix failed: $out" || return 1
	! echo "$out" | grep -q 'PMIX ERROR' || fail "PMIx errors: $out" || return 1
	[ "$(echo "$out" | grep -c '^rank [0-5] of 6 host slurm-[0-9]* node mn[0-9] allreduce 6 ok$')" = 6 ] ||
		fail "not 6 ranks with the right sum in their containers: $out" || return 1
	[ "$(echo "$out" | awk '$1 == "rank" {print $8}' | sort -u | wc -l)" = 3 ] ||
		fail "ranks did not run on 3 nodes: $out" || return 1
	job=$(echo "$out" | awk '$1 == "rank" {sub("slurm-", "", $6); print $6; exit}')
	wait_job_gone "$job" 60
}

# sbatch -N3 --lxd-batch=host with an image that has no Slurm in it (the
# busybox test image): the batch script runs on the node, outside any
# container, so its srun and scontrol are the node's; every step it starts
# (multi-node and one-node, no --lxd-image repeated: Slurm passes the
# options on) lands in the job's container on its node, one per node,
# reused across steps.
t_mn_sbatch_host_batch_srun_steps_contained() {
	local job out
	cat >"$ALICE_DIR/mn-steps.sh" <<-'EOS'
	#!/bin/sh
	#SBATCH --lxd-batch=host
	echo "BATCH $(hostname) $(test -e /etc/slxd-image && echo in-container || echo on-node)"
	scontrol show job "$SLURM_JOB_ID" | grep -o 'NumNodes=[0-9]*' | sed 's/^/SCONTROL /'
	srun -N3 -l sh -c 'echo "STEP1 $SLURMD_NODENAME $(hostname) $(cat /etc/slxd-image) $(command -v srun || echo no-srun)"; touch /tmp/mn-step1' || echo "STEP1 FAILED"
	srun -N1 -n1 sh -c 'echo "STEP2 $(hostname) $(cat /etc/slxd-image)"' || echo "STEP2 FAILED"
	srun -N3 -l sh -c 'echo "STEP3 $SLURMD_NODENAME $(hostname) $(ls /tmp/mn-step1)"' || echo "STEP3 FAILED"
	EOS
	chown "$SLXD_TEST_USER" "$ALICE_DIR/mn-steps.sh"
	job=$(alice timeout 120 sbatch --parsable --wait -N"$MN_NODES" --lxd-image="$IMG" -o mn-steps-%j.out mn-steps.sh)
	[ -n "$job" ] || fail "sbatch gave no job id" || return 1
	out=$(cat "$ALICE_DIR/mn-steps-$job.out" 2>/dev/null)
	rm -f "$ALICE_DIR/mn-steps.sh" "$ALICE_DIR/mn-steps-$job.out"
	echo "$out" | grep -qx 'BATCH mn1 on-node' || fail "the batch script did not run on the first node, outside: $out" || return 1
	echo "$out" | grep -qx "SCONTROL NumNodes=$MN_NODES" || fail "scontrol show job in the script: $out" || return 1
	[ "$(echo "$out" | grep -c "^[0-9]: STEP1 mn[0-9] slurm-$job image:mn-demo no-srun$")" = "$MN_NODES" ] ||
		fail "step 1 not in the job's containers (an image without srun) on $MN_NODES nodes: $out" || return 1
	echo "$out" | grep -qx "STEP2 slurm-$job image:mn-demo" || fail "step 2 not in the container: $out" || return 1
	[ "$(echo "$out" | grep -c "^[0-9]: STEP3 mn[0-9] slurm-$job /tmp/mn-step1$")" = "$MN_NODES" ] ||
		fail "step 3 did not find step 1's file: not one container per node across steps: $out" || return 1
	[ "$(echo "$out" | awk '$2 == "STEP1" {print $3}' | sort -u | wc -l)" = "$MN_NODES" ] ||
		fail "step 1 did not run on $MN_NODES different nodes: $out" || return 1
	! echo "$out" | grep -q FAILED || fail "a step failed: $out" || return 1
	[ "$(job_state "$job")" = COMPLETED ] || fail "job $job is $(job_state "$job")" || return 1
	wait_job_gone "$job" 60
}

# A bad --lxd-batch value is refused at submission with one line; nothing runs.
t_mn_sbatch_bad_lxd_batch_refused() {
	local out
	out=$(alice sbatch -N1 --lxd-image="$IMG" --lxd-batch=elsewhere --wrap true 2>&1) &&
		fail "sbatch accepted --lxd-batch=elsewhere: $out" && return 1
	echo "$out" | grep -q 'slurm-lxd: --lxd-batch=elsewhere: use host or container' ||
		fail "unexpected refusal: $out"
}

# --mpi=pmi2 in containers: Slurm's mpi/pmi2 server hands each task a
# socket (PMI_FD) that survives the entry into the container.  Each rank
# (one per node, busybox image) speaks the PMI-1 wire protocol Slurm's
# pmi2 plugin serves, as MPICH-style PMI clients do: put its node name,
# barrier, get the next rank's; all three nodes' values cross.
t_mn_mpi_pmi2_wire_across_containers() {
	local out
	# shellcheck disable=SC2016
	local p='pmi() { eval "echo \"\$1\" >&$PMI_FD"; eval "read -r r <&$PMI_FD"; echo "$r"; }
		pmi "cmd=init pmi_version=1 pmi_subversion=1" >/dev/null
		kvs=$(pmi cmd=get_my_kvsname); kvs=${kvs##*kvsname=}; kvs=${kvs%% *}
		pmi "cmd=put kvsname=$kvs key=node$PMI_RANK value=$SLURMD_NODENAME" >/dev/null
		pmi cmd=barrier_in >/dev/null
		next=$(( (PMI_RANK + 1) % PMI_SIZE ))
		echo "rank $PMI_RANK of $PMI_SIZE $(hostname) $SLURMD_NODENAME next $(pmi "cmd=get kvsname=$kvs key=node$next")"
		pmi cmd=finalize >/dev/null'
	out=$(alice timeout 90 srun -N"$MN_NODES" -n"$MN_NODES" --mpi=pmi2 --lxd-image="$IMG" sh -c "$p" 2>&1) ||
		fail "srun --mpi=pmi2 failed: $out" || return 1
	local r n want
	for r in $(seq 0 $((MN_NODES - 1))); do
		n=$(echo "$out" | awk -v r="$r" '$1 == "rank" && $2 == r {print $6}')
		want=$(echo "$out" | awk -v r="$(( (r + 1) % MN_NODES ))" '$1 == "rank" && $2 == r {print $6}')
		[ -n "$n" ] && [ -n "$want" ] || fail "rank $r or its next missing: $out" || return 1
		echo "$out" | grep -q "^rank $r of $MN_NODES slurm-[0-9]* $n next cmd=get_result rc=0 value=$want$" ||
			fail "rank $r did not get rank $(( (r + 1) % MN_NODES ))'s node ($want) through PMI-2's server: $out" || return 1
	done
	[ "$(echo "$out" | awk '$1 == "rank" {print $6}' | sort -u | wc -l)" = "$MN_NODES" ] ||
		fail "ranks not on $MN_NODES nodes: $out"
}

# Debian's OpenMPI has no Slurm PMI-1/PMI-2 client (ompi_info: pmix ext3x,
# isolated, flux; configured --with-pmix, not --with-pmi), so --mpi=pmi2
# cannot work with it, in a container or not: the step fails promptly
# with OpenMPI's own line, never hangs, and leaves no container.
t_mn_mpi_pmi2_debian_openmpi_fails_clearly() {
	local out job
	out=$(alice timeout 90 srun -N"$MN_NODES" -n"$MN_NODES" --mpi=pmi2 --lxd-image="$MN_MPI_IMAGE" \
		sh -c 'echo "JOB $SLURM_JOB_ID"; exec mpi-hello' 2>&1) && fail "mpi-hello under pmi2 succeeded: $out" && return 1
	echo "$out" | grep -q "OMPI was not built with SLURM's PMI support" ||
		fail "no clear line from OpenMPI: $out" || return 1
	job=$(echo "$out" | awk '$1 == "JOB" {print $2; exit}')
	[ -n "$job" ] || fail "the ranks did not start in their containers: $out" || return 1
	wait_job_gone "$job" 60
}

# --mpi=pmi2 with a real MPI: Debian 12's MPICH 4.0.2 and its own simple
# PMI client (no Slurm library in the image), which finds Slurm's mpi/pmi2
# server through PMI_FD, PMI_RANK and PMI_SIZE: slurmstepd opens the socket
# and sets them before the task enters its container, and both survive the
# entry (slurm-lxd closes only its own descriptors).  Every rank in its
# node's job container as the user, the allreduce right, three nodes.
# Only stdout is compared (srun's stderr may say the job waited).
t_mn_mpi_pmi2_mpich_allreduce_across_nodes() {
	local out err job
	err=$(mktemp)
	# shellcheck disable=SC2016
	out=$(alice timeout 120 srun -N3 -n6 --mpi=pmi2 --lxd-image="$MN_MPICH_IMAGE" \
		sh -c 'echo "WHO $PMI_RANK $(id -u) $(hostname) $(cat /etc/slxd-image)"; exec mpi-hello' 2>"$err") ||
		{ fail "srun --mpi=pmi2 with MPICH failed: $out $(cat "$err")"; rm -f "$err"; return 1; }
	rm -f "$err"
	job=$(echo "$out" | awk '$1 == "rank" {sub("slurm-", "", $6); print $6; exit}')
	[ -n "$job" ] || fail "no rank printed: $out" || return 1
	[ "$(echo "$out" | grep -E "^rank [0-5] of 6 host slurm-$job node mn[0-9] allreduce 6 ok$" |
		awk '{print $2}' | sort -u | wc -l)" = 6 ] ||
		fail "not ranks 0-5 of 6 with the right sum in job $job's containers: $out" || return 1
	[ "$(echo "$out" | grep -E "^WHO [0-5] $(id -u "$SLXD_TEST_USER") slurm-$job image:demo-mpich$" |
		awk '{print $2}' | sort -u | wc -l)" = 6 ] ||
		fail "not every rank in job $job's container as $SLXD_TEST_USER: $out" || return 1
	[ "$(echo "$out" | awk '$1 == "rank" {print $8}' | sort -u | wc -l)" = 3 ] ||
		fail "ranks did not run on 3 nodes: $out" || return 1
	wait_job_gone "$job" 60
}

# The tasks' network as /sys shows it: tasks stay in the node's network
# namespace, and /sys/class/net in their container lists the same
# interfaces as /proc/net/dev (not only the container's own "lo"), with
# their attributes readable: UCX (MPICH) and libfabric look there.
t_mn_sysfs_net_is_the_tasks_network() {
	local out
	# shellcheck disable=SC2016
	out=$(alice timeout 60 srun -N"$MN_NODES" --lxd-image="$IMG" sh -c '
		echo "SYS $SLURMD_NODENAME $(ls /sys/class/net | sort | tr "\n" " ")"
		echo "NET $SLURMD_NODENAME $(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d " " | sort | tr "\n" " ")"
		echo "MAC $SLURMD_NODENAME $(cat /sys/class/net/eth0/address)"' 2>/dev/null) ||
		fail "srun failed: $out" || return 1
	local n
	for n in $(seq "$MN_NODES"); do
		echo "$out" | grep -qx "NET mn$n eth0 lo " || fail "node mn$n: unexpected network: $out" || return 1
		echo "$out" | grep -qx "SYS mn$n eth0 lo " ||
			fail "node mn$n: /sys/class/net is not the tasks' network: $out" || return 1
		echo "$out" | grep -Eqx "MAC mn$n ([0-9a-f]{2}:){5}[0-9a-f]{2}" ||
			fail "node mn$n: eth0's address unreadable in /sys: $out" || return 1
	done
}

# POSIX shared memory in a job container: /dev/shm is a tmpfs the user can
# write (slxd-init mounts it; LXD's /dev has none, and MPICH's and UCX's
# intra-node transports shm_open there).  Two steps of one job share it,
# as on a node.
t_mn_dev_shm_in_job_container() {
	local out job
	cat >"$ALICE_DIR/mn-shm.sh" <<-'EOS'
	#!/bin/sh
	srun sh -c 'grep " /dev/shm " /proc/mounts | cut -d" " -f3 | sed "s/^/FS /"; echo "$SLURM_JOB_ID" >/dev/shm/slxd-t && echo WROTE'
	srun sh -c 'echo "READ $(cat /dev/shm/slxd-t) $SLURM_JOB_ID"'
	echo "JOB $SLURM_JOB_ID"
	EOS
	chown "$SLXD_TEST_USER" "$ALICE_DIR/mn-shm.sh"
	out=$(alice timeout 60 salloc -N1 --lxd-image="$IMG" sh mn-shm.sh 2>/dev/null)
	rm -f "$ALICE_DIR/mn-shm.sh"
	job=$(echo "$out" | awk '$1 == "JOB" {print $2}')
	[ -n "$job" ] || fail "the allocation did not run: $out" || return 1
	echo "$out" | grep -qx 'FS tmpfs' || fail "no tmpfs at /dev/shm in the container: $out" || return 1
	echo "$out" | grep -qx 'WROTE' || fail "the user cannot write /dev/shm: $out" || return 1
	echo "$out" | grep -qx "READ $job $job" || fail "the next step did not see the file: $out" || return 1
	wait_job_gone "$job" 60
}

# A heterogeneous job cannot name one image per component: Slurm passes a
# plugin option once, with the last value, to every component (component
# 0 asked for demo:1.0 and ran demo-mpi:1.0).  It is refused with one
# line on every component; nothing runs and no container is left.
# Only the backfill scheduler starts a heterogeneous job (every
# bf_interval, nodes.sh); the bounds here end before MN_CASE_TIMEOUT, so a
# slow start fails with what srun said.
t_mn_hetjob_with_images_refused() {
	local out end=$((SECONDS + 30))
	# earlier cases' containers go first (the check below is of every node)
	while [ -n "$(all_job_containers)" ] && [ $SECONDS -lt $end ]; do sleep 0.5; done
	out=$(alice timeout 90 srun -N1 --lxd-image="$IMG" sh -c 'echo "RAN0 $(cat /etc/slxd-image)"' : \
		-N1 --lxd-image="$MN_MPI_IMAGE" sh -c 'echo "RAN1 $(cat /etc/slxd-image)"' 2>&1) &&
		fail "the heterogeneous job ran: $out" && return 1
	! echo "$out" | grep -q '^RAN' || fail "a component ran: $out" || return 1
	echo "$out" | grep -q 'slurm-lxd: error: a heterogeneous job cannot use --lxd-image' ||
		fail "no clear line: $out" || return 1
	[ -z "$(all_job_containers)" ] || fail "containers left: $(all_job_containers)"
}

# A 3-node job reaches its time limit (steps in containers on every node):
# Slurm says TIMEOUT and no container of it survives on any node.
t_mn_time_limit_3node_job() {
	local job
	printf '#!/bin/sh\nsleep 300\n' >"$ALICE_DIR/mn-tl.sh"
	chown "$SLXD_TEST_USER" "$ALICE_DIR/mn-tl.sh"
	job=$(alice sbatch --parsable -N"$MN_NODES" -t 1 --lxd-image="$IMG" -o /dev/null mn-tl.sh) || fail "sbatch failed" || return 1
	rm -f "$ALICE_DIR/mn-tl.sh"
	wait_state "$job" RUNNING 60 || return 1
	alice srun --jobid="$job" -N"$MN_NODES" --lxd-image="$IMG" sleep 300 >/dev/null 2>&1 &
	for _ in $(seq 100); do
		[ -n "$(job_containers 1 "$job")" ] && [ -n "$(job_containers "$MN_NODES" "$job")" ] && break
		sleep 0.5
	done
	[ -n "$(job_containers "$MN_NODES" "$job")" ] || fail "no container of job $job on node $MN_NODES" || return 1
	wait_state "$job" TIMEOUT 120 || return 1
	wait_job_gone "$job" 60
}

# Node 3 "reboots" mid-job: every process of the node dies at once (slurmd,
# the job's slurmstepds, LXD, the containers), its /run is emptied, then
# LXD and slurmd start again.  The job ends (cancelled); the job's end
# finds nothing of it on node 3 (its state went with /run), so what the
# crash left there is slxd-gc's: after it, no container of the job is left
# on any node and every node is idle.
t_mn_node_rebooted_gc_cleans() {
	local job init holder p left out
	printf '#!/bin/sh\nsleep 300\n' >"$ALICE_DIR/mn-rb.sh"
	chown "$SLXD_TEST_USER" "$ALICE_DIR/mn-rb.sh"
	job=$(alice sbatch --parsable -N"$MN_NODES" --lxd-image="$IMG" -o /dev/null mn-rb.sh) || fail "sbatch failed" || return 1
	rm -f "$ALICE_DIR/mn-rb.sh"
	wait_state "$job" RUNNING 60 || return 1
	alice timeout 60 srun --jobid="$job" -N"$MN_NODES" --lxd-image="$IMG" true || fail "step in job $job failed" || return 1
	[ -n "$(job_containers 3 "$job")" ] || fail "no container of job $job on node 3" || return 1
	init=$(mn_init 3) && holder=$(cat "$MN_RUN/node3.holder") || fail "node 3 is not up" || return 1
	for _ in 1 2 3 4 5 6; do
		find "/sys/fs/cgroup/pids/$MN_CGROUP/node3" -name cgroup.procs -exec cat {} + 2>/dev/null |
			while read -r p; do
				[ "$p" = "$init" ] || [ "$p" = "$holder" ] || kill -9 "$p" 2>/dev/null
			done
		sleep 0.5
	done
	# /run is a fresh tmpfs after a reboot (the staged mounts in it go too)
	mn_exec 3 sh -c 'for d in /run/slurm-lxd /run/lxc; do umount -l "$d" && mount -t tmpfs -o mode=0755 slxd-mn "$d" || exit 1; done' ||
		fail "cannot empty node 3's /run" || return 1
	mn_exec 3 bash -c 'echo $$ >"$0"; exec setsid lxd --group root --logfile "$1"' \
		"$MN_RUN/node3.lxd" "$MN_LOG/lxd-node3.log" </dev/null >/dev/null 2>&1 &
	LXD_DIR=$MN_STATE/node3/lxd timeout 90 lxd waitready --timeout 60 || fail "node 3's LXD did not come back" || return 1
	mn_exec 3 slurmd -N "$(mn_node_name 3)" >/dev/null 2>&1 || fail "slurmd did not restart" || return 1
	alice scancel "$job"
	for _ in $(seq 120); do
		case $(job_state "$job") in RUNNING | COMPLETING | PENDING) sleep 0.5 ;; *) break ;; esac
	done
	case $(job_state "$job") in RUNNING | COMPLETING | PENDING) fail "job $job did not end: $(job_state "$job")"; return 1 ;; esac
	left=$(job_containers 3 "$job")
	echo "  (after the reboot, node 3 had: ${left:-nothing} of job $job)" >&2
	out=$(mn_exec 3 "$MN_PREFIX/usr/local/sbin/slxd-gc" 2>&1) || fail "slxd-gc on node 3 failed: $out" || return 1
	wait_job_gone "$job" 60 || fail "slxd-gc left job $job's container: $out" || return 1
	for _ in $(seq 120); do
		[ "$(mn sinfo -h -p "$MN_PARTITION" -o %T | sort -u)" = idle ] && return 0
		sleep 0.5
	done
	fail "nodes are not idle: $(mn sinfo -h -p "$MN_PARTITION" -o '%N %T %E')"
}

# --- GRES devices (fake GPUs, nodes.sh: gres.conf File=/dev/slxd-fakegpu[0-3],
# on the last node File=/dev/slxd-fakegpu[4-7]) --------------------------------
# What a task sees of the fake devices, one word each: fakegpuN when it can
# open it as far as the device cgroup goes (no driver: ENXIO),
# fakegpuN:denied when the cgroup refuses it (EPERM); first the node's
# name (node=NAME), last the step's SLURM_STEP_GPUS.
SEE='printf "node=%s " "$SLURMD_NODENAME"; for d in /dev/slxd-fakegpu* /dev/slxd-fakesite0; do [ -e "$d" ] || continue; e=$(cat "$d" 2>&1); case "$e" in *"not permitted"*) printf "%s:denied " "${d#/dev/slxd-}";; *) printf "%s " "${d#/dev/slxd-}";; esac; done; echo "gpus=${SLURM_STEP_GPUS:-}"'
# The fakegpuN words of a listing are exactly the files SLURM_STEP_GPUS
# names: its numbers are indexes into the node's File= list, which starts
# at fakegpu4 on the last node (nodes.sh).
gpus_match() { # line
	local want got off=0
	[ "$(echo "$1" | sed -n 's/.*node=\([^ ]*\).*/\1/p')" = "$(mn_node_name "$MN_NODES")" ] && off=$MN_FAKE_GPUS
	want=$(echo "$1" | sed -n 's/.*gpus=\([0-9,]*\).*/\1/p' | tr ',' '\n' | sed '/^$/d' |
		while read -r n; do echo "fakegpu$((n + off))"; done | sort | tr '\n' ' ')
	got=$(echo "$1" | tr ' ' '\n' | grep '^fakegpu[0-9]*$' | sort | tr '\n' ' ')
	[ -n "$want" ] && [ "$want" = "$got" ]
}

# A job with --gres=gpu:2 sees exactly the two device files Slurm gave it
# (those SLURM_STEP_GPUS names), may open them as far as the device
# cgroup goes, sees no other, and sees the site's default_devices.
t_mn_gres_job_sees_exactly_its_gpus() {
	local out
	out=$(alice timeout 120 srun -N1 -w mn1 --gres=gpu:2 --lxd-image="$IMG" sh -c "$SEE" 2>&1) ||
		fail "srun failed: $out" || return 1
	[ "$(echo "$out" | tr ' ' '\n' | grep -c '^fakegpu[0-9]$')" = 2 ] ||
		fail "expected 2 usable fake GPUs, got: $out" || return 1
	echo "$out" | grep -q denied && { fail "a device it was not given is in its container: $out"; return 1; }
	gpus_match "$out" || fail "the devices are not SLURM_STEP_GPUS's: $out" || return 1
	echo "$out" | grep -q 'fakesite0 ' || fail "default_devices missing: $out"
}

# A job without --gres sees no GPU at all (the site's device still), even
# with the GPU variables of its environment, which the user writes, set.
t_mn_gres_job_without_gres_sees_none() {
	local out
	out=$(alice timeout 120 env SLURM_STEP_GPUS=0,1,2,3 SLURM_JOB_GPUS=0,1,2,3 CUDA_VISIBLE_DEVICES=0,1,2,3 \
		srun -N1 -w mn1 --lxd-image="$IMG" sh -c "$SEE" 2>&1) ||
		fail "srun failed: $out" || return 1
	echo "$out" | grep -q fakegpu && { fail "a job without --gres sees GPUs: $out"; return 1; }
	echo "$out" | grep -q 'fakesite0 ' || fail "default_devices missing: $out"
}

# Two jobs at once on one node, two GPUs each: disjoint sets of two.
t_mn_gres_concurrent_jobs_disjoint() {
	local a b f1 f2
	f1=$(mktemp) f2=$(mktemp)
	chmod 0666 "$f1" "$f2"
	alice timeout 120 srun -N1 -w mn2 --gres=gpu:2 --lxd-image="$IMG" sh -c "$SEE; sleep 6" >"$f1" 2>&1 &
	a=$!
	sleep 1.5
	alice timeout 120 srun -N1 -w mn2 --gres=gpu:2 --lxd-image="$IMG" sh -c "$SEE; sleep 1" >"$f2" 2>&1 &
	b=$!
	wait "$a" && wait "$b" || { fail "a job failed: $(cat "$f1" "$f2")"; rm -f "$f1" "$f2"; return 1; }
	local one two
	one=$(tr ' ' '\n' <"$f1" | grep '^fakegpu[0-9]$' | sort)
	two=$(tr ' ' '\n' <"$f2" | grep '^fakegpu[0-9]$' | sort)
	local all
	all=$(cat "$f1" "$f2")
	rm -f "$f1" "$f2"
	[ "$(echo "$one" | wc -w)" = 2 ] && [ "$(echo "$two" | wc -w)" = 2 ] ||
		fail "expected two GPUs each: $all" || return 1
	[ -z "$(comm -12 <(echo "$one") <(echo "$two"))" ] || fail "the jobs share a GPU: $all" || return 1
	echo "$all" | grep -q denied && { fail "a job sees another's GPU: $all"; return 1; }
	return 0
}

# In a job of three GPUs, a step asking for one sees one; the next step
# (all three) has the other two hot-plugged; a step of one after it sees
# the three files (the job's container keeps what its steps were given)
# but the step's device cgroup still refuses the two it was not given.
t_mn_gres_step_asking_fewer_sees_fewer() {
	local out
	out=$(alice timeout 120 salloc -N1 -w mn3 --gres=gpu:3 sh -c '
		srun --gres=gpu:1 --lxd-image='"$IMG"' sh -c '"'$SEE'"' | sed "s/^/one: /"
		srun --lxd-image='"$IMG"' sh -c '"'$SEE'"' | sed "s/^/all: /"
		srun --gres=gpu:1 --lxd-image='"$IMG"' sh -c '"'$SEE'"' | sed "s/^/again: /"' 2>&1) ||
		fail "salloc failed: $out" || return 1
	local one all again
	one=$(echo "$out" | grep '^one: ') all=$(echo "$out" | grep '^all: ') again=$(echo "$out" | grep '^again: ')
	[ "$(echo "$one" | tr ' ' '\n' | grep -c '^fakegpu')" = 1 ] && gpus_match "$one" ||
		fail "the one-GPU step does not see exactly its GPU: $out" || return 1
	[ "$(echo "$all" | tr ' ' '\n' | grep -c '^fakegpu[0-9]$')" = 3 ] && gpus_match "$all" ||
		fail "the three-GPU step does not see its three: $out" || return 1
	[ "$(echo "$again" | tr ' ' '\n' | grep -c '^fakegpu[0-9]$')" = 1 ] &&
		[ "$(echo "$again" | tr ' ' '\n' | grep -c '^fakegpu[0-9]:denied$')" = 2 ] && gpus_match "$again" ||
		fail "ConstrainDevices does not govern the later one-GPU step: $out"
}

# The fake GPUs gres.conf's NodeName= lines give node $1 (nodes.sh).
own_gpus() { # node-name
	if [ "$1" = "$(mn_node_name "$MN_NODES")" ]; then echo '^fakegpu[4-7]$'; else echo '^fakegpu[0-3]$'; fi
}

# Multi-node: every node's container has exactly that node's GPU, one of
# the files its own NodeName= line of gres.conf names.
t_mn_gres_every_node_its_own() {
	local out
	out=$(alice timeout 120 srun -N"$MN_NODES" -l --gres=gpu:1 --lxd-image="$IMG" sh -c "$SEE" 2>&1) ||
		fail "srun failed: $out" || return 1
	# srun's own lines ("queued and waiting for resources" while an earlier
	# case's nodes finish their epilog) are not the tasks' output.
	local tasks
	tasks=$(echo "$out" | grep '^[0-9]*: ')
	[ "$(echo "$tasks" | grep -c .)" = "$MN_NODES" ] || fail "expected $MN_NODES task lines: $out" || return 1
	local line
	while read -r line; do
		[ "$(echo "$line" | tr ' ' '\n' | grep -c '^fakegpu[0-9]$')" = 1 ] && gpus_match "$line" ||
			fail "a node's container does not have exactly its GPU: $out" || return 1
		echo "$line" | grep -q denied && { fail "a node shows a GPU it did not give: $out"; return 1; }
		echo "$line" | tr ' ' '\n' | grep -q "$(own_gpus "$(echo "$line" | sed -n 's/.*node=\([^ ]*\).*/\1/p')")" ||
			fail "a node's container has another node's GPU: $out" || return 1
	done <<<"$tasks"
	return 0
}

# The node's name that picks gres.conf's NodeName= lines is the node's own
# (node_name=, else the short host name), never the SLURMD_NODENAME of the
# job's environment, which the user writes and which is still the job's
# when the plugin reads the lines.  Forged to name the other kind of node,
# the container still has exactly its own node's GPU and none of the files
# the other node's line names (no GRES of this node's slurmd, so its
# device cgroup does not guard them: only the line keeps them out).
t_mn_gres_forged_nodename() {
	local last out line on forged
	last=$(mn_node_name "$MN_NODES")
	for on in "$last" mn1; do
		forged=mn1
		[ "$on" = mn1 ] && forged=$last
		out=$(alice timeout 120 env SLURMD_NODENAME="$forged" srun -N1 -w "$on" --gres=gpu:1 \
			--lxd-image="$IMG" sh -c "$SEE" 2>&1) || fail "srun failed: $out" || return 1
		line=$(echo "$out" | grep 'gpus=' | tail -n 1)
		[ "$(echo "$line" | tr ' ' '\n' | grep -c '^fakegpu[0-9]$')" = 1 ] && gpus_match "$line" &&
			echo "$line" | tr ' ' '\n' | grep -q "$(own_gpus "$on")" ||
			fail "on $on with SLURMD_NODENAME=$forged the container does not have exactly $on's GPU: $out" || return 1
		echo "$line" | grep -q denied && { fail "on $on a device it was not given is in its container: $out"; return 1; }
	done
	return 0
}

# Accounting sees what runs in the container: the payload (awk holding
# ~128 MB and spinning) is in the step's cgroup, so sstat, while it runs,
# and sacct, after it, show its memory (MaxRSS) and CPU time.  A payload
# outside the step's cgroup (in the container's own) would show next to
# nothing: the step's only process of its own is a sleeping shell.
# kB of a Slurm size ("123456K", "120.5M", "1.2G"; "0" or "" is 0).
mn_kb() { awk -v v="$1" 'BEGIN { n = v + 0; u = substr(v, length(v)); if (u == "M") n *= 1024; else if (u == "G") n *= 1048576; else if (u == "T") n *= 1073741824; printf "%d\n", n }'; }
# seconds of a Slurm CPU time ("[D-][HH:]MM:SS[.mmm]")
mn_secs() { awk -v v="$1" 'BEGIN { d = 0; if (index(v, "-")) { d = substr(v, 1, index(v, "-") - 1); v = substr(v, index(v, "-") + 1) } n = split(v, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; printf "%d\n", d * 86400 + s }'; }
t_mn_accounting_sstat_sacct_see_container_payload() {
	local f job st rss cpu line
	f=$(mktemp)
	chmod 0666 "$f"
	alice timeout 120 srun -N1 -n1 --mem=512M --lxd-image="$IMG" sh -c '
		echo "JOB $SLURM_JOB_ID $(hostname)"
		awk "BEGIN { s = \"x\"; while (length(s) < 134217728) s = s s; while (1) n++ }" & a=$!
		sleep 15; kill $a; echo DONE' >"$f" 2>&1 &
	for _ in $(seq 120); do job=$(awk '$1 == "JOB" {print $2; exit}' "$f"); [ -n "$job" ] && break; sleep 0.5; done
	[ -n "$job" ] || { fail "the step did not start: $(cat "$f")"; rm -f "$f"; return 1; }
	grep -q "^JOB $job slurm-$job$" "$f" || { fail "not in its container: $(cat "$f")"; rm -f "$f"; return 1; }
	# sstat, while it runs: the step's slurmstepd samples its cgroup
	for _ in $(seq 40); do
		st=$(alice sstat -n -P -j "$job.0" -o MaxRSS,AveCPU 2>/dev/null | head -1)
		rss=$(mn_kb "${st%%|*}")
		[ "$rss" -ge 51200 ] && break
		sleep 0.5
	done
	echo "  (sstat $job.0: MaxRSS|AveCPU $st)" >&2
	[ "$rss" -ge 51200 ] || { fail "sstat shows MaxRSS '${st%%|*}' (< 50M) for the running payload of job $job"; rm -f "$f"; return 1; }
	wait
	grep -qx DONE "$f" || { fail "the step did not end well: $(cat "$f")"; rm -f "$f"; return 1; }
	rm -f "$f"
	# sacct, after it: slurmctld sends the step's record to slurmdbd
	for _ in $(seq 60); do
		line=$(alice sacct -n -P -j "$job.0" -o MaxRSS,TotalCPU,State 2>/dev/null | head -1)
		case $line in *"|COMPLETED") [ -n "${line%%|*}" ] && break ;; esac
		sleep 0.5
	done
	echo "  (sacct $job.0: MaxRSS|TotalCPU|State $line)" >&2
	rss=$(mn_kb "$(echo "$line" | cut -d'|' -f1)")
	cpu=$(mn_secs "$(echo "$line" | cut -d'|' -f2)")
	[ "$rss" -ge 51200 ] || fail "sacct shows MaxRSS $rss kB (< 50M) for job $job's payload: $line" || return 1
	[ "$cpu" -ge 1 ] || fail "sacct shows TotalCPU ${cpu} s (< 1 s) for a payload that spun 15 s: $line" || return 1
	wait_job_gone "$job" 60
}

# --- runner ----------------------------------------------------------------
export -f mpi_init_race mn_kb mn_secs gpus_match own_gpus fail alice job_containers all_job_containers wait_job_gone job_state wait_state mn mn_lxc mn_node_name mn_host_name mn_addr mn_init mn_exec mn_host_pid
export SEE MN_FAKE_GPUS MN_CONF MN_STATE MN_NODES MN_RUN MN_LOG MN_CGROUP ALICE_DIR IMG SLXD_TEST_USER MN_MPI_IMAGE MN_MPICH_IMAGE MN_PREFIX MN_PARTITION
pattern=${1:-}
passed=0 failed=0
elapsed() { local ns=$(( $(date +%s%N) - $1 )); printf '%d.%d' $((ns / 1000000000)) $((ns / 100000000 % 10)); }
queue() { mn squeue -h -o '%i %T %r %N' 2>/dev/null; }
# A case leaves no job in the queue: what it left would hold nodes and
# fail the cases after it for no fault of theirs.  Jobs still ending
# (COMPLETING: the epilog's teardown) get a minute; any other job left is
# the case's failure, said with the queue as it was, and is cancelled.
after_case() {
	local q left=
	for _ in $(seq 120); do
		q=$(queue)
		[ -z "$q" ] && return 0
		left=$(echo "$q" | awk '$2 != "COMPLETING"')
		[ -n "$left" ] && break
		sleep 0.5
	done
	echo "  the case left jobs in the queue (JOBID STATE REASON NODES):"
	echo "$q" | sed 's/^/    /'
	for c in $(echo "$q" | awk '{print $1}'); do mn scancel "$c"; done
	for _ in $(seq 120); do [ -z "$(queue)" ] && break; sleep 0.5; done
	return 1
}
for t in $(declare -F | awk '{print $3}' | grep '^t_mn_'); do
	slxd_case_selected "${t#t_}" "$pattern" || continue
	export -f "$t"
	start=$(date +%s%N)
	out=$(timeout "$MN_CASE_TIMEOUT" bash -c "$t" 2>&1)
	rc=$?
	# the case's own bounds must end it first: say where it was
	[ $rc = 124 ] && out="${out:+$out$'\n'}  timed out after $MN_CASE_TIMEOUT s; the queue then (JOBID STATE REASON NODES):"$'\n'"$(queue | sed 's/^/    /')"
	took=$(elapsed "$start")
	if ! left=$(after_case); then
		rc=1
		out="${out:+$out$'\n'}$left"
	fi
	if [ $rc = 0 ]; then
		passed=$((passed + 1))
		printf 'ok   %-50s %5ss\n' "${t#t_}" "$took"
	else
		failed=$((failed + 1))
		printf 'FAIL %-50s %5ss\n%s\n' "${t#t_}" "$took" "$out"
	fi
done
[ $((passed + failed)) = 0 ] && { echo "no case matches '$pattern'"; failed=1; }
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
