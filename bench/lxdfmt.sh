#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Where `lxc launch` of one image goes, on an LXD you name (LXD_DIR; a
# default profile with a root disk), issue 19 item 2:
#   bash bench/lxdfmt.sh LABEL FILE [ROOTFS]
# imports FILE (and ROOTFS: a split image), then `lxc init` (unpack into
# the pool + snapshot) and `lxc start` (re-owning + start), each as wall
# seconds and CPU seconds of the LXD daemon plus the unpackers it waited
# for; says whether LXD re-owned the files (volatile.last_state.idmap).
# Leaves nothing behind.  docs/benchmarks.md, "First pull by image format".
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: LXD_DIR=DIR $0 LABEL FILE [ROOTFS]" >&2; exit 2; }
lbl=$1
shift
pid=${LXD_PID:-$(pidof -s lxd)} # the daemon of LXD_DIR (LXD_PID if several run)
cpu() { awk '{printf "%.2f", ($14 + $15 + $16 + $17) / 100}' "/proc/$pid/stat"; }
now() { date +%s.%N; }
c=slxdfmt$$
c0=$(cpu) t0=$(now)
fp=$(lxc image import "$@" 2>&1 | sed -n 's/.*fingerprint: \([0-9a-f]\{64\}\).*/\1/p')
[ -n "$fp" ] || { echo "import failed" >&2; exit 1; }
c1=$(cpu) t1=$(now)
lxc init "$fp" "$c" -q >/dev/null
c2=$(cpu) t2=$(now)
lxc start "$c" -q 2>/dev/null
c3=$(cpu) t3=$(now)
idmap=$(lxc config get "$c" volatile.last_state.idmap)
lxc delete -f "$c" >/dev/null
lxc image delete "$fp" >/dev/null
awk -v l="$lbl" -v t0="$t0" -v t1="$t1" -v t2="$t2" -v t3="$t3" -v c0="$c0" -v c1="$c1" \
	-v c2="$c2" -v c3="$c3" -v r="$([ "$idmap" = "[]" ] && echo no || echo yes)" \
	-v ld="$(cut -d' ' -f1 /proc/loadavg)" 'BEGIN{
	printf "%s: import %.2f s (cpu %.2f), init %.2f (cpu %.2f), start %.2f (cpu %.2f); re-owned: %s; load %s\n",
		l, t1-t0, c1-c0, t2-t1, c2-c1, t3-t2, c3-c2, r, ld }'
