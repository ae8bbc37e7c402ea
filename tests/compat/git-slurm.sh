#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Lay out one Slurm release's public headers from a clone of Slurm's git
# repository, for a by-hand `make compat-build-one`: what docs/compatibility.md's
# compatibility table was checked with for the releases Debian does not
# package.  Nothing of Slurm's is kept in this tree.
#
#   tests/compat/git-slurm.sh SLURM_GIT TAG DIR   (e.g. ... slurm-24-05-8-1 build/compat/slurm-24.05)
#   make compat-build-one SLURM_ROOT=DIR COMPAT_NAME=24.05
#
# slurm_version.h is made at Slurm's build from slurm_version.h.in and
# META; this does the same with sed.  There is no libslurm.so: the plugin
# links without one, slxd-gc is compiled only.
set -euo pipefail
git=${1:?usage: git-slurm.sh SLURM_GIT TAG DIR}
tag=${2:?usage: git-slurm.sh SLURM_GIT TAG DIR}
dir=${3:?usage: git-slurm.sh SLURM_GIT TAG DIR}

meta() { git --git-dir="$git" show "$tag:META" | awk -v k="$1:" '$1 == k {print $2; exit}'; }
major=$(meta Major) minor=$(meta Minor) micro=$(meta Micro)
[ -n "$major" ] && [ -n "$minor" ] && [ -n "$micro" ] || { echo "git-slurm.sh: no version in $tag:META" >&2; exit 1; }
num=$(printf '0x%02x%02x%02x' "$major" "$minor" "$micro")

mkdir -p "$dir/usr/include/slurm"
for h in $(git --git-dir="$git" ls-tree --name-only "$tag" slurm/ | grep '\.h$'); do
	git --git-dir="$git" show "$tag:$h" >"$dir/usr/include/$h"
done
git --git-dir="$git" show "$tag:slurm/slurm_version.h.in" |
	sed "s/^#undef SLURM_VERSION_NUMBER\$/#define SLURM_VERSION_NUMBER $num/" >"$dir/usr/include/slurm/slurm_version.h"
grep -q "^#define SLURM_VERSION_NUMBER $num\$" "$dir/usr/include/slurm/slurm_version.h"
echo "git-slurm.sh: Slurm $major.$minor.$micro ($tag) headers in $dir"
