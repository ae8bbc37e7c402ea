#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Build an MPI test image once: Debian 12 from Debian packages (mmdebstrap)
# with mpi-hello.c compiled inside it, as an LXD unified tarball.  Cached: a
# second run with the tarball present does nothing.
#   openmpi (demo-mpi:1.0): openmpi-bin, libopenmpi-dev, libpmix2 (--mpi=pmix)
#   mpich (demo-mpich:1.0): mpich, libmpich-dev; MPICH's own simple PMI
#     client speaks PMI-1 over the PMI_FD that Slurm's mpi/pmi2 gives a task
#   bash tests/cluster/mpi-image.sh OUT.tar.gz [openmpi|mpich]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=$1 mpi=${2:-openmpi}
[ -s "$out" ] && exit 0
case $mpi in
openmpi) pkgs=openmpi-bin,libopenmpi-dev,libpmix2 what="OpenMPI, PMIx" ;;
mpich) pkgs=mpich,libmpich-dev what="MPICH" ;;
*) echo "mpi-image.sh: unknown MPI '$mpi': use openmpi or mpich" >&2; exit 2 ;;
esac
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
echo "[mpi-image] building $out with mmdebstrap (a few minutes, once)"
mmdebstrap --quiet --variant=apt \
	--include="$pkgs,gcc,libc6-dev" \
	--customize-hook="cp '$here/mpi-hello.c' \"\$1/tmp/mpi-hello.c\"" \
	--customize-hook='chroot "$1" mpicc -O2 -o /usr/local/bin/mpi-hello /tmp/mpi-hello.c' \
	--customize-hook='rm -f "$1/tmp/mpi-hello.c"; echo image:'"$(basename "$out" .tar.gz)"' >"$1/etc/slxd-image"' \
	--customize-hook='rm -rf "$1/var/cache/apt/archives/"*.deb "$1/var/lib/apt/lists/"*' \
	bookworm "$d/rootfs" http://deb.debian.org/debian
printf 'architecture: x86_64\ncreation_date: %s\nproperties:\n  description: slurm-lxd MPI test image (Debian 12, %s)\n  os: debian\n' \
	"$(date +%s)" "$what" >"$d/metadata.yaml"
tar --numeric-owner -C "$d" -czf "$out.tmp" metadata.yaml rootfs
mv -f "$out.tmp" "$out"
