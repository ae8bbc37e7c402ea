# SPDX-License-Identifier: GPL-2.0-or-later
# Integration cases.  Each t_* function is one test: it returns non-zero
# (after printing why) when the behaviour it names is broken.  Sourced by
# run.sh, which provides IMG, ALICE_DIR, BOB_DIR and the helpers of lib.sh.

# --- the payload runs in the container, as the user ---------------------

t_srun_runs_in_container() {
	local out
	out=$(alice srun --lxd-image="$IMG" sh -c 'cat /etc/slxd-image; hostname') || fail "srun failed: $out" || return 1
	expect_contains "image-only file" "image:$SLXD_IMAGE_ALIAS" "$out" || return 1
	expect_contains "container hostname" "slurm-" "$out" || return 1
	expect_not_contains "host hostname" "${SLXD_NODE:-$(hostname)}" "$out"
}

t_sbatch_runs_in_container() {
	local job out
	job=$(sbatch_wait "$SLXD_TEST_USER" --lxd-image="$IMG" -o "$ALICE_DIR/sb-%j.out" \
		--wrap 'cat /etc/slxd-image; hostname; echo "cwd=$(pwd)"')
	out=$(cat "$ALICE_DIR/sb-$job.out" 2>&1)
	expect_contains "image-only file" "image:$SLXD_IMAGE_ALIAS" "$out" || return 1
	expect_contains "container hostname" "slurm-$job" "$out" || return 1
	expect_contains "working directory" "cwd=$ALICE_DIR" "$out" || return 1
	expect_no_container "$job"
}

t_ids_match_host() {
	local host_ids out
	host_ids="$(id -u "$SLXD_TEST_USER") $(id -g "$SLXD_TEST_USER") $(id -G "$SLXD_TEST_USER" | tr ' ' '\n' | sort -n | tr '\n' ' ')"
	out=$(alice srun --lxd-image="$IMG" sh -c 'echo "$(id -u) $(id -g) $(id -G | tr " " "\n" | sort -n | tr "\n" " ")"') || fail "srun: $out" || return 1
	expect_eq "uid gid groups" "$host_ids" "$out" || return 1
	# the supplementary group really is there (not only the primary)
	expect_contains "supplementary group" "$SLXD_TEST_GID" "$out"
}

t_no_capabilities_and_no_new_privs() {
	local out
	out=$(alice srun --lxd-image="$IMG" grep -E '^(Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs):' /proc/self/status) || fail "srun: $out" || return 1
	expect_contains CapEff "CapEff:	0000000000000000" "$out" || return 1
	expect_contains CapPrm "CapPrm:	0000000000000000" "$out" || return 1
	expect_contains CapBnd "CapBnd:	0000000000000000" "$out" || return 1
	expect_contains NoNewPrivs "NoNewPrivs:	1" "$out"
}

t_setuid_binary_does_not_give_root() {
	local out
	out=$(alice srun --lxd-image="$IMG" /bin/busybox-suid id -u) || fail "srun: $out" || return 1
	expect_eq "uid after a setuid-root binary" "$SLXD_TEST_UID" "$out"
}

t_exit_code_comes_back() {
	local rc job
	alice srun --lxd-image="$IMG" sh -c 'exit 7' >/dev/null 2>&1
	rc=$?
	expect_eq "srun exit code" 7 "$rc" || return 1
	job=$(sbatch_wait "$SLXD_TEST_USER" --lxd-image="$IMG" -o /dev/null --wrap 'exit 7')
	expect_eq "sbatch job exit code" "7:0" "$(scontrol show job "$job" | sed -n 's/.* ExitCode=\([0-9:]*\).*/\1/p')"
}

t_signal_by_payload_comes_back() {
	local rc
	alice srun --lxd-image="$IMG" sh -c 'kill -USR1 $$' >/dev/null 2>&1
	rc=$?
	[ "$rc" != 0 ] || fail "a payload killed by SIGUSR1 must not report success"
}

t_stdout_stderr_separate() {
	local job
	job=$(sbatch_wait "$SLXD_TEST_USER" --lxd-image="$IMG" -o "$ALICE_DIR/oe-%j.out" -e "$ALICE_DIR/oe-%j.err" \
		--wrap 'echo to-out; echo to-err >&2')
	expect_eq stdout to-out "$(cat "$ALICE_DIR/oe-$job.out")" || return 1
	expect_eq stderr to-err "$(cat "$ALICE_DIR/oe-$job.err")"
}

t_pty() {
	local out
	out=$(script -qec "runuser -u $SLXD_TEST_USER -- sh -c 'cd $ALICE_DIR && srun --lxd-image=$IMG --pty sh -c \"test -t 0 && test -t 1 && echo tty-ok; cat /etc/slxd-image\"'" /dev/null </dev/null | tr -d '\r')
	expect_contains "terminal in the container" "tty-ok" "$out" || return 1
	expect_contains "image file under --pty" "image:$SLXD_IMAGE_ALIAS" "$out"
}

t_scancel_delivers_sigterm() {
	local job
	rm -f "$ALICE_DIR/term.mark"
	job=$(alice sbatch --parsable --lxd-image="$IMG" -o /dev/null \
		--wrap "trap 'echo TERM > $ALICE_DIR/term.mark; exit 0' TERM; echo started > $ALICE_DIR/term.ready; while :; do sleep 1; done")
	wait_file "$ALICE_DIR/term.ready" 60 || return 1
	rm -f "$ALICE_DIR/term.ready"
	scancel "$job"
	wait_file "$ALICE_DIR/term.mark" 20 || return 1
	expect_eq "signal seen by the payload" TERM "$(cat "$ALICE_DIR/term.mark")" || return 1
	expect_teardown_after_end "$job" "scancel (payload exits on SIGTERM)"
}

t_scancel_signal_usr1() {
	local job
	rm -f "$ALICE_DIR/usr1.mark" "$ALICE_DIR/usr1.ready"
	job=$(alice sbatch --parsable --lxd-image="$IMG" -o /dev/null \
		--wrap "trap 'echo USR1 >> $ALICE_DIR/usr1.mark' USR1; echo r > $ALICE_DIR/usr1.ready; while [ ! -s $ALICE_DIR/usr1.mark ]; do sleep 0.2; done; sleep 1")
	wait_file "$ALICE_DIR/usr1.ready" 60 || return 1
	scancel --batch --signal=USR1 "$job"
	wait_job_gone "$job" 60 || return 1
	expect_eq "USR1 delivered exactly once" USR1 "$(cat "$ALICE_DIR/usr1.mark" 2>&1)" || return 1
	expect_no_container "$job"
}

t_three_steps_one_container() {
	local out n
	out=$(alice salloc -n3 --lxd-image="$IMG" sh -c \
		'for i in 1 2 3; do srun -n1 readlink /proc/self/ns/pid; done; srun -n3 readlink /proc/self/ns/pid' 2>&1) \
		|| fail "salloc: $out" || return 1
	n=$(printf '%s\n' "$out" | grep -c '^pid:')
	expect_eq "steps that ran" 6 "$n" || return 1
	expect_eq "distinct containers (pid namespaces)" 1 "$(printf '%s\n' "$out" | grep '^pid:' | sort -u | wc -l)" || return 1
	expect_not_contains "host pid namespace" "$(readlink /proc/self/ns/pid)" "$out"
}

t_two_users_isolated() {
	local ja jb out
	rm -f "$ALICE_DIR/iso.ready"
	ja=$(alice sbatch --parsable --lxd-image="$IMG" -o /dev/null \
		--wrap "echo secret > /tmp/alice-secret; echo ok > $ALICE_DIR/iso.ready; exec sleep 313")
	wait_file "$ALICE_DIR/iso.ready" 60 || { scancel "$ja"; return 1; }
	out=$(bob srun --lxd-image="$IMG" sh -c "ps -o pid,user,args; ls /tmp; cat $ALICE_DIR/iso.ready 2>&1; echo uid=\$(id -u)" 2>&1)
	scancel "$ja"
	expect_contains "bob ran" "uid=$SLXD_TEST_UID2" "$out" || return 1
	expect_not_contains "alice's process seen by bob" "sleep 313" "$out" || return 1
	expect_not_contains "alice's /tmp seen by bob" "alice-secret" "$out" || return 1
	expect_not_contains "alice's files read by bob" "ok" "$(printf '%s\n' "$out" | grep -v '^uid=' | grep -vi 'no such\|denied\|ps\|PID')" || return 1
	wait_job_gone "$ja" 60 || return 1
	expect_no_container "$ja"
}

t_user_mount() {
	local out
	echo shared-data >"$ALICE_DIR/mount-src.txt"
	chown "$SLXD_TEST_USER" "$ALICE_DIR/mount-src.txt"
	out=$(alice srun --lxd-image="$IMG" --lxd-mount="$ALICE_DIR:/data:ro" sh -c 'cat /data/mount-src.txt; touch /data/x 2>&1 || echo ro-ok') || fail "srun: $out" || return 1
	expect_contains "mounted file" shared-data "$out" || return 1
	expect_contains "read-only mount" ro-ok "$out"
}

t_workdir_option() {
	local out
	out=$(alice srun --lxd-image="$IMG" --lxd-workdir=/etc pwd) || fail "srun: $out" || return 1
	expect_eq "working directory" /etc "$out"
}

t_jobs_without_option_untouched() {
	local out
	out=$(alice srun sh -c 'hostname; test -e /etc/slxd-image && echo in-container || echo on-host') || fail "srun: $out" || return 1
	expect_contains "host" "${SLXD_NODE:-$(hostname)}" "$out" || return 1
	expect_contains "not in a container" on-host "$out"
}

t_help_lists_options() {
	local out
	out=$(alice sbatch --help 2>&1; alice srun --help 2>&1)
	expect_contains "sbatch/srun --help" "--lxd-image" "$out" || return 1
	expect_contains "sbatch/srun --help" "--lxd-mount" "$out" || return 1
	expect_contains "sbatch/srun --help" "--lxd-workdir" "$out"
}

# --- bad input: one clear line, a failed step, nothing left behind --------

# expect_refused_as (lib.sh), as alice.
expect_refused() { expect_refused_as "$SLXD_TEST_USER" "$@"; }

t_refuses_unapproved_image_at_submit() {
	expect_refused "unknown to the image registry" --lxd-image=nosuch:1.0 true || return 1
	# refused before the job was queued: sbatch prints no job id
	local out
	out=$(alice sbatch --lxd-image=nosuch:1.0 --wrap true 2>&1)
	expect_not_contains "queued" "Submitted batch job" "$out" || return 1
	expect_contains "sbatch error" "unknown to the image registry" "$out"
}

# The same with the admin's list file instead of the registry.
t_refuses_unapproved_image_at_submit_list() {
	with_node_conf registry= expect_refused "not approved" --lxd-image=nosuch:1.0 true
}

t_refuses_unapproved_image_on_node() {
	# A submit host that cannot read the approved list cannot check; the
	# node always does.  Make the list root-only for the duration.
	local job out
	chmod 0600 "$SLXD_APPROVED"
	job=$(with_node_conf registry= sbatch_wait "$SLXD_TEST_USER" --lxd-image=nosuch:1.0 \
		-o "$ALICE_DIR/unapp-%j.out" --wrap 'echo payload-ran')
	chmod 0644 "$SLXD_APPROVED"
	out=$(cat "$ALICE_DIR/unapp-$job.out" 2>&1)
	expect_contains "node-side refusal" "not approved" "$out" || return 1
	expect_not_contains "payload must not run" "payload-ran" "$out" || return 1
	expect_no_container "$job"
}

t_refuses_image_not_on_node() {
	# (without a registry the node cannot fetch what it lacks)
	with_node_conf registry= expect_refused "does not have it" --lxd-image=absent:1 true
}

t_refuses_malformed_values() {
	expect_refused "invalid" --lxd-image='Bad;rm -rf' true || return 1
	expect_refused "invalid" --lxd-image='demo:1.0:extra' true || return 1
	expect_refused "--lxd-image" $'--lxd-image=demo\n:1.0' true || return 1
	expect_refused "--lxd-mount" --lxd-image="$IMG" --lxd-mount=relative/path:/x true || return 1
	expect_refused "--lxd-mount" --lxd-image="$IMG" --lxd-mount="$ALICE_DIR/../x:/x" true || return 1
	expect_refused "--lxd-mount" --lxd-image="$IMG" --lxd-mount="$ALICE_DIR:/x:rx" true || return 1
	expect_refused "--lxd-workdir" --lxd-image="$IMG" --lxd-workdir=relative true || return 1
	expect_refused "--lxd-image" --lxd-mount="$ALICE_DIR:/x" true
}

t_refuses_mount_outside_allow_list() {
	expect_refused "allowed" --lxd-image="$IMG" --lxd-mount=/etc:/mnt/etc true
}

t_refuses_mount_user_cannot_read() {
	expect_refused "not readable" --lxd-image="$IMG" --lxd-mount="$BOB_DIR:/mnt/bob" true
}

t_refuses_symlink_escaping_allow_list() {
	ln -sfn /etc "$ALICE_DIR/escape"
	expect_refused "allowed" --lxd-image="$IMG" --lxd-mount="$ALICE_DIR/escape:/mnt/e" true
}

# Swap the node configuration for one test and always put it back.
with_node_conf() { # key=value cmd...
	local kv=$1 rc
	shift
	cp -p "$NODE_CONF" "$NODE_CONF.saved"
	echo "$kv" >>"$NODE_CONF"
	"$@"
	rc=$?
	mv -f "$NODE_CONF.saved" "$NODE_CONF"
	return $rc
}

t_refuses_when_lxd_socket_missing() {
	with_node_conf lxd_socket=/run/slxd-test-no-such.socket \
		expect_refused "$SLXD_RUNTIME_NAME socket" --lxd-image="$IMG" true
}

t_refuses_when_container_cannot_start() {
	# The init exists (LXD accepts the container) but cannot be executed.
	with_node_conf init=/etc/hostname \
		expect_refused "did not start" --lxd-image="$IMG" true
}

t_refuses_ids_not_in_subuid() {
	local out rc
	id slxd-carol >/dev/null 2>&1 || useradd -M -u 3001 -U -s /bin/sh slxd-carol
	install -d -o slxd-carol -m 0700 "$SLXD_TEST_SHARED/slxd-carol"
	out=$(as_user slxd-carol "$SLXD_TEST_SHARED/slxd-carol" srun --lxd-image="$IMG" true 2>&1)
	rc=$?
	[ "$rc" != 0 ] || fail "uid 3001 is not granted in /etc/subuid; the job must fail" || return 1
	expect_contains "names the line to add" "root:3001:1" "$out" || return 1
	local job
	job=$(last_job_of slxd-carol)
	expect_no_container "$job"
}

t_bad_node_config_refuses_clearly() {
	with_node_conf no_such_key=1 \
		expect_refused "no_such_key" --lxd-image="$IMG" true
}

t_time_limit_ends_payload() {
	# Slurm checks limits about every 30 s: this takes 60-100 s.  The payload
	# loops rather than waiting on one background sleep: that sleep may get
	# its SIGTERM and end the script before the shell gets its own.
	local job
	rm -f "$ALICE_DIR/limit.mark"
	job=$(alice sbatch --parsable --time=1 --lxd-image="$IMG" -o /dev/null \
		--wrap "trap 'echo TERM > $ALICE_DIR/limit.mark; exit 0' TERM; while :; do sleep 1; done")
	expect_teardown_after_end "$job" "time limit" || return 1
	expect_eq "payload saw the time limit's SIGTERM" TERM "$(cat "$ALICE_DIR/limit.mark" 2>&1)" || return 1
	expect_eq "job state" TIMEOUT "$(scontrol show job "$job" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p')"
}

# --- a job's story in the logs (docs/admin-guide.md, "Logging") ----------

# One grep for the job id across slurmd.log (the plugin, through Slurm's
# logger) and the syslog file (the helpers): the prolog's image line, the
# container's creation, its deletion, in that order, each one line naming
# the job.
t_job_story_in_logs() {
	local job story i n_image n_created n_killed n_deleted ct
	[ -f "$SLXD_TEST_LOG/syslog" ] || fail "no $SLXD_TEST_LOG/syslog: setup.sh starts rsyslogd" || return 1
	job=$(sbatch_wait "$SLXD_TEST_USER" --lxd-image="$IMG" -o /dev/null --wrap true)
	[[ "$job" =~ ^[0-9]+$ ]] || fail "sbatch: $job" || return 1
	expect_no_container "$job" || return 1
	# (the epilog's line may reach the file just after the container is gone)
	for i in $(seq 50); do
		story=$(job_story "$job")
		grep -q "job $job: deleted container " <<<"$story" && break
		sleep 0.1
	done
	printf '%s\n' "$story" | while IFS= read -r l; do report "$l"; done
	# the container: slurm-<job>, made for it, or a spare it took
	ct=$(logged_container "$job")
	n_image=$(grep -n -m1 "slxd-prolog\[[0-9]*\]: job $job: image $IMG ready (fingerprint " <<<"$story" | cut -d: -f1)
	n_created=$(grep -n -m1 -E "slurm-lxd: job $job: (created|took spare) container $ct " <<<"$story" | cut -d: -f1)
	n_killed=$(grep -n -m1 "job $job: killed the processes of container $ct; deleting it in the background" <<<"$story" | cut -d: -f1)
	n_deleted=$(grep -n -m1 "job $job: deleted container $ct\$" <<<"$story" | cut -d: -f1)
	[ -n "$n_image" ] || fail "no 'slxd-prolog: job $job: image $IMG ready' line" || return 1
	[ -n "$ct" ] && [ -n "$n_created" ] || fail "no 'slurm-lxd: job $job: created container' or 'took spare container' line" || return 1
	[ -n "$n_killed" ] || fail "no 'job $job: killed the processes' line" || return 1
	# slurmd runs the plugin's job epilog before Epilog=slxd-epilog: the
	# plugin ends the container (it once never did, for want of its
	# configuration in that process) and slxd-epilog finds nothing left.
	expect_contains "who ended the container" "slurm-lxd: job $job: killed the processes" \
		"$(sed -n "${n_killed}p" <<<"$story")" || return 1
	[ -n "$n_deleted" ] || fail "no 'job $job: deleted container' line" || return 1
	[ "$n_image" -lt "$n_created" ] && [ "$n_created" -lt "$n_killed" ] && [ "$n_killed" -lt "$n_deleted" ] ||
		fail "out of order: image line $n_image, created $n_created, killed $n_killed, deleted $n_deleted"
}

# --- templates: per user and image, a pre-shifted copy source -----------

# After a user's first job with an image ends, the node builds a template
# for that user and image; the user's next job is a copy of it.  The copy
# is the job's own: nothing an earlier job wrote is in it, and another
# user never gets this user's template (their id maps differ).
t_template_makes_next_job_a_fresh_copy() {
	local first tpl out job story
	remove_node_cache
	first=$(sbatch_wait "$SLXD_TEST_USER" --lxd-image="$IMG" -o /dev/null \
		--wrap 'echo secret > /tmp/slxd-first-job')
	expect_contains "first job" "created container slurm-$first (image $IMG, uid $SLXD_TEST_UID) from the image" \
		"$(job_story "$first")" || return 1
	tpl=$(wait_template "$SLXD_TEST_UID" 60) || return 1
	expect_eq "template status" Stopped "$(lxc query "/1.0/instances/$tpl" | jq -r .status)" || return 1
	# (with no spare to take: the template is what this case is about)
	out=$(with_node_conf spare_max_idle=0 \
		alice srun --lxd-image="$IMG" sh -c 'cat /tmp/slxd-first-job 2>&1; cat /etc/slxd-image; id -u') ||
		fail "second job: $out" || return 1
	job=$(last_job_of "$SLXD_TEST_USER")
	story=$(job_story "$job")
	expect_contains "second job" "created container slurm-$job (image $IMG, uid $SLXD_TEST_UID) from template $tpl" \
		"$story" || return 1
	expect_not_contains "what the first job wrote" secret "$out" || return 1
	expect_contains "the image's own file" "image:$SLXD_IMAGE_ALIAS" "$out" || return 1
	expect_contains "uid in the copy" "$SLXD_TEST_UID" "$out" || return 1
	expect_no_container "$job" || return 1

	with_node_conf spare_max_idle=0 bob srun --lxd-image="$IMG" true >/dev/null 2>&1 ||
		fail "bob's job failed" || return 1
	job=$(last_job_of "$SLXD_TEST_USER2")
	expect_not_contains "bob's job" "from template $tpl" "$(job_story "$job")" || return 1
	expect_no_container "$job"
}

# --- spares: the next job of a user and image starts in a running one ---

# A user's job ends; the node makes a spare (a started copy of the
# template) for that user and image; the user's next job takes it.  The
# job's container is still its own: named slurm-<job> inside, nothing an
# earlier job wrote, the image's own files; it is used once (gone after
# the job) and replaced.  Another user's job never takes it, and slxd-gc
# removes a spare left unused.
t_spare_takes_next_job() {
	local first spare out job story next bjob
	remove_node_cache
	first=$(sbatch_wait "$SLXD_TEST_USER" --lxd-image="$IMG" -o /dev/null \
		--wrap 'echo secret > /tmp/slxd-first-job')
	spare=$(wait_spare "$SLXD_TEST_UID" 60) || return 1
	expect_contains "made after job $first" "made spare container $spare (image $IMG, uid $SLXD_TEST_UID)" \
		"$(grep -h "made spare container $spare" "$SLXD_TEST_LOG/slurmd.log")" || return 1
	expect_eq "spare status" Running "$(lxc query "/1.0/instances/$spare" | jq -r .status)" || return 1

	# bob's job: another id map, so another slot; alice's spare stays hers
	bob srun --lxd-image="$IMG" true >/dev/null 2>&1 || fail "bob's job failed" || return 1
	bjob=$(last_job_of "$SLXD_TEST_USER2")
	expect_not_contains "bob's job" "took spare container $spare" "$(job_story "$bjob")" || return 1
	expect_eq "alice's spare after bob's job" spare "$(lxc config get "$spare" user.slurm.role)" || return 1
	expect_no_container "$bjob" || return 1

	out=$(alice srun --lxd-image="$IMG" sh -c 'hostname; cat /tmp/slxd-first-job 2>&1; cat /etc/slxd-image; id -u; pwd') ||
		fail "second job: $out" || return 1
	job=$(last_job_of "$SLXD_TEST_USER")
	story=$(job_story "$job")
	expect_contains "second job" "job $job: took spare container $spare (image $IMG, uid $SLXD_TEST_UID)" \
		"$story" || return 1
	expect_contains "host name inside" "slurm-$job" "$out" || return 1
	expect_not_contains "what the first job wrote" secret "$out" || return 1
	expect_contains "the image's own file" "image:$SLXD_IMAGE_ALIAS" "$out" || return 1
	expect_contains "uid" "$SLXD_TEST_UID" "$out" || return 1
	expect_contains "working directory, mounted when taken" "$ALICE_DIR" "$out" || return 1
	# used once: gone with its job, and another made for the next one
	expect_no_container "$job" || return 1
	lxc query "/1.0/instances/$spare" >/dev/null 2>&1 && fail "spare $spare still there after its job" && return 1
	next=$(wait_spare "$SLXD_TEST_UID" 60) || return 1
	[ "$next" != "$spare" ] || fail "the same spare again: $next" || return 1
	# one job at a time: a pool of one, whatever spares_max (default 16)
	sleep 2
	expect_eq "alice's idle spares after jobs one at a time" 1 \
		"$(idle_spares_of "$SLXD_TEST_UID" | wc -l)" || return 1

	# unused: slxd-gc removes it after spare_max_idle
	sleep 2
	out=$(with_node_conf spare_max_idle=1 slxd-gc --json) || fail "slxd-gc: $out" || return 1
	expect_eq "slxd-gc on an idle spare" deleted "$(gc_action "$out" "$next")" || return 1
	! lxc query "/1.0/instances/$next" >/dev/null 2>&1 || fail "idle spare $next still there"
}

# --- the job's root disk quota (lib/joblimits.h) -------------------------

# A write past --lxd-disk fails inside the job (btrfs quota: EDQUOT), the
# job's output says which limit it hit, and the container still goes.
t_disk_write_past_limit_fails() {
	local out job
	out=$(alice srun --lxd-image="$IMG" --lxd-disk=64M sh -c \
		'dd if=/dev/zero of=/tmp/big bs=1M count=128' 2>&1)
	job=$(last_job_of "$SLXD_TEST_USER")
	expect_contains "the write fails" "Disk quota exceeded" "$out" || return 1
	expect_contains "the job is told which limit" "used of its 64MiB limit (--lxd-disk" "$out" || return 1
	expect_no_container "$job"
}

# Within the limit: the write succeeds and nothing is said.
t_disk_write_within_limit() {
	local out
	out=$(alice srun --lxd-image="$IMG" --lxd-disk=64M sh -c \
		'dd if=/dev/zero of=/tmp/some bs=1M count=16 2>/dev/null && echo wrote-16M' 2>&1) ||
		fail "srun failed: $out" || return 1
	expect_contains "the write" "wrote-16M" "$out" || return 1
	expect_not_contains "no limit message" "limit" "$out"
}

# Sizes that do not parse or exceed root_size_max are refused at submit,
# before a job exists, with one line.
t_disk_refused_at_submit() {
	local before
	before=$(last_job_of "$SLXD_TEST_USER")
	with_node_conf root_size_max=1G expect_refused "exceeds this site's maximum root disk of 1GiB" \
		--lxd-image="$IMG" --lxd-disk=2G true || return 1
	expect_refused "invalid --lxd-disk=\"lots\"" --lxd-image="$IMG" --lxd-disk=lots true || return 1
	expect_refused "need --lxd-image" --lxd-disk=1G true || return 1
	expect_eq "no job was queued" "$before" "$(last_job_of "$SLXD_TEST_USER")"
}

# A pool that cannot enforce a size (LXD's dir driver) refuses the job with
# one clear line instead of running it without a limit.
t_disk_refused_on_dir_pool() {
	local rc
	lxc storage create slxd-test-dir dir >/dev/null || fail "cannot make a dir pool" || return 1
	with_node_conf storage_pool=slxd-test-dir expect_refused "cannot be enforced on this node" \
		--lxd-image="$IMG" --lxd-disk=64M true
	rc=$?
	lxc storage delete slxd-test-dir >/dev/null || fail "cannot remove the dir pool" || return 1
	return $rc
}

# --- a pool of spares, sized by the last burst's peak (lib/sparepool.h) ---

idle_spares_of() { # uid -> the names of its idle spares
	lxc list --format csv -c n,config:user.slurm.role,config:user.slurm.uid 2>/dev/null |
		awk -F, -v u="$1" '$2 == "spare" && $3 == u && $1 ~ /^slxd-spare-/ {print $1}'
}
wait_idle_spares() { # uid count seconds
	local i
	for i in $(seq $(($3 * 2))); do
		[ "$(idle_spares_of "$1" | wc -l)" -ge "$2" ] && return 0
		sleep 0.5
	done
	fail "$(idle_spares_of "$1" | wc -l) idle spares for uid $1 after $3 s, not $2"
}
burst_of() { # n -> the ids of n jobs of alice's run at once (each 8 s: they overlap on a loaded node), after they ended
	local k d
	d=$(mktemp -d)
	for k in $(seq "$1"); do
		sbatch_wait "$SLXD_TEST_USER" --lxd-image="$IMG" -o /dev/null --wrap 'sleep 8' >"$d/$k" &
	done
	wait
	cat "$d"/*
	rm -rf "$d"
}

# After a burst of 4 of alice's jobs at once (spares_max=3), 3 spares wait
# for alice and the image, none for bob; the next burst's jobs each take a
# different one; slxd-gc removes the idle ones after spare_max_idle.
# The state files of the pool of spares of KEY (statedir.h), one line.
pool_files() { # key
	find "$SLXD_STATE_DIR" -maxdepth 1 -name "slxd-spare-$1.*" -printf '%f '
}
t_spare_pool_after_burst() {
	local rc
	cp -p "$NODE_CONF" "$NODE_CONF.pool-saved"
	echo spares_max=3 >>"$NODE_CONF"
	spare_pool_body
	rc=$?
	mv -f "$NODE_CONF.pool-saved" "$NODE_CONF"
	return $rc
}
spare_pool_body() {
	local pool job taken=() n s
	remove_node_cache
	sbatch_wait "$SLXD_TEST_USER" --lxd-image="$IMG" -o /dev/null --wrap true >/dev/null
	wait_template "$SLXD_TEST_UID" 60 >/dev/null || return 1
	wait_idle_spares "$SLXD_TEST_UID" 1 60 || return 1
	burst_of 4 >/dev/null
	wait_idle_spares "$SLXD_TEST_UID" 3 120 || return 1
	sleep 2 # (none more is coming: the cap)
	expect_eq "alice's idle spares, spares_max=3" 3 "$(idle_spares_of "$SLXD_TEST_UID" | wc -l)" || return 1
	expect_eq "bob's idle spares" 0 "$(idle_spares_of "$SLXD_TEST_UID2" | wc -l)" || return 1
	pool=$(idle_spares_of "$SLXD_TEST_UID" | sort)
	for job in $(burst_of 3); do
		n=$(job_story "$job" | grep -o "took spare container [^ ]*" | awk '{print $NF}')
		[ -n "$n" ] || fail "job $job took no spare: $(job_story "$job")" || return 1
		expect_contains "job $job's spare is one of the pool" "$n" "$pool" || return 1
		for s in "${taken[@]}"; do
			[ "$s" != "$n" ] || fail "spare $n taken twice" || return 1
		done
		taken+=("$n")
		expect_no_container "$job" || return 1
	done
	expect_eq "spares taken" 3 "${#taken[@]}" || return 1
	# the pool is made again; unused, slxd-gc removes every one
	wait_idle_spares "$SLXD_TEST_UID" 3 120 || return 1
	sleep 2
	local out idle
	idle=$(idle_spares_of "$SLXD_TEST_UID")
	out=$(with_node_conf spare_max_idle=1 slxd-gc --json) || fail "slxd-gc: $out" || return 1
	for s in $idle; do
		expect_eq "slxd-gc on idle spare $s" deleted "$(gc_action "$out" "$s")" || return 1
	done
	# one gc is enough: a filler that waited on a slot lock gc held reads
	# the demand gc forgot and makes none after it (lib/sparepool.h)
	sleep 3
	expect_eq "idle spares after slxd-gc" 0 "$(idle_spares_of "$SLXD_TEST_UID" | wc -l)" || return 1
	# then the pool's files in state_dir, which nothing uses any more, go
	# too (statedir.h); each was last written over a second ago
	local key
	key=$(echo "$idle" | head -1 | cut -c12-40)
	[ -n "$(pool_files "$key")" ] || fail "no files of pool $key in $SLXD_STATE_DIR" || return 1
	sleep 2
	out=$(with_node_conf spare_max_idle=1 slxd-gc 2>&1) || fail "slxd-gc: $out" || return 1
	[ -z "$(pool_files "$key")" ] || fail "slxd-gc left the unused files of pool $key: $(pool_files "$key")"
}
