# SPDX-License-Identifier: GPL-2.0-or-later
# The fault-injection suite: every way a job can end badly, on the real
# cluster.  Each case ends with no container of the job on the node, the
# node IDLE and running a plain job, and reports how long the container
# outlived the job.  Sourced by run.sh (cases are t_fault_* functions).

# A batch job whose payload writes READY, then waits for GO (or a signal).
# Prints the job id.
fault_job() { # name [sbatch args...]
	local name=$1
	shift
	rm -f "$ALICE_DIR/$name.ready" "$ALICE_DIR/$name.go"
	alice sbatch --parsable --lxd-image="$IMG" -o "$ALICE_DIR/$name.out" "$@" \
		--wrap "echo up > $ALICE_DIR/$name.ready; while [ ! -e $ALICE_DIR/$name.go ]; do sleep 0.2; done; echo done"
}

# The pid of the job's batch slurmstepd (not its forked task).
stepd_pid_of() { # jobid
	local p c
	for p in /proc/[0-9]*; do
		c=$(tr '\0' ' ' <"$p/cmdline" 2>/dev/null) || continue
		case "$c" in "slurmstepd: [$1.batch]"*)
			[ "$(awk '{print $4}' "$p/stat")" = 1 ] && { echo "${p#/proc/}"; return 0; } ;;
		esac
	done
	return 1
}

# Stop a daemon the test set-up started, by its recorded pid, and wait.
kill_recorded() { # pidfile name signal
	local pid i
	pid=$(cat "$1") || return 1
	[ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || fail "$1 does not name a running $2" || return 1
	kill "-$3" "$pid"
	for i in $(seq 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	fail "$2 (pid $pid) did not exit"
}

restart_daemons() { bash "$top/tests/cluster/setup.sh" >/dev/null; }

t_fault_scancel_while_creating() {
	local job i
	job=$(fault_job create)
	# The job's lock appears just before the first call to LXD.
	for i in $(seq 3000); do [ -e "$SLXD_STATE_DIR/job-$job.lock" ] && break; sleep 0.01; done
	container_exists "$job" && report "(container already existed at scancel)"
	scancel "$job"
	expect_teardown_after_end "$job" "scancel while creating"
}

t_fault_scancel_while_starting() {
	local job i
	job=$(fault_job start)
	for i in $(seq 3000); do container_exists "$job" && break; sleep 0.01; done
	local state
	state=$(lxc query "/1.0/instances/$(job_container "$job")" 2>/dev/null | jq -r .status)
	report "(container was $state at scancel)"
	scancel "$job"
	expect_teardown_after_end "$job" "scancel while starting" || return 1
	# Cancelled before the payload could start: it must not be started
	# afterwards only to be killed at KillWait.
	[ "$state" = Stopped ] || return 0
	[ ! -e "$ALICE_DIR/start.ready" ] || fail "the payload was started after the job was cancelled" || return 1
	expect_contains "what the job was told" "cancelled while its container was being set up" \
		"$(cat "$ALICE_DIR/start.out" 2>/dev/null)"
}

t_fault_scancel_while_running() {
	local job
	job=$(fault_job run)
	wait_file "$ALICE_DIR/run.ready" 60 || { scancel "$job"; return 1; }
	scancel "$job"
	expect_teardown_after_end "$job" "scancel while running"
}

# KillWait=5 in the test cluster: TERM is ignored, KILL comes 5 s later.
t_fault_payload_ignores_sigterm() {
	local job t0
	rm -f "$ALICE_DIR/ign.ready" "$ALICE_DIR/ign.beat"
	job=$(alice sbatch --parsable --lxd-image="$IMG" -o /dev/null \
		--wrap "trap '' TERM; echo up > $ALICE_DIR/ign.ready; while :; do date +%s > $ALICE_DIR/ign.beat; sleep 0.5; done")
	wait_file "$ALICE_DIR/ign.ready" 60 || { scancel "$job"; return 1; }
	t0=$(date +%s)
	scancel "$job"
	sleep 3
	# still beating after the SIGTERM: it really ignored it
	[ "$(cat "$ALICE_DIR/ign.beat")" -ge $((t0 + 2)) ] || fail "payload stopped before KillWait" || return 1
	expect_teardown_after_end "$job" "payload ignoring SIGTERM (timed from 3 s after scancel; KillWait=5)" || return 1
	local beat
	beat=$(cat "$ALICE_DIR/ign.beat")
	sleep 1.5
	expect_eq "payload killed (no more beats)" "$beat" "$(cat "$ALICE_DIR/ign.beat")"
}

t_fault_slurmstepd_killed() {
	local job pid
	job=$(fault_job stepd)
	wait_file "$ALICE_DIR/stepd.ready" 60 || { scancel "$job"; return 1; }
	pid=$(stepd_pid_of "$job") || { scancel "$job"; fail "no slurmstepd for job $job"; return 1; }
	kill -KILL "$pid"
	sleep 1
	# Slurm does not notice a dead slurmstepd by itself: the job runs on
	# until cancelled or its time limit.  Cancelling must still clean up.
	scancel "$job"
	expect_teardown_after_end "$job" "slurmstepd SIGKILLed, then scancel"
}

t_fault_slurmd_restarted() {
	local job
	job=$(fault_job slurmd)
	wait_file "$ALICE_DIR/slurmd.ready" 60 || { scancel "$job"; return 1; }
	kill_recorded "$SLXD_TEST_RUN/slurmd.pid" slurmd TERM || { restart_daemons; scancel "$job"; return 1; }
	restart_daemons
	touch "$ALICE_DIR/slurmd.go"
	expect_teardown_after_end "$job" "slurmd restarted mid-job" || return 1
	expect_eq "job survived the restart" done "$(tail -1 "$ALICE_DIR/slurmd.out")"
}

t_fault_lxd_restarted() {
	local job
	job=$(fault_job lxd)
	wait_file "$ALICE_DIR/lxd.ready" 60 || { scancel "$job"; return 1; }
	# the node's own daemon (runtime=): LXD's, or incusd on Incus
	local before
	before=$(cat "$SLXD_RUNTIME_PIDFILE" 2>/dev/null)
	kill_recorded "$SLXD_RUNTIME_PIDFILE" "$SLXD_RUNTIME_COMM" TERM ||
		{ restart_daemons; scancel "$job"; return 1; }
	restart_daemons
	[ "$(cat "$SLXD_RUNTIME_PIDFILE" 2>/dev/null)" != "$before" ] ||
		fail "$SLXD_RUNTIME_NAME (pid $before) was not restarted" || { scancel "$job"; return 1; }
	touch "$ALICE_DIR/lxd.go"
	expect_teardown_after_end "$job" "$SLXD_RUNTIME_NAME restarted mid-job" || return 1
	# (it may fail; here the payload does not need LXD once started)
	report "(payload after the $SLXD_RUNTIME_NAME restart: $(tail -1 "$ALICE_DIR/lxd.out"))"
}

# A container as a node crash leaves it: labelled for a job that has
# ended, running, with nobody left to remove it.
make_leftover() { # jobid
	lxc init "$SLXD_IMAGE_ALIAS" "slurm-$1" -c user.slurm.managed_by=slurm-lxd \
		-c user.slurm.job_id="$1" -c user.slurm.uid="$SLXD_TEST_UID" \
		-c user.slurm.image="$IMG" -c user.slurm.created="$(date +%s)" >/dev/null 2>&1 &&
		lxc start "slurm-$1" 2>/dev/null
}

t_fault_gc_removes_leftover_keeps_running() {
	local ended run out rc t0
	ended=$(alice sbatch --parsable --wait -o /dev/null --wrap true | tail -1)
	make_leftover "$ended" || return 1

	# slurmctld unreachable: nothing can be proven, nothing is deleted.
	# The node is cut off from the controller by giving slxd-gc a
	# slurm.conf whose controller address has nobody listening (what a
	# node sees when slurmctld is down or the network is split), rather
	# than by stopping slurmctld: a controller restart is slow and has
	# left a CPU allocated after jobs ended in this suite before.
	local cut_off said
	cut_off=$(mktemp -d)
	sed -e '/^SlurmctldHost=/s/$/(127.0.0.1)/' -e '/^MessageTimeout=/d' /etc/slurm/slurm.conf >"$cut_off/slurm.conf"
	printf 'SlurmctldPort=1\nMessageTimeout=3\n' >>"$cut_off/slurm.conf"
	out=$(SLURM_CONF=$cut_off/slurm.conf slxd-gc --json 2>"$cut_off/err")
	rc=$?
	said=$(cat "$cut_off/err")
	rm -rf "$cut_off"
	expect_eq "exit status with slurmctld unreachable" 75 "$rc" || return 1
	expect_contains "what slxd-gc says" "slurmctld could not be reached" "$said" || return 1
	expect_eq "leftover kept while slurmctld is unreachable" keep "$(gc_action "$out" "slurm-$ended")" || return 1
	container_exists "$ended" || fail "deleted without asking Slurm" || return 1

	run=$(fault_job gc)
	wait_file "$ALICE_DIR/gc.ready" 60 || { scancel "$run"; return 1; }
	out=$(slxd-gc --dry-run --json) || { scancel "$run"; fail "slxd-gc --dry-run failed: $out"; return 1; }
	expect_eq "dry run: ended job's container" delete "$(gc_action "$out" "slurm-$ended")" || return 1
	expect_eq "dry run: running job's container" keep "$(gc_action "$out" "$(job_container "$run")")" || return 1
	container_exists "$ended" || fail "--dry-run deleted something" || return 1

	t0=$(now_ns)
	out=$(slxd-gc --json) || { scancel "$run"; fail "slxd-gc failed: $out"; return 1; }
	expect_eq "leftover removed" deleted "$(gc_action "$out" "slurm-$ended")" || return 1
	expect_eq "running job's container kept" keep "$(gc_action "$out" "$(job_container "$run")")" || return 1
	! container_exists "$ended" || fail "slurm-$ended still there" || return 1
	report "slxd-gc removed the leftover in $(secs_between "$t0" "$(now_ns)") s"
	expect_eq "running job's container still running" Running \
		"$(lxc query "/1.0/instances/$(job_container "$run")" | jq -r .status)" || return 1
	touch "$ALICE_DIR/gc.go"
	expect_teardown_after_end "$run" "job next to the leftover" || return 1
	expect_eq "running job unharmed" done "$(tail -1 "$ALICE_DIR/gc.out")"
}

# Under its timer slxd-gc has no SLURMD_NODENAME and no --node.  Where
# the host name is not Slurm's NodeName (NodeHostname=, cloud and dynamic
# nodes) it must still see that a job runs here: run it in a UTS namespace
# whose host name is another one.  Before, it took the host name for the
# NodeName and deleted the running job's container.  With slurmd out of
# reach too (a slurm.conf naming another SlurmdPort), nothing says which
# node this is: the running job's container is kept, with the reason, and
# exit 75; on the real host name slurmctld's table (NodeHostname) names it.
t_fault_gc_other_hostname_keeps_running_job() {
	local run ct out rc conf
	run=$(fault_job uts)
	wait_file "$ALICE_DIR/uts.ready" 60 || { scancel "$run"; return 1; }
	ct=$(job_container "$run")
	out=$(env -u SLURMD_NODENAME unshare --uts sh -c 'hostname slxd-not-the-nodename && exec slxd-gc --json')
	rc=$?
	[ $rc = 0 ] || { scancel "$run"; fail "slxd-gc exited $rc: $out"; return 1; }
	expect_eq "running job's container, host name not the NodeName" keep "$(gc_action "$out" "$ct")" ||
		{ scancel "$run"; return 1; }
	expect_contains "why" "is running on this node" \
		"$(jq -r --arg c "$ct" '.[] | select(.container == $c) | .reason' <<<"$out")" ||
		{ scancel "$run"; return 1; }

	conf=$(mktemp -d)
	sed -e '/^SlurmdPort=/d' /etc/slurm/slurm.conf >"$conf/slurm.conf"
	echo 'SlurmdPort=1' >>"$conf/slurm.conf"
	out=$(SLURM_CONF=$conf/slurm.conf env -u SLURMD_NODENAME unshare --uts \
		sh -c 'hostname slxd-not-the-nodename && exec slxd-gc --json' 2>"$conf/err")
	rc=$?
	local said; said=$(cat "$conf/err")
	expect_eq "exit status, node name unknown" 75 "$rc" || { scancel "$run"; rm -rf "$conf"; return 1; }
	expect_contains "what slxd-gc says" "this node's Slurm name is unknown" "$said" ||
		{ scancel "$run"; rm -rf "$conf"; return 1; }
	expect_eq "running job's container, node name unknown" keep "$(gc_action "$out" "$ct")" ||
		{ scancel "$run"; rm -rf "$conf"; return 1; }
	out=$(SLURM_CONF=$conf/slurm.conf env -u SLURMD_NODENAME slxd-gc --json 2>/dev/null)
	rc=$?
	rm -rf "$conf"
	expect_eq "exit status, slurmd unreachable, NodeHostname matches" 0 "$rc" || { scancel "$run"; return 1; }
	expect_eq "running job's container, found through slurmctld's table" keep "$(gc_action "$out" "$ct")" ||
		{ scancel "$run"; return 1; }
	expect_eq "running job's container still running" Running \
		"$(lxc query "/1.0/instances/$ct" | jq -r .status)" || { scancel "$run"; return 1; }
	touch "$ALICE_DIR/uts.go"
	expect_teardown_after_end "$run" "job the cleaner ran next to" || return 1
	expect_eq "running job unharmed" done "$(tail -1 "$ALICE_DIR/uts.out")"
}

# A job that is pending again (requeued) may start here again under the
# same container name: its container is kept while younger than
# gc_min_age (120 s), removed once older.  A held job is the pending job;
# its container is made by hand.
t_fault_gc_keeps_young_container_of_pending_job() {
	local held out reason
	held=$(alice sbatch --parsable -H -o /dev/null --wrap true)
	make_leftover "$held" || { scancel "$held"; fail "cannot make slurm-$held"; return 1; }
	out=$(slxd-gc --json) || { scancel "$held"; fail "slxd-gc failed: $out"; return 1; }
	expect_eq "young container of a pending job" keep "$(gc_action "$out" "slurm-$held")" ||
		{ scancel "$held"; lxc delete -f "slurm-$held"; return 1; }
	reason=$(jq -r --arg c "slurm-$held" '.[] | select(.container == $c) | .reason' <<<"$out")
	expect_contains "why" "gc_min_age=120" "$reason" || { scancel "$held"; lxc delete -f "slurm-$held"; return 1; }
	lxc config set "slurm-$held" user.slurm.created "$(( $(date +%s) - 600 ))"
	out=$(slxd-gc --json) || { scancel "$held"; fail "slxd-gc failed: $out"; return 1; }
	scancel "$held"
	expect_eq "old container of a pending job" deleted "$(gc_action "$out" "slurm-$held")" || return 1
	! container_exists "$held" || fail "slurm-$held still there"
}

t_fault_many_jobs_end_at_once() {
	local n=16 i jobs=() gone=() t_end t_now left sorted
	rm -f "$ALICE_DIR"/many.*
	for i in $(seq "$n"); do
		jobs+=("$(alice sbatch --parsable --lxd-image="$IMG" -o /dev/null \
			--wrap "echo up > $ALICE_DIR/many.$i.ready; while [ ! -e $ALICE_DIR/many.go ]; do sleep 0.2; done")")
	done
	for i in $(seq "$n"); do
		wait_file "$ALICE_DIR/many.$i.ready" 180 || { scancel "${jobs[@]}"; return 1; }
	done
	touch "$ALICE_DIR/many.go"
	t_end=$(now_ns)
	left=("${jobs[@]}")
	for i in $(seq 1800); do
		local still=()
		for j in "${left[@]}"; do
			if container_exists "$j" || [ -e "$SLXD_STATE_DIR/job-$j.lock" ]; then
				still+=("$j")
			else
				gone+=("$(secs_between "$t_end" "$(now_ns)")")
			fi
		done
		left=("${still[@]}")
		[ ${#left[@]} = 0 ] && break
		sleep 0.1
	done
	[ ${#left[@]} = 0 ] || fail "containers still there 180 s after $n jobs ended: ${left[*]}" || return 1
	sorted=$(printf '%s\n' "${gone[@]}" | sort -n)
	report "$n jobs ended at once: containers gone after $(echo "$sorted" | sed -n "$((n / 2))p") s (median), $(echo "$sorted" | tail -1) s (last)"
	for j in "${jobs[@]}"; do
		wait_job_gone "$j" 60 || return 1
		expect_eq "job $j state" COMPLETED "$(scontrol show job "$j" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')" || return 1
	done
	expect_node_idle
}

# The epilog kills every process of the container and returns; a detached
# process deletes the container.  So a container that LXD refuses to
# delete holds neither the job nor the node (before, the epilog failed and
# Slurm drained the node): the job ends, the node runs the next job, no
# process of the job is left, and slxd-gc removes the container once LXD
# lets it.
t_fault_delete_refused_does_not_hold_node() {
	local job ct init rc=0
	job=$(fault_job refused)
	wait_file "$ALICE_DIR/refused.ready" 60 || { scancel "$job"; return 1; }
	ct=$(job_container "$job")
	init=$(lxc query "/1.0/instances/$ct/state" | jq -r .pid)
	[ "${init:-0}" -gt 0 ] || { scancel "$job"; fail "no init pid for job $job's '$ct'"; return 1; }
	lxc config set "$ct" security.protection.delete true
	scancel "$job"
	refused_checks "$job" "$init" "$ct" || rc=1
	# whatever failed above, the container must not stay protected
	lxc config unset "$ct" security.protection.delete 2>/dev/null
	[ $rc = 0 ] || return 1
	local out
	out=$(slxd-gc --json) || fail "slxd-gc failed: $out" || return 1
	expect_eq "slxd-gc" deleted "$(gc_action "$out" "$ct")" || return 1
	expect_no_container "$job"
}

refused_checks() { # jobid init-pid container
	local i line
	expect_node_idle || return 1
	! kill -0 "$2" 2>/dev/null || fail "the container's init (pid $2) outlived the job" || return 1
	# the init is gone (above); the daemon reports Stopped once its
	# monitor has seen that (Incus: a moment later)
	local status
	for i in $(seq 50); do
		status=$(lxc query "/1.0/instances/$3" | jq -r .status)
		[ "$status" = Stopped ] && break
		sleep 0.2
	done
	expect_eq "container status" Stopped "$status" || return 1
	# (the deleter gives up after lxd_timeout=60 s of trying)
	for i in $(seq 900); do
		line=$(job_story "$1" | grep "its processes are gone but its container could not be deleted")
		[ -n "$line" ] && break
		sleep 0.1
	done
	expect_contains "what the node logged" "slxd-gc will retry" "$line"
}
