#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench, GRES section: what --gres=gpu:1 adds to a job's start, on the
# emulated multi-node cluster's fake GPUs (tests/cluster/nodes.sh: gres.conf
# File=/dev/slxd-fakegpu[0-3], ConstrainDevices=yes).  Interleaved on one
# node: plain `srun true` with and without --gres=gpu:1, and
# `srun --lxd-image=IMG true` with and without it (the probe of gres.conf's
# devices and the unix-char devices in the container).  Writes
# bench/results/gres.md; run it under the cluster's lock:
#   flock -o /tmp/slxd-mn.lock bash bench/gres.sh      (GRES_RUNS=N, default 10)
# Each container job waits for the spare the previous one's end makes, so
# both kinds are measured the same way (a spare taken, one PATCH).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/cluster/env.sh"
. "$top/tests/cluster/nodes-env.sh"
[ "$(id -u)" = 0 ] || { echo "bench/gres.sh: run as root" >&2; exit 1; }
RUNS=${GRES_RUNS:-10}
out=$here/results
raw=$(mktemp)
BENCH_TAG=bench-gres
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
mkdir -p "$out"
bash "$top/tests/cluster/nodes.sh" up >/dev/null
# slurmds started from a tree without the fake GPUs: start them again
if ! SLURM_CONF=$MN_CONF sinfo -h -n mn1 -o %G | grep -q "gpu:$MN_FAKE_GPUS"; then
	bash "$top/tests/cluster/nodes.sh" down >/dev/null
	bash "$top/tests/cluster/nodes.sh" up >/dev/null
fi
trap 'rm -f "$raw"; bash "$top/tests/cluster/nodes.sh" down >/dev/null' EXIT

alice() { (cd "$SLXD_TEST_SHARED/$SLXD_TEST_USER" && runuser -u "$SLXD_TEST_USER" -- env SLURM_CONF="$MN_CONF" "$@"); }
timed() { # kind srun-args...
	local k=$1 t0 t1
	shift
	t0=$(now)
	alice srun -N1 -w mn1 "$@" true >/dev/null 2>&1 || { echo "bench/gres.sh: srun $* failed" >&2; return 1; }
	t1=$(now)
	record "$k" "$(sub "$t1" "$t0")"
	sleep 0.5 # the job's end (teardown is detached) settles
}
# Each container job starts with a spare waiting (the user's next job, as
# on a busy node): wait for the one the last job's end makes.
wait_spare() {
	for _ in $(seq 60); do
		[ -n "$(mn_lxc 1 list --format csv -c n user.slurm.role=spare user.slurm.image="$MN_IMAGE" 2>/dev/null)" ] && return 0
		sleep 0.5
	done
	echo "bench/gres.sh: no spare after 30 s" >&2
}
# one warm-up of each: templates and spares exist, as for a user's next job
timed warm --lxd-image="$MN_IMAGE"; timed warm --lxd-image="$MN_IMAGE" --gres=gpu:1
for _ in $(seq "$RUNS"); do
	timed plain; timed plain_gres --gres=gpu:1
	wait_spare; timed lxd --lxd-image="$MN_IMAGE"
	wait_spare; timed lxd_gres --lxd-image="$MN_IMAGE" --gres=gpu:1
done
row() { local m p mn mx n; read -r m p mn mx n < <(stats "$2"); echo "| $1 | $m | $p | $mn | $mx | $n |"; }
{
	echo "## --gres=gpu:1 against without (fake GPUs, emulated node mn1, $(date -u +%F))"
	echo
	echo "srun -N1 wall time, seconds; interleaved; each container job with a spare waiting; Slurm $(srun --version | cut -d' ' -f2), $(nproc) cores shared by 3 emulated nodes."
	echo
	echo "| job | median | p95 | min | max | n |"
	echo "| --- | --- | --- | --- | --- | --- |"
	row "plain srun true" plain
	row "plain, --gres=gpu:1" plain_gres
	row "--lxd-image" lxd
	row "--lxd-image --gres=gpu:1" lxd_gres
	echo
	echo "What the GPU adds in the container, beyond what it adds to plain Slurm:" \
		"$(awk -v a="$(med lxd_gres)" -v b="$(med lxd)" -v c="$(med plain_gres)" -v d="$(med plain)" \
			'BEGIN{printf "%.3f s (median; %.3f s with the container, %.3f s without)", (a-b)-(c-d), a-b, c-d}')."
} >"$out/gres.md"
cat "$out/gres.md"
