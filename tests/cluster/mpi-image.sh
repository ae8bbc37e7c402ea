#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build the demo-mpi:1.0 test image once: Debian 12 from Debian packages
# (mmdebstrap: openmpi-bin, libopenmpi-dev, libpmix2) with mpi-hello.c
# compiled inside it, as an LXD unified tarball.  Cached: a second run with
# the tarball present does nothing.
#   bash tests/cluster/mpi-image.sh OUT.tar.gz
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$1
[ -s "$out" ] && exit 0
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
echo "[mpi-image] building $out with mmdebstrap (a few minutes, once)"
mmdebstrap --quiet --variant=apt \
	--include=openmpi-bin,libopenmpi-dev,libpmix2,gcc,libc6-dev \
	--customize-hook="cp '$here/mpi-hello.c' \"\$1/tmp/mpi-hello.c\"" \
	--customize-hook='chroot "$1" mpicc -O2 -o /usr/local/bin/mpi-hello /tmp/mpi-hello.c' \
	--customize-hook='rm -f "$1/tmp/mpi-hello.c"; echo image:demo-mpi >"$1/etc/slxd-image"' \
	--customize-hook='rm -rf "$1/var/cache/apt/archives/"*.deb "$1/var/lib/apt/lists/"*' \
	bookworm "$d/rootfs" http://deb.debian.org/debian
printf 'architecture: x86_64\ncreation_date: %s\nproperties:\n  description: slurm-lxd MPI test image (Debian 12, OpenMPI, PMIx)\n  os: debian\n' \
	"$(date +%s)" >"$d/metadata.yaml"
tar --numeric-owner -C "$d" -czf "$out.tmp" metadata.yaml rootfs
mv -f "$out.tmp" "$out"
