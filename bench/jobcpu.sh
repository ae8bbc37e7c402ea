#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Where a container job's CPU goes, by process: JOBCPU_N sequential
# `srun --lxd-image=demo:1.0 true` with spares off (each container made from
# the template and deleted by the epilog), then JOBCPU_N plain `srun true`,
# each job waited for until its container and every slurmstepd and
# slxd-epilog are gone.  Exited processes are charged from BSD process
# accounting (package acct), by the command line the kernel's process
# connector saw at their exec (bench/procwatch.py); the daemons that stay
# (lxd, slurmd, slurmctld, munged, lxcfs, slxd-registryd, rsyslogd) by
# /proc/PID/stat before and after.  Only the cluster's process trees are
# charged; the rest of the shared machine is one line.  Not seen: kernel
# threads (btrfs cleaner, kworkers).  Alone, as root, under the lock:
#   flock -o /tmp/slxd-cluster.lock bash bench/jobcpu.sh
#   JOBCPU_N=20  jobs per kind    JOBCPU_OUT=DIR  keep the raw files there
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
# shellcheck source=tests/cluster/env.sh
. "$top/tests/cluster/env.sh"
[ "$(id -u)" = 0 ] || { echo "jobcpu: run as root" >&2; exit 1; }
command -v accton >/dev/null || { echo "jobcpu: needs accton (apt-get install acct)" >&2; exit 1; }
N=${JOBCPU_N:-20}
out=${JOBCPU_OUT:-$(mktemp -d)}
node_conf=/etc/slurm/spank_lxd.conf
mkdir -p "$out"
watch_pid=
cleanup() {
	set +e
	accton off >/dev/null 2>&1
	[ -z "$watch_pid" ] || kill "$watch_pid" 2>/dev/null
	[ ! -e "$node_conf.jobcpu-saved" ] || mv -f "$node_conf.jobcpu-saved" "$node_conf"
	[ -n "${JOBCPU_OUT:-}" ] || rm -rf "$out"
}
trap cleanup EXIT
cp -p "$node_conf" "$node_conf.jobcpu-saved"
echo "spare_max_idle=0" >>"$node_conf"

snapshot() { # pid starttime ticks ppid argv of every process
	local f pid rest argv line
	for f in /proc/[0-9]*/stat; do
		pid=${f#/proc/}
		pid=${pid%/stat}
		{ read -r rest <"$f"; } 2>/dev/null || continue
		rest=${rest##*) }
		argv=()
		mapfile -t -d '' argv <"/proc/$pid/cmdline" 2>/dev/null || true
		line="${argv[*]:0:3}"
		line=${line//[[:space:]]/ }
		# shellcheck disable=SC2086
		set -- $rest
		printf '%s %s %s %s %s\n' "$pid" "${20}" "$((${12} + ${13}))" "$2" "${line:0:200}"
	done
}
busy() { # no job process left, no job container left
	local f c
	for f in /proc/[0-9]*/comm; do
		{ read -r c <"$f"; } 2>/dev/null || continue
		case $c in slurmstepd | slxd-epilog) return 0 ;; esac
	done
	for f in "$SLXD_RUNTIME_DIR"/containers/slurm-*; do [ -e "$f" ] && return 0; done
	return 1
}
quiet() { local i; for i in $(seq 600); do busy || return 0; sleep 0.1; done; echo "jobcpu: jobs still there" >&2; }

window() { # name srun-options
	local w=$out/$1 i
	mkdir -p "$w"
	quiet
	cat "$SLXD_TEST_RUN"/*.pid >"$w/roots"
	echo "$BASHPID" >"$w/bench"
	: >"$w/ids"
	python3 "$here/procwatch.py" "$w/watch" &
	watch_pid=$!
	for i in $(seq 300); do [ -s "$w/watch" ] && break; sleep 0.1; done
	[ -s "$w/watch" ] || { echo "jobcpu: procwatch.py did not start" >&2; exit 1; }
	: >"$w/acct"
	accton "$w/acct" >/dev/null
	snapshot >"$w/before"
	local j0 j1
	j0=$(awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat)
	for i in $(seq "$N"); do
		# -v: its job id, so that containers of other clusters on this
		# LXD (the multi-node one) are told apart
		runuser -u "$SLXD_TEST_USER" -- sh -c "cd /tmp && srun -v $2 true" 2>"$w/srun.err" ||
			echo "jobcpu: job $i failed" >&2
		sed -n 's/^srun: jobid \([0-9]*\):.*/\1/p' "$w/srun.err" | head -1 >>"$w/ids"
		quiet
	done
	j1=$(awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat)
	snapshot >"$w/after"
	accton off >/dev/null
	kill "$watch_pid"
	wait "$watch_pid" 2>/dev/null || true
	watch_pid=
	echo "$j0 $j1" >"$w/node"
	python3 "$here/jobcpu.py" "$w" "$N" >"$w/table"
}
window lxd "--lxd-image=$SLXD_IMAGE"
window plain ""
echo "### Where a container job's CPU goes (\`bench/jobcpu.sh\`)"
echo
echo "CPU-seconds per job, by process ($N jobs each, spares off; $(date -u '+%F %H:%M') UTC):"
echo
join -t $'\t' -a1 -a2 -e 0 -o 0,1.2,2.2 <(sort "$out/lxd/table") <(sort "$out/plain/table") |
	awk -F'\t' '{printf "%s\t%.3f\t%.3f\t%.3f\n", $1, $2, $3, $2-$3}' | sort -t $'\t' -k4,4gr |
	awk -F'\t' 'BEGIN{print "| process | container job | plain job | difference |"; print "| --- | --- | --- | --- |"}
		$1 !~ /outside/ {a+=$2; b+=$3} {printf "| %s | %s | %s | %s |\n", $1, $2, $3, $4}
		END{printf "| **total, the cluster'"'"'s processes** | %.3f | %.3f | %.3f |\n", a, b, a-b}'
for k in lxd plain; do
	read -r j0 j1 <"$out/$k/node"
	awk -v a="$j0" -v b="$j1" -v n="$N" -v k="$k" 'BEGIN{printf "whole node (/proc/stat, others included), %s: %.3f s per job\n", k, (b-a)/100/n}'
done
