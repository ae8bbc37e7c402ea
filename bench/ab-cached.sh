#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Two builds of the node side on the cached path, side by side: RUNS cached
# `srun --lxd-image=IMAGE true` jobs (as bench/run.sh section 2 times them:
# a settled node, the user's spare waiting), the plugin and slxd-prolog of
# build A and of build B installed in turn before each job, interleaved so
# the machine's drift hits both alike.  Run on the one-node test cluster
# (after tests/cluster/setup.sh, under its lock); the tree's own build is
# installed again at the end.
#   bash bench/ab-cached.sh A-BUILD-DIR B-BUILD-DIR [RUNS]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/cluster/env.sh"
A=$1 B=$2 RUNS=${3:-10}
plugdir=$(dirname "$(find /usr/lib -name spank_lxd.so -path '*slurm*' | head -1)")
dir=$SLXD_TEST_SHARED/$SLXD_TEST_USER
put() { # build dir
	install -m 0755 "$1/spank_lxd.so" "$plugdir/spank_lxd.so"
	install -m 0755 "$1/slxd-prolog" /usr/local/sbin/slxd-prolog
}
settle() {
	local i
	for i in $(seq 600); do
		[ -z "$(squeue -h -u "$SLXD_TEST_USER" -t CG,R -o %i 2>/dev/null)" ] && return 0
		sleep 0.05
	done
}
spare_ready() { # the user's idle spare (lib/spare.h), at most 30 s
	local i n
	for i in $(seq 300); do
		for n in $(lxc list --format csv -c n 2>/dev/null | grep '^slxd-spare-'); do
			[ "$(lxc config get "$n" user.slurm.role 2>/dev/null)" = spare ] &&
				[ "$(lxc config get "$n" user.slurm.uid 2>/dev/null)" = "$SLXD_TEST_UID" ] && return 0
		done
		sleep 0.1
	done
}
one() { # label
	local t0 t1
	settle
	spare_ready
	t0=$(date +%s.%N)
	runuser -u "$SLXD_TEST_USER" -- sh -c "cd '$dir' && srun --lxd-image=$SLXD_IMAGE true" >/dev/null 2>&1
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" -v l="$1" 'BEGIN{printf "%s\t%.3f\n", l, b - a}'
}
trap 'put "$top/build"' EXIT
raw=$(mktemp)
put "$A"; one warm >/dev/null
for i in $(seq "$RUNS"); do
	put "$A"; one A >>"$raw"
	put "$B"; one B >>"$raw"
done
for l in A B; do
	awk -F'\t' -v l="$l" '$1==l{print $2}' "$raw" | sort -n |
		awk -v l="$l" '{v[NR]=$1} END{printf "%s: n=%d p50=%.3f min=%.3f max=%.3f\n", l, NR, (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2), v[1], v[NR]}'
done
rm -f "$raw"
