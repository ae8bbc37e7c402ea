#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# `make bench`, LXD against Incus: the same jobs on the one-node cluster
# with runtime=lxd and with runtime=incus (tests/cluster/incus.sh), side by
# side, interleaved; bench/run.sh runs it when Incus is installed, or alone:
#   bash bench/incus.sh            (as root, holding the cluster's lock)
# Markdown on stdout, progress on stderr.
#   1 per job: `srun --lxd-image=IMG true` minus `srun true`, with a spare
#     waiting and with none (a copy of the template, started, deleted)
#   2 CPU of one container's life: every process's CPU from a job's submit
#     until its container is gone, minus a plain job's (spares off)
#   3 by hand: the first start of a container made from the image (LXD
#     re-owns every file of its rootfs; Incus mounts it idmapped) and of a
#     copy of a started one (what a template gives), for a busybox image
#     and one of BENCH_INCUS_FILES files
#   4 the first job that must pull the large image (bench-large:zstd, the
#     1 GB / 55,000-file image of bench/images.sh pushed as zstd, as
#     bench/pullfmt.sh pushes it), removed from the runtime before each
#     run, spares and templates off: `srun --lxd-image=IMG true` minus
#     plain, and by hand its parts: curl (the signed GET), slxd-imagecheck,
#     `image import`, create + first start with the job's raw.idmap
#   5 job arrays: `sbatch --array=0-99` (as bench/run.sh section 3), plain
#     and with the image, submit to the last task's payload, CPU per task
# The node config is put back to runtime=lxd and incusd is stopped (if this
# script started it) when it ends, however it ends.
#   RUNS=N (default 10), HAND_RUNS=N (default 3), BENCH_INCUS_FILES=N (20000)
#   PULL_RUNS=N (default 3), ARRAY_RUNS=N (default 2), ARRAY_N=N (100)
#   BENCH_INCUS_ONLY="pull array" only these of: jobs (1, 2), hand (3),
#     pull (4), array (5); the default is all
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
SLXD_RUNTIME=lxd
# shellcheck source=tests/cluster/env.sh
. "$top/tests/cluster/env.sh"
# shellcheck source=tests/cluster/incus.sh
. "$top/tests/cluster/incus.sh"
SLXD_POOL_MOUNT_OPTIONS=user_subvol_rm_allowed,nodev,nosuid
[ "$(id -u)" = 0 ] || { echo "bench/incus.sh: run as root" >&2; exit 1; }

RUNS=${RUNS:-10} HAND_RUNS=${HAND_RUNS:-3} FILES=${BENCH_INCUS_FILES:-20000}
BENCH_CACHE=${BENCH_CACHE:-/var/tmp/slxd-bench}
MID_TAR=$BENCH_CACHE/incus-mid-$FILES.tar.gz
PULL_RUNS=${PULL_RUNS:-3} ARRAY_RUNS=${ARRAY_RUNS:-2} ARRAY_N=${ARRAY_N:-100}
ONLY=${BENCH_INCUS_ONLY:-jobs hand pull array}
want() { [[ " $ONLY " == *" $1 "* ]]; }
LARGE_ZST=bench-large:zstd # (the name bench/pullfmt.sh pushes it under)
large_zst_fp=
RUNTIMES=(lxd incus)
started=$(date +%s)
raw=$(mktemp)
work=$SLXD_TEST_SHARED/$SLXD_TEST_USER/bench-incus.$$
node_conf=/etc/slurm/spank_lxd.conf

BENCH_TAG="bench incus"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
cpu_since() { awk -v a="$1" -v b="$(busy_jiffies)" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", (b - a) / hz}'; }
cli() { local r=$1; shift; if [ "$r" = incus ]; then incus "$@"; else command lxc "$@"; fi; }
dir_of() { [ "$1" = incus ] && echo /var/lib/incus || echo /var/lib/lxd; }

use_runtime() { # lxd|incus [extra node config lines]
	SLXD_RUNTIME=$1 bash "$top/tests/cluster/setup.sh" --node-conf
	[ $# -lt 2 ] || printf '%s\n' "${@:2}" >>"$node_conf"
}
we_started_incus=0
finish() {
	set +e
	use_runtime lxd
	for r in "${RUNTIMES[@]}"; do
		for n in $(cli "$r" list --format csv -c n 2>/dev/null | grep "^slxdbi$$-"); do
			cli "$r" delete -f "$n" >/dev/null 2>&1
		done
		(SLXD_RUNTIME=$r; [ "$r" = incus ] && lxc() { incus "$@"; }; remove_node_cache)
		cli "$r" image delete "slxdbi-mid" >/dev/null 2>&1
		[ -z "$large_zst_fp" ] || cli "$r" image delete "$large_zst_fp" >/dev/null 2>&1
	done
	[ $we_started_incus = 1 ] && incus_stop
	rm -rf "$raw" "$work" "$BENCH_CACHE/incus-download.tar.zst"
}
trap finish EXIT

as_user() { runuser -u "$SLXD_TEST_USER" -- sh -c "cd '$work' && $*"; }
settle() {
	for _ in $(seq 600); do
		[ -z "$(squeue -h -u "$SLXD_TEST_USER" -t CG,R,PD -o %i 2>/dev/null)" ] && return 0
		sleep 0.05
	done
}
# A job's container is gone: its instance directory (a stat, where the
# client would load the CPUs it measures).
wait_gone() { # runtime name
	local d i
	d=$(dir_of "$1")/containers/$2
	for i in $(seq 1200); do [ -e "$d" ] || [ -L "$d" ] || return 0; sleep 0.05; done
	say "warning: container $2 still there after 60 s"
}
# one job, timed: wall seconds; with cpu=1, CPU from its submit until its
# container is gone
job() { # runtime kind srun-args
	local r=$1 kind=$2 t0 t1 j0 id n=
	shift 2
	settle
	j0=$(busy_jiffies)
	t0=$(now)
	as_user "srun -J slxdbi$$ $*" >/dev/null 2>"$work/err" || { cat "$work/err" >&2; exit 1; }
	t1=$(now)
	record "${kind}_$r" "$(sub "$t1" "$t0")"
	id=$(squeue -h -t all -n "slxdbi$$" -o %i --sort=-i | head -1) || true
	last_job=$id
	# (slurmd's log line may follow the job's end by a moment)
	for _ in $(seq 20); do
		[[ $kind != *plain ]] && [ -n "$id" ] || break
		n=$(logged_container "$id" || true)
		[ -z "$n" ] || { wait_gone "$r" "$n"; break; }
		sleep 0.1
	done
	settle
	record "${kind}_cpu_$r" "$(cpu_since "$j0")"
}
wait_spare() { # runtime
	local fp slot n
	fp=$(cli "$1" image info "$SLXD_IMAGE_ALIAS" | awk '/^Fingerprint:/{print $2}')
	for _ in $(seq 150); do
		for slot in /run/slurm-lxd/slxd-spare-"${fp:0:12}"-*.slot; do
			n=$(cat "$slot" 2>/dev/null) || continue
			[ -n "$n" ] && [ "$(cli "$1" config get "$n" user.slurm.role 2>/dev/null)" = spare ] && return 0
		done
		sleep 0.2
	done
	say "warning: no spare on $1 after 30 s"
}
wait_template() { # runtime
	local fp n
	fp=$(cli "$1" image info "$SLXD_IMAGE_ALIAS" | awk '/^Fingerprint:/{print $2}')
	for _ in $(seq 300); do
		for n in $(cli "$1" list --format csv -c n 2>/dev/null | grep "^slxd-tpl-${fp:0:12}-"); do
			[ "$(cli "$1" config get "$n" user.slurm.role)" = template ] && return 0
		done
		sleep 0.5
	done
	say "warning: no template on $1 after 150 s"
}

# ---------------------------------------------------------------- set-up
say "setting up the cluster and Incus"
command -v pigz >/dev/null || bash "$here/deps.sh" # (the image build's gzip)
bash "$top/tests/cluster/setup.sh" >/dev/null
incus_running || we_started_incus=1
incus_up >/dev/null
install -d -m 0700 -o "$SLXD_TEST_USER" -g "$SLXD_TEST_USER" "$work"
if want hand && [ ! -s "$MID_TAR" ]; then
	say "building a $FILES-file image"
	BENCH_LARGE_FILES=$FILES BENCH_LARGE_BYTES=$((FILES * 1024))
	# shellcheck source=bench/images.sh
	. "$here/images.sh"
	bench_large_tarball
	mv "$BENCH_LARGE_TAR" "$MID_TAR"
fi
for r in "${RUNTIMES[@]}"; do
	want hand || break
	cli "$r" image info slxdbi-mid >/dev/null 2>&1 || cli "$r" image import "$MID_TAR" --alias slxdbi-mid >/dev/null
done

# ------------------------------------------------------- 1, 2 per job
want jobs && say "jobs: $RUNS of each kind on each runtime, interleaved"
for r in "${RUNTIMES[@]}"; do # warm-up: the template each job copies
	want jobs || break
	use_runtime "$r"
	job "$r" warm "--lxd-image=$SLXD_IMAGE true"
	wait_template "$r"
done
for i in $(seq "$RUNS"); do
	want jobs || break
	for r in "${RUNTIMES[@]}"; do
		use_runtime "$r" spare_max_idle=0
		job "$r" plain "true"
		job "$r" nospare "--lxd-image=$SLXD_IMAGE true"
		use_runtime "$r"
		job "$r" warm "--lxd-image=$SLXD_IMAGE true"
		wait_spare "$r"
		job "$r" spare "--lxd-image=$SLXD_IMAGE true"
	done
	say "jobs: run $i of $RUNS"
done
use_runtime lxd

# ---------------------------------------------------------------- 3 by hand
want hand && say "by hand: $HAND_RUNS first starts and template copies of each image on each runtime"
idmap="both $SLXD_TEST_UID $SLXD_TEST_UID"
owner_on_disk=()
for i in $(seq "$HAND_RUNS"); do
	want hand || break
	for r in "${RUNTIMES[@]}"; do
		for img in small mid; do
			a=$SLXD_IMAGE_ALIAS
			[ $img = mid ] && a=slxdbi-mid
			c=slxdbi$$-$img
			j0=$(busy_jiffies)
			t0=$(now)
			cli "$r" init "$a" "$c" -c raw.idmap="$idmap" >/dev/null
			t1=$(now)
			cli "$r" start "$c" >/dev/null
			t2=$(now)
			record "first_start_${img}_$r" "$(sub "$t2" "$t1")"
			record "first_life_${img}_$r" "$(sub "$t2" "$t0")"
			# who owns the image's files on disk now: re-owned (the
			# container's root, 100000 here) or left as in the image (0)
			[ $i = 1 ] && owner_on_disk+=("$r $img $(stat -c %u "$(dir_of "$r")/storage-pools/$SLXD_POOL/containers/$c/rootfs/bin/busybox")")
			cli "$r" stop -f "$c" >/dev/null
			t0=$(now)
			cli "$r" copy "$c" "$c-copy" >/dev/null
			cli "$r" start "$c-copy" >/dev/null
			t1=$(now)
			record "copy_start_${img}_$r" "$(sub "$t1" "$t0")"
			cli "$r" delete -f "$c-copy" >/dev/null
			cli "$r" delete -f "$c" >/dev/null
			record "first_cpu_${img}_$r" "$(cpu_since "$j0")"
		done
	done
done

# ---------------------------------------------------------------- 4 first pull
# The large image as users push it (re-compressed as zstd by slxd-registry)
# and approved, once per registry; sets large_zst_fp.
pull_setup() {
	local reg=(slxd-registry --registry "$SLXD_REGISTRY_URL") out
	large_zst_fp=$("${reg[@]}" show "$LARGE_ZST" --json 2>/dev/null | jq -r '.approved.fingerprint // empty') || true
	[ -z "$large_zst_fp" ] || return 0
	BENCH_LARGE_FILES=55000 BENCH_LARGE_BYTES=1100000000
	# shellcheck source=bench/images.sh
	. "$here/images.sh"
	bench_large_tarball
	say "registry: pushing $LARGE_ZST (re-compressed as zstd)"
	out=$("${reg[@]}" push "$BENCH_LARGE_TAR" --name "$LARGE_ZST" 2>&1) || true
	large_zst_fp=$(printf '%s\n' "$out" | sed -n 's/.*(fingerprint \([0-9a-f]\{64\}\)).*/\1/p' | head -n1)
	[ -n "$large_zst_fp" ] || { echo "bench/incus.sh: pushing $LARGE_ZST failed: $out" >&2; exit 1; }
	"${reg[@]}" approve "$LARGE_ZST" --fingerprint "$large_zst_fp" >/dev/null
}
# the runtime as a node finds it before the image's first job: no image,
# no template or spare made from it
drop_large() { # runtime
	local n
	settle
	for n in $(cli "$1" list --format csv -c n 2>/dev/null | grep "^slxd-\(tpl\|spare\)-${large_zst_fp:0:12}-"); do
		cli "$1" delete -f "$n" >/dev/null 2>&1 || true
	done
	if cli "$1" image info "$large_zst_fp" >/dev/null 2>&1; then cli "$1" image delete "$large_zst_fp" >/dev/null; fi
	sync
}
# by hand, what the prolog and the step do for a first pull: the signed GET
# (curl), slxd-imagecheck, `image import`, create with the job's idmap, start
pull_by_hand() { # runtime run
	local r=$1 c=slxdbi$$-pull$2 f=$BENCH_CACHE/incus-download.tar.zst t0 t1 t2 t3 t4 t5 cred empty
	empty=$(printf '' | sha256sum | cut -d' ' -f1)
	t0=$(now)
	cred=$(printf 'slxd-registry-v1\nGET\n/v1/blobs/%s\n%s\n' "$large_zst_fp" "$empty" | munge)
	curl -sSf -H "Authorization: MUNGE $cred" -o "$f" "$SLXD_REGISTRY_URL/v1/blobs/$large_zst_fp"
	t1=$(now)
	[ "$(/usr/local/libexec/slurm-lxd/slxd-imagecheck <"$f")" = ok ]
	t2=$(now)
	cli "$r" image import "$f" >/dev/null
	t3=$(now)
	cli "$r" init "$large_zst_fp" "$c" -s "$SLXD_POOL" -c raw.idmap="both $SLXD_TEST_UID $SLXD_TEST_UID" >/dev/null
	t4=$(now)
	cli "$r" start "$c" >/dev/null
	t5=$(now)
	cli "$r" delete -f "$c" >/dev/null
	rm -f "$f"
	record "hpull_get_$r" "$(sub "$t1" "$t0")"
	record "hpull_check_$r" "$(sub "$t2" "$t1")"
	record "hpull_import_$r" "$(sub "$t3" "$t2")"
	record "hpull_create_$r" "$(sub "$t4" "$t3")"
	record "hpull_start_$r" "$(sub "$t5" "$t4")"
	record "hpull_all_$r" "$(sub "$t5" "$t0")"
}
# The first job's own parts, from the prolog's log lines (ms): the signed
# lookup answered -> the blob's GET done (download) -> the POST of the
# image to the runtime done (the check, then the upload of the body) ->
# "pulled" (the runtime's import operation); and the step's timing line
# (lib/steptime.h): its container ready, after the step's start.
log_time() { date -d "$(printf '%s' "$1" | sed 's/^\[\([^]]*\)\].*/\1/; s/T/ /')" +%s.%N; }
pull_parts() { # runtime job-id
	local r=$1 j=$2 syslog=$SLXD_TEST_LOG/syslog at pid lines t_look t_blob t_post t_pulled ready
	at=$(grep -n "slxd-prolog\[[0-9]*\]: job $j: image $LARGE_ZST ready" "$syslog" | tail -1)
	[ -n "$at" ] || return 1
	pid=$(printf '%s' "$at" | sed 's/.*slxd-prolog\[\([0-9]*\)\].*/\1/')
	# this prolog's lines up to that one, the last pull's only
	lines=$(head -n "${at%%:*}" "$syslog" | grep -F "slxd-prolog[$pid]:" | tail -n 40)
	t_look=$(log_time "$(printf '%s\n' "$lines" | grep -F "GET /v1/images/${LARGE_ZST%%:*}/" | tail -1)")
	t_blob=$(log_time "$(printf '%s\n' "$lines" | grep -F "GET /v1/blobs/$large_zst_fp" | tail -1)")
	t_post=$(log_time "$(printf '%s\n' "$lines" | grep -F "POST /1.0/images ->" | tail -1)")
	t_pulled=$(log_time "$(printf '%s\n' "$lines" | grep -F "pulled image $large_zst_fp" | tail -1)")
	ready=$(grep -h "timing: job $j step 0 task 0:" "$SLXD_TEST_LOG/slurmd.log" | tail -1 | sed -n 's/.* ready +\([0-9.]*\) .*/\1/p')
	record "ppart_get_$r" "$(sub "$t_blob" "$t_look")"
	record "ppart_check_$r" "$(sub "$t_post" "$t_blob")"
	record "ppart_import_$r" "$(sub "$t_pulled" "$t_post")"
	[ -z "$ready" ] || record "ppart_ready_$r" "$ready"
}
if want pull; then
	pull_setup
	say "first pull: $PULL_RUNS first jobs with $LARGE_ZST and $PULL_RUNS by hand on each runtime"
	for i in $(seq "$PULL_RUNS"); do
		for r in "${RUNTIMES[@]}"; do
			use_runtime "$r" spare_max_idle=0 template_max_age=0
			job "$r" pplain "true"
			drop_large "$r"
			job "$r" pull "--lxd-image=$LARGE_ZST true"
			pull_parts "$r" "$last_job" || say "warning: no prolog timeline for job $last_job"
			drop_large "$r"
			pull_by_hand "$r" "$i"
			drop_large "$r"
		done
		say "first pull: run $i of $PULL_RUNS"
	done
	use_runtime lxd
fi

# ---------------------------------------------------------------- 5 array
# bench/run.sh's section 3 on each runtime: wall time from submitting the
# array until the last task's payload ran (each task touches a file; its
# mtime is when it ran), and every process's CPU from the submit until the
# last task's container is gone.  Default node config (spares, templates),
# the template made beforehand.
jobs_of_array_done() { # array job id; at most 600 s
	for _ in $(seq 1200); do
		[ -z "$(squeue -h -r -j "$1" -o %i 2>/dev/null)" ] && return 0
		sleep 0.5
	done
	say "warning: array $1 still running after 600 s"
}
# no container of a job left (templates and spares are the node's cache)
job_containers_gone() { # runtime
	local d n
	d=$(dir_of "$1")/containers
	for _ in $(seq 1200); do
		n=$(find "$d" -mindepth 1 -maxdepth 1 ! -name 'slxd-tpl-*' ! -name 'slxd-spare-*' | wc -l)
		[ "$n" = 0 ] && return 0
		sleep 0.25
	done
	say "warning: $n containers still on $1 after 300 s"
}
run_array() { # runtime kind sbatch-options
	local r=$1 kind=$2 d=$work/arr-$2-$1-$i j0 t0 id last got
	as_user "mkdir -p '$d'"
	settle
	job_containers_gone "$r"
	j0=$(busy_jiffies)
	t0=$(now)
	id=$(as_user "sbatch --parsable -J slxdbi$$ --array=0-$((ARRAY_N - 1)) -o /dev/null $3 \
		--wrap ': >$d/\$SLURM_ARRAY_TASK_ID'")
	id=${id%%;*}
	jobs_of_array_done "$id"
	got=$(find "$d" -type f | wc -l)
	record "array_failed_${kind}_$r" "$((ARRAY_N - got))"
	last=$(find "$d" -type f -printf '%T@\n' | sort -g | tail -1)
	record "array_${kind}_$r" "$(sub "${last:-$t0}" "$t0")"
	job_containers_gone "$r"
	record "array_cpu_${kind}_$r" "$(cpu_since "$j0")"
}
if want array; then
	say "array: $ARRAY_RUNS x $ARRAY_N tasks of each kind on each runtime"
	for r in "${RUNTIMES[@]}"; do
		use_runtime "$r"
		job "$r" awarm "--lxd-image=$SLXD_IMAGE true"
		wait_template "$r"
	done
	for i in $(seq "$ARRAY_RUNS"); do
		for r in "${RUNTIMES[@]}"; do
			use_runtime "$r"
			run_array "$r" plain ""
			run_array "$r" img "--lxd-image=$SLXD_IMAGE"
		done
		say "array: run $i of $ARRAY_RUNS"
	done
	use_runtime lxd
fi

# ---------------------------------------------------------------- report
over() { sub "$(med "$1_$2")" "$(med "plain_$2")"; }
cpu_over() { sub "$(med "$1_cpu_$2")" "$(med "plain_cpu_$2")"; }
elapsed=$(($(date +%s) - started))
echo "### LXD against Incus (\`bench/incus.sh\`)"
echo
echo "LXD $(lxd --version), Incus $(incus --version) (bookworm-backports), both btrfs pools on loop files, one at a time on the same node; sections: $ONLY; RUNS=$RUNS, HAND_RUNS=$HAND_RUNS, PULL_RUNS=$PULL_RUNS, ARRAY_RUNS=$ARRAY_RUNS x $ARRAY_N tasks; $((elapsed / 60)) min $((elapsed % 60)) s; load average at the end $(cut -d' ' -f1-3 /proc/loadavg).  Medians, seconds."
echo
if want jobs || want hand; then
echo "| what | LXD | Incus |"
echo "| --- | --- | --- |"
fi
if want jobs; then
echo "| \`srun true\` (plain Slurm, same node) | $(med plain_lxd) | $(med plain_incus) |"
echo "| \`srun --lxd-image=$SLXD_IMAGE true\`, a spare waiting | $(med spare_lxd) | $(med spare_incus) |"
echo "| … overhead over plain | $(over spare lxd) | $(over spare incus) |"
echo "| the same, no spare (a copy of the template, started) | $(med nospare_lxd) | $(med nospare_incus) |"
echo "| … overhead over plain | $(over nospare lxd) | $(over nospare incus) |"
echo "| CPU of every process, submit to container gone, no spare | $(med nospare_cpu_lxd) | $(med nospare_cpu_incus) |"
echo "| … minus a plain job's: one container's life | $(cpu_over nospare lxd) | $(cpu_over nospare incus) |"
fi
if want hand; then
for img in small mid; do
	label="busybox"
	[ $img = mid ] && label="$FILES files"
	echo "| by hand, $label: first start of a container made from the image | $(med "first_start_${img}_lxd") | $(med "first_start_${img}_incus") |"
	echo "| … create + first start | $(med "first_life_${img}_lxd") | $(med "first_life_${img}_incus") |"
	echo "| … copy of that stopped container + start (what a template gives) | $(med "copy_start_${img}_lxd") | $(med "copy_start_${img}_incus") |"
	echo "| … CPU of the whole by-hand round (create, start, stop, copy, start, 2 deletes) | $(med "first_cpu_${img}_lxd") | $(med "first_cpu_${img}_incus") |"
done
echo
echo "Owner on disk of the image's /bin/busybox after the first start (0: left as in the image, an idmapped mount; 100000 or more: re-owned): $(IFS=';'; echo "${owner_on_disk[*]}" | sed 's/;/; /g')."
fi
div() { awk -v a="$1" -v n="$2" 'BEGIN{if (a == "-" || a == "") print "-"; else printf "%.3f", a / n}'; }
if want pull; then
	echo
	echo "#### First job that must pull the large image (\`$LARGE_ZST\`, ${large_zst_fp:0:12}, pushed as zstd), PULL_RUNS=$PULL_RUNS"
	echo
	echo "The image, its templates and spares removed from the runtime before each run; spares and templates off (\`spare_max_idle=0\`, \`template_max_age=0\`).  Medians, seconds."
	echo
	echo "| what | LXD | Incus |"
	echo "| --- | --- | --- |"
	echo "| \`srun true\` (plain, same runs) | $(med pplain_lxd) | $(med pplain_incus) |"
	echo "| first job: \`srun --lxd-image=$LARGE_ZST true\`, image not in the runtime | $(med pull_lxd) | $(med pull_incus) |"
	echo "| … minus plain (target ≤ 6 s) | $(sub "$(med pull_lxd)" "$(med pplain_lxd)") | $(sub "$(med pull_incus)" "$(med pplain_incus)") |"
	echo "| CPU of every process, submit to container gone, minus plain's | $(sub "$(med pull_cpu_lxd)" "$(med pplain_cpu_lxd)") | $(sub "$(med pull_cpu_incus)" "$(med pplain_cpu_incus)") |"
	echo "| by hand, all of the below | $(med hpull_all_lxd) | $(med hpull_all_incus) |"
	echo "| … curl: the signed GET of the blob | $(med hpull_get_lxd) | $(med hpull_get_incus) |"
	echo "| … \`slxd-imagecheck\` of it (the node's own check, before import) | $(med hpull_check_lxd) | $(med hpull_check_incus) |"
	echo "| … \`image import\` | $(med hpull_import_lxd) | $(med hpull_import_incus) |"
	echo "| … create with the job's \`raw.idmap\` (unpacks the image into the pool) | $(med hpull_create_lxd) | $(med hpull_create_incus) |"
	echo "| … first start | $(med hpull_start_lxd) | $(med hpull_start_incus) |"
	echo "| the first job's parts (its logs): lookup answered to the blob's GET done | $(med ppart_get_lxd) | $(med ppart_get_incus) |"
	echo "| … to the POST of the image done (slxd-imagecheck, then the upload of the body) | $(med ppart_check_lxd) | $(med ppart_check_incus) |"
	echo "| … to imported (the runtime's import operation) | $(med ppart_import_lxd) | $(med ppart_import_incus) |"
	echo "| … the step: its container created and started (\`ready\` after the step's start) | $(med ppart_ready_lxd) | $(med ppart_ready_incus) |"
	echo "| first job minus by hand (the plugin's own cost, Slurm's included) | $(sub "$(med pull_lxd)" "$(med hpull_all_lxd)") | $(sub "$(med pull_incus)" "$(med hpull_all_incus)") |"
	po=$(sub "$(med pull_incus)" "$(med pplain_incus)")
	echo
	echo "Target (issue 19 item 2, first job with the 1 GB image ≤ 6 s over plain): $(awk -v v="$po" 'BEGIN{print (v <= 6) ? "met" : "missed"}') on Incus ($po s), $(awk -v v="$(sub "$(med pull_lxd)" "$(med pplain_lxd)")" 'BEGIN{print (v <= 6) ? "met" : "missed"}') on LXD."
fi
if want array; then
	echo
	echo "#### Job array of $ARRAY_N tasks (one user, one image), submit to the last task's payload, ARRAY_RUNS=$ARRAY_RUNS"
	echo
	echo "Default node config (spares and templates on; the template made beforehand).  Medians, seconds."
	echo
	echo "| what | LXD | Incus |"
	echo "| --- | --- | --- |"
	echo "| \`sbatch --array=0-$((ARRAY_N - 1))\` | $(med array_plain_lxd) | $(med array_plain_incus) |"
	echo "| \`sbatch --array=0-$((ARRAY_N - 1)) --lxd-image=$SLXD_IMAGE\` | $(med array_img_lxd) | $(med array_img_incus) |"
	echo "| … overhead per task | $(div "$(sub "$(med array_img_lxd)" "$(med array_plain_lxd)")" "$ARRAY_N") | $(div "$(sub "$(med array_img_incus)" "$(med array_plain_incus)")" "$ARRAY_N") |"
	echo "| CPU of every process, submit to the last container gone, plain | $(med array_cpu_plain_lxd) | $(med array_cpu_plain_incus) |"
	echo "| … with the image | $(med array_cpu_img_lxd) | $(med array_cpu_img_incus) |"
	echo "| … CPU per task for its container | $(div "$(sub "$(med array_cpu_img_lxd)" "$(med array_cpu_plain_lxd)")" "$ARRAY_N") | $(div "$(sub "$(med array_cpu_img_incus)" "$(med array_cpu_plain_incus)")" "$ARRAY_N") |"
	echo "| tasks that did not run (all arrays, plain / with the image) | $(awk -F'\t' '$1=="array_failed_plain_lxd"{s+=$2} END{print s+0}' "$raw") / $(awk -F'\t' '$1=="array_failed_img_lxd"{s+=$2} END{print s+0}' "$raw") | $(awk -F'\t' '$1=="array_failed_plain_incus"{s+=$2} END{print s+0}' "$raw") / $(awk -F'\t' '$1=="array_failed_img_incus"{s+=$2} END{print s+0}' "$raw") |"
fi
