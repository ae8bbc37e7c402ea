# SPDX-License-Identifier: GPL-2.0-or-later
# Images for `make bench`, built locally (nothing is downloaded) and cached
# under $BENCH_CACHE so a rerun does not rebuild them.  Sourced by run.sh.
#   small: the test cluster's demo image (setup.sh builds it: busybox, ~2 MB)
#   large: busybox + $BENCH_LARGE_FILES files, $BENCH_LARGE_BYTES bytes
#   rootfs: a busybox tree for the OCI bundle and for Charliecloud
BENCH_CACHE=${BENCH_CACHE:-/var/tmp/slxd-bench}
BENCH_LARGE_FILES=${BENCH_LARGE_FILES:-55000}
BENCH_LARGE_BYTES=${BENCH_LARGE_BYTES:-1100000000}
BENCH_LARGE_TAR=$BENCH_CACHE/large-$BENCH_LARGE_FILES-$BENCH_LARGE_BYTES.tar.gz

# shellcheck source=tests/cluster/lib.sh
. "$here/../tests/cluster/lib.sh"

# The test image's busybox tree at $1, and what runc and ch-run expect.
bench_rootfs() {
	slxd_busybox_rootfs "$1"
	mkdir -p "$1/mnt"
	: >"$1/etc/hosts"
	: >"$1/etc/resolv.conf"
}

# The large image's unified LXD tarball, built once (a few minutes on 2 cores).
bench_large_tarball() {
	[ -s "$BENCH_LARGE_TAR" ] && return 0
	local d
	install -d -m 0755 "$BENCH_CACHE"
	d=$(mktemp -d "$BENCH_CACHE/build.XXXXXX")
	echo "bench: building the large image ($BENCH_LARGE_FILES files, $BENCH_LARGE_BYTES bytes) in $d" >&2
	bench_rootfs "$d/rootfs"
	python3 "$here/mkdata.py" "$d/rootfs/usr/share/bench-data" "$BENCH_LARGE_FILES" "$BENCH_LARGE_BYTES" >&2
	cat >"$d/metadata.yaml" <<EOM
architecture: x86_64
creation_date: 1764000000
properties:
  description: slurm-lxd benchmark image, $BENCH_LARGE_FILES files, $BENCH_LARGE_BYTES bytes
  os: busybox
EOM
	# fixed order and times, no gzip time stamp: the same bytes each build
	tar --numeric-owner --owner=0 --group=0 --sort=name --mtime=@1764000000 \
		-C "$d" -cf - metadata.yaml rootfs | pigz -n -6 >"$d/out.tar.gz"
	mv "$d/out.tar.gz" "$BENCH_LARGE_TAR"
	rm -rf "$d"
}

# A rootfs directory for Charliecloud and an OCI bundle around the same kind
# of tree for runc/crun, both readable by the test user.
bench_alt_images() { # uid
	local uid=$1 b=$BENCH_CACHE/oci-$1
	install -d -m 0755 "$BENCH_CACHE"
	if [ ! -x "$BENCH_CACHE/chroot/bin/busybox" ]; then
		rm -rf "$BENCH_CACHE/chroot.tmp"
		bench_rootfs "$BENCH_CACHE/chroot.tmp"
		mv "$BENCH_CACHE/chroot.tmp" "$BENCH_CACHE/chroot"
	fi
	if [ ! -s "$b/config.json" ]; then
		rm -rf "$b"
		install -d -m 0755 "$b"
		bench_rootfs "$b/rootfs"
		# runc's rootless template maps the caller's uid: make it as the user
		runuser -u "$(id -nu "$uid")" -- sh -c "cd /tmp && rm -rf slxd-bench-spec.$$ && mkdir slxd-bench-spec.$$ && runc spec --rootless --bundle slxd-bench-spec.$$ && cat slxd-bench-spec.$$/config.json && rm -rf slxd-bench-spec.$$" >"$b/config.json.tmp"
		# no terminal (srun's output is a pipe), read-only root, `true`
		jq '.process.terminal=false | .process.args=["/bin/true"] | .root.readonly=true' \
			"$b/config.json.tmp" >"$b/config.json"
		rm -f "$b/config.json.tmp"
	fi
}
