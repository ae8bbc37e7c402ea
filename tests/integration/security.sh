# SPDX-License-Identifier: GPL-2.0-or-later
# Security cases on the real cluster (t_sec_*): what a hostile user can try
# from a job, with options, and against the registry, and that each attempt
# is stopped.  Sourced by run.sh after cases.sh and registry.sh, whose
# helpers these reuse.  docs/security.md maps each threat to its case.

# --- helpers ----------------------------------------------------------------

# Record LXD's lifecycle events (instance-created, ...) until sec_monitor_stop.
sec_monitor_start() { # file
	: >"$1"
	lxc monitor --type=lifecycle >"$1" 2>&1 &
	SEC_MONITOR_PID=$!
	sleep 1 # the event stream is connected
}
sec_monitor_stop() {
	[ -n "${SEC_MONITOR_PID:-}" ] || return 0
	kill "$SEC_MONITOR_PID" 2>/dev/null
	wait "$SEC_MONITOR_PID" 2>/dev/null
	SEC_MONITOR_PID=
}

# A batch job of alice that says READY in FILE, then sleeps (its args say
# sleep MARK, so it can be found).  Prints the job id.
sec_sleeper() { # ready-file mark
	rm -f "$1"
	alice sbatch --parsable --lxd-image="$IMG" -o /dev/null \
		--wrap "echo up > $1; exec sleep $2"
}

# A case's end around a sec_sleeper: cancel it, wait until the job and its
# container are gone, and return the status of the case's own checks.
sec_sleeper_end() { # job ready-file status
	scancel "$1"
	rm -f "$2"
	wait_job_gone "$1" 60 || return 1
	expect_no_container "$1" || return 1
	return "$3"
}

# --- 1. the payload cannot gain privileges or leave its container -----------

t_sec_no_inheritable_or_ambient_capabilities() {
	local out
	out=$(alice srun --lxd-image="$IMG" sh -c 'cat /etc/slxd-image; grep -E "^Cap(Inh|Amb):" /proc/self/status') \
		|| fail "srun: $out" || return 1
	expect_contains "ran in the container" "image:$SLXD_IMAGE_ALIAS" "$out" || return 1
	expect_contains CapInh "CapInh:	0000000000000000" "$out" || return 1
	expect_contains CapAmb "CapAmb:	0000000000000000" "$out"
}

t_sec_cannot_write_image_system_files() {
	local out
	rm -f "$ALICE_DIR/sec-write.ok"
	# Each write is tried; a success is printed.  The last line shows that
	# writing as such works (the job's own directory).
	out=$(alice srun --lxd-image="$IMG" sh -c '
		for f in /bin/busybox /etc/passwd /sbin/init; do
			test -e "$f" || echo "MISSING:$f"
			(echo x >>"$f") 2>/dev/null && echo "WROTE:$f"
			chmod 0666 "$f" 2>/dev/null && echo "CHMODDED:$f"
		done
		touch /bin/sec-new 2>/dev/null && echo CREATED:/bin/sec-new
		touch /etc/sec-new 2>/dev/null && echo CREATED:/etc/sec-new
		touch /sbin/sec-new 2>/dev/null && echo CREATED:/sbin/sec-new
		ln -sf /tmp/x /etc/passwd 2>/dev/null && echo REPLACED:/etc/passwd
		rm -f /etc/passwd 2>/dev/null; test -e /etc/passwd || echo REMOVED:/etc/passwd
		echo ok >sec-write.ok && echo own-dir-writable' 2>&1) || fail "srun: $out" || return 1
	rm -f "$ALICE_DIR/sec-write.ok"
	expect_contains "writing works where it should" own-dir-writable "$out" || return 1
	for w in MISSING WROTE CHMODDED CREATED REPLACED REMOVED; do
		expect_not_contains "system file attempt ($w)" "$w:" "$out" || return 1
	done
}

t_sec_cannot_reach_lxd_socket() {
	local sock=$SLXD_RUNTIME_SOCKET out
	[ -S "$sock" ] || fail "(setup) $sock is not $SLXD_RUNTIME_NAME's socket on the host" || return 1
	# The path itself, through pid 1's root and every visible process's
	# root, under every mount point of the container, and any socket at
	# all in its file tree: none, not even LXD's guest API /dev/lxd/sock
	# (security.devlxd=false).
	out=$(alice srun --lxd-image="$IMG" sh -c "
		s=$sock
		test -e \$s && echo VISIBLE:\$s
		for r in /proc/[0-9]*/root; do test -e \$r\$s && echo VISIBLE:\$r\$s; done
		while read -r _ _ _ _ mnt _; do
			test -e \$mnt\$s && echo VISIBLE:\$mnt\$s
			test -e \$mnt/unix.socket && echo VISIBLE:\$mnt/unix.socket
		done </proc/self/mountinfo
		find / \\( -path /proc -o -path /sys \\) -prune -o -type s -print 2>/dev/null | sed 's/^/SOCKET:/'
		test -e /dev/lxd && echo DEVLXD
		test -e /dev/incus && echo DEVLXD
		echo checked" 2>&1) || fail "srun: $out" || return 1
	expect_contains "the checks ran" checked "$out" || return 1
	expect_not_contains "LXD socket reachable" "VISIBLE:" "$out" || return 1
	expect_not_contains "LXD's guest API /dev/lxd in the container" "DEVLXD" "$out" || return 1
	expect_eq "sockets in the container's tree" "" "$(printf '%s\n' "$out" | grep '^SOCKET:')"
}

t_sec_jobs_cannot_see_signal_or_enter_each_other() {
	local ja apid ainit out host i
	ja=$(sec_sleeper "$ALICE_DIR/sec-iso.ready" 3137)
	(
	wait_file "$ALICE_DIR/sec-iso.ready" 60 || exit 1
	for i in $(seq 50); do
		apid=$(pgrep -u "$SLXD_TEST_UID" -f '^sleep 3137$' | head -1)
		[ -n "$apid" ] && break
		sleep 0.1
	done
	ainit=$(lxc query "/1.0/instances/$(job_container "$ja")/state" | jq -r .pid)
	[ -n "$apid" ] && [ "${ainit:-0}" -gt 1 ] || fail "(setup) alice's payload '$apid' or init '$ainit' not found" || exit 1
	# Bob's job, concurrently, in its own container.
	out=$(bob srun --lxd-image="$IMG" sh -c "
		ps -o pid,user,args
		for p in $apid $ainit; do
			kill -0 \$p 2>/dev/null && echo SIGNALLED:\$p
			ls /proc/\$p/root/ >/dev/null 2>&1 && echo ENTERED:\$p
			cat /proc/\$p/environ >/dev/null 2>&1 && echo READ-ENV:\$p
		done
		echo uid=\$(id -u)" 2>&1)
	expect_contains "bob's job ran" "uid=$SLXD_TEST_UID2" "$out" || exit 1
	expect_not_contains "alice's payload in bob's ps" "sleep 3137" "$out" || exit 1
	expect_not_contains "alice's user in bob's ps" "$SLXD_TEST_USER" "$out" || exit 1
	expect_not_contains "alice's uid in bob's ps" " $SLXD_TEST_UID " "$out" || exit 1
	# (ps shows bob's own script, so the markers are matched with a pid)
	for i in "SIGNALLED:$apid" "SIGNALLED:$ainit" "ENTERED:$apid" "ENTERED:$ainit" \
		"READ-ENV:$apid" "READ-ENV:$ainit"; do
		expect_not_contains "bob's job reached alice's" "$i" "$out" || exit 1
	done
	# The same from bob's login shell on the host, where the pids are real.
	host=$(bob sh -c "kill -0 $apid 2>/dev/null && echo SIGNALLED
		ls /proc/$ainit/root/ >/dev/null 2>&1 && echo ENTERED-INIT
		ls /proc/$apid/root/ >/dev/null 2>&1 && echo ENTERED-PAYLOAD
		test -d /proc/$apid && echo pid-exists")
	expect_contains "(setup) alice's payload alive" pid-exists "$host" || exit 1
	expect_not_contains "bob signalled alice's payload from the host" SIGNALLED "$host" || exit 1
	expect_not_contains "bob opened alice's container from the host" ENTERED "$host" || exit 1
	kill -0 "$apid" || fail "alice's payload is gone" || exit 1
	)
	sec_sleeper_end "$ja" "$ALICE_DIR/sec-iso.ready" $?
}

# --- 2. mounts refused before any container is made -------------------------

t_sec_refuses_proc_sys_dev_mounts() {
	local p
	# Even where the site allows everything, the system paths are refused
	# (mount_allow=/ leaves only that check in the way) ...
	for p in / /proc /proc/1 /sys /sys/fs/cgroup /dev /dev/shm; do
		with_node_conf mount_allow=/ expect_refused "refused system path" \
			--lxd-image="$IMG" --lxd-mount="$p:/mnt/x:ro" true || return 1
	done
	# ... and so is a link to them from an allowed directory.
	for p in proc sys dev; do
		alice ln -sfn "/$p" "$ALICE_DIR/sec-to-$p" || return 1
		with_node_conf mount_allow=/ expect_refused "refused system path" \
			--lxd-image="$IMG" --lxd-mount="$ALICE_DIR/sec-to-$p:/mnt/x:ro" true || return 1
		expect_refused "--lxd-mount" \
			--lxd-image="$IMG" --lxd-mount="$ALICE_DIR/sec-to-$p:/mnt/x:ro" true || return 1
		rm -f "$ALICE_DIR/sec-to-$p"
	done
}

t_sec_refuses_another_jobs_spool_dir() {
	local ja spool
	ja=$(sec_sleeper "$ALICE_DIR/sec-spool.ready" 3138)
	(
	wait_file "$ALICE_DIR/sec-spool.ready" 60 || exit 1
	spool=/var/spool/slurmd/job$(printf %05d "$ja")
	[ -d "$spool" ] || fail "(setup) $spool does not exist" || exit 1
	expect_refused_as "$SLXD_TEST_USER2" "outside the allowed prefixes" \
		--lxd-image="$IMG" --lxd-mount="$spool:/mnt/spool:ro" true || exit 1
	# even where the site allows slurmd's spool, bob cannot read alice's
	with_node_conf mount_allow=$SLXD_TEST_SHARED,/var/spool/slurmd \
		expect_refused_as "$SLXD_TEST_USER2" "by you" \
		--lxd-image="$IMG" --lxd-mount="$spool:/mnt/spool:ro" true
	)
	sec_sleeper_end "$ja" "$ALICE_DIR/sec-spool.ready" $?
}

# The directory is checked on the node when the job starts, not at submit:
# a link swapped in while the job waits is judged by where it leads.
t_sec_refuses_symlink_swapped_in_after_submission() {
	local job out rc ev=$SLXD_TEST_RUN/sec-swap.events d=$ALICE_DIR/sec-swap
	rm -rf "$d" "$d.orig" "$ALICE_DIR/sec-swap.out"
	alice mkdir "$d" || return 1
	job=$(alice sbatch --parsable -H --lxd-image="$IMG" --lxd-mount="$d:/data:ro" \
		-o "$ALICE_DIR/sec-swap.out" --wrap 'cat /data/hostname && echo ESCAPED') \
		|| fail "submit of a valid mount: $job" || return 1
	sec_monitor_start "$ev"
	(
	alice mv "$d" "$d.orig" && alice ln -s /etc "$d" || exit 1
	alice scontrol release "$job" || exit 1
	wait_job_gone "$job" 120 || exit 1
	out=$(cat "$ALICE_DIR/sec-swap.out" 2>&1)
	expect_contains "refusal names the real target" "which resolves to \"/etc\"" "$out" || exit 1
	expect_contains "refused" "outside the allowed prefixes" "$out" || exit 1
	expect_not_contains "payload read /etc" ESCAPED "$out" || exit 1
	expect_no_container "$job" || exit 1
	expect_eq "refusal lines" 1 "$(grep -c 'lxd-mount' "$ALICE_DIR/sec-swap.out")" || exit 1
	)
	rc=$?
	sec_monitor_stop
	if [ $rc = 0 ] && grep -q "slurm-$job" "$ev"; then
		fail "LXD saw job $job: $(grep "slurm-$job" "$ev" | head -3)"
		rc=1
	fi
	# a spare it took would keep its own name in LXD's events: the log says
	if [ $rc = 0 ] && job_story "$job" | grep -q "took spare container"; then
		fail "job $job took a spare: $(job_story "$job" | grep "took spare")"
		rc=1
	fi
	scancel "$job" 2>/dev/null
	rm -rf "$d" "$d.orig" "$ALICE_DIR/sec-swap.out" "$ev"
	return $rc
}

# The narrower race: the directory is a directory when the node checks it
# and a link to /etc when LXD mounts it, about a second later.  A swapper
# flips it while jobs start; no job may see /etc.  (Which jobs the race hit
# varies: the report line counts each outcome.)
t_sec_mount_swapped_during_setup_is_caught() {
	local d=$ALICE_DIR/sec-race i out job escaped=0 good=0 checked=0 caught=0 other=0 rc=0
	rm -rf "$d" "$d.real" "$d.stop"
	alice mkdir "$d" && alice touch "$d/sec-marker" || return 1
	alice python3 - "$d" <<'EOF2' &
import os, random, sys, time
d = sys.argv[1]
while not os.path.exists(d + ".stop"):
    os.rename(d, d + ".real"); os.symlink("/etc", d)
    time.sleep(random.uniform(0.01, 0.4))
    os.unlink(d); os.rename(d + ".real", d)
    time.sleep(random.uniform(0.01, 0.4))
EOF2
	local swapper=$!
	for i in $(seq 20); do
		out=$(alice srun --lxd-image="$IMG" --lxd-mount="$d:/data:ro" \
			sh -c 'cat /data/hostname >/dev/null 2>&1 && echo ESCAPED; test -e /data/sec-marker && echo GOOD' 2>&1)
		job=$(last_job_of "$SLXD_TEST_USER")
		case "$out" in
		*ESCAPED*) escaped=$((escaped + 1)) ;;
		*"changed between its check and the mount"*) caught=$((caught + 1)) ;;
		*GOOD*) good=$((good + 1)) ;;
		*"outside the allowed prefixes"*|*"does not exist"*) checked=$((checked + 1)) ;;
		*) other=$((other + 1)); echo "    (other outcome: $out)" >&2 ;;
		esac
		expect_no_container "$job" || rc=1
	done
	alice touch "$d.stop"
	wait "$swapper"
	rm -rf "$d" "$d.real" "$d.stop"
	report "20 jobs under a swapper: $good ran with the directory, $checked refused at the check, $caught caught after the mount, $escaped saw /etc, $other other"
	expect_eq "jobs that saw /etc through a swapped mount" 0 "$escaped" || return 1
	return $rc
}

# Many steps of one allocation against a swapper that exchanges (renameat2
# RENAME_EXCHANGE, as fast as it can) a directory of alice's with a link
# to a world-readable directory inside a root-only one.  Half the steps
# mount the racing path (--lxd-mount, a new place each), half run in it
# (--chdir).  Every step tries to read the secret through every mount the
# container has.  LXD must only ever mount the file the node checked: no
# step may read the secret, and at the end the container (seen from the
# host) has nothing of the vault mounted.  Before staging, LXD opened the
# path itself and the link won some of those races; the redirected mount
# stayed for the later steps.
t_sec_swapped_source_never_reaches_lxd() {
	# The racing path's parent is never mounted into the container (the
	# mount steps run in sec-other): a link swapped into a path inside the
	# container would only stop the job's own container (docs/security.md, Not
	# proven here), which this case is not about.
	local top=$ALICE_DIR/sec-race other=$ALICE_DIR/sec-other vault=$SLXD_TEST_SHARED/sec-vault
	local d=$ALICE_DIR/sec-race/sec-swap steps=40 secret
	local out=$SLXD_TEST_RUN/sec-swap.out job name init leaks ran refused other rc=0 i
	secret=slxd-vault-secret-$$-$RANDOM
	rm -rf "$top" "$other" "$vault"
	mkdir -m 0700 "$vault" && mkdir -m 0755 "$vault/pub" || return 1
	echo "$secret" >"$vault/pub/secret" && chmod 0644 "$vault/pub/secret"
	alice mkdir "$top" "$other" "$d" && alice touch "$d/own-file" &&
		alice ln -s "$vault/pub" "$d.link" || return 1
	! alice cat "$vault/pub/secret" >/dev/null 2>&1 || fail "alice can read the vault on the host" || return 1
	alice python3 - "$d" <<'EOF2' &
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
d = sys.argv[1].encode()
link, stop = d + b".link", sys.argv[1] + ".stop"
while not os.path.exists(stop):
    for _ in range(200):
        libc.renameat2(-100, d, -100, link, 2)  # AT_FDCWD, RENAME_EXCHANGE
EOF2
	local swapper=$!
	# One allocation, many steps; then it waits for the host's look inside.
	timeout 110 runuser -u "$SLXD_TEST_USER" -- env -i PATH=/usr/local/bin:/usr/bin:/bin \
		HOME="$ALICE_DIR" USER="$SLXD_TEST_USER" LANG=C.UTF-8 sh -c 'cd "$1" && shift && exec "$@"' \
		sh "$ALICE_DIR" salloc -t 5 --lxd-image="$IMG" bash -c '
		d=$1 img=$2 n=$3 other=$4
		# one line per step that reads it, whichever mount it came through
		read_all="for f in /m*/secret \"$d/secret\" \"$d.link/secret\"; do [ -r \"\$f\" ] && { echo \"READ-SECRET \$(cat \"\$f\")\"; break; }; done; echo STEP-RAN"
		for i in $(seq "$n"); do
			if [ $((i % 2)) = 1 ]; then
				srun -n1 --lxd-image="$img" --chdir="$other" --lxd-mount="$d:/m$i:ro" sh -c "$read_all"
			else
				srun -n1 --lxd-image="$img" --chdir="$d" sh -c "$read_all"
			fi
		done
		touch "$other/done"
		for i in $(seq 300); do [ -e "$other/checked" ] && break; sleep 0.1; done
		srun -n1 --lxd-image="$img" --chdir="$other" sh -c "$read_all"
		' sh "$d" "$IMG" "$steps" "$other" >"$out" 2>&1 &
	local alloc=$!
	for i in $(seq 1000); do
		[ -e "$other/done" ] && break
		kill -0 "$alloc" 2>/dev/null || break
		sleep 0.1
	done
	job=$(last_job_of "$SLXD_TEST_USER")
	name=$(job_container "$job")
	init=$(lxc query "/1.0/instances/$name/state" 2>/dev/null | jq -r '.pid // empty')
	if [ -e "$other/done" ] && [ -n "$init" ] && [ "$init" -gt 0 ]; then
		# from the host: nothing of the vault is mounted in the container
		expect_eq "mounts of the vault in the container" 0 \
			"$(grep -c sec-vault "/proc/$init/mountinfo")" || rc=1
		local vid seen=0 p
		vid=$(stat -c %d:%i "$vault/pub")
		for p in "/proc/$init/root/m"* "/proc/$init/root$d" "/proc/$init/root$d.link"; do
			[ "$(stat -L -c %d:%i "$p" 2>/dev/null)" = "$vid" ] && seen=$((seen + 1))
		done
		expect_eq "paths in the container that are the vault" 0 "$seen" || rc=1
	else
		fail "the allocation did not get through its steps (job $job, container $name)"
		rc=1
	fi
	touch "$other/checked"
	wait "$alloc"
	alice touch "$d.stop"
	wait "$swapper"
	leaks=$(grep -c "^READ-SECRET $secret" "$out")
	ran=$(grep -c '^STEP-RAN' "$out")
	refused=$(grep -c 'not reachable by you' "$out")
	other=$(grep 'slurm-lxd: error' "$out" | grep -vc 'not reachable by you')
	report "$steps steps under a swapper: $ran ran, $refused refused at the check, $other other refusals, $leaks read the secret"
	[ "$other" = 0 ] || grep 'slurm-lxd: error' "$out" | grep -v 'not reachable by you' | sort | uniq -c | head -5 >&2
	expect_eq "steps that read the secret" 0 "$leaks" || rc=1
	[ "$ran" -gt $((steps / 4)) ] || fail "only $ran of $steps steps ran" || rc=1
	expect_no_container "$job" || rc=1
	[ ! -e "/run/slurm-lxd/mnt/$job" ] || fail "staging points of job $job left behind" || rc=1
	rm -rf "$top" "$other" "$vault" "$out"
	return $rc
}

# The working directory is judged like a mount: /proc, /sys, /dev refused;
# slurmstepd's fallback to the host's /tmp (every user's) is not mounted,
# the task starts in the container's own /tmp; cwd_policy=allow_list holds
# it to mount_allow.
t_sec_working_directory_policy() {
	local out mark=slxd-host-tmp-$$-$RANDOM rc=0
	expect_refused "is a refused system path" --lxd-image="$IMG" --chdir=/proc true || rc=1
	echo "$mark" >"/tmp/$mark" && chmod 0644 "/tmp/$mark"
	out=$(alice srun --lxd-image="$IMG" --chdir="$ALICE_DIR/sec-no-such-dir" \
		sh -c "echo cwd=\$(pwd); cat /tmp/$mark 2>/dev/null; echo done" 2>&1)
	rm -f "/tmp/$mark"
	expect_contains "the step ran" "done" "$out" || rc=1
	expect_contains "started in the container's /tmp" "cwd=/tmp" "$out" || rc=1
	expect_not_contains "the host's /tmp inside the container" "$mark" "$out" || rc=1
	with_node_conf cwd_policy=allow_list expect_refused "cwd_policy=allow_list" \
		--lxd-image="$IMG" --chdir=/var/tmp true || rc=1
	out=$(with_node_conf cwd_policy=allow_list alice srun --lxd-image="$IMG" pwd 2>&1)
	expect_eq "a working directory under mount_allow" "$ALICE_DIR" "$out" || rc=1
	return $rc
}

# --- 3. hostile option values: one line, refused, never reach LXD -----------

t_sec_refuses_hostile_option_values() {
	local long ev=$SLXD_TEST_RUN/sec-opts.events logsize rc v
	long=$(head -c 5000 /dev/zero | tr '\0' a)
	logsize=$(stat -c %s "$SLXD_TEST_LOG/slurmd.log")
	rm -f "$ALICE_DIR/sec-pwned"
	sec_monitor_start "$ev"
	(
	for v in "$long" "demo:$long" $'demo:1.0\nraw.lxc=lxc.apparmor.profile=unconfined' \
		$'demo:1.0\rraw.idmap=both 0 0' 'demo:1.0; rm -rf /' 'demo:$(id)' 'demo:`id`' \
		"demo:'1.0'" 'demo:"1.0"' 'demo:1.0"}' $'demo:1.0\x1b[2J' 'demo 1.0' 'demo:1.0&&id' \
		"demo:1.0|touch $ALICE_DIR/sec-pwned" $'demo:\xc3\xa9'; do
		expect_refused "--lxd-image: invalid" --lxd-image="$v" true || exit 1
	done
	for v in "/$long:/data" "$ALICE_DIR:/$long" $'/srv/x:/data\nraw.lxc=lxc.mount.entry=/ mnt none bind' \
		$'/srv/x\x07:/data' "$ALICE_DIR:/data:ro\"" "$ALICE_DIR:/data:ro,source=/" \
		"$ALICE_DIR:/data:rw;id"; do
		expect_refused "--lxd-mount: invalid" --lxd-image="$IMG" --lxd-mount="$v" true || exit 1
	done
	for v in "/$long" $'/tmp\nraw.lxc=x' $'/tmp\x1b]0;x\x07'; do
		expect_refused "--lxd-workdir: invalid" --lxd-image="$IMG" --lxd-workdir="$v" true || exit 1
	done
	# Paths are names, never commands: metacharacters in a path are taken
	# literally (the named path does not exist: refused, nothing runs).
	expect_refused "does not exist" --lxd-image="$IMG" \
		--lxd-mount="$ALICE_DIR/x;touch $ALICE_DIR/sec-pwned:/data" true || exit 1
	expect_refused "does not exist" --lxd-image="$IMG" \
		--lxd-mount="$ALICE_DIR/\$(touch $ALICE_DIR/sec-pwned):/data" true || exit 1
	expect_refused "--lxd-workdir: cannot change" --lxd-image="$IMG" \
		--lxd-workdir="/tmp/\$(touch $ALICE_DIR/sec-pwned)" true || exit 1
	[ ! -e "$ALICE_DIR/sec-pwned" ] || fail "a metacharacter in an option ran a command" || exit 1
	# one line per refusal, on the terminal and in slurmd's log
	local one
	one=$(alice srun --lxd-image=$'demo:1.0\nraw.lxc=x' true 2>&1)
	expect_eq "lines of the plugin's refusal" 1 "$(printf '%s\n' "$one" | grep -c 'slurm-lxd:')" || exit 1
	expect_eq "output lines starting with the injected text" 0 "$(printf '%s\n' "$one" | grep -c '^raw\.')" || exit 1
	expect_eq "log lines starting with the injected text" 0 \
		"$(tail -c +$((logsize + 1)) "$SLXD_TEST_LOG/slurmd.log" | grep -c '^raw\.')"
	)
	rc=$?
	sec_monitor_stop
	# the workdir cases did start a container (the directory is looked up
	# inside it), and --lxd-workdir is only chdir'ed: anything else is an
	# LXD call that should not have happened
	if [ $rc = 0 ]; then
		local created
		created=$(grep -c 'instance-created' "$ev")
		expect_eq "containers LXD created (only the one workdir case that starts)" 1 "$created" || rc=1
	fi
	rm -f "$ev" "$ALICE_DIR/sec-pwned"
	return $rc
}

# --- 4. the registry refuses, and answers the next request ------------------

t_sec_registry_non_admin_cannot_decide_or_delete() {
	local name=secadm$RANDOM img1 img2 fp1 fp2 out rc
	img1=$(variant_image "$name-one")
	img2=$(variant_image "$name-two")
	fp1=$(fp_of "$img1")
	fp2=$(fp_of "$img2")
	(
	reg_alice push "$img1" --name "$name:1" >/dev/null || fail "push" || exit 1
	reg_admin approve "$name:1" --fingerprint "$fp1" >/dev/null || fail "admin approve" || exit 1
	reg_alice push "$img2" --name "$name:2" >/dev/null || fail "push 2" || exit 1

	out=$(reg_alice revoke "$name:1" 2>&1)
	expect_eq "non-admin revoke exit" "1" "$?" || exit 1
	expect_contains "non-admin revoke refused" "only registry admins may revoke" "$out" || exit 1
	out=$(reg_alice delete "$name:1" 2>&1)
	expect_eq "owner deletes an approved version: exit" "1" "$?" || exit 1
	expect_contains "owner deletes an approved version" "only admins may delete" "$out" || exit 1
	out=$(reg_alice approve "$name:2" --fingerprint "$fp2" 2>&1)
	expect_eq "non-admin approve of own push: exit" "1" "$?" || exit 1
	expect_contains "non-admin approve refused" "only registry admins may approve" "$out" || exit 1
	out=$(bob slxd-registry "${REG[@]}" delete "$name:2" --fingerprint "$fp2" 2>&1)
	expect_eq "another user deletes alice's pending: exit" "1" "$?" || exit 1
	out=$(bob slxd-registry "${REG[@]}" revoke "$name:1" 2>&1)
	expect_eq "another user revokes: exit" "1" "$?" || exit 1

	out=$(reg_admin show "$name:1" --json) || fail "show after refusals: $out" || exit 1
	expect_eq "still approved" "$fp1" "$(printf '%s' "$out" | jq -r .approved.fingerprint)" || exit 1
	out=$(reg_admin show "$name:2" --json) || fail "show 2: $out" || exit 1
	expect_eq "still pending" "$fp2" "$(printf '%s' "$out" | jq -r '.pending[0].fingerprint')" || exit 1
	expect_contains "the service still answers" "$name" "$(reg_alice list 2>&1)"
	)
	rc=$?
	reg_cleanup "$name:1" "$fp1"
	reg_cleanup "$name:2" "$fp2"
	rm -f "$img1" "$img2"
	return $rc
}

t_sec_registry_refuses_oversized_upload_unread() {
	local name=secbig$RANDOM size=$(((256 << 20) + 1)) sha cred status t0 t1
	sha=$(head -c "$size" /dev/zero | sha256sum | cut -d' ' -f1)
	cred=$(printf 'slxd-registry-v1\nPUT\n/v1/images/%s/1\n%s\n' "$name" "$sha" | alice munge)
	t0=$(now_ns)
	# Headers only: the body is never sent, so an answer proves the server
	# decided without reading it.
	status=$(python3 - "$name" "$cred" "$size" <<'EOF'
import socket, sys
name, cred, size = sys.argv[1:4]
s = socket.create_connection(("127.0.0.1", 8470), timeout=10)
s.sendall((f"PUT /v1/images/{name}/1 HTTP/1.1\r\nHost: 127.0.0.1:8470\r\n"
           f"Authorization: MUNGE {cred}\r\nContent-Type: application/octet-stream\r\n"
           f"Content-Length: {size}\r\n\r\n").encode())
try:
    line = s.recv(4096).split(b"\r\n")[0].decode()
    print(line.split()[1] if line else "no-answer")
except socket.timeout:
    print("timeout")
EOF
)
	t1=$(now_ns)
	expect_eq "PUT of max_image_size + 1 byte" 413 "$status" || return 1
	report "413 for a $size-byte upload, body unsent, in $(secs_between "$t0" "$t1") s"
	expect_eq "nothing being uploaded" "" "$(ls -A "$SLXD_REGISTRY_STORE/tmp")" || return 1
	expect_eq "next honest request" 200 "$(http_status "$(cred_for GET /v1/images)" /v1/images)" || return 1
	reg_alice list >/dev/null || fail "slxd-registry list after the 413"
}

t_sec_registry_refuses_unsafe_tarballs() {
	local name=secbad$RANDOM kind out rc=0 d
	d=$(mktemp -d)
	tar -C "$d" -xzf "$SLXD_TEST_STATE/$SLXD_IMAGE_ALIAS.tar.gz" metadata.yaml
	for kind in absolute dotdot device; do
		python3 - "$d/metadata.yaml" "$ALICE_DIR/sec-$kind.tar.gz" "$kind" <<'EOF' || { rc=1; break; }
import io, sys, tarfile
meta, out, kind = sys.argv[1:4]
def entry(t, name, data=b"", type=tarfile.REGTYPE, **kw):
    ti = tarfile.TarInfo(name); ti.type = type; ti.size = len(data); ti.mode = 0o755 if type == tarfile.DIRTYPE else 0o644
    for k, v in kw.items(): setattr(ti, k, v)
    t.addfile(ti, io.BytesIO(data) if data else None)
with tarfile.open(out, "w:gz") as t:
    entry(t, "metadata.yaml", open(meta, "rb").read())
    entry(t, "rootfs", type=tarfile.DIRTYPE)
    entry(t, "rootfs/etc", type=tarfile.DIRTYPE)
    entry(t, "rootfs/etc/slxd-image", b"sec\n")
    if kind == "absolute":
        entry(t, "/etc/cron.d/sec-evil", b"* * * * * root id\n")
    elif kind == "dotdot":
        entry(t, "rootfs/../../../etc/sec-evil", b"x\n")
    else:
        entry(t, "rootfs/dev", type=tarfile.DIRTYPE)
        entry(t, "rootfs/dev/sda", type=tarfile.BLKTYPE, devmajor=8, devminor=0)
EOF
		chown "$SLXD_TEST_USER" "$ALICE_DIR/sec-$kind.tar.gz"
		out=$(reg_alice push "$ALICE_DIR/sec-$kind.tar.gz" --name "$name:$kind" 2>&1)
		expect_eq "push of a tarball with a $kind entry: exit" "1" "$?" || { rc=1; break; }
		expect_contains "$kind entry refused" "not a safe image" "$out" || { rc=1; break; }
		reg_alice list >/dev/null 2>&1 || { fail "slxd-registry list after the $kind refusal"; rc=1; break; }
		out=$(reg_admin show "$name:$kind" 2>&1)
		[ $? != 0 ] || { fail "a refused tarball was stored: $out"; rc=1; break; }
	done
	# The 2026 LXD image advisories (templates, top-level links), the hard
	# link to a symlink and a bomb: tests/integration/badimages.py, on the
	# test image's own metadata.
	local kinds n=3
	kinds=$(python3 "$here/badimages.py" --list | cut -f1)
	for kind in $kinds; do
		[ $rc = 0 ] || break
		python3 "$here/badimages.py" "$kind" "$ALICE_DIR/sec-$kind.tar.gz" "$d/metadata.yaml" ||
			{ fail "badimages.py $kind"; rc=1; break; }
		chown "$SLXD_TEST_USER" "$ALICE_DIR/sec-$kind.tar.gz"
		out=$(reg_alice push "$ALICE_DIR/sec-$kind.tar.gz" --name "$name:$kind" 2>&1)
		expect_eq "push of $kind: exit" "1" "$?" || { rc=1; break; }
		case $out in
		*"not a safe image"*|*"not an LXD image tarball"*) ;;
		*) fail "$kind: not refused by the image check: $out"; rc=1; break ;;
		esac
		out=$(reg_admin show "$name:$kind" 2>&1)
		[ $? != 0 ] || { fail "the $kind image was stored: $out"; rc=1; break; }
		n=$((n + 1))
	done
	if [ $rc = 0 ]; then
		expect_eq "415s in the audit log" $n "$(reg_admin log --json | jq --arg n "$name" '[.entries[] | select(.status == 415 and .name == $n)] | length')" || rc=1
	fi
	[ -e /etc/cron.d/sec-evil ] || [ -e /etc/sec-evil ] || [ -e /etc/cron.d/slxd-evil ] &&
		{ fail "an entry was written outside the store"; rc=1; }
	expect_eq "nothing half-written" "" "$(ls -A "$SLXD_REGISTRY_STORE/tmp")" || rc=1
	rm -rf "$d" "$ALICE_DIR"/sec-*.tar.gz
	return $rc
}
