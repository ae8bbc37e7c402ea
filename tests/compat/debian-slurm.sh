#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Unpack another Debian release's Slurm headers and libslurm into DIR, for
# `make compat-build`; nothing is installed on this machine.
#
#   tests/compat/debian-slurm.sh SUITE DIR      (e.g. trixie build/compat/slurm-trixie)
#
# The suite's apt source is added with pin priority 1, so apt never takes a
# package from it unless asked by name (the host stays Debian 12); then
# `apt-get download` and `dpkg-deb -x`.  Idempotent: a DIR already holding
# slurm_version.h is left as it is, and apt's lists are only refreshed when
# the suite's libslurm-dev is unknown.  As root (apt's source list).
set -euo pipefail

suite=${1:?usage: debian-slurm.sh SUITE DIR}
dir=${2:?usage: debian-slurm.sh SUITE DIR}
inc=$dir/usr/include/slurm/slurm_version.h

if [ -f "$inc" ]; then
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "debian-slurm.sh: run as root (adds the $suite apt source)" >&2; exit 1; }

src=/etc/apt/sources.list.d/slxd-$suite.sources
pin=/etc/apt/preferences.d/slxd-$suite
want_src="Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
want_pin="Package: *
Pin: release n=$suite
Pin-Priority: 1"
# The pin first: never a moment with the source and no pin.
[ "$(cat "$pin" 2>/dev/null)" = "$want_pin" ] || printf '%s\n' "$want_pin" >"$pin"
[ "$(cat "$src" 2>/dev/null)" = "$want_src" ] || printf '%s\n' "$want_src" >"$src"

# (apt-cache exits 0 with nothing printed for a release it has no lists of)
if ! apt-cache show "libslurm-dev/$suite" 2>/dev/null | grep -q '^Package:'; then
	echo "debian-slurm.sh: refreshing apt's lists for $suite"
	apt-get update -qq -o Dir::Etc::sourcelist="$src" -o Dir::Etc::sourceparts=- \
		-o APT::Get::List-Cleanup=0
fi
# libslurm-dev's libslurm.so points into the runtime library package
# (libslurm42t64 in trixie): take whichever it depends on.
lib=$(apt-cache show "libslurm-dev/$suite" | sed -n 's/^Depends:.*\(libslurm[0-9][0-9a-z]*\) (=.*/\1/p' | head -1)
[ -n "$lib" ] || { echo "debian-slurm.sh: cannot tell which libslurm package libslurm-dev/$suite needs" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download -qq -o APT::Sandbox::User=root "libslurm-dev/$suite" "$lib/$suite")
rm -rf "$dir.new"
mkdir -p "$dir.new"
for d in "$tmp"/*.deb; do dpkg-deb -x "$d" "$dir.new"; done
cp "$tmp"/*.deb "$dir.new/"
[ -f "$dir.new/usr/include/slurm/slurm_version.h" ] || { echo "debian-slurm.sh: no slurm_version.h in the $suite packages" >&2; exit 1; }
rm -rf "$dir"
mv "$dir.new" "$dir"
echo "debian-slurm.sh: $(ls "$dir"/*.deb | xargs -n1 basename | tr '\n' ' ')unpacked in $dir"
