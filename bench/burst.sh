#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Bursts (issue 19 item 1): BURST_SIZES jobs of one user and image
# submitted at once on the one-node test cluster, each timed from its own
# sbatch to its payload (which touches a file), against plain jobs of the
# same size in the same run.  For each size: a burst of plain jobs, a cold
# burst (the template ready, no spare waiting), then, once the pool of
# spares the cold burst left is made, a warm one.  CPU per job: every
# process on the node from the first submit until the last container is
# gone, minus plain, over the burst's jobs.  `make bench` (bench/run.sh)
# runs it as its section 4; alone, as root, under the cluster's lock:
#   flock -o /tmp/slxd-cluster.lock bash bench/burst.sh
# writes bench/results/burst.md.
#   BURST_SIZES="16 64"  burst sizes (BENCH_QUICK=1: 16)
#   BURST_RUNS=N         rounds of plain, cold and warm per size (default 2;
#                        BENCH_QUICK=1: 1)
#   BURST_RAW=F          also append the samples to F (run.sh's raw file):
#                        burst_plain and burst_lxd are the cold bursts of 16
#   BURST_MD=F           the markdown goes here (default bench/results/burst.md)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
# shellcheck source=tests/cluster/env.sh
. "$top/tests/cluster/env.sh"
[ "$(id -u)" = 0 ] || { echo "burst: run as root" >&2; exit 1; }
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	BURST_SIZES=${BURST_SIZES:-16} BURST_RUNS=${BURST_RUNS:-1}
fi
BURST_SIZES=${BURST_SIZES:-16 64} BURST_RUNS=${BURST_RUNS:-2}
md=${BURST_MD:-$here/results/burst.md}
node_conf=/etc/slurm/spank_lxd.conf
work=$SLXD_TEST_SHARED/$SLXD_TEST_USER/burst.$$
raw=$(mktemp) ids_file=$(mktemp)
pool_max=$(echo "$BURST_SIZES" | tr ' ' '\n' | sort -n | tail -1)
started=$(date +%s)
BENCH_TAG=burst
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
record() { printf '%s\t%s\n' "$1" "$2" >>"$raw"; [ -z "${BURST_RAW:-}" ] || printf '%s\t%s\n' "$1" "$2" >>"$BURST_RAW"; }
as_user() { runuser -u "$SLXD_TEST_USER" -- sh -c "cd '$work' && $*"; }
jobs_left() { [ -n "$(squeue -h -u "$SLXD_TEST_USER" -t PD,R,CF,CG -o %i 2>/dev/null)" ]; }
settle() { local i; for i in $(seq 600); do jobs_left || return 0; sleep 0.1; done; say "warning: jobs still there"; }
# name,role,uid of every instance: one lxc call (each costs ~40 ms of CPU)
ours() { lxc list --format csv -c n,config:user.slurm.role,config:user.slurm.uid 2>/dev/null |
	awk -F, -v r="$1" -v u="$SLXD_TEST_UID" '$2==r && $3==u {print $1}'; }
containers_gone() { # the bench user's job containers (a taken spare included)
	local i
	for i in $(seq 600); do
		[ -z "$(ours job)" ] && return 0
		sleep 0.5
	done
	say "warning: job containers still there"
}
idle_spares() { ours spare | grep '^slxd-spare-' || true; }
drop_spares() { local n; for n in $(idle_spares); do lxc delete -f "$n" >/dev/null 2>&1 || true; done; }
# The size the cold burst asked its pool to be: the demand file's first
# field (lib/sparepool.c), read once its jobs are gone.
pool_wanted() {
	local tpl
	tpl=$(ours template | head -n1)
	[ -n "$tpl" ] || { echo 0; return; }
	awk '{print $1 + 0; exit}' "/run/slurm-lxd/slxd-spare-${tpl#slxd-tpl-}.demand" 2>/dev/null || echo 0
}
wait_pool() { # size: until as many spares wait as the burst asked for, or 30 s with no new one
	local want have last=-1 t=$SECONDS
	want=$(pool_wanted)
	[ "$want" -gt 0 ] && [ "$want" -le "$1" ] || want=$1
	while :; do
		have=$(idle_spares | wc -l)
		[ "$have" -ge "$want" ] && break
		[ "$have" != "$last" ] && { last=$have; t=$SECONDS; }
		[ $((SECONDS - t)) -ge 30 ] && { say "warning: $have of $want spares after 30 s with no new one"; break; }
		sleep 1
	done
	echo "$have"
}
cleanup() {
	set +e
	[ ! -e "$node_conf.burst-saved" ] || mv -f "$node_conf.burst-saved" "$node_conf"
	local id; for id in $(sort -u "$ids_file"); do scancel "$id" 2>/dev/null; done
	containers_gone
	# the last burst's pool is still being made: until no new one for 10 s
	local last=-1 now_n t=$SECONDS
	while [ $((SECONDS - t)) -lt 10 ]; do
		now_n=$(idle_spares | wc -l)
		[ "$now_n" != "$last" ] && { last=$now_n; t=$SECONDS; }
		sleep 1
	done
	drop_spares
	rm -rf "$work" "$raw" "$ids_file"
}
trap cleanup EXIT
cp -p "$node_conf" "$node_conf.burst-saved"
echo "spares_max=$pool_max" >>"$node_conf"
runuser -u "$SLXD_TEST_USER" -- mkdir -p "$work"

failed=0
run_burst() { # kind size sbatch-options
	local d=$work/$1-$2-$r k ids=() id t0 t j0 j1 pids=()
	as_user "mkdir -p '$d'"
	settle
	j0=$(busy_jiffies)
	for k in $(seq "$2"); do
		(
			t0=$(now)
			id=$(as_user "sbatch --parsable -J slxdburst$$-$k -o /dev/null $3 --wrap ': >$d/$k'") || id=fail
			echo "$t0 $id" >"$d.sub-$k"
		) &
		pids+=($!)
	done
	wait "${pids[@]}"
	for k in $(seq "$2"); do
		read -r t0 id <"$d.sub-$k"
		[ "$id" != fail ] && { ids+=("$id"); echo "$id" >>"$ids_file"; }
	done
	settle
	[ "$1" = plain ] || containers_gone
	j1=$(busy_jiffies)
	record "cpu_$1_$2" "$(awk -v a="$j0" -v b="$j1" -v n="$2" 'BEGIN{printf "%.3f", (b-a)/100/n}')"
	for k in $(seq "$2"); do
		read -r t0 id <"$d.sub-$k"
		if [ -f "$d/$k" ]; then
			t=$(stat -c %.9Y "$d/$k")
			record "$1_$2" "$(sub "$t" "$t0")"
			[ "$2" != 16 ] || [ "$1" = warm ] || record "burst_$([ "$1" = plain ] && echo plain || echo lxd)" "$(sub "$t" "$t0")"
		else
			failed=$((failed + 1))
		fi
	done
}
declare -A pool
for n in $BURST_SIZES; do
	for r in $(seq "$BURST_RUNS"); do
		say "$n at once: plain"
		run_burst plain "$n" ""
		say "$n at once: cold (no spare waiting)"
		drop_spares
		run_burst cold "$n" "--lxd-image=$SLXD_IMAGE"
		pool[$n]=$(wait_pool "$n")
		say "$n at once: warm ($((pool[$n])) spares waiting)"
		run_burst warm "$n" "--lxd-image=$SLXD_IMAGE"
	done
done

{
	echo "### Bursts: jobs of one user and image submitted at once ($(date -u +%F), $(nproc) cores, spares_max=$pool_max)"
	echo
	echo "Each from its sbatch to its payload; cold: the template ready, no spare waiting; warm: right after, with the spares the cold burst left.  CPU: every process on the node per job, until the last container was gone."
	echo
	echo "| jobs | what | p50 | p95 | min | max | n | p50 over plain | p95 over plain | CPU per job (s) |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for n in $BURST_SIZES; do
		read -r pp50 pp95 _ < <(stats "plain_$n")
		for kind in plain cold warm; do
			read -r m p mn mx c < <(stats "${kind}_$n")
			echo "| $n | $kind$([ $kind = warm ] && echo " (${pool[$n]} spares)") | $m | $p | $mn | $mx | $c | $(sub "$m" "$pp50") | $(sub "$p" "$pp95") | $(med "cpu_${kind}_$n") |"
		done
	done
	echo
	echo "Failed: $failed.  Target: p50 at most 0.5 s over plain.  An idle spare holds about 16 MB (section 2), so a pool of $pool_max about $((pool_max * 16)) MB, and no CPU while it waits."
} >"$md"
echo "burst_failed_plain=0 burst_failed_lxd=$failed" >"$md.vars"
cat "$md"
