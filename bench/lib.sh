# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash
# shellcheck disable=SC2154 # raw and BENCH_TAG: the sourcing script sets them
# The bench's shared shell, sourced by the scripts in bench/ (not run).
# A script sets, before calling these:
#   BENCH_TAG  what say's lines begin with ("bench", "burst", ...)
#   started    $(date +%s) at its start: say prints the seconds since
#              (unset: no seconds, as the sections run from run.sh print)
#   raw        its file of samples, one "KIND<TAB>SECONDS" a line
# stats prints "median p95 min max n" (p95 by nearest rank; "- - - - 0"
# with no sample), med the median alone: every table's figures come from
# these, so a median means the same in every section.

say() {
	if [ -n "${started:-}" ]; then
		printf '[%s %4ds] %s\n' "$BENCH_TAG" "$(($(date +%s) - started))" "$*" >&2
	else
		printf '[%s] %s\n' "$BENCH_TAG" "$*" >&2
	fi
}
now() { date +%s.%N; }
# CPU time spent by every process on the machine, in clock ticks (user,
# nice, system, irq, softirq): what LXD spends on containers, on a node
# that does nothing else
busy_jiffies() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8}' /proc/stat; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a-b}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN{if (b+0 == 0) print "-"; else printf "%.2f", a/b}'; }
record() { printf '%s\t%s\n' "$1" "$2" >>"$raw"; } # kind seconds
samples() { awk -F'\t' -v k="$1" '$1==k{print $2}' "$raw"; }
stats() { # kind
	samples "$1" | sort -g | awk '{v[NR]=$1} END{
		if (!NR) {print "- - - - 0"; exit}
		m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; p=int(0.95*NR+0.999)
		printf "%.3f %.3f %.3f %.3f %d\n", m, v[p], v[1], v[NR], NR}'
}
med() { stats "$1" | cut -d' ' -f1; }
mib() { awk -v b="$1" 'BEGIN{printf "%.1f", b / 1048576}'; } # bytes

# The test cluster's demo image with MB MiB of random bytes in its rootfs
# (they do not compress: the file is about that large), as DIR/image.tar.gz.
bench_padded_image() { # dir mb file-name
	mkdir "$1/img"
	tar -C "$1/img" -xzf "$SLXD_TEST_STATE/$SLXD_IMAGE_ALIAS.tar.gz"
	head -c "$(($2 << 20))" /dev/urandom >"$1/img/rootfs/$3"
	tar --numeric-owner --owner=0 --group=0 -C "$1/img" -czf "$1/image.tar.gz" metadata.yaml rootfs
	rm -rf "$1/img"
}

# How long each section took: `section NAME` ends the last one (a say line
# "NAME: N s") and begins the next; `section` alone ends the last.  The
# lines gather in section_times ("setup: 40 s, cached: 120 s, ...") for the
# report's header: the 30-minute budget of `make bench` is kept by them.
section_name='' section_t0=0 section_times=''
section() { # [name]
	if [ -n "$section_name" ]; then
		local s=$(($(date +%s) - section_t0))
		say "$section_name: $s s"
		section_times+="${section_times:+, }$section_name: $s s"
	fi
	section_name=${1:-} section_t0=$(date +%s)
}
