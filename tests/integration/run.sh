#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The integration suite: real jobs, as ordinary users, on a real one-node
# cluster (slurmctld, slurmd, MUNGE) against a real LXD.  It sets the
# cluster up first (tests/cluster/setup.sh, idempotent) and ends with the
# line "N passed, N failed".
#   bash tests/integration/run.sh [NAME-PATTERN[|NAME-PATTERN...]]
# With SLXD_RUNTIME=incus the node runs its jobs on Incus
# (tests/cluster/incus.sh); the node config goes back to runtime=lxd and
# incusd is stopped when the suite ends, however it ends.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/tests/cluster/env.sh"
. "$here/lib.sh"

back_to_lxd() {
	[ "$SLXD_RUNTIME" = incus ] || return 0
	SLXD_RUNTIME=lxd bash "$top/tests/cluster/setup.sh" --node-conf
	(. "$top/tests/cluster/incus.sh"; incus_stop)
}
trap back_to_lxd EXIT
# SLXD_LANE_ENV: another cluster's lane (tests/compat/lane.sh), set up by
# it; the file, sourced after the cases, points them at that cluster.
[ -n "${SLXD_LANE_ENV:-}" ] || bash "$top/tests/cluster/setup.sh" || { echo "0 passed, 1 failed"; exit 1; }

ALICE_DIR=$SLXD_TEST_SHARED/$SLXD_TEST_USER
BOB_DIR=$SLXD_TEST_SHARED/$SLXD_TEST_USER2
IMG=$SLXD_IMAGE
NODE_CONF=/etc/slurm/spank_lxd.conf

# A case file that does not parse would silently run none of its cases.
for _casefile in cases faults registry security cache; do
	bash -n "$here/$_casefile.sh" || { echo "$_casefile.sh does not parse"; echo "0 passed, 1 failed"; exit 1; }
	. "$here/$_casefile.sh"
done
[ -z "${SLXD_LANE_ENV:-}" ] || . "$SLXD_LANE_ENV"
SLXD_REPORT=$(mktemp)
trap 'rm -f "$SLXD_REPORT"; back_to_lxd' EXIT

elapsed() { local ns=$(( $(date +%s%N) - $1 )); printf '%d.%d' $((ns / 1000000000)) $((ns / 100000000 % 10)); }

pattern=${1:-}
echo "runtime: $SLXD_RUNTIME_NAME ($SLXD_RUNTIME_SOCKET)"
passed=0 failed=0 failures=()
leftover_before=$(our_containers)
for t in $(declare -F | awk '{print $3}' | grep '^t_' ); do
	slxd_case_selected "$t" "$pattern" || continue
	[ -n "${SLXD_LANE_CASES:-}" ] && [[ " $SLXD_LANE_CASES " != *" ${t#t_} "* ]] && continue
	start=$(date +%s%N)
	: >"$SLXD_REPORT"
	if out=$( ("$t") 2>&1 ); then
		passed=$((passed + 1))
		printf 'ok   %-45s %5ss\n' "${t#t_}" "$(elapsed "$start")"
	else
		failed=$((failed + 1))
		failures+=("${t#t_}")
		printf 'FAIL %-45s %5ss\n%s\n' "${t#t_}" "$(elapsed "$start")" "$out"
	fi
	sed 's/^/       /' "$SLXD_REPORT"
done

# Nothing of ours may outlive the suite (the last case's job may still be
# in its epilog: give teardown the same minute the cases give it).
for _ in $(seq 600); do
	left=$(our_containers)
	[ -z "$left" ] || [ "$left" = "$leftover_before" ] && break
	sleep 0.1
done
if [ -n "$left" ] && [ "$left" != "$leftover_before" ]; then
	echo "FAIL containers left behind: $left"
	failed=$((failed + 1))
fi
# Templates and spares are the node's cache of the images the suite used: remove them.
sleep 1 # (the last job's end may not have started its template yet)
remove_node_cache
[ $((passed + failed)) = 0 ] && { echo "no case matches '$pattern'"; failed=1; }
[ ${#failures[@]} -gt 0 ] && echo "failed: ${failures[*]}"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
