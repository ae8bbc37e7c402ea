# SPDX-License-Identifier: GPL-2.0-or-later
# shellcheck shell=bash disable=SC2154 # run.sh sets reg, raw, large_fp, pm
# Section 1/3 of `make bench`, by image format (issue 19 item 2): the large
# image's first job when it was pushed as zstd (slxd-registry push's
# default), and by hand, for each format LXD 5.0.2 takes, `lxc image
# import` + `lxc launch` (unpack into the pool, create, first start with
# its re-owning of every file) from a local file: gzip (the reference),
# zstd, no compression, and a split image with a squashfs rootfs (lz4),
# which the registry does not take (docs/benchmarks.md says why).
# Sourced by run.sh after its own pull section; uses its helpers.
LARGE_ZST=bench-large:zstd
BENCH_LARGE_PLAIN=${BENCH_LARGE_TAR%.gz}
BENCH_LARGE_SQFS=${BENCH_LARGE_TAR%.tar.gz}.lz4.sqfs
BENCH_LARGE_META=${BENCH_LARGE_TAR%.tar.gz}.meta.tar

# The other formats of the large image, built once next to it.
bench_large_formats() {
	local d
	if [ ! -s "$BENCH_LARGE_PLAIN" ]; then
		gzip -dc "$BENCH_LARGE_TAR" >"$BENCH_LARGE_PLAIN.tmp"
		mv "$BENCH_LARGE_PLAIN.tmp" "$BENCH_LARGE_PLAIN"
	fi
	if [ ! -s "$BENCH_LARGE_SQFS" ] || [ ! -s "$BENCH_LARGE_META" ]; then
		say "pull formats: building the squashfs rootfs (a minute or two)"
		d=$(mktemp -d "$BENCH_CACHE/sqfs.XXXXXX")
		tar -C "$d" --numeric-owner -xf "$BENCH_LARGE_PLAIN"
		tar -C "$d" --numeric-owner --owner=0 --group=0 -cf "$BENCH_LARGE_META.tmp" metadata.yaml
		mksquashfs "$d/rootfs" "$BENCH_LARGE_SQFS.tmp" -comp lz4 -noappend -quiet -no-progress >/dev/null
		rm -rf "$d"
		mv "$BENCH_LARGE_META.tmp" "$BENCH_LARGE_META"
		mv "$BENCH_LARGE_SQFS.tmp" "$BENCH_LARGE_SQFS"
	fi
}

# The large image pushed as users push it now (re-compressed as zstd by
# slxd-registry) and approved; sets large_zst_fp and large_zst_size.
pullfmt_setup() {
	local out
	bench_large_formats
	out=$("${reg[@]}" push "$BENCH_LARGE_TAR" --name "$LARGE_ZST" 2>/dev/null) || true
	large_zst_fp=$(printf '%s\n' "$out" | sed -n 's/.*(fingerprint \([0-9a-f]\{64\}\)).*/\1/p' | head -n1)
	[ -n "$large_zst_fp" ] || { echo "bench: pushing $LARGE_ZST failed: $out" >&2; exit 1; }
	"${reg[@]}" approve "$LARGE_ZST" --fingerprint "$large_zst_fp" >/dev/null 2>&1 || true
	large_zst_size=$("${reg[@]}" show "$LARGE_ZST" --json | jq -r '.approved.size // empty')
}

# run.sh's clean-up: what an interrupted run of these leaves
pullfmt_cleanup() {
	local fp
	for fp in $(cat "$raw.pullfmt" 2>/dev/null) ${large_zst_fp:-}; do
		lxc image delete "$fp" >/dev/null 2>&1
	done
	rm -f "$raw.pullfmt" "$BENCH_CACHE/download.tar.zst"
}

drop_fp() { # fingerprint: the image and its templates, as a first job finds the node
	wait_containers_gone
	drop_templates "$1"
	if lxc image info "$1" >/dev/null 2>&1; then lxc image delete "$1" >/dev/null; fi
	sync
}

# import FILES, launch, delete: the seconds of import + launch
hand_import_launch() { # name files...
	local c=$1 t0 t1 fp
	shift
	t0=$(now)
	fp=$(lxc image import "$@" 2>&1 | sed -n 's/.*fingerprint: \([0-9a-f]\{64\}\).*/\1/p')
	echo "$fp" >>"$raw.pullfmt" # (in a subshell: a variable would not outlive it)
	lxc launch "$fp" "$c" -s "$SLXD_POOL" >/dev/null
	t1=$(now)
	lxc delete -f "$c" >/dev/null
	lxc image delete "$fp" >/dev/null
	sync
	sub "$t1" "$t0"
}

pullfmt_runs() {
	local i n t0 t1 cred
	local runs=${PULLFMT_RUNS:-1}
	say "pull formats: $runs first jobs with $LARGE_ZST and $runs by hand of each format"
	for i in $(seq "$runs"); do
		drop_fp "$large_zst_fp"
		n=$(jobname)
		record pull_job_zstd "$(timed "srun -J $n --lxd-image=$LARGE_ZST true")"
		job_id "$n" >/dev/null
		drop_fp "$large_zst_fp"
		t0=$(now)
		cred=$(printf 'slxd-registry-v1\nGET\n/v1/blobs/%s\n%s\n' "$large_zst_fp" "$empty_sha" | munge)
		curl -sSf -H "Authorization: MUNGE $cred" -o "$BENCH_CACHE/download.tar.zst" \
			"$SLXD_REGISTRY_URL/v1/blobs/$large_zst_fp"
		t1=$(now)
		record pull_curl_zstd "$(sub "$t1" "$t0")"
		record hand_zstd "$(hand_import_launch "slxdbench$$-zst$i" "$BENCH_CACHE/download.tar.zst")"
		rm -f "$BENCH_CACHE/download.tar.zst"
		drop_fp "$large_fp"
		record hand_gzip "$(hand_import_launch "slxdbench$$-gz$i" "$BENCH_LARGE_TAR")"
		record hand_none "$(hand_import_launch "slxdbench$$-none$i" "$BENCH_LARGE_PLAIN")"
		record hand_sqfs "$(hand_import_launch "slxdbench$$-sqfs$i" "$BENCH_LARGE_META" "$BENCH_LARGE_SQFS")"
	done
	drop_fp "$large_zst_fp"
}

# rows of section 3 (run.sh's row()), the gzip'd image's by-hand figure
# the reference
pullfmt_rows() {
	local ref
	ref=$(med hand_gzip)
	row "first job: \`srun --lxd-image=$LARGE_ZST true\` (pushed as zstd, $(mb "${large_zst_size:-0}")), image not in LXD" pull_job_zstd "$ref" "$pm"
	row "… by hand: curl of that zstd blob" pull_curl_zstd - -
	row "by hand, from a local file: \`lxc image import\` + \`lxc launch\`, gzip (the reference)" hand_gzip "$ref" -
	row "… the same, zstd (what \`slxd-registry push\` sends now)" hand_zstd "$ref" -
	row "… the same, no compression ($(mb "$(stat -c %s "$BENCH_LARGE_PLAIN")"))" hand_none "$ref" -
	row "… the same, split image, squashfs rootfs (lz4, $(mb "$(stat -c %s "$BENCH_LARGE_SQFS")"); not taken by the registry)" hand_sqfs "$ref" -
}

# BENCH_ONLY=pull: only these figures and the gzip'd image's first job,
# printed as a table (for trying; `make bench` puts them in section 3)
pullfmt_only() {
	local i n k m p mn mx c
	empty_sha=$(printf '' | sha256sum | cut -d' ' -f1)
	pullfmt_setup
	for i in $(seq "$PULL_RUNS"); do
		drop_fp "$large_fp"
		n=$(jobname)
		record pull_job "$(timed "srun -J $n --lxd-image=$LARGE true")"
		job_id "$n" >/dev/null
	done
	drop_fp "$large_fp"
	pullfmt_runs
	echo "### First job with the large image, by format ($(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo
	echo "| what | median | p95 | min | max | n |"
	echo "| --- | --- | --- | --- | --- | --- |"
	for k in pull_job pull_job_zstd pull_curl_zstd hand_gzip hand_zstd hand_none hand_sqfs; do
		read -r m p mn mx c < <(stats "$k")
		echo "| $k | $m | $p | $mn | $mx | $c |"
	done
}
