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
# The node config is put back to runtime=lxd and incusd is stopped (if this
# script started it) when it ends, however it ends.
#   RUNS=N (default 10), HAND_RUNS=N (default 3), BENCH_INCUS_FILES=N (20000)
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

use_runtime() { # lxd|incus [extra node config line]
	SLXD_RUNTIME=$1 bash "$top/tests/cluster/setup.sh" --node-conf
	[ -z "${2:-}" ] || echo "$2" >>"$node_conf"
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
	done
	[ $we_started_incus = 1 ] && incus_stop
	rm -rf "$raw" "$work"
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
	# (slurmd's log line may follow the job's end by a moment)
	for _ in $(seq 20); do
		[ "$kind" != plain ] && [ -n "$id" ] || break
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
if [ ! -s "$MID_TAR" ]; then
	say "building a $FILES-file image"
	BENCH_LARGE_FILES=$FILES BENCH_LARGE_BYTES=$((FILES * 1024))
	# shellcheck source=bench/images.sh
	. "$here/images.sh"
	bench_large_tarball
	mv "$BENCH_LARGE_TAR" "$MID_TAR"
fi
for r in "${RUNTIMES[@]}"; do
	cli "$r" image info slxdbi-mid >/dev/null 2>&1 || cli "$r" image import "$MID_TAR" --alias slxdbi-mid >/dev/null
done

# ------------------------------------------------------- 1, 2 per job
say "jobs: $RUNS of each kind on each runtime, interleaved"
for r in "${RUNTIMES[@]}"; do # warm-up: the template each job copies
	use_runtime "$r"
	job "$r" warm "--lxd-image=$SLXD_IMAGE true"
	wait_template "$r"
done
for i in $(seq "$RUNS"); do
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
say "by hand: $HAND_RUNS first starts and template copies of each image on each runtime"
idmap="both $SLXD_TEST_UID $SLXD_TEST_UID"
owner_on_disk=()
for i in $(seq "$HAND_RUNS"); do
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

# ---------------------------------------------------------------- report
over() { sub "$(med "$1_$2")" "$(med "plain_$2")"; }
cpu_over() { sub "$(med "$1_cpu_$2")" "$(med "plain_cpu_$2")"; }
elapsed=$(($(date +%s) - started))
echo "### LXD against Incus (\`bench/incus.sh\`)"
echo
echo "LXD $(lxd --version), Incus $(incus --version) (bookworm-backports), both btrfs pools on loop files, one at a time on the same node; RUNS=$RUNS, HAND_RUNS=$HAND_RUNS, $((elapsed / 60)) min $((elapsed % 60)) s.  Medians, seconds."
echo
echo "| what | LXD | Incus |"
echo "| --- | --- | --- |"
echo "| \`srun true\` (plain Slurm, same node) | $(med plain_lxd) | $(med plain_incus) |"
echo "| \`srun --lxd-image=$SLXD_IMAGE true\`, a spare waiting | $(med spare_lxd) | $(med spare_incus) |"
echo "| … overhead over plain | $(over spare lxd) | $(over spare incus) |"
echo "| the same, no spare (a copy of the template, started) | $(med nospare_lxd) | $(med nospare_incus) |"
echo "| … overhead over plain | $(over nospare lxd) | $(over nospare incus) |"
echo "| CPU of every process, submit to container gone, no spare | $(med nospare_cpu_lxd) | $(med nospare_cpu_incus) |"
echo "| … minus a plain job's: one container's life | $(cpu_over nospare lxd) | $(cpu_over nospare incus) |"
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
