#!/usr/bin/env bash
# `make bench`: job start overhead on the one-node test cluster.
# Measures, in one run, `srun true` against `srun --lxd-image=IMG true` (image
# cached on the node; each run is a new job, so it includes creating,
# starting and entering the container), and the time from a job's end until
# its container is gone.  Writes bench/results/latest.md.
#   RUNS=N (default 15)
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/cluster/env.sh"

bash "$top/tests/cluster/setup.sh" >/dev/null
RUNS=${RUNS:-15}
dir=$SLXD_TEST_SHARED/$SLXD_TEST_USER
out=$here/results
mkdir -p "$out"

as_alice() { runuser -u "$SLXD_TEST_USER" -- sh -c "cd '$dir' && $*"; }

# seconds (3 decimals) one command takes
timed() {
	local t0 t1
	t0=$(date +%s%N)
	as_alice "$@" >/dev/null 2>&1 || { echo "bench: '$*' failed" >&2; exit 1; }
	t1=$(date +%s%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.3f\n", (b-a)/1e9}'
}

# median and min/max of numbers on stdin
stats() { sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; printf "%.3f %.3f %.3f\n", m, v[1], v[NR]}'; }

wait_gone() { # job -> seconds until its container is gone, measured from now
	local t0 i
	t0=$(date +%s%N)
	for i in $(seq 600); do
		lxc info "slurm-$1" >/dev/null 2>&1 || break
		sleep 0.05
	done
	awk -v a="$t0" -v b="$(date +%s%N)" 'BEGIN{printf "%.3f\n", (b-a)/1e9}'
}

echo "bench: $RUNS runs each (warming up first)" >&2
timed "srun true" >/dev/null
timed "srun --lxd-image=$SLXD_IMAGE true" >/dev/null
plain=() lxd=() gone=()
for _ in $(seq "$RUNS"); do
	# interleave, so drift in the machine's load hits both alike
	plain+=("$(timed "srun true")")
	lxd+=("$(timed "srun --lxd-image=$SLXD_IMAGE true")")
	job=$(squeue -h -t all -u "$SLXD_TEST_USER" -o %i --sort=-i | head -1)
	gone+=("$(wait_gone "$job")")
done

read -r pm pmin pmax < <(printf '%s\n' "${plain[@]}" | stats)
read -r lm lmin lmax < <(printf '%s\n' "${lxd[@]}" | stats)
read -r gm gmin gmax < <(printf '%s\n' "${gone[@]}" | stats)
over=$(awk -v a="$lm" -v b="$pm" 'BEGIN{printf "%.3f", a-b}')
ratio=$(awk -v a="$lm" -v b="$pm" 'BEGIN{printf "%.2f", a/b}')

{
	echo "# slurm-lxd job start overhead"
	echo
	echo "$(date -u +%Y-%m-%d), $(nproc) cores, $(uname -r), Slurm $(sinfo -V | awk '{print $2}'), LXD $(lxd --version), $RUNS runs each, seconds"
	echo
	echo "| what | median | min | max | ratio to plain srun |"
	echo "| --- | --- | --- | --- | --- |"
	echo "| \`srun true\` | $pm | $pmin | $pmax | 1.00 |"
	echo "| \`srun --lxd-image=$SLXD_IMAGE true\` (1 MB busybox image, cached) | $lm | $lmin | $lmax | $ratio |"
	echo "| overhead (median difference) | $over | | | |"
	echo "| job end (srun returned) until its container is gone | $gm | $gmin | $gmax | |"
} | tee "$out/latest.md"
