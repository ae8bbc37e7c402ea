# SPDX-License-Identifier: GPL-2.0-or-later
# Helpers for the integration suite: run things as the test users, submit
# and wait for jobs, and assert.  Sourced by run.sh.

# Run a command as USER in DIR with a clean login-like environment.
as_user() { # user dir cmd...
	local user=$1 dir=$2
	shift 2
	runuser -u "$user" -- env -i PATH="${SLXD_USER_PATH:-/usr/local/bin:/usr/bin:/bin}" HOME="$(getent passwd "$user" | cut -d: -f6)" \
		USER="$user" LANG=C.UTF-8 sh -c 'cd "$1" && shift && exec "$@"' sh "$dir" "$@"
}

# The node's state_dir (spank_lxd.conf) and its host name (SLXD_NODE, set
# by another cluster's lane; this machine's by default).
SLXD_STATE_DIR=${SLXD_STATE_DIR:-/run/slurm-lxd}

alice() { as_user "$SLXD_TEST_USER" "$ALICE_DIR" "$@"; }
bob() { as_user "$SLXD_TEST_USER2" "$BOB_DIR" "$@"; }

# srun as USER expecting failure with `needle` on stderr; then checks that
# the job (if it was queued) left no container and no lock behind.
expect_refused_as() { # user needle srun-args...
	local user=$1 needle=$2 out rc job before
	shift 2
	before=$(last_job_of "$user")
	out=$(as_user "$user" "$(user_dir "$user")" srun "$@" 2>&1)
	rc=$?
	job=$(last_job_of "$user")
	if [ -n "$job" ] && [ "$job" != "$before" ]; then
		expect_no_container "$job" || return 1
	fi
	[ "$rc" != 0 ] || fail "srun $* as $user succeeded; expected refusal ($needle)" || return 1
	expect_contains "error message" "$needle" "$out"
}

fail() {
	echo "    $*" >&2
	return 1
}

expect_eq() { # what expected actual
	[ "$2" = "$3" ] || fail "$1: expected '$2', got '$3'"
}

expect_contains() { # what needle haystack
	case "$3" in *"$2"*) ;; *) fail "$1: expected to contain '$2', got: $3" ;; esac
}

expect_not_contains() {
	case "$3" in *"$2"*) fail "$1: must not contain '$2', got: $3" ;; *) ;; esac
}

# The job id of the newest job of a user (for srun, which does not print it).
last_job_of() {
	squeue -h -t all -u "$1" -o %i --sort=-i 2>/dev/null | head -1
}

# sbatch as alice, wait for the end; prints the job id.
sbatch_wait() { # user args...
	local user=$1
	shift
	as_user "$user" "$(user_dir "$user")" sbatch --parsable --wait "$@" 2>&1 | tail -1
}

user_dir() {
	case "$1" in
	"$SLXD_TEST_USER") echo "$ALICE_DIR" ;;
	"$SLXD_TEST_USER2") echo "$BOB_DIR" ;;
	*) echo "$SLXD_TEST_SHARED" ;;
	esac
}

# The job's container: slurm-<job>, or the spare (lib/spare.h) the job
# took, which keeps its own name; either way its label names the job.
job_container() { # jobid -> instance name, or nothing
	lxc list --format csv -c n "user.slurm.job_id=$1" 2>/dev/null | head -1
}

# Wait until the job's container and lock are gone (teardown runs in the
# job's epilog, just after the job ends).  Fails after 60 s.
expect_no_container() { # jobid
	local i
	for i in $(seq 600); do
		if ! container_exists "$1" && [ ! -e "$SLXD_STATE_DIR/job-$1.lock" ]; then
			return 0
		fi
		sleep 0.1
	done
	fail "container of job $1 ($(job_container "$1")) or its lock is still there 60 s after the job ended"
}

wait_job_state() { # jobid state-regex seconds
	local i s
	for i in $(seq $(($3 * 10))); do
		s=$(squeue -h -j "$1" -o %T 2>/dev/null || true)
		[[ "$s" =~ $2 ]] && return 0
		sleep 0.1
	done
	fail "job $1 did not reach state $2 (last: '$s')"
}

wait_job_gone() { # jobid seconds
	local i
	for i in $(seq $(($2 * 10))); do
		[ -z "$(squeue -h -j "$1" -o %T 2>/dev/null)" ] && return 0
		sleep 0.1
	done
	fail "job $1 still in the queue after $2 s"
}

wait_file() { # path seconds
	local i
	for i in $(seq $(($2 * 10))); do
		[ -s "$1" ] && return 0
		sleep 0.1
	done
	fail "$1 did not appear within $2 s"
}

# Every job's container currently on the node (not templates or idle
# spares: those are the node's cache, removed by remove_node_cache).
our_containers() {
	{
		lxc list --format csv -c n 2>/dev/null | grep '^slurm-'
		lxc list --format csv -c n user.slurm.role=job 2>/dev/null
	} | sort -u
}

# Every log line naming the job, from slurmd.log and the test cluster's
# syslog file (same time stamps: setup.sh's rsyslogd), in time order: what
# docs/admin-guide.md tells an operator to grep.
job_story() { # jobid
	grep -hw "job $1" "$SLXD_TEST_LOG/slurmd.log" "$SLXD_TEST_LOG/syslog" 2>/dev/null | sort -s -k1,1
}

# Lines a case wants in the suite's output even when it passes (timings).
report() { echo "$*" >>"$SLXD_REPORT"; }

now_ns() { date +%s%N; }
secs_between() { # start-ns end-ns
	local ns=$(($2 - $1))
	printf '%d.%d' $((ns / 1000000000)) $((ns / 100000000 % 10))
}

container_exists() { [ -n "$(job_container "$1")" ] || lxc query "/1.0/instances/slurm-$1" >/dev/null 2>&1; }

# The node is back: IDLE, and a plain job runs on it.
expect_node_idle() {
	local i s host t0
	host=${SLXD_NODE:-$(hostname -s)}
	t0=$(now_ns)
	# slurmctld's own record of the node, not sinfo's summary: in this
	# cluster (32 CPUs declared on 2 cores) sinfo has been seen to say
	# "mixed" for minutes after a daemon restart while the node record
	# said IDLE with no CPU allocated and no job on the node.  The epilog
	# may still run when the job has ended: wait for it (up to 120 s),
	# and say so when it took long.
	for i in $(seq 1200); do
		s=$(node_record "$host")
		[ "$s" = "State=IDLE CPUAlloc=0" ] && break
		sleep 0.1
	done
	[ "$s" = "State=IDLE CPUAlloc=0" ] ||
		{ node_diagnosis "$host"; fail "node is '$s', not idle, 120 s later"; return 1; }
	[ $(($(now_ns) - t0)) -lt 10000000000 ] ||
		report "(node took $(secs_between "$t0" "$(now_ns)") s to become idle)"
	s=$(alice srun -t 1 echo accepting 2>&1)
	expect_eq "a plain job after the fault" accepting "$s"
}

# "State=S CPUAlloc=N" of a node, as slurmctld records it.
node_record() { # host
	local rec
	rec=$(scontrol -o show node "$1" 2>/dev/null)
	printf '%s %s\n' "$(grep -o ' State=[^ ]*' <<<"$rec" | head -1 | tr -d ' ')" \
		"$(grep -o 'CPUAlloc=[0-9]*' <<<"$rec" | head -1)"
}

# What holds a node that should be idle: printed with the failure, so a
# CI log alone says which job, which step and which process.
node_diagnosis() { # host
	{
		echo "    --- node $1 is not idle:"
		scontrol show node "$1" 2>&1 | grep -E 'State=|CPUAlloc=|Reason=' | sed 's/^/    /'
		echo "    sinfo says: $(sinfo -h -n "$1" -o "%T, CPUs allocated/idle/other/total %C" 2>&1)"
		echo "    --- its jobs, any state:"
		squeue -h -t all -w "$1" -o '    %i %T %u %M %j %R' 2>&1
		local j
		for j in $(squeue -h -t R,CG,CF,S -w "$1" -o %i 2>/dev/null); do
			scontrol show job "$j" 2>&1 | grep -E 'JobState=|RunTime=|EndTime=' | sed "s/^/    job $j: /"
		done
		echo "    --- processes of Slurm and slurm-lxd on the node:"
		ps -eo pid,ppid,etimes,stat,args | grep -E '[s]lurmstepd|[s]lxd-|[s]pank' | sed 's/^/    /'
		echo "    --- slurmd.log, last lines:"
		tail -15 "$SLXD_TEST_LOG/slurmd.log" 2>&1 | sed 's/^/    /'
		echo "    --- slurmctld.log, last lines:"
		tail -15 "$SLXD_TEST_LOG/slurmctld.log" 2>&1 | sed 's/^/    /'
	} >&2
}

# The fault-injection cases' common end: wait until the job has ended
# (left RUNNING), then until its container and lock are gone, report how
# long that took, and check the node is back.
expect_teardown_after_end() { # jobid what
	local job=$1 i s t_end t_gone
	for i in $(seq 1800); do
		s=$(squeue -h -j "$job" -o %T 2>/dev/null)
		case "$s" in RUNNING|PENDING|CONFIGURING|SUSPENDED) sleep 0.1 ;; *) break ;; esac
	done
	case "$s" in RUNNING|PENDING|CONFIGURING|SUSPENDED)
		scancel "$job"; fail "job $job still $s after 180 s"; return 1 ;;
	esac
	t_end=$(now_ns)
	for i in $(seq 1200); do
		if ! container_exists "$job" && [ ! -e "$SLXD_STATE_DIR/job-$job.lock" ]; then
			t_gone=$(now_ns)
			break
		fi
		sleep 0.05
	done
	[ -n "${t_gone:-}" ] || fail "container of job $job or its lock still there 60 s after it ended" || return 1
	report "$2: container gone $(secs_between "$t_end" "$t_gone") s after the job ended"
	wait_job_gone "$job" 60 || return 1
	expect_node_idle
}

# The node's ready templates (lib/template.h) of a uid, one name a line.
templates_of() { # uid
	local n
	for n in $(lxc list --format csv -c n 2>/dev/null | grep "^slxd-tpl-"); do
		[ "$(lxc config get "$n" user.slurm.role 2>/dev/null)" = template ] &&
			[ "$(lxc config get "$n" user.slurm.uid 2>/dev/null)" = "$1" ] && echo "$n"
	done
	return 0
}

# Wait for a uid's idle spare (lib/spare.h), made and offered (its log
# line comes after the offer); prints its name.
wait_spare() { # uid seconds
	local i n
	for i in $(seq $(($2 * 10))); do
		n=$(grep -h "made spare container .* uid $1) " "$SLXD_TEST_LOG/slurmd.log" "$SLXD_TEST_LOG/syslog" 2>/dev/null |
			sort -s -k1,1 | tail -1 | sed 's/.*made spare container \([^ ]*\) .*/\1/')
		[ -n "$n" ] && [ "$(lxc config get "$n" user.slurm.role 2>/dev/null)" = spare ] &&
			{ echo "$n"; return 0; }
		sleep 0.1
	done
	fail "no spare for uid $1 after $2 s"
}

# slxd-gc --json's action for one instance.
gc_action() { # json container
	printf '%s' "$1" | jq -r --arg c "$2" '.[] | select(.container == $c) | .action'
}

# Wait for a uid's first ready template; prints its name.
wait_template() { # uid seconds
	local i t
	for i in $(seq $(($2 * 10))); do
		t=$(templates_of "$1" | head -1)
		[ -n "$t" ] && { echo "$t"; return 0; }
		sleep 0.1
	done
	fail "no ready template for uid $1 after $2 s"
}
