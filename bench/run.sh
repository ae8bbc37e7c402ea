#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make bench`: what a job pays for its LXD container, on the one-node test
# cluster of `make check`, side by side with plain Slurm and the alternatives
# (Slurm's OCI support with runc, Charliecloud), all in one run, each figure
# next to plain Slurm measured in the same run.  Sections (issue #6):
#   1 pull: the first job that must fetch the image, against curl + lxc image
#     import + lxc launch of the same blob by hand
#   2 cached: `srun [--lxd-image=IMG|--container=BUNDLE|ch-run DIR --] true`
#     for a small and a large image, interleaved, with a spare waiting (the
#     user's next job) and, spares off, from the template; teardown and
#     whether it delays a job started right after; what a spare costs
#   3 array: 100 short tasks, with and without the image
#   4 burst: 16 and 64 jobs submitted at once, cold and with spares warm,
#     submit-to-payload latency p50/p95, CPU per job (bench/burst.sh)
#   5 breakdown: the same LXD operations by hand (lxc), to say where it goes
#   7 multi-node: srun -N3 against -N1, with and without the image and
#     spares, and an MPI hello, on the emulated nodes (bench/multinode.sh;
#     BENCH_MULTINODE=0 skips it)
#   8 registry cache: N=8/32 pullers with and without an nginx cache in
#     front of the registry, and N=8/32/64 on tc-limited links in network
#     namespaces, with file:// (bench/cache.sh; BENCH_REGCACHE=0 skips it)
#   9 OCI: a 1 GB OCI image pushed by slxd-registry against skopeo + umoci +
#     tar by hand (bench/oci.sh; BENCH_OCI=0 skips it)
# Writes bench/results/latest.md, latest.tsv (raw samples) and latest.png.
#
#   RUNS=N          cached srun runs of each kind (default 8)
#   PULL_RUNS=N     first-job pulls and by-hand pulls (default 1)
#   PULLFMT_RUNS=N  first jobs with the zstd image and by-hand imports of
#                   each format (default 1: five 1 GB imports a round)
#   ARRAY_RUNS=N    job arrays of each kind (default 1)
#   BURST_RUNS=N    rounds of bursts of each size (default 1: 16 and 64
#                   samples; a round of both sizes takes about 10 min)
#   INCUS_RUNS=N    jobs of each kind in the Incus section (default 3);
#                   INCUS_PULL_RUNS (1), INCUS_ARRAY_RUNS (1), INCUS_HAND_RUNS (1),
#                   INCUS_ARRAY_N (30 tasks; section 3's arrays have 100)
#   OCI_RUNS=N      pushes of the 1 GB OCI image and by-hand conversions (1)
#   MN_RUNS=N       multi-node runs of each kind (default 1: about 2 min each)
#   GRES_RUNS=N     GRES section runs of each kind (default 4)
#   CACHE_RUNS=N    runs of each N in the registry cache section (default 1)
#   JOBCPU_N=N      jobs of each kind in the CPU-by-process section (5)
# Defaults keep the whole run under 30 minutes on the 2-core test machine
# (docs/benchmarks.md, "Running the bench": each section's time); each
# section's time is said as it ends and written in latest.md's header.
#   BURST_SIZES="16 64"  burst sizes (BENCH_QUICK=1: 16)
#   BENCH_QUICK=1   1-3 of everything, to try it out (figures are not results)
#   BENCH_GATE_FILE=F  wait (polling) until F exists before each section (for
#                   a shared test machine)
#   BENCH_CACHE=DIR built images are kept here (default /var/tmp/slxd-bench)
#   BENCH_ONLY=pull only the first pull by image format, printed (pullfmt.sh)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
# shellcheck source=tests/cluster/env.sh
. "$top/tests/cluster/env.sh"
# shellcheck source=bench/images.sh
. "$here/images.sh"
# shellcheck source=bench/pullfmt.sh
. "$here/pullfmt.sh"

[ "$(id -u)" = 0 ] || { echo "bench: run as root (make bench)" >&2; exit 1; }

if [ "${BENCH_QUICK:-0}" = 1 ]; then
	RUNS=${RUNS:-3} PULL_RUNS=${PULL_RUNS:-1} ARRAY_RUNS=${ARRAY_RUNS:-1} BURST_RUNS=${BURST_RUNS:-1}
	export BURST_SIZES=${BURST_SIZES:-16}
fi
RUNS=${RUNS:-8} PULL_RUNS=${PULL_RUNS:-1} ARRAY_RUNS=${ARRAY_RUNS:-1} BURST_RUNS=${BURST_RUNS:-1}
ARRAY_N=100 BURST_N=16
LARGE=bench-large:1 # the large image's name in the registry
out=$here/results
dir=$SLXD_TEST_SHARED/$SLXD_TEST_USER
work=$dir/bench.$$ # the user's, seen by jobs (the cwd is mounted in containers)
raw=$(mktemp)
started=$(date +%s)
mkdir -p "$out"

BENCH_TAG=bench
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

gate() { # a shared machine: wait until its owner says the cluster is free
	[ -n "${BENCH_GATE_FILE:-}" ] || return 0
	[ -e "$BENCH_GATE_FILE" ] && return 0
	# leave nothing of ours while waiting: the large image is pulled again
	# where it is needed (the cached section's warm-up, the pull section)
	wait_containers_gone
	[ -n "$large_fp" ] && lxc image delete "$large_fp" >/dev/null 2>&1
	local t0=$SECONDS
	while [ ! -e "$BENCH_GATE_FILE" ]; do
		say "waiting for $BENCH_GATE_FILE"
		sleep 30
	done
	gate_waited=$((gate_waited + SECONDS - t0))
}
gate_waited=0

as_user() { runuser -u "$SLXD_TEST_USER" -- sh -c "cd '$work' && $*"; }

# Slurm 22.05 does not allocate a node while a job on it is COMPLETING (its
# epilog, which deletes the container, still running): a job measured right
# after another would pay for the previous one's teardown.  Every figure
# but the back-to-back ones starts from a settled node.
settle() {
	local i
	for i in $(seq 600); do
		[ -z "$(squeue -h -u "$SLXD_TEST_USER" -t CG -o %i 2>/dev/null)" ] && return 0
		sleep 0.05
	done
	say "warning: jobs of $SLXD_TEST_USER still completing after 30 s"
}

# seconds one command takes as the test user; fails the bench if it fails
# (after the node settled, unless NOSETTLE=1)
timed() {
	local t0 t1
	[ "${NOSETTLE:-0}" = 1 ] || settle
	t0=$(now)
	as_user "$@" >/dev/null 2>"$work/err" || {
		echo "bench: '$*' failed:" >&2
		cat "$work/err" >&2
		exit 1
	}
	t1=$(now)
	sub "$t1" "$t0"
}

jobs_file=$(mktemp) # every job id this run submitted, for the clean-up
# unique per call: it runs in $(...), where a counter would never advance
# (it did not: every job was named ...-1 and job_id found the first one,
# so the teardown figures of the first version of this bench were wrong)
jobname() { echo "slxdbench$$-$(date +%s%N)"; }
job_id() { # job name -> id (kept in squeue MinJobAge=30 s after its end)
	local id i
	for i in $(seq 100); do
		id=$(squeue -h -t all -n "$1" -o %i 2>/dev/null | head -1)
		[ -n "$id" ] && { echo "$id" >>"$jobs_file"; echo "$id"; return 0; }
		sleep 0.05
	done
	return 1
}
# LXD's own link to the instance (a stat, where `lxc query` costs ~40 ms of
# CPU: polling with lxc would load the 2 cores it measures)
instance_exists() { [ -e "/var/lib/lxd/containers/$1" ] || [ -L "/var/lib/lxd/containers/$1" ]; }
# until no job's container is left on the node (at most $1 s); the bench
# is the cluster's only user while it runs
wait_containers_gone() {
	local t=$(($(date +%s) + ${1:-120})) left
	while :; do
		left=$(lxc list --format csv -c n user.slurm.role=job 2>/dev/null | head -1)
		[ -z "$left" ] && return 0
		[ "$(date +%s)" -ge $t ] && { say "warning: container $left still there"; return 0; }
		sleep 0.2
	done
}
# until the bench user's spare for the image waits (lib/spare.h: made in
# the background after a job of theirs ended); at most 30 s
wait_spare() { # fingerprint
	local i slot n
	for i in $(seq 150); do
		for slot in /run/slurm-lxd/slxd-spare-"${1:0:12}"-*.slot; do
			n=$(cat "$slot" 2>/dev/null) || continue
			[ -n "$n" ] && [ "$(lxc config get "$n" user.slurm.uid 2>/dev/null)" = "$SLXD_TEST_UID" ] &&
				[ "$(lxc config get "$n" user.slurm.role 2>/dev/null)" = spare ] && { echo "$n"; return 0; }
		done
		sleep 0.2
	done
	say "warning: no spare for ${1:0:12} after 30 s"
	return 1
}
# Spares on or off for the jobs that follow (node config, read per job)
node_conf=/etc/slurm/spank_lxd.conf
plugstack=/etc/slurm/plugstack.conf.d/lxd.conf # (emptied for the plain runs without the plugin)
spares_off() { cp -p "$node_conf" "$node_conf.bench-saved"; echo spare_max_idle=0 >>"$node_conf"; }
spares_on() { [ ! -e "$node_conf.bench-saved" ] || mv -f "$node_conf.bench-saved" "$node_conf"; }
wait_jobs_done() { # job ids; at most $BENCH_JOB_TIMEOUT s
	local t=$(($(date +%s) + ${BENCH_JOB_TIMEOUT:-600}))
	while [ -n "$(squeue -h -t PD,R,CF -j "$(echo "$@" | tr ' ' ,)" -o %i 2>/dev/null)" ]; do
		[ "$(date +%s)" -ge $t ] && { say "warning: jobs $* still running"; return 1; }
		sleep 0.2
	done
}

large_fp=
cleanup() {
	local id
	set +e
	spares_on
	[ ! -e "$plugstack.bench-saved" ] || mv -f "$plugstack.bench-saved" "$plugstack"
	for id in $(sort -u "$jobs_file" 2>/dev/null); do scancel "$id" 2>/dev/null; done
	for id in $(lxc list -c n --format csv 2>/dev/null | grep "^slxdbench$$-"); do
		lxc delete -f "$id" >/dev/null 2>&1
	done
	wait_containers_gone 60
	remove_node_cache # the node's cache of this run's jobs (tests/cluster/env.sh)
	# the large image leaves LXD (1 GiB in the pool); it stays approved in
	# the registry, so a rerun only pulls it again (section 1 does anyway)
	[ -n "$large_fp" ] && lxc image delete "$large_fp" >/dev/null 2>&1
	pullfmt_cleanup
	rm -rf "$work" "$raw" "$jobs_file" "$BENCH_CACHE/download.tar.gz" "/tmp/slxd-bench-runc-$SLXD_TEST_USER"
}
trap cleanup EXIT

# ------------------------------------------- quota and limits (issue 20)
# What a root disk quota (--lxd-disk: one GET of the pool's driver, the
# root device with size= in the create, or in the PATCH that takes a
# spare) and the job's limits (limits.memory/limits.cpu: keys in the same
# request) cost at job start: `srun --lxd-image=IMG true`, interleaved,
# each a new job from a settled node, with and without --lxd-disk, a
# spare waiting and (spares off) a copy of the template.
#   BENCH_ONLY=quota  run only this section (QUOTA_RUNS, default 8) and
#                     print its table
quota_section() {
	local i k n fp m p mn mx c d
	fp=$(lxc image info "$SLXD_IMAGE_ALIAS" | awk '/^Fingerprint:/{print $2}')
	say "quota: $QUOTA_RUNS runs of each kind"
	as_user "srun --lxd-image=$SLXD_IMAGE true" >/dev/null # warm-up: template, spare
	for i in $(seq "$QUOTA_RUNS"); do
		for k in "q_spare:" "q_spare_disk:--lxd-disk=1G"; do
			settle
			wait_spare "$fp" >/dev/null || true
			record "${k%%:*}" "$(timed "srun --lxd-image=$SLXD_IMAGE ${k#*:} true")"
		done
	done
	spares_off
	for i in $(seq "$QUOTA_RUNS"); do
		for k in "q_copy:" "q_copy_disk:--lxd-disk=1G"; do
			record "${k%%:*}" "$(timed "srun --lxd-image=$SLXD_IMAGE ${k#*:} true")"
		done
	done
	spares_on
	n=$(as_user "srun --lxd-image=$SLXD_IMAGE --lxd-disk=1G sh -c 'head -1 /proc/meminfo; grep -c ^processor /proc/cpuinfo'" | tr '\n' ' ')
	echo "### Quota and limits: \`srun --lxd-image=$SLXD_IMAGE [--lxd-disk=1G] true\`, wall time"
	echo
	echo "| what | median | p95 | min | max | n | minus no quota |"
	echo "| --- | --- | --- | --- | --- | --- | --- |"
	for k in "q_spare:a spare waiting, no quota" "q_spare_disk:a spare waiting, --lxd-disk=1G (root size= in the PATCH that takes it)" \
		 "q_copy:no spare (a copy of the template), no quota" "q_copy_disk:no spare, --lxd-disk=1G (size= in the copy)"; do
		read -r m p mn mx c < <(stats "${k%%:*}")
		case ${k%%:*} in *_disk) d=$(sub "$m" "$(med "${k%%_disk:*}")") ;; *) d= ;; esac
		echo "| ${k#*:} | $m | $p | $mn | $mx | $c | $d |"
	done
	echo
	echo "Every job's container carries the job's limits (limits.memory, limits.cpu) in the same request that makes or takes it: no request of their own.  Inside, with lxcfs: $n"
}
if [ "${BENCH_ONLY:-}" = quota ]; then
	QUOTA_RUNS=${QUOTA_RUNS:-8}
	gate
	bash "$top/tests/cluster/setup.sh" >/dev/null
	install -d -m 0700 -o "$SLXD_TEST_USER" -g "$SLXD_TEST_USER" "$work"
	quota_section
	exit 0
fi

# ---------------------------------------------------------------- set-up
gate
section setup
say "setting up the cluster, the packages and the images"
bash "$here/deps.sh"
bash "$top/tests/cluster/setup.sh" >/dev/null
install -d -m 0700 -o "$SLXD_TEST_USER" -g "$SLXD_TEST_USER" "$work"
bench_large_tarball
bench_alt_images "$SLXD_TEST_UID"
large_fp=$(sha256sum "$BENCH_LARGE_TAR" | cut -d' ' -f1)
small_fp=$(lxc image info "$SLXD_IMAGE_ALIAS" | awk '/^Fingerprint:/{print $2}')
large_files=$(tar -tzf "$BENCH_LARGE_TAR" | wc -l)
large_bytes=$(gzip -l "$BENCH_LARGE_TAR" | awk 'NR==2{print $2}') # mod 4 GiB: fine here
large_gz=$(stat -c %s "$BENCH_LARGE_TAR")
small_gz=$(stat -c %s "$SLXD_TEST_STATE/$SLXD_IMAGE_ALIAS.tar.gz")

# The large image approved in the registry (as setup.sh approves its own).
reg=(slxd-registry --registry "$SLXD_REGISTRY_URL")
cur=$("${reg[@]}" show "$LARGE" --json 2>/dev/null | jq -r '.approved.fingerprint // empty' || true)
if [ "$cur" != "$large_fp" ]; then
	say "registry: pushing and approving $LARGE"
	"${reg[@]}" push "$BENCH_LARGE_TAR" --name "$LARGE" --keep-format >/dev/null 2>&1 || true
	"${reg[@]}" approve "$LARGE" --fingerprint "$large_fp" >/dev/null
fi

# Slurm's OCI support reads oci.conf per step (slurmstepd): no restart.  A
# site's own oci.conf is left alone (then runc is compared only if it fits).
oci_conf=/etc/slurm/oci.conf
if [ ! -e "$oci_conf" ] || grep -q 'Written by bench/run.sh' "$oci_conf"; then
	cat >"$oci_conf.bench" <<'EOF'
# Slurm's OCI containers (srun --container=BUNDLE) with rootless runc.
# Written by bench/run.sh (slurm-lxd make bench) for its comparison.
# crun 1.8 refuses this host's hybrid cgroup v1/v2 layout, so runc.
RunTimeQuery="runc --rootless=true --root=/tmp/slxd-bench-runc-%u/ state %n.%u.%j.%s.%t"
RunTimeKill="runc --rootless=true --root=/tmp/slxd-bench-runc-%u/ kill -a %n.%u.%j.%s.%t"
RunTimeDelete="runc --rootless=true --root=/tmp/slxd-bench-runc-%u/ delete --force %n.%u.%j.%s.%t"
RunTimeRun="runc --rootless=true --root=/tmp/slxd-bench-runc-%u/ run %n.%u.%j.%s.%t -b %b"
EOF
	mv -f "$oci_conf.bench" "$oci_conf"
fi
bundle=$BENCH_CACHE/oci-$SLXD_TEST_UID
chdir=$BENCH_CACHE/chroot

# ------------------------------------------------ 2 (first: the baseline)
# Cached images: each srun is a new job (allocation, prolog, step, epilog),
# interleaved so drift in the machine's load hits every kind alike.  After
# the first LXD job returns, a poller times its container's removal while a
# second one ("back-to-back") starts at once.
gate
section cached
say "cached: $RUNS runs of each kind (after one warm-up each)"
poll_gone() { # job name -> the time its container is gone
	local id n
	id=$(job_id "$1") || { echo "bench: no job $1" >&2; return 1; }
	n=$(logged_container "$id")
	[ -n "$n" ] || { echo "bench: job $id made no container" >&2; return 1; }
	while instance_exists "$n"; do sleep 0.02; done
	now
}
declare -A b2b_before_gone=([small]=0 [large]=0) b2b_pairs=([small]=0 [large]=0)
# when slurmd's log says job $1 did $2 ("created container", "deleted
# container"): epoch seconds, ms resolution
logged_at() {
	local ts i
	for i in $(seq 50); do # the line may follow the event by a moment
		ts=$(grep -h "slurm-lxd: job $1: $2 " "$SLXD_TEST_LOG/slurmd.log" | head -1 |
			sed -n 's/^\[\([^]]*\)\].*/\1/p') || true
		[ -n "$ts" ] && { date -d "$ts" +%s.%N; return 0; }
		sleep 0.1
	done
	say "warning: no '$2' line for job $1 in slurmd.log"
}
one_lxd_pair() { # image kind-prefix fingerprint
	local n n2 t0 t1 gone poller first next made deleted
	n=$(jobname)
	settle
	wait_spare "$3" >/dev/null || true
	t0=$(now)
	as_user "srun -J $n --lxd-image=$1 true" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	t1=$(now)
	record "$2" "$(sub "$t1" "$t0")"
	poll_gone "$n" >"$work/gone" &
	poller=$!
	n2=$(jobname)
	record "$2_b2b" "$(NOSETTLE=1 timed "srun -J $n2 --lxd-image=$1 true")"
	wait "$poller"
	gone=$(cat "$work/gone")
	record "$2_teardown" "$(sub "$gone" "$t1")"
	# Did the next job's container come up while the last one's was
	# still being deleted?  Then the next job did not wait for it.
	first=$(job_id "$n") next=$(job_id "$n2")
	wait_containers_gone
	made=$(logged_at "$next" "\(created\|took spare\) container")
	deleted=$(logged_at "$first" "deleted container")
	b2b_pairs[$2]=$((b2b_pairs[$2] + 1))
	if [ -n "$made" ] && [ -n "$deleted" ] && awk -v a="$made" -v b="$deleted" 'BEGIN{exit !(a < b)}'; then
		b2b_before_gone[$2]=$((b2b_before_gone[$2] + 1))
	else
		say "$2 pair $first/$next: the next container was made at $made, the last deleted at $deleted"
	fi
}
# A template per (user, image) is built after a job with it ends (lib/
# template.h); the measured jobs are the steady state, so wait for both.
template_of() { # fingerprint -> the ready template of the bench user, if any
	local n
	for n in $(lxc list --format csv -c n 2>/dev/null | grep "^slxd-tpl-${1:0:12}-"); do
		[ "$(lxc config get "$n" user.slurm.role)" = template ] &&
			[ "$(lxc config get "$n" user.slurm.uid)" = "$SLXD_TEST_UID" ] && { echo "$n"; return 0; }
	done
	return 1
}
drop_templates() { remove_node_cache "${1:0:12}-"; } # fingerprint: its templates and spares
wait_template() { # fingerprint
	local i
	for i in $(seq 600); do template_of "$1" >/dev/null && return 0; sleep 0.5; done
	say "warning: no template for ${1:0:12} after 300 s"
}
# BENCH_ONLY=pull: only the first pull by image format (bench/pullfmt.sh)
if [ "${BENCH_ONLY:-}" = pull ]; then pullfmt_only; exit 0; fi
timed "srun true" >/dev/null
timed "srun --container=$bundle true" >/dev/null
timed "srun ch-run $chdir -- true" >/dev/null
for img in "$SLXD_IMAGE" "$LARGE"; do
	n=$(jobname)
	timed "srun -J $n --lxd-image=$img true" >/dev/null
	job_id "$n" >/dev/null
done
wait_containers_gone
wait_template "$small_fp"
wait_template "$large_fp"
for i in $(seq "$RUNS"); do
	record plain "$(timed "srun true")"
	record oci "$(timed "srun --container=$bundle true")"
	record ch "$(timed "srun ch-run $chdir -- true")"
	one_lxd_pair "$SLXD_IMAGE" small "$small_fp"
	one_lxd_pair "$LARGE" large "$large_fp"
done
# (every one of them returned 0: timed stops the bench otherwise)

# What a waiting spare costs the node: LXD's monitor process and
# slxd-init, resident (RSS) and proportional (PSS: shared pages split
# among their users) memory, in kB.
spare=$(wait_spare "$small_fp") || true
spare_rss=- spare_pss=-
if mon=$(pgrep -f "^\[lxc monitor\] /var/lib/lxd/containers $spare\$") && init=$(pgrep -P "$mon"); then
	read -r spare_rss spare_pss < <(awk '/^Rss:/{r+=$2} /^Pss:/{p+=$2} END{print r, p}' \
		"/proc/$mon/smaps_rollup" "/proc/$init/smaps_rollup")
	read -r mon_rss < <(awk '/^Rss:/{print $2}' "/proc/$mon/smaps_rollup")
fi

# The same jobs with no spare to take (spare_max_idle=0): the first job of
# a user and image on the node for a while, made as a copy of the template.
say "cached, spares off: $RUNS runs of each image"
spares_off
for i in $(seq "$RUNS"); do
	record small_nospare "$(timed "srun --lxd-image=$SLXD_IMAGE true")"
	record large_nospare "$(timed "srun --lxd-image=$LARGE true")"
done
wait_containers_gone
spares_on

# The plugin in every srun, even without --lxd-image: plain `srun true`
# with its plugstack.conf line and without (srun and slurmstepd load it),
# interleaved.
say "plain srun with and without the plugin: $RUNS runs each"
cp -p "$plugstack" "$plugstack.bench-saved"
for i in $(seq "$RUNS"); do
	: >"$plugstack"
	record plain_noplugin "$(timed "srun true")"
	cp -p "$plugstack.bench-saved" "$plugstack"
	record plain_plugin "$(timed "srun true")"
done
mv -f "$plugstack.bench-saved" "$plugstack"

# ---------------------------------------------------------------- 1 pull
# The first job that must fetch the image: the prolog resolves it in the
# registry, downloads, verifies and imports it; the step makes the first
# container from it (LXD unpacks the image into the pool then).  By hand:
# the same blob with curl (MUNGE-signed GET, as the node does), `lxc image
# import`, `lxc launch` (create + unpack + start).
gate
section pull
say "pull: $PULL_RUNS first jobs and $PULL_RUNS by hand (${large_gz} bytes)"
drop_large() { # the image and its templates: a first job has neither
	local t
	wait_containers_gone
	drop_templates "$large_fp"
	if lxc image info "$large_fp" >/dev/null 2>&1; then lxc image delete "$large_fp" >/dev/null; fi
	sync
}
empty_sha=$(printf '' | sha256sum | cut -d' ' -f1)
for i in $(seq "$PULL_RUNS"); do
	drop_large
	n=$(jobname)
	record pull_job "$(timed "srun -J $n --lxd-image=$LARGE true")"
	job_id "$n" >/dev/null
	drop_large
	t0=$(now)
	cred=$(printf 'slxd-registry-v1\nGET\n/v1/blobs/%s\n%s\n' "$large_fp" "$empty_sha" | munge)
	curl -sSf -H "Authorization: MUNGE $cred" -o "$BENCH_CACHE/download.tar.gz" \
		"$SLXD_REGISTRY_URL/v1/blobs/$large_fp"
	t1=$(now)
	lxc image import "$BENCH_CACHE/download.tar.gz" >/dev/null
	t2=$(now)
	c="slxdbench$$-pull$i"
	lxc launch "$large_fp" "$c" -s "$SLXD_POOL" >/dev/null
	t3=$(now)
	lxc delete -f "$c" >/dev/null
	rm -f "$BENCH_CACHE/download.tar.gz"
	record pull_curl "$(sub "$t1" "$t0")"
	record pull_import "$(sub "$t2" "$t1")"
	record pull_launch "$(sub "$t3" "$t2")"
	record pull_hand "$(sub "$t3" "$t0")"
done
pullfmt_setup
pullfmt_runs

# ---------------------------------------------------------------- 3 array
# Wall time from submitting the array until the last task's payload ran
# (each task touches a file; its mtime is when it ran).
gate
section array
say "array: $ARRAY_RUNS x $ARRAY_N tasks of each kind"
array_failed=0
run_array() { # kind sbatch-options
	local d=$work/arr-$1-$i t0 id last got
	as_user "mkdir -p '$d'"
	settle
	j0=$(busy_jiffies)
	t0=$(now)
	id=$(as_user "sbatch --parsable -J $(jobname) --array=0-$((ARRAY_N - 1)) -o /dev/null $2 \
		--wrap ': >$d/\$SLURM_ARRAY_TASK_ID'")
	id=${id%%;*}
	echo "$id" >>"$jobs_file"
	wait_jobs_done "$id" || true
	got=$(find "$d" -type f | wc -l)
	array_failed=$((array_failed + ARRAY_N - got))
	last=$(find "$d" -type f -printf '%T@\n' | sort -g | tail -1)
	record "array_$1" "$(sub "${last:-$t0}" "$t0")"
	# every task's own job id (its container's name), for the teardown wait
	squeue -h -t all -r -j "$id" -o %A 2>/dev/null >>"$jobs_file" || true
	wait_containers_gone 300
	# every process's CPU from the submit until the last container is gone
	record "array_cpu_$1" "$(awk -v a="$j0" -v b="$(busy_jiffies)" -v hz="$(getconf CLK_TCK)" \
		'BEGIN{printf "%.3f", (b - a) / hz}')"
}
for i in $(seq "$ARRAY_RUNS"); do
	run_array plain ""
	run_array lxd "--lxd-image=$SLXD_IMAGE"
done

# ---------------------------------------------------------------- 4 burst
# BURST_SIZES (16 and 64) jobs submitted at once, plain, cold and with the
# pool of spares warm (bench/burst.sh, which also runs alone); its cold
# bursts of 16 are burst_plain and burst_lxd here.
gate
section burst
say "burst: $BURST_RUNS rounds of ${BURST_SIZES:-16 64} jobs at once"
BURST_RAW=$raw BURST_MD=$work/burst.md BURST_RUNS=$BURST_RUNS bash "$here/burst.sh" >/dev/null
. "$work/burst.md.vars"

# ---------------------------------------------------------- 5 breakdown
# The plugin's work, by hand with lxc against the same pool: create (a
# btrfs snapshot of the image), start (LXD's start hooks, liblxc, init),
# enter (`lxc exec` forks through LXD: an upper bound for our setns join),
# delete.  And one signed registry lookup (the plugin makes two per job:
# at submit and on the node; the prolog a third).
gate
section breakdown
say "breakdown by hand"
lxc image info "$large_fp" >/dev/null 2>&1 || lxc image import "$BENCH_LARGE_TAR" >/dev/null
# What the large image's template adds to the pool: built afresh, the
# pool's btrfs metadata before and after (the re-owned inodes are metadata;
# the file data stays shared with the image).
meta_used() { sync; btrfs filesystem df --raw "/var/lib/lxd/storage-pools/$SLXD_POOL" | awk -F'used=' '/^Metadata/{print $2 + 0}'; }
spares_off # (a spare made meanwhile would blur both figures)
drop_templates "$large_fp"
n=$(jobname)
timed "srun -J $n --lxd-image=$LARGE true" >/dev/null
job_id "$n" >/dev/null
wait_containers_gone
meta0=$(meta_used)
t0=$(now)
wait_template "$large_fp"
tpl_build=$(sub "$(now)" "$t0")
meta1=$(meta_used)
for i in $(seq "$(( RUNS < 5 ? RUNS : 5 ))"); do
	for kind in small large; do
		fp=$small_fp; [ $kind = large ] && fp=$large_fp
		c="slxdbench$$-b$i$kind"
		t0=$(now); lxc init "$fp" "$c" -s "$SLXD_POOL" >/dev/null
		t1=$(now); lxc start "$c"
		t2=$(now); lxc exec "$c" -- true
		t3=$(now); lxc delete -f "$c" >/dev/null
		t4=$(now)
		record "hand_create_$kind" "$(sub "$t1" "$t0")"
		record "hand_start_$kind" "$(sub "$t2" "$t1")"
		record "hand_exec_$kind" "$(sub "$t3" "$t2")"
		record "hand_delete_$kind" "$(sub "$t4" "$t3")"
		if tpl=$(template_of "$fp"); then
			j0=$(busy_jiffies)
			t0=$(now); lxc copy "$tpl" "$c" >/dev/null
			t1=$(now); lxc start "$c"
			t2=$(now); lxc delete -f "$c" >/dev/null
			j1=$(busy_jiffies)
			record "hand_copy_$kind" "$(sub "$t1" "$t0")"
			record "hand_copystart_$kind" "$(sub "$t2" "$t1")"
			record "hand_cpu_life_$kind" "$(awk -v a="$j0" -v b="$j1" -v hz="$(getconf CLK_TCK)" \
				'BEGIN{printf "%.3f", (b - a) / hz}')"
		fi
	done
	t0=$(now); as_user "slxd-registry show $SLXD_IMAGE >/dev/null"; t1=$(now)
	record hand_registry "$(sub "$t1" "$t0")"
done
spares_on

tpl_cost=$(awk -v a="$meta0" -v b="$meta1" 'BEGIN{printf "%.1f MB of btrfs metadata (DUP: counted twice)", (b - a) / 1e6}')

# ---------------------------------------------------------------- report
section
elapsed=$(($(date +%s) - started - gate_waited))
pm=$(med plain)
row() { # label kind [ratio-to|-] [minus-to|-]
	local m p mn mx n r=${3:-$pm} d=${4:-${3:-$pm}} rc dc
	read -r m p mn mx n < <(stats "$2")
	rc=$([ "$r" = - ] && echo "" || div "$m" "$r")
	dc=$([ "$d" = - ] && echo "" || sub "$m" "$d")
	echo "| $1 | $m | $p | $mn | $mx | $n | $rc | $dc |"
}
mb() { awk -v b="$1" 'BEGIN{printf "%.1f MB", b/1e6}'; }
over_small=$(sub "$(med small)" "$pm")
over_large=$(sub "$(med large)" "$pm")
over_small_ns=$(sub "$(med small_nospare)" "$pm")
over_large_ns=$(sub "$(med large_nospare)" "$pm")
# CPU the containers cost the array, per task, and that spread over every
# core: what the array's overhead cannot go below on this machine
arr_cpu=$(awk -v a="$(med array_cpu_lxd)" -v b="$(med array_cpu_plain)" -v n=$ARRAY_N 'BEGIN{printf "%.3f", (a-b)/n}')
arr_floor=$(awk -v c="$arr_cpu" -v n="$(nproc)" 'BEGIN{printf "%.3f", c / n}')
# The next job's extra time right after another, against a settled node
# with no spare to take (the next job gets none either: the spare comes
# after the last container is deleted).  Had it waited for that delete, it
# would pay at least the delete (by hand: force-stop + delete).
b2b_extra_small=$(sub "$(med small_b2b)" "$(med small_nospare)")
b2b_extra_large=$(sub "$(med large_b2b)" "$(med large_nospare)")
pull_over=$(sub "$(med pull_job)" "$pm")
arr_over=$(awk -v a="$(med array_lxd)" -v b="$(med array_plain)" -v n=$ARRAY_N 'BEGIN{printf "%.3f", (a-b)/n}')
read -r bp50 bp95 _ < <(stats burst_plain)
read -r bl50 bl95 _ < <(stats burst_lxd)
verdict() { awk -v v="$1" -v t="$2" 'BEGIN{print (v+0 <= t+0) ? "met" : "missed"}'; }
{
	echo "# slurm-lxd: job start overhead"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'); $(nproc) cores ($(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)), $(free -g | awk '/Mem:/{print $2}') GiB RAM;"
	echo "Linux $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME"); Slurm $(sinfo -V | awk '{print $2}'), LXD $(lxd --version) (btrfs pool),"
	echo "runc $(runc --version | awk 'NR==1{print $3}'), Charliecloud $(dpkg-query -W -f='${Version}' charliecloud-runtime)."
	echo "Sections: @SECTIONS@"
	echo "Sections 1-6 took $((elapsed / 60)) min $((elapsed % 60)) s$([ $gate_waited -gt 0 ] && echo " (not counting $((gate_waited / 60)) min $((gate_waited % 60)) s waiting for $BENCH_GATE_FILE)") (RUNS=$RUNS, PULL_RUNS=$PULL_RUNS, ARRAY_RUNS=$ARRAY_RUNS, BURST_RUNS=$BURST_RUNS; the whole run: the line above$([ "${BENCH_QUICK:-0}" = 1 ] && echo ', BENCH_QUICK: not a result')). Seconds."
	echo
	echo "Images: small = \`$SLXD_IMAGE\` (busybox, $(mb "$small_gz") gzip'd); large = \`$LARGE\`, built locally: busybox + $large_files entries, $(mb "$large_bytes") uncompressed, $(mb "$large_gz") gzip'd."
	echo
	echo "### 1-2. One job: \`srun … true\`, wall time, each a new job (cached images)"
	echo
	echo "| what | median | p95 | min | max | n | ratio to plain | minus plain |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	row "\`srun true\` (plain Slurm)" plain
	row "\`srun true\`, plugin loaded (no \`--lxd-image\`), against the next row" plain_plugin "$(med plain_noplugin)"
	row "\`srun true\`, no plugin in \`plugstack.conf\`" plain_noplugin "$(med plain_noplugin)"
	row "\`srun --lxd-image=$SLXD_IMAGE true\` (small), a spare waiting: the user's next job" small
	row "\`srun --lxd-image=$LARGE true\` (large), a spare waiting" large
	row "small, no spare to take (spares off): a copy of the template, started" small_nospare
	row "large, no spare to take" large_nospare
	row "small, submitted as soon as the previous LXD job's srun returned (its epilog still deleting the container)" small_b2b
	row "large, right after the previous LXD job ended" large_b2b
	row "\`srun --container=BUNDLE true\` (Slurm OCI, rootless runc)" oci
	row "\`srun ch-run DIR -- true\` (Charliecloud)" ch
	echo
	echo "Large image against small: $(div "$(med large)" "$(med small)")x the wall time, $(div "$over_large" "$over_small")x the overhead, with a spare waiting; $(div "$(med large_nospare)" "$(med small_nospare)")x and $(div "$over_large_ns" "$over_small_ns")x without."
	echo
	echo "What a waiting spare costs the node: ${spare_rss} kB resident (LXD's monitor ${mon_rss:--} kB, slxd-init the rest), ${spare_pss} kB proportional (PSS); no CPU while it waits.  One per (user, image) recently used, removed by \`slxd-gc\` after \`spare_max_idle\` (300 s) unused."
	echo
	echo "### 6. Teardown: from \`srun\` returning until the container is gone"
	echo
	echo "| what | median | p95 | min | max | n | | |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	row "small image" small_teardown - -
	row "large image" large_teardown - -
	echo
	echo "### 3. First job that must pull the large image, against doing it by hand"
	echo
	echo "| what | median | p95 | min | max | n | ratio to by hand | minus plain |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	row "first job: \`srun --lxd-image=$LARGE true\`, image not in LXD" pull_job "$(med pull_hand)" "$pm"
	row "by hand: curl (signed GET of the blob) + \`lxc image import\` + \`lxc launch\`" pull_hand "$(med pull_hand)" -
	row "… curl download" pull_curl - -
	row "… \`lxc image import\`" pull_import - -
	row "… \`lxc launch\` (unpack into the pool, create, start)" pull_launch - -
	pullfmt_rows
	echo
	echo "### 4. Job array of $ARRAY_N tasks (one user, one image), submit to last task's payload"
	echo
	echo "| what | median | p95 | min | max | n | ratio to plain | minus plain |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	row "\`sbatch --array=0-$((ARRAY_N - 1))\`" array_plain "$(med array_plain)"
	row "\`sbatch --array=0-$((ARRAY_N - 1)) --lxd-image=$SLXD_IMAGE\`" array_lxd "$(med array_plain)"
	echo
	echo "Overhead per task: $arr_over s; tasks that did not run: $array_failed."
	echo "CPU of every process on the node, from the submit until the last container was gone: $(med array_cpu_plain) s plain, $(med array_cpu_lxd) s with the image, so $arr_cpu s per task for its container (LXD's copy, start and delete, liblxc, the plugin, the epilog).  Spread over $(nproc) cores that is $arr_floor s per task: the array is bound by the CPU LXD spends on each task's container, which spares do not remove (each task still gets a container of its own, used once; spares move a container's start off a job's path, not its cost off the node's CPUs).  In a burst like this one no spares are made (docs/how-it-works.md)."
	echo
	echo "### 5. $BURST_N jobs submitted at once, each from its sbatch to its payload"
	echo
	echo "| what | p50 | p95 | min | max | n | ratio to plain (p50) | minus plain (p50) |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	row "plain" burst_plain "$bp50"
	row "\`--lxd-image=$SLXD_IMAGE\`" burst_lxd "$bp50"
	echo
	echo "Start overhead: p50 $(sub "$bl50" "$bp50") s, p95 $(sub "$bl95" "$bp95") s; failed: $burst_failed_lxd with the image, $burst_failed_plain plain."
	echo
	cat "$work/burst.md"
	echo
	echo "### Where it goes: the same LXD operations by hand (\`lxc\`)"
	echo
	echo "| what | median | p95 | min | max | n | | |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	for kind in small large; do
		row "create ($kind): btrfs snapshot of the image" "hand_create_$kind" - -
		row "start ($kind)" "hand_start_$kind" - -
		row "\`lxc exec true\` ($kind)" "hand_exec_$kind" - -
		row "force-stop + delete ($kind)" "hand_delete_$kind" - -
		row "copy of the template ($kind): btrfs snapshot" "hand_copy_$kind" - -
		row "start of that copy ($kind): no re-owning" "hand_copystart_$kind" - -
		row "CPU time of that copy's life (copy, start, force-delete; \`lxc\` itself included), all processes ($kind)" "hand_cpu_life_$kind" - -
	done
	row "one signed registry lookup (\`slxd-registry show\`)" hand_registry - -
	echo
	echo "What a template costs the node: no memory (it is a stopped container).  On disk, for the large image: $tpl_cost, the inodes LXD re-owned; the file data stays shared with the image.  Built in the background after a job ended: about $tpl_build s from that job's container being gone."
	echo
	echo "### Targets"
	echo
	echo "| target | measured | |"
	echo "| --- | --- | --- |"
	echo "| cached overhead p50 ≤ 0.35 s over plain, a spare waiting | $over_small s (small), $over_large s (large) | $(verdict "$over_small" 0.35) / $(verdict "$over_large" 0.35) |"
	echo "| … no spare (a copy of the template) | $over_small_ns s (small), $over_large_ns s (large) | $(verdict "$over_small_ns" 0.35) / $(verdict "$over_large_ns" 0.35) |"
	echo "| large ≤ 1.2x small, a spare waiting | $(div "$(med large)" "$(med small)")x wall, $(div "$over_large" "$over_small")x overhead | $(verdict "$(div "$(med large)" "$(med small)")" 1.2) / $(verdict "$(div "$over_large" "$over_small")" 1.2) |"
	echo "| … no spare | $(div "$(med large_nospare)" "$(med small_nospare)")x wall, $(div "$over_large_ns" "$over_small_ns")x overhead | $(verdict "$(div "$(med large_nospare)" "$(med small_nospare)")" 1.2) / $(verdict "$(div "$over_large_ns" "$over_small_ns")" 1.2) |"
	echo "| repeated jobs ≤ 0.05 s each: the user's next job, a spare waiting | $over_small s | $(verdict "$over_small" 0.05) |"
	echo "| … an array of $ARRAY_N short tasks, per task | $arr_over s ($arr_cpu s of CPU per task, $arr_floor s spread over $(nproc) cores) | $(verdict "$arr_over" 0.05) |"
	echo "| teardown off the critical path | the next job, submitted as soon as the last one's srun returned, took $b2b_extra_small s (small) and $b2b_extra_large s (large) longer than on a settled node with no spare to take, where waiting for the delete would cost $(med hand_delete_small) s and $(med hand_delete_large) s; its container was made before the last one was deleted in ${b2b_before_gone[small]} of ${b2b_pairs[small]} small pairs and ${b2b_before_gone[large]} of ${b2b_pairs[large]} large ones (slurmd's log; a large copy takes about as long as a delete) | $(awk -v a="$b2b_extra_small" -v b="$b2b_extra_large" -v ds="$(med hand_delete_small)" -v dl="$(med hand_delete_large)" 'BEGIN{print (a < ds / 2 && b < dl / 2) ? "met" : "missed"}') |"
	echo "| first job with the large image ≤ 6 s (pushed as zstd; gzip'd: $(med pull_job) s) | $(med pull_job_zstd) s | $(verdict "$(med pull_job_zstd)" 6) |"
	echo "| pull ≤ 1.5x by hand | $(div "$(med pull_job)" "$(med pull_hand)")x ($(div "$pull_over" "$(med pull_hand)")x counting only what the job adds to plain) | $(verdict "$(div "$(med pull_job)" "$(med pull_hand)")" 1.5) |"
	echo "| 16 at once: none failing | $burst_failed_lxd failed | $(verdict "$burst_failed_lxd" 0) |"
} >"$out/latest.md"
# LXD against Incus, side by side, when Incus is installed (bench/incus.sh)
if bash "$top/tests/cluster/incus.sh" installed; then
	gate
	section incus
	say "LXD against Incus"
	{ echo; RUNS=${INCUS_RUNS:-$((RUNS < 3 ? RUNS : 3))} PULL_RUNS=${INCUS_PULL_RUNS:-1} \
		ARRAY_RUNS=${INCUS_ARRAY_RUNS:-1} HAND_RUNS=${INCUS_HAND_RUNS:-1} ARRAY_N=${INCUS_ARRAY_N:-30} bash "$here/incus.sh"; } >>"$out/latest.md" || say "warning: the Incus section failed"
fi
cp "$raw" "$out/latest.tsv"
plotrow() { local m p mn mx n; read -r m p mn mx n < <(stats "$2"); echo "\"$1\" $m $mn $p"; }
{
	echo "# label median min p95 (index 0: one job; 1: 16 at once; 2: array, pull)"
	plotrow "plain" plain; plotrow "LXD small" small; plotrow "LXD large" large
	plotrow "small, no spare" small_nospare; plotrow "large, no spare" large_nospare
	plotrow "LXD small b2b" small_b2b; plotrow "OCI runc" oci; plotrow "Charliecloud" ch
	printf '\n\n'
	plotrow "plain" burst_plain; plotrow "LXD small" burst_lxd
	printf '\n\n'
	plotrow "array plain" array_plain; plotrow "array LXD" array_lxd
	plotrow "pull: job" pull_job; plotrow "pull: by hand" pull_hand
} >"$work/plot.dat"
gnuplot -e "datafile='$work/plot.dat'; outfile='$out/latest.png'" "$here/plot.gp" ||
	say "warning: gnuplot failed; no plot"
# 7 multi-node (bench/multinode.sh): the emulated cluster, under its lock
section multinode
[ "${BENCH_MULTINODE:-1}" = 0 ] || MN_RUNS=${MN_RUNS:-1} flock -o /tmp/slxd-mn.lock bash "$here/multinode.sh" >>"$out/latest.md" ||
	say "warning: the multi-node section failed"
# GRES section: --gres=gpu:1 against without, on the multi-node cluster's
# fake GPUs (bench/gres.sh, its own lock); BENCH_GRES=0 leaves it out.
section gres
if [ "${BENCH_GRES:-1}" = 1 ]; then
	if GRES_RUNS=${GRES_RUNS:-4} flock -o /tmp/slxd-mn.lock bash "$here/gres.sh" >/dev/null; then
		{ echo; cat "$out/gres.md"; } >>"$out/latest.md"
	else
		say "warning: the GRES section (bench/gres.sh) failed"
	fi
fi
# Registry cache section: N pullers with and without an nginx cache in
# front of the registry (bench/cache.sh); BENCH_REGCACHE=0 leaves it out.
section regcache
if [ "${BENCH_REGCACHE:-1}" = 1 ]; then
	if CACHE_RUNS=${CACHE_RUNS:-1} bash "$here/cache.sh" >/dev/null; then
		{ echo; cat "$out/cache.md"; } >>"$out/latest.md"
	else
		say "warning: the registry cache section (bench/cache.sh) failed"
	fi
fi
# OCI conversion section: slxd-registry push oci: against skopeo + umoci +
# tar by hand (bench/oci.sh); BENCH_OCI=0 leaves it out.
section oci
if [ "${BENCH_OCI:-1}" = 1 ]; then
	if OCI_RUNS=${OCI_RUNS:-1} bash "$here/oci.sh" >/dev/null; then
		{ echo; cat "$out/oci.md"; } >>"$out/latest.md"
	else
		say "warning: the OCI conversion section (bench/oci.sh) failed"
	fi
fi
# CPU per container job, by process (bench/jobcpu.sh: BSD process
# accounting); BENCH_JOBCPU=0 leaves it out.
if [ "${BENCH_JOBCPU:-1}" = 1 ]; then
	section jobcpu
	jobcpu_md=$(mktemp)
	if JOBCPU_N=${JOBCPU_N:-$((RUNS < 5 ? RUNS : 5))} bash "$here/jobcpu.sh" >"$jobcpu_md"; then
		{ echo; cat "$jobcpu_md"; } >>"$out/latest.md"
	else
		say "warning: the CPU-by-process section (bench/jobcpu.sh) failed"
	fi
	rm -f "$jobcpu_md"
fi
section
elapsed=$(($(date +%s) - started - gate_waited))
sed -i "s/^Sections: @SECTIONS@\$/Sections: $section_times; all: $((elapsed / 60)) min $((elapsed % 60)) s (budget: 30 min)./" "$out/latest.md"
cat "$out/latest.md"
say "done in $((elapsed / 60)) min $((elapsed % 60)) s"
