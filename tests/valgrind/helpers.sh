#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# The helpers that run without a cluster, under valgrind: each case must
# end with its expected exit status and a clean message, and valgrind must
# report nothing.  Nothing here reaches LXD, Slurm or MUNGE: the job id is
# one no real job has, and the configs that get as far as LXD point at a
# socket that does not exist.
#
#   bash tests/valgrind/helpers.sh [BUILD]      (default build/)
set -u
BUILD=${1:-build}
EPILOG=$BUILD/slxd-epilog
# 99, not 1: exit 1 is a status the epilog itself uses.
VG=(valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,possible)
JOB=4294967295 # the largest job id: never a real job on the test cluster

if [ "$(id -u)" != 0 ]; then
	echo "tests/valgrind/helpers.sh: needs root (the epilog accepts only root-owned configs)" >&2
	exit 1
fi
# Configs that fall back to the defaults look in the real state_dir: only
# an access(2) there, as long as no marker for this id exists.
if [ -e "/run/slurm-lxd/job-$JOB.lock" ]; then
	echo "tests/valgrind/helpers.sh: /run/slurm-lxd/job-$JOB.lock exists; refusing to run" >&2
	exit 1
fi
tmp=$(mktemp -d /tmp/slxd-valgrind-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0 n=0

# expect STATUS TEXT-IN-OUTPUT (or "") -- COMMAND...
expect() {
	local want=$1 text=$2 out rc
	shift 3
	n=$((n + 1))
	out=$(env -u SLURM_JOB_ID "${VG[@]}" "$@" 2>&1)
	rc=$?
	if [ "$rc" != "$want" ] || grep -qE '^==[0-9]+==' <<<"$out" ||
	   { [ -n "$text" ] && ! grep -qF -- "$text" <<<"$out"; }; then
		echo "FAIL: $* -> exit $rc (want $want${text:+, output with \"$text\"})"
		sed 's/^/    /' <<<"$out"
		fails=$((fails + 1))
	else
		echo "ok:   $* -> exit $rc"
	fi
}

conf() { # NAME MODE TEXT: a config file owned by root (we run as root)
	printf '%b' "$3" >"$tmp/$1"
	chmod "$2" "$tmp/$1"
}

mkdir -p "$tmp/state"
: >"$tmp/state/job-$JOB.lock" # as if this node had started a container
: >"$tmp/not-a-socket"
conf garbage.conf 644 'lxd_socket=relative\n\x01\xff garbage\n'
conf writable.conf 666 "state_dir=$tmp/state\n"
conf nosocket.conf 644 "state_dir=$tmp/state\nlxd_socket=$tmp/no.socket\nlxd_timeout=2\n"
conf notsocket.conf 644 "state_dir=$tmp/state\nlxd_socket=$tmp/not-a-socket\n"

# Job-id cases name a config whose state_dir is ours, so even an id that
# were wrongly accepted could not reach a real job's container.
safe=(--config "$tmp/nosocket.conf")
expect 0 "usage: slxd-epilog" -- "$EPILOG" --help
expect 2 "usage: slxd-epilog" -- "$EPILOG" --no-such-option
expect 2 "usage: slxd-epilog" -- "$EPILOG" --config
expect 2 "need a job id (argument or SLURM_JOB_ID), got none" -- "$EPILOG" "${safe[@]}"
for bad in abc 0 4294967296 18446744073709551616 12x 0x10 ""; do
	expect 2 "got an invalid one" -- "$EPILOG" "${safe[@]}" "$bad"
done
expect 2 "got an invalid one" -- "$EPILOG" "${safe[@]}" -- -5
expect 2 "got an invalid one" -- "$EPILOG" "${safe[@]}" 12 13
# A broken config falls back to the defaults (and says so); the job never
# had a container here, so that is all.
expect 0 "garbage.conf:1: lxd_socket: invalid path" -- "$EPILOG" --config "$tmp/garbage.conf" $JOB
expect 0 "must be owned by root and writable by no one else" -- "$EPILOG" --config "$tmp/writable.conf" $JOB
expect 0 "cannot open config file" -- "$EPILOG" --config "$tmp/missing.conf" $JOB
expect 0 "is not a regular file" -- "$EPILOG" --config "$tmp" $JOB
expect 0 "is not a regular file" -- "$EPILOG" --config /dev/null $JOB
# A marked job whose LXD cannot be reached: exit 1 (Slurm drains the node).
expect 1 "teardown failed: cannot use LXD socket $tmp/no.socket" -- "$EPILOG" --config "$tmp/nosocket.conf" $JOB
expect 1 "is not a unix socket" -- "$EPILOG" --config "$tmp/notsocket.conf" $JOB

echo "valgrind helpers: $((n - fails)) passed, $fails failed"
[ "$fails" = 0 ]
