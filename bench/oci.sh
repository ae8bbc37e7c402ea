#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make bench, OCI conversion section (issue 16): an OCI image layout of
# about 1 GB in 4 layers (busybox + bench/mkdata.py trees, built here from
# local files and cached under $BENCH_CACHE), pushed as the test user by
#   ours:    slxd-registry push oci:DIR:TAG (converts as it reads, uploads)
#   by hand: skopeo copy oci:DIR:TAG oci:COPY:TAG, umoci unpack --rootless,
#            tar | gzip -6 of metadata.yaml + rootfs (the LXD tarball), then
#            slxd-registry push FILE (the same upload)
# interleaved, each step timed.  Every version pushed is deleted again.
# Writes bench/results/oci.md; run it under the cluster's lock:
#   flock -o /tmp/slxd-cluster.lock bash bench/oci.sh
#   OCI_MB=1000   the image's files in MB (BENCH_QUICK=1: 200)
#   OCI_RUNS=2    runs of each (BENCH_QUICK=1: 1)
#   OCI_BUILD_ONLY=1  only build (and cache) the layout; no lock needed
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/.." && pwd)
. "$top/tests/cluster/env.sh"
. "$here/images.sh"
[ "$(id -u)" = 0 ] || { echo "bench/oci.sh: run as root" >&2; exit 1; }
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	OCI_MB=${OCI_MB:-200} OCI_RUNS=${OCI_RUNS:-1}
fi
OCI_MB=${OCI_MB:-1000} OCI_RUNS=${OCI_RUNS:-2}
LAYERS=4
NAME=bench-oci
out=$here/results
mkdir -p "$out"
layout=$BENCH_CACHE/oci-layout-$OCI_MB
reg=(slxd-registry --registry "$SLXD_REGISTRY_URL")
work=$(mktemp -d /var/tmp/slxd-bench-oci-XXXXXX)
chown "$SLXD_TEST_USER" "$work"
fps=()
cleanup() {
	local f
	for f in "${fps[@]}"; do
		"${reg[@]}" delete "$NAME:${f%%:*}" --fingerprint "${f#*:}" >/dev/null 2>&1 || true
	done
	rm -rf "$work"
}
trap cleanup EXIT
BENCH_TAG="bench oci"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
user() { runuser -u "$SLXD_TEST_USER" -- env TMPDIR="$work" sh -c "cd '$work' && $*"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

# One layer: DIR's tree as a tar (fixed order, owners, times), gzip'd, as a
# blob; prints "DIFF_ID BLOB_DIGEST BLOB_SIZE".
mklayer() { # blobs-dir tree-dir
	local t
	t=$(mktemp "$1/layer.XXXXXX")
	tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@1764000000 -C "$2" -cf - . |
		tee >(sha256sum | cut -d' ' -f1 >"$t.diff") | pigz -n -6 >"$t"
	local d
	d=$(sha "$t")
	mv "$t" "$1/$d"
	echo "sha256:$(cat "$t.diff") sha256:$d $(stat -c %s "$1/$d")"
	rm -f "$t.diff"
}

# The layout, built once: layer 1 is busybox and a quarter of the data,
# layers 2-4 a quarter each, in directories of their own.
build_layout() {
	[ -s "$layout/index.json" ] && return 0
	local b=$layout.tmp i per files diff=() man=() l cfg m
	rm -rf "$b"
	mkdir -p "$b/blobs/sha256" "$b/trees"
	per=$((OCI_MB * 1000000 / LAYERS))
	files=$((OCI_MB * 20 / LAYERS)) # 20 files a MB: the large image's density
	say "building a $OCI_MB MB OCI layout in $LAYERS layers in $b (once)"
	for i in $(seq 1 $LAYERS); do
		[ "$i" = 1 ] && bench_rootfs "$b/trees/$i"
		python3 "$here/mkdata.py" "$b/trees/$i/usr/share/bench-oci/part$i" "$files" "$per" >&2
		read -r -a l < <(mklayer "$b/blobs/sha256" "$b/trees/$i")
		rm -rf "$b/trees/$i"
		diff+=("\"${l[0]}\"")
		man+=("{\"mediaType\": \"application/vnd.oci.image.layer.v1.tar+gzip\", \"digest\": \"${l[1]}\", \"size\": ${l[2]}}")
	done
	cfg=$(printf '{"architecture": "amd64", "os": "linux", "created": "2025-11-25T00:00:00Z", "config": {"Env": ["PATH=/usr/bin:/bin"]}, "rootfs": {"type": "layers", "diff_ids": [%s]}}' \
		"$(IFS=,; echo "${diff[*]}")")
	printf '%s' "$cfg" >"$b/cfg"
	cfg=$(sha "$b/cfg")
	mv "$b/cfg" "$b/blobs/sha256/$cfg"
	printf '{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": "sha256:%s", "size": %s}, "layers": [%s]}' \
		"$cfg" "$(stat -c %s "$b/blobs/sha256/$cfg")" "$(IFS=,; echo "${man[*]}")" >"$b/man"
	m=$(sha "$b/man")
	printf '{"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": "sha256:%s", "size": %s, "annotations": {"org.opencontainers.image.ref.name": "bench"}}]}' \
		"$m" "$(stat -c %s "$b/man")" >"$b/index.json"
	mv "$b/man" "$b/blobs/sha256/$m"
	echo '{"imageLayoutVersion": "1.0.0"}' >"$b/oci-layout"
	rmdir "$b/trees"
	chmod -R a+rX "$b"
	mv "$b" "$layout"
}

declare -A samples
rec() { samples[$1]="${samples[$1]:-} $2"; }
med() { tr ' ' '\n' <<<"${samples[$1]:-}" | grep . | sort -g | awk '{a[NR]=$1} END{if (NR) printf "%.1f", (NR % 2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; else print "-"}'; }
span() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b-a}'; }
fp_of() { jq -r .fingerprint <<<"$1"; }

ours() { # run
	local t0 t1 o
	t0=$(now)
	o=$(user "/usr/bin/time -f '%U %S' -o ours.cpu slxd-registry --registry $SLXD_REGISTRY_URL push oci:$layout:bench --name $NAME:ours$1 --json")
	t1=$(now)
	fps+=("ours$1:$(fp_of "$o")")
	rec ours_total "$(span "$t0" "$t1")"
	rec ours_cpu "$(awk '{printf "%.1f", $1 + $2}' "$work/ours.cpu")"
	# what push oci: uploads: zstd from the converter (gzip before issue 19)
	ours_comp=$(jq -r '.oci.compression // "gzip, re-compressed to zstd"' <<<"$o" 2>/dev/null || echo "?")
	ours_entries=$(jq -r .oci.entries <<<"$o" 2>/dev/null || echo "?")
}

by_hand() { # run
	local t0 t1 t2 t3 t4 o
	user "rm -rf copy bundle image.tar.gz"
	t0=$(now)
	user "skopeo copy -q oci:$layout:bench oci:copy:bench"
	t1=$(now)
	user "umoci unpack --rootless --image copy:bench bundle >/dev/null"
	t2=$(now)
	# the LXD unified tarball of that rootfs
	user "printf 'architecture: x86_64\ncreation_date: 1764000000\nproperties:\n  os: busybox\n' >bundle/metadata.yaml &&
		tar --numeric-owner --owner=0 --group=0 -C bundle -cf - metadata.yaml rootfs | gzip -6 >image.tar.gz"
	t3=$(now)
	o=$(user "slxd-registry --registry $SLXD_REGISTRY_URL push image.tar.gz --name $NAME:hand$1 --json")
	t4=$(now)
	fps+=("hand$1:$(fp_of "$o")")
	rec hand_skopeo "$(span "$t0" "$t1")"
	rec hand_umoci "$(span "$t1" "$t2")"
	rec hand_tar "$(span "$t2" "$t3")"
	rec hand_push "$(span "$t3" "$t4")"
	rec hand_total "$(span "$t0" "$t4")"
	hand_gz=$(stat -c %s "$work/image.tar.gz")
	user "chmod -R u+rwX bundle; rm -rf copy bundle image.tar.gz"
}

install -d -m 0755 "$BENCH_CACHE"
build_layout
[ "${OCI_BUILD_ONLY:-0}" = 0 ] || exit 0
blobs=$(du -sb "$layout/blobs" | cut -f1)
for r in $(seq 1 "$OCI_RUNS"); do
	say "run $r of $OCI_RUNS: slxd-registry push oci:, then by hand"
	ours "$r"
	by_hand "$r"
done
conv=$(awk -v a="$(med ours_total)" -v b="$(med hand_push)" 'BEGIN{printf "%.1f", a-b}')
{
	echo "### OCI image to LXD image: \`slxd-registry push oci:DIR\` against skopeo + umoci + tar by hand"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), as $SLXD_TEST_USER, TMPDIR on $(df --output=fstype "$work" | tail -1); skopeo $(skopeo --version | awk '{print $3}'), umoci $(umoci --version | awk '{print $3}'). The image: $LAYERS gzip'd layers, $((blobs / 1000000)) MB of blobs, $OCI_MB MB of files (bench/mkdata.py), $ours_entries entries. Ours uploads $ours_comp. Median of $OCI_RUNS run(s), seconds$([ "${BENCH_QUICK:-0}" = 1 ] && echo ', BENCH_QUICK: not a result')."
	echo
	echo "| step | ours | by hand |"
	echo "| --- | --- | --- |"
	echo "| skopeo copy oci: oci: | - | $(med hand_skopeo) |"
	echo "| umoci unpack --rootless (decompress, write the files) | - | $(med hand_umoci) |"
	echo "| tar \\| gzip -6 (the LXD tarball, $((hand_gz / 1000000)) MB) | - | $(med hand_tar) |"
	echo "| convert (ours: total minus the by-hand upload) | $conv | $(awk -v a="$(med hand_skopeo)" -v b="$(med hand_umoci)" -v c="$(med hand_tar)" 'BEGIN{printf "%.1f", a+b+c}') |"
	echo "| upload + the registry's check (slxd-registry push FILE) | (in the total) | $(med hand_push) |"
	echo "| **total** | **$(med ours_total)** | **$(med hand_total)** |"
	echo "| CPU of slxd-registry push oci: (user + system) | $(med ours_cpu) | - |"
} >"$out/oci.md"
cat "$out/oci.md"
